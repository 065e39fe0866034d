"""Fuzzing the inputs: every scenario, region table or sweep file either validates or gets one
clear error (file, key, value; exit 2) — never a traceback, never a hang.

Inputs: structured mutations of the shipped example scenarios (deleted keys, wrong types, NaN,
inf, negative, zero and huge numbers, unknown keys, unicode and duplicate ids, links to unknown
places, policy years outside the horizon, start > end, missing CSVs), ``extends`` cycles and
missing parents, YAML alias bombs and deep nesting, empty and binary files, byte-level
mutations of shipped files, region-pack CSV tables and sweep files. A sample of the inputs that
validate is run for two years: finite, non-negative results or a loud ConvergenceError /
ScenarioError / NumericalError.

The default run tries about 1,300 inputs (under a minute). A longer run:
``SIM_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_fuzz.py -q`` (each property
gets that many examples).
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.errors import ConvergenceError, NumericalError, ScenarioError, SimError

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
EXAMPLE = yaml.safe_load((SCEN / "example.yaml").read_text())
EXAMPLE_LINK = yaml.safe_load((SCEN / "example_link.yaml").read_text())
LINK_FULL = copy.deepcopy(EXAMPLE)
LINK_FULL.update(name="example-link", policies=EXAMPLE_LINK["policies"])
SHIPPED = sorted(p for p in SCEN.rglob("*.yaml")) + sorted(
    (ROOT / "sim" / "data" / "jilin").glob("*.csv"))
SCALE = int(os.environ.get("SIM_FUZZ_EXAMPLES", "0"))
PER_INPUT_S = 10.0
RUN_SAMPLE_EVERY = 8  # run every 8th validating input for two years
STATS: dict[str, int] = {}


def examples(n: int) -> int:
    return max(n, SCALE)


def fz(n: int) -> settings:
    return settings(deadline=None, database=None, derandomize=not SCALE,
                    max_examples=examples(n), suppress_health_check=list(HealthCheck))


class Hang(Exception):
    pass


@contextlib.contextmanager
def bounded(seconds: float = PER_INPUT_S):
    def alarm(*_):
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def count(key: str) -> None:
    STATS[key] = STATS.get(key, 0) + 1


def validate(path: Path, *, run: bool = True) -> int:
    """``sim validate path``: exit 0, or exit 2 with one line naming the file."""
    err = io.StringIO()
    out = io.StringIO()
    with bounded(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(["validate", str(path)])
    text = err.getvalue()
    assert rc in (0, 2), (rc, text)
    if rc == 2:
        count("error")
        assert text.startswith("error: ") and text.count("\n") == 1, text
        assert "Traceback" not in text
        assert " = " in text, text  # key path = value
        assert any(x in text for x in (".yaml", ".yml", ".csv")), text  # names a file
    else:
        count("valid")
        assert text == ""
        if run and STATS["valid"] % RUN_SAMPLE_EVERY == 1:
            run_two_years(path)
    return rc


def run_two_years(path: Path) -> None:
    from sim.engine.runner import run_scenario
    from sim.scenario.load import load_scenario

    sc = load_scenario(path)
    try:
        with bounded(60):
            res = run_scenario(sc, end_year=min(sc.time.start + 1, sc.time.end))
    except (ConvergenceError, ScenarioError, NumericalError) as e:
        count(f"run: {type(e).__name__}")
        assert str(e)
        return
    count("run: ok")
    for df in (res.places, res.sectors):
        num = df.select_dtypes("number")
        assert num.notna().all().all()
        assert ((num.abs() < math.inf).all()).all()
    assert (res.places[["population", "gdp"]] >= 0).all().all()


def write(tmp: Path, tree, name: str = "sc.yaml") -> Path:
    f = tmp / name
    try:
        f.write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False))
    except yaml.YAMLError:
        f.write_text(repr(tree))
    return f


def fresh_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fz", numbered=True)
    return d


# ---------------------------------------------------------------- structured mutations

WILD = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, -0.5, 1e308, -1e308, 1e-320, 10**12, 1e9, 2**63, "", " ", "x",
                     "ü漢字", "\u202e", "nan", "inf", "-inf", "1e999", "0x10", [], {}, [1, 2],
                     {"a": 1}, [[[]]], "places.csv", "../x.csv", "/etc/passwd"]),
    st.text(max_size=12))


def node_paths(tree, prefix=()):
    yield prefix
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from node_paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from node_paths(v, prefix + (i,))


def get(tree, path):
    for k in path:
        tree = tree[k]
    return tree


@st.composite
def mutated(draw):
    tree = copy.deepcopy(draw(st.sampled_from([EXAMPLE, LINK_FULL])))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in node_paths(tree) if p]
        path = draw(st.sampled_from(paths))
        parent, key = get(tree, path[:-1]), path[-1]
        op = draw(st.sampled_from(["delete", "set", "set", "set", "dup", "unknown", "unicode",
                                   "scale"]))
        if op == "delete":
            del parent[key]
        elif op == "set":
            parent[key] = draw(WILD)
        elif op == "dup" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif op == "unknown" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "Places", "sigmma", 5, "ü"]))] = draw(WILD)
        elif op == "unicode":
            parent[key] = draw(st.sampled_from(["Ü", "東京", "a b", " core", "core ", "\t",
                                                "nowhere", "core"]))
        elif op == "scale" and isinstance(parent[key], int | float) \
                and not isinstance(parent[key], bool):
            parent[key] = parent[key] * draw(st.sampled_from([-1, 0, 1e-12, 1e6, 1e300]))
    return tree


def test_structured_mutations_validate_or_fail_cleanly(tmp_path_factory):
    d = fresh_dir(tmp_path_factory)
    (d / "places.csv").write_text("id,lat,lon\na,1,1\n")

    @fz(750)
    @given(mutated())
    def check(tree):
        validate(write(d, tree))

    check()


SPECIALS = {
    "start_after_end": lambda t: t["time"].update(start=2030, end=2020),
    "negative_start": lambda t: t["time"].update(start=-1),
    "policy_far_future": lambda t: t["policies"][0].update(start=10**9),
    "policy_after_horizon": lambda t: t["policies"][0].update(start=2099),
    "policy_before_start": lambda t: t["policies"][0].update(start=1000),
    "natural_growth_-2": lambda t: t["region"]["places"][0].update(natural_growth=-2.0),
    "households_1e12": lambda t: t.update(agents={"households": 1e12}),
    "levels_1e9": lambda t: t.setdefault("parameters", {}).update(productivity_levels=10**9),
    "max_iter_huge": lambda t: t.setdefault("solver", {}).update(max_iter=10**12),
    "link_unknown_place": lambda t: t["region"]["links"][0].update(to="atlantis"),
    "duplicate_place": lambda t: t["region"]["places"].append(t["region"]["places"][0]),
    "missing_csv": lambda t: t["region"].update(places="missing.csv"),
    "outside_csv": lambda t: t["region"].update(places="/etc/shadow"),
    "dev_zero": lambda t: t["region"].update(places="/dev/zero"),
    "table_null_file": lambda t: t["region"].update(places={"file": None}),
    "wage_nan": lambda t: t["region"]["places"][4].update(wage=float("nan")),
    "wage_inf": lambda t: t["region"]["places"][4].update(wage=float("inf")),
    "unicode_ids": lambda t: [p.update(id=p["id"] + "ü") for p in t["region"]["places"]],
    "no_internal_places": lambda t: [p.update(external=True) for p in t["region"]["places"]],
    "zero_land": lambda t: t["region"]["places"][0].update(land=0),
    "huge_pop": lambda t: t["region"]["places"][0].update(mobile_pop=1e300),
    "tiny_pop": lambda t: t["region"]["places"][0].update(mobile_pop=1e-300),
}


@pytest.mark.parametrize("name", sorted(SPECIALS))
def test_named_defects_have_clean_outcomes(name, tmp_path):
    """Regression inputs: each defect found by fuzzing, in its minimal form."""
    tree = copy.deepcopy(LINK_FULL)
    SPECIALS[name](tree)
    rc = validate(write(tmp_path, tree), run=False)
    must_fail = {"start_after_end", "negative_start", "policy_far_future",
                 "policy_after_horizon", "natural_growth_-2", "households_1e12", "levels_1e9",
                 "max_iter_huge", "link_unknown_place", "duplicate_place", "missing_csv",
                 "outside_csv", "dev_zero", "table_null_file", "wage_nan", "wage_inf",
                 "no_internal_places", "zero_land"}
    if name in must_fail:
        assert rc == 2
    elif rc == 0:
        run_two_years(tmp_path / "sc.yaml")


# ---------------------------------------------------------------- whole files

ALIAS_BOMB = """schema_version: 1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

