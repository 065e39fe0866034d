"""Security basics: safe YAML, table paths confined to the scenario's (or pack's) folder,
special files refused, no content of a non-table file echoed, text escaped in Markdown and
HTML outputs, no pickle or eval of user data."""

import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.analysis.comparison import to_markdown
from sim.cli import main
from sim.errors import ScenarioError
from sim.scenario.load import ALLOW_OUTSIDE_ENV, load_scenario

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example.yaml"
SECRET = "s3cr3t-line-never-echoed"


def example_with_places_file(tmp_path, ref: str) -> Path:
    """The example scenario with its places from a CSV path ``ref``."""
    d = yaml.safe_load(EXAMPLE.read_text())
    places = d["region"]["places"]
    cols = list(dict.fromkeys(k for p in places for k in p))
    lines = [",".join(cols)] + [",".join(str(p.get(c, "")) for c in cols) for p in places]
    (tmp_path / "places.csv").write_text("\n".join(lines) + "\n")
    d["region"]["places"] = ref
    f = tmp_path / "sc.yaml"
    f.write_text(yaml.safe_dump(d))
    return f


def test_table_paths_cannot_escape_the_scenario_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(ALLOW_OUTSIDE_ENV, raising=False)
    scen = tmp_path / "scen"
    scen.mkdir()
    f = example_with_places_file(scen, "places.csv")
    assert load_scenario(f).region.places
    (tmp_path / "outside.csv").write_text((scen / "places.csv").read_text())
    for ref in ("../outside.csv", str(tmp_path / "outside.csv"), "/etc/passwd"):
        f = example_with_places_file(scen, ref)
        with pytest.raises(ScenarioError, match="outside") as e:
            load_scenario(f)
        assert "root:" not in str(e.value)
    # a symbolic link inside the folder that points outside is refused as well
    (scen / "link.csv").symlink_to(tmp_path / "outside.csv")
    with pytest.raises(ScenarioError, match="outside"):
        load_scenario(example_with_places_file(scen, "link.csv"))
    # explicitly allowed
    monkeypatch.setenv(ALLOW_OUTSIDE_ENV, "1")
    assert load_scenario(example_with_places_file(scen, "../outside.csv")).region.places


def test_shadow_like_file_is_never_echoed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ALLOW_OUTSIDE_ENV, "1")  # even where outside paths are allowed
    notes = tmp_path / "notes.csv"
    notes.write_text(f"{SECRET}:x:0:0\nmore {SECRET}\n")
    f = example_with_places_file(tmp_path, "notes.csv")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err and "not a Place table" in err
    # a non-CSV file is refused by name alone
    (tmp_path / "secret.txt").write_text(SECRET)
    f = example_with_places_file(tmp_path, "secret.txt")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err and "must end in .csv" in err


def test_special_files_are_refused_without_reading(tmp_path, monkeypatch):
    monkeypatch.setenv(ALLOW_OUTSIDE_ENV, "1")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.csv")  # opening a FIFO would block forever
    for name in ("zero.csv", "fifo.csv"):
        t0 = time.perf_counter()
        with pytest.raises(ScenarioError, match="not a regular file"):
            load_scenario(example_with_places_file(tmp_path, name))
        assert time.perf_counter() - t0 < 5
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(tmp_path / "zero.yaml")


def test_pack_tables_must_be_paths_inside_the_pack(tmp_path, monkeypatch):
    monkeypatch.delenv(ALLOW_OUTSIDE_ENV, raising=False)
    pack = tmp_path / "pack"
    pack.mkdir()
    d = yaml.safe_load(EXAMPLE.read_text())
    region = d.pop("region")
    d["region"] = {"pack": "pack", "places": region["places"], "links": region["links"]}
    f = tmp_path / "sc.yaml"
    f.write_text(yaml.safe_dump(d))
    for tables, msg in (({"sectors": None}, "expected the path"),
                        ({"sectors": 5}, "expected the path"),
                        ({"sectors": "../../../etc/passwd"}, "outside")):
        (pack / "region.yaml").write_text(yaml.safe_dump({"tables": tables}))
        with pytest.raises(ScenarioError, match=msg) as e:
            load_scenario(f)
        assert "root:" not in str(e.value)


def test_yaml_is_loaded_safely(tmp_path):
    f = tmp_path / "evil.yaml"
    marker = tmp_path / "pwned"
    f.write_text(f"schema_version: 1\nname: !!python/object/apply:os.system "
                 f"['touch {marker}']\n")
    with pytest.raises(ScenarioError, match="invalid YAML"):
        load_scenario(f)
    assert not marker.exists()


def test_markdown_escapes_text():
    df = pd.DataFrame({"<b>col</b>": ["<script>alert(1)</script>", "a|b\nc"], "x": [1.5, 2.0]})
    md = to_markdown(df)
    assert "<script>" not in md and "&lt;script&gt;" in md and "&lt;b&gt;col" in md
    assert "a\\|b c" in md and len(md.splitlines()) == 4


def test_headline_markdown_carries_no_raw_html(tmp_path):
    d = yaml.safe_load(EXAMPLE.read_text())
    d["name"] = "x<script>alert(1)<script>"
    d["description"] = "<img src=x onerror=alert(1)>"
    f = tmp_path / "evil.yaml"
    f.write_text(yaml.safe_dump(d))
    assert main(["run", str(f), "--out", str(tmp_path / "a"), "--end-year", "2020",
                 "--quiet"]) == 0
    assert main(["run", str(EXAMPLE), "--out", str(tmp_path / "b"), "--end-year", "2020",
                 "--quiet"]) == 0
    assert main(["compare", str(tmp_path / "b"), str(tmp_path / "a"), "--out",
                 str(tmp_path / "c"), "--no-figures", "--quiet"]) == 0
    md = (tmp_path / "c" / "headline.md").read_text()
    assert "<script>" not in md and "<img" not in md


def test_no_pickle_or_eval_of_user_data():
    bad = re.compile(r"\b(pickle\.loads?|read_pickle|eval|exec|yaml\.unsafe_load|"
                     r"yaml\.full_load|marshal\.loads?|shelve\.open)\s*\(|Loader=yaml\.Loader|"
                     r"UnsafeLoader|FullLoader")
    hits = []
    for f in sorted((ROOT / "sim").rglob("*.py")):
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if bad.search(line) and not line.lstrip().startswith("#"):
                hits.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()}")
    assert hits == []
    for f in sorted((ROOT / "sim").rglob("*.py")):
        for m in re.finditer(r"yaml\.load\((.*)", f.read_text()):
            assert "Loader=" in m.group(1) and "Safe" in m.group(1) or "_Loader" in m.group(1)
