"""JSON Schema and key reference generated from the scenario dataclasses (``sim schema``).

The schema must accept every shipped scenario file and reject what the loader rejects where a
JSON Schema can tell; the key reference in docs/scenarios.md must be the generated text, and
every dataclass field must carry its documentation.
"""

import copy
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from sim.cli import main
from sim.errors import ScenarioError
from sim.scenario import load, schema
from sim.scenario.jsonschema import (
    DOCS_END,
    DOCS_PATH,
    DOCS_START,
    REGENERATE,
    docs_section,
    reference_markdown,
    scenario_json_schema,
    update_docs,
)
from sim.scenario.load import dump_scenario, load_scenario, load_scenario_dict

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "config"
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml")) \
    + sorted((ROOT / "scenarios" / "validation").glob("*.yaml"))
# YAML files under tests/data that the loader accepts (cycle_a/cycle_b are an extends cycle)
TEST_DATA = [DATA / "inline.yaml", DATA / "csv_base.yaml", DATA / "child" / "child.yaml",
             DATA / "child" / "grandchild.yml"]
# self-contained files (no region pack): loaded and dumped in full below
SELF_CONTAINED = [p for p in SHIPPED if p.stem.startswith("example")] \
    + sorted((ROOT / "scenarios" / "validation").glob("*.yaml")) + TEST_DATA
EXAMPLE = ROOT / "scenarios" / "example.yaml"

DATACLASSES = [schema.Place, schema.Sector, schema.PlaceSector, schema.Link, schema.Mode,
               schema.Region, schema.Parameters, schema.Solver, schema.Agents, schema.TimeSpan,
               schema.Policy, *schema.POLICY_TYPES.values(), schema.Scenario]


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


@pytest.fixture(scope="module")
def cli_schema() -> dict:
    """The schema as ``sim schema`` prints it."""
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["schema"]) == 0
    return json.loads(buf.getvalue())


@pytest.fixture(scope="module")
def validator(cli_schema) -> Draft202012Validator:
    return Draft202012Validator(cli_schema)


def _errors(validator, data) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in validator.iter_errors(data)]


# --------------------------------------------------------------------------------------------
# the command


def test_sim_schema_prints_the_generated_schema(capsys):
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    printed = json.loads(out)
    assert printed == scenario_json_schema()
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(printed)
    assert out.startswith('{\n  "$schema"')  # indent 2


def test_sim_schema_markdown(capsys):
    assert main(["schema", "--markdown"]) == 0
    assert capsys.readouterr().out == reference_markdown()


def test_python_dash_m_sim_schema_validates_shipped_files():
    out = subprocess.run([sys.executable, "-m", "sim", "schema"], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    v = Draft202012Validator(json.loads(out.stdout))
    for path in SHIPPED:
        assert _errors(v, yaml.safe_load(path.read_text(encoding="utf-8"))) == [], _rel(path)


def test_schema_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["schema", "--help"])
    assert e.value.code == 0
    assert "--markdown" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# accepting what the loader accepts


def test_the_shipped_set_is_complete():
    names = {_rel(p) for p in SHIPPED}
    assert "scenarios/plan.yaml" in names and "scenarios/validation/cp.yaml" in names
    assert not any("sweeps" in n for n in names)  # sweep files are another format
    assert len(SHIPPED) >= 17


@pytest.mark.parametrize("path", SHIPPED + TEST_DATA, ids=_rel)
def test_schema_accepts_every_shipped_scenario(path, validator):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _errors(validator, data) == []


@pytest.mark.parametrize("path", TEST_DATA, ids=_rel)
def test_test_data_files_are_valid_scenarios(path):
    load_scenario(path)  # the files above are the ones the loader accepts


@pytest.mark.parametrize("path", SELF_CONTAINED, ids=_rel)
def test_schema_accepts_the_fully_resolved_dump(path, validator):
    """``dump_scenario`` writes every key (nulls, full mode table, groups): still valid."""
    data = yaml.safe_load(dump_scenario(load_scenario(path)))
    assert _errors(validator, data) == []