WHOLE_FILES = {
    "empty": b"",
    "binary": bytes(range(256)) * 4,
    "nul": b"\x00" * 100,
    "alias_bomb": ALIAS_BOMB.encode(),
    "deep_list": b"schema_version: 1\nx: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "deep_map": b"schema_version: 1\nx: " + b"{a: " * 3000 + b"1" + b"}" * 3000 + b"\n",
    "deep_block": ("schema_version: 1\n" + "".join(" " * i + f"k{i}:\n" for i in range(400))
                   ).encode(),
    "not_mapping": b"- 1\n- 2\n",
    "scalar": b"42\n",
    "python_tag": b"schema_version: 1\nx: !!python/object/apply:os.system ['true']\n",
    "bad_utf8": b"schema_version: 1\nname: \xff\xfe\n",
    "tabs": b"schema_version: 1\n\tname: x\n",
    "dup_keys": b"schema_version: 1\nname: a\nname: b\n",
    "bom": "\ufeffschema_version: 1\n".encode(),
    "huge_int": b"schema_version: 1\nseed: " + b"9" * 5000 + b"\n",
    "version_str": b"schema_version: '1'\n",
}


@pytest.mark.parametrize("name", sorted(WHOLE_FILES))
def test_whole_files(name, tmp_path):
    f = tmp_path / "sc.yaml"
    f.write_bytes(WHOLE_FILES[name])
    t0 = time.perf_counter()
    assert validate(f) == 2
    assert time.perf_counter() - t0 < 5