def _example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def _both_accept(validator, data, base_dir=ROOT / "scenarios"):
    assert _errors(validator, data) == []
    load_scenario_dict(copy.deepcopy(data), base_dir=base_dir)


def test_nulls_mean_defaults_for_both(validator):
    d = _example()
    d.update(seed=None, description=None, resolution=None, agents=None, time=None,
             solver=None, groups=None, calibrate=None)
    d["parameters"]["migration_rule"] = None
    d["region"]["places"][0]["parent"] = None
    d["region"]["places"][0]["wage"] = None
    d["region"]["modes"] = {"road": None, "ferry": {"passenger": False}}
    d["policies"] = [{"type": "link", "action": "upgrade", "from": "core", "to": "east",
                      "mode": "expressway", "km": None, "hours": 1.0, "new_mode": None,
                      "start": 2022, "end": None},
                     {"type": "tourism", "places": ["remote"], "weights": None,
                      "sector": "local_services", "start": 2022}]
    _both_accept(validator, d)


def test_region_pack_with_overrides(validator):
    d = {"schema_version": 1, "name": "p", "region": {"pack": "jilin", "modes": {
        "rail": {"cost_per_km_freight": 0.2}}, "links": "links.csv"}}
    assert _errors(validator, d) == []
    d["region"]["sectors"] = {"file": "sectors.csv"}
    assert _errors(validator, d) == []


def test_extends_string_or_list(validator):
    for ext in ("baseline.yaml", ["core.yaml", "belts.yaml"]):
        assert _errors(validator, {"schema_version": 1, "extends": ext}) == []


# --------------------------------------------------------------------------------------------
# rejecting what the loader rejects


def _set(path, value):
    def mutate(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return mutate


def _pol(**p):
    return lambda d: d.setdefault("policies", []).append({"start": 2022, **p})


BROKEN = {
    "unknown top-level key": _set(("regoin",), {}),
    "unknown policy type": _pol(type="subsidy", places=["core"]),
    "policy type missing": _pol(places=["core"]),
    "number as a string": _set(("parameters", "housing_share"), "a quarter"),
    "int as a float": _set(("seed",), 1.5),
    "bool for a number": _set(("region", "places", 0, "land"), True),
    "policy with an unknown key": _pol(type="amenity", places=["core"], factr=1.1),
    "key of another policy type": _pol(type="amenity", places=["core"], sectors=["services"]),
    "negative sigma": _set(("region", "sectors", 0, "sigma"), -5.0),
    "sigma of 1": _set(("region", "sectors", 0, "sigma"), 1.0),
    "latitude out of range": _set(("region", "places", 0, "lat"), 95.0),
    "share out of range": _set(("parameters", "reconsider_share"), 1.5),
    "negative seed": _set(("seed",), -1),
    "unknown migration rule": _set(("parameters", "migration_rule"), "gravity"),
    "unknown resolution": _set(("resolution",), "micro"),
    "unknown firm dynamics": _set(("parameters", "firm_dynamics"), "entry"),
    "unknown link action": _pol(type="link", action="build", **{"from": "core"}, to="east",
                                mode="road", km=1, hours=1),
    "link open without km": _pol(type="link", **{"from": "east"}, to="remote", mode="road",
                                 hours=3),
    "link without from": _pol(type="link", action="close", to="east", mode="expressway"),
    "from_ instead of from": _pol(type="link", action="close", from_="core", to="east",
                                  mode="expressway"),
    "new_mode on an open": _pol(type="link", **{"from": "east"}, to="remote", mode="road",
                                km=1, hours=1, new_mode="hsr"),
    "innovation without place": _pol(type="innovation", growth=0.01),
    "integration of three places": _pol(type="integration", between=["core", "east", "south"]),
    "negative tourism weight": _pol(type="tourism", places=["core", "east"], weights=[1, -1],
                                    sector="local_services"),
    "policy without start": lambda d: d.setdefault("policies", []).append(
        {"type": "amenity", "factor": 1.1}),
    "policy with start null": _pol(type="amenity", start=None),
    "unknown place key": _set(("region", "places", 0, "population"), 3.0),
    "place without lat": lambda d: d["region"]["places"][0].pop("lat"),
    "link with from_": lambda d: d["region"]["links"][0].update(
        from_=d["region"]["links"][0].pop("from")),
    "unknown region key": _set(("region", "zones"), []),
    "unknown mode key": _set(("region", "modes"), {"road": {"cost_per_km": 0.1}}),
    "table file with extra key": _set(("region", "links"), {"file": "x.csv", "sep": ";"}),
    "unknown parameter": _set(("parameters", "agglomeration_elasticity"), 0.1),
    "unknown solver key": _set(("solver",), {"tolerance": 1e-9}),
    "schema_version 2": _set(("schema_version",), 2),
    "no schema_version": lambda d: d.pop("schema_version"),
    "no region": lambda d: d.pop("region"),
    "region without sectors": lambda d: d["region"].pop("sectors"),
    "empty group": _set(("groups",), {"core": []}),
    "name with a slash": _set(("name",), "a/b"),
    "extends an empty list": _set(("extends",), []),
    "policies not a list": _set(("policies",), {"type": "amenity"}),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_schema_and_loader_both_reject(case, validator):
    d = _example()
    BROKEN[case](d)
    assert _errors(validator, d), f"schema accepts: {case}"
    with pytest.raises(ScenarioError):
        load_scenario_dict(d, base_dir=ROOT / "scenarios")


def test_error_names_the_key_path(validator):
    d = _example()
    d["region"]["sectors"][1]["sigma"] = -2.0
    errs = _errors(validator, d)
    assert errs == ["region/sectors/1/sigma: -2.0 is less than or equal to the minimum of 1"]
    d = _example()
    d["policies"] = [{"type": "cluster", "start": 2022, "factr": 1.1}]
    assert any(e.startswith("policies/0") and "factr" in e for e in _errors(validator, d))


# --------------------------------------------------------------------------------------------
# generated from the dataclasses and the loader's rules


def test_schema_keys_follow_the_loader(cli_schema):
    assert list(cli_schema["properties"]) == list(load.TOP_KEYS)
    defs = cli_schema["$defs"]
    assert set(defs["region"]["properties"]) == set(load.REGION_KEYS) | {"pack"}
    for key, cls in load.TABLES.items():
        row = defs[{"places": "place", "sectors": "sector", "links": "link",
                    "place_sectors": "place_sector"}[key]]
        assert list(row["properties"]) == [load._TO_KEY.get(f.name, f.name)
                                           for f in dataclasses.fields(cls)]
    for t, cls in schema.POLICY_TYPES.items():
        props = defs[f"policy_{t}"]["properties"]
        assert list(props) == ["type"] + [load._TO_KEY.get(f.name, f.name)
                                          for f in dataclasses.fields(cls)]
        assert defs[f"policy_{t}"]["additionalProperties"] is False
    assert defs["policy"]["properties"]["type"]["enum"] == list(schema.POLICY_TYPES)
    assert defs["parameters"]["properties"]["migration_rule"]["enum"][:-1] == \
        list(schema.MIGRATION_RULES)
    assert defs["policy_link"]["properties"]["action"]["enum"][:-1] == list(load.LINK_ACTIONS)


def test_every_range_rule_of_the_loader_is_in_the_schema(cli_schema):
    defs = cli_schema["$defs"]
    where = {schema.Place: "place", schema.Sector: "sector", schema.PlaceSector: "place_sector",
             schema.Link: "link", schema.Mode: "mode", schema.Parameters: "parameters",
             schema.Agents: "agents", schema.Solver: "solver"}
    where |= {cls: f"policy_{t}" for t, cls in schema.POLICY_TYPES.items()}
    bounds = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
    for cls, rules in load._RULES.items():
        targets = [where[cls]] if cls in where else \
            [where[c] for c in where if issubclass(c, cls)]  # Policy: every policy type
        for attr in rules:
            for d in targets:
                prop = defs[d]["properties"][load._TO_KEY.get(attr, attr)]
                assert any(b in prop for b in bounds), (cls.__name__, attr)


def test_choices_metadata_matches_the_loader():
    """String fields with a fixed set of values declare it (``choices``); the loader agrees."""
    action = {f.name: f for f in dataclasses.fields(schema.LinkPolicy)}["action"]
    assert action.metadata["choices"] == load.LINK_ACTIONS
    resolution = {f.name: f for f in dataclasses.fields(schema.Scenario)}["resolution"]
    assert resolution.metadata["choices"] == schema.RESOLUTIONS
    for f in dataclasses.fields(schema.Parameters):
        if f.type != "str":
            continue
        d = _example()
        d["parameters"][f.name] = "no-such-choice"
        with pytest.raises(ScenarioError):
            load_scenario_dict(d, base_dir=ROOT / "scenarios")
        assert f.default in f.metadata.get("choices", ()), f"{f.name}: no choices metadata"


def test_defaults_in_the_schema_are_the_dataclass_defaults(cli_schema):
    props = cli_schema["$defs"]["parameters"]["properties"]
    for f in dataclasses.fields(schema.Parameters):
        assert props[f.name]["default"] == f.default
    assert cli_schema["$defs"]["policy_tourism"]["properties"]["sector"]["default"] == "tourism"


# --------------------------------------------------------------------------------------------
# documentation


@pytest.mark.parametrize("cls", DATACLASSES, ids=lambda c: c.__name__)
def test_every_field_has_doc_metadata(cls):
    for f in dataclasses.fields(cls):
        assert isinstance(f.metadata.get("doc"), str) and f.metadata["doc"].strip(), \
            f"{cls.__name__}.{f.name}: no doc metadata"
        assert isinstance(f.metadata.get("unit"), str), f"{cls.__name__}.{f.name}: no unit"
        assert "|" not in f.metadata["doc"] + f.metadata["unit"]


def test_docs_key_section_is_generated():
    text = DOCS_PATH.read_text(encoding="utf-8")
    assert text.count(DOCS_START) == 1 and text.count(DOCS_END) == 1
    assert docs_section(text) == reference_markdown(), \
        f"docs/scenarios.md key reference is stale; regenerate with: {REGENERATE}"


def test_docs_key_section_names_every_field_and_policy_type():
    section = docs_section(DOCS_PATH.read_text(encoding="utf-8"))
    for cls in DATACLASSES:
        for f in dataclasses.fields(cls):
            key = load._TO_KEY.get(f.name, f.name)
            assert f"`{key}`" in section, f"{cls.__name__}.{f.name} missing from the docs"
    for t, cls in schema.POLICY_TYPES.items():
        assert f"#### `type: {t}`" in section, t
        block = section.split(f"#### `type: {t}`")[1].split("####")[0]
        for f in dataclasses.fields(cls):
            if f.name not in {g.name for g in dataclasses.fields(schema.Policy)}:
                assert f"| `{load._TO_KEY.get(f.name, f.name)}` |" in block, (t, f.name)
    for key in (*load.TOP_KEYS, "pack", *load.REGION_KEYS):
        assert f"| `{key}` |" in section, key


def test_update_docs_rewrites_only_the_section(tmp_path):
    doc = tmp_path / "scenarios.md"
    doc.write_text(f"# Title\n\nbefore\n\n{DOCS_START}\nstale\n{DOCS_END}\n\nafter\n",
                   encoding="utf-8")
    assert update_docs(doc) is True
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith(f"{DOCS_END}\n\nafter\n")
    assert docs_section(text) == reference_markdown()
    assert update_docs(doc) is False


def test_metadata_does_not_change_the_dataclasses():
    sc = load_scenario(DATA / "inline.yaml")
    assert sc.parameters == schema.Parameters(migration_rule="replicator")
    assert schema.Sector("s", 0.5).sigma == 5.0
    assert schema.LinkPolicy(start=2020).type == "link"
    assert "type" not in {f.name for f in dataclasses.fields(schema.LinkPolicy)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.seed = 1  # type: ignore[misc]