def test_extends_cycles_chains_and_missing_parents(tmp_path):
    base = copy.deepcopy(EXAMPLE)
    (tmp_path / "a.yaml").write_text("schema_version: 1\nextends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("schema_version: 1\nextends: a.yaml\n")
    assert validate(tmp_path / "a.yaml") == 2
    (tmp_path / "self.yaml").write_text("schema_version: 1\nextends: self.yaml\n")
    assert validate(tmp_path / "self.yaml") == 2
    (tmp_path / "orphan.yaml").write_text("schema_version: 1\nextends: nowhere.yaml\n")
    assert validate(tmp_path / "orphan.yaml") == 2
    for bad in ("null", "5", "[]", "[null]", "'/etc/passwd'", "'../..'"):
        (tmp_path / "x.yaml").write_text(f"schema_version: 1\nextends: {bad}\n")
        assert validate(tmp_path / "x.yaml") == 2, bad
    # a 1,200-file chain: refused with a clear error, no RecursionError
    write(tmp_path, base, "c0.yaml")
    for i in range(1, 1200):
        (tmp_path / f"c{i}.yaml").write_text(f"schema_version: 1\nextends: c{i - 1}.yaml\n")
    t0 = time.perf_counter()
    assert validate(tmp_path / "c1199.yaml") == 2
    assert time.perf_counter() - t0 < 5
    # a short chain is fine
    assert validate(tmp_path / "c5.yaml") == 0


@st.composite
def byte_mutated(draw):
    f = draw(st.sampled_from(SHIPPED))
    data = bytearray(f.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "dupline"]))
        i = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 40))]
        elif op == "insert":
            data[i:i] = draw(st.sampled_from([b"&a", b"*a", b"{", b"[", b"\x00", b":", b"-",
                                              b"\n  ", b",", b'"', b"nan", b"-1e999", b"\xff"]))
        elif op == "truncate":
            del data[i:]
        elif op == "dupline":
            lines = bytes(data).split(b"\n")
            j = draw(st.integers(0, len(lines) - 1))
            lines.insert(j, lines[j])
            data = bytearray(b"\n".join(lines))
    return f, bytes(data)


def test_byte_mutations_of_shipped_files(tmp_path_factory):
    """Scenario files are mutated in a copy of their folder; pack CSVs in a copy of the pack."""
    d = fresh_dir(tmp_path_factory)
    scen = d / "scenarios"
    shutil.copytree(SCEN, scen)
    pack = d / "packs" / "jilin"
    shutil.copytree(ROOT / "sim" / "data" / "jilin", pack)
    pack_user = scen / "pack_user.yaml"
    pack_user.write_text("schema_version: 1\nextends: baseline.yaml\nname: pu\n"
                         "region: {pack: ../packs/jilin}\n")
    os.environ.setdefault("SIM_ALLOW_OUTSIDE_TABLES", "")

    @fz(450)
    @given(byte_mutated())
    def check(item):
        f, data = item
        if f.suffix == ".csv":
            target = pack / f.name
            original = target.read_bytes()
            target.write_bytes(data)
            try:
                validate(pack_user, run=False)
            finally:
                target.write_bytes(original)
        else:
            target = scen / f.relative_to(SCEN)
            original = target.read_bytes()
            target.write_bytes(data)
            try:
                if "sweeps" in target.parts:
                    check_sweep(target)
                else:
                    validate(target, run=False)
            finally:
                target.write_bytes(original)

    with _outside_allowed_for_pack_user():
        check()


@contextlib.contextmanager
def _outside_allowed_for_pack_user():
    # the copied pack sits beside the scenarios folder: allowed explicitly
    old = os.environ.get("SIM_ALLOW_OUTSIDE_TABLES")
    os.environ["SIM_ALLOW_OUTSIDE_TABLES"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SIM_ALLOW_OUTSIDE_TABLES", None)
        else:
            os.environ["SIM_ALLOW_OUTSIDE_TABLES"] = old


def check_sweep(path: Path) -> None:
    from sim.sweep import load_sweep_spec, plan_sweep

    try:
        with bounded():
            plan_sweep(load_sweep_spec(path))
        count("sweep valid")
    except SimError as e:
        count("sweep error")
        assert str(e) and "Traceback" not in str(e)


# ---------------------------------------------------------------- sweep files

SWEEP_BASE = {"schema_version": 1, "name": "toy", "scenarios": ["example.yaml"],
              "seeds": [1, 2], "design": {"method": "lhs", "samples": 3, "seed": 7},
              "parameters": {"migration_elasticity": {"range": [1.0, 2.5]},
                             "sigma": {"triangular": [4, 5, 6]}}, "end_year": 2022}


@st.composite
def sweep_mutated(draw):
    tree = copy.deepcopy(SWEEP_BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in node_paths(tree) if p]))
        parent, key = get(tree, path[:-1]), path[-1]
        op = draw(st.sampled_from(["delete", "set", "set", "unknown"]))
        if op == "delete":
            del parent[key]
        elif op == "set":
            parent[key] = draw(WILD)
        elif isinstance(parent, dict):
            parent["extra"] = draw(WILD)
    return tree


def test_sweep_file_mutations(tmp_path_factory):
    d = fresh_dir(tmp_path_factory)
    shutil.copy(SCEN / "example.yaml", d / "example.yaml")

    @fz(200)
    @given(sweep_mutated())
    def check(tree):
        check_sweep(write(d, tree, "sweep.yaml"))

    check()


def test_zz_report_fuzz_statistics():
    """Prints the outcome classes of this session's fuzzing (run with -s to see them)."""
    total = STATS.get("valid", 0) + STATS.get("error", 0) + STATS.get("sweep valid", 0) + \
        STATS.get("sweep error", 0)
    print(f"\nfuzz inputs: {total}; outcomes: {dict(sorted(STATS.items()))}")
    if total:
        assert total >= 1000 or SCALE
