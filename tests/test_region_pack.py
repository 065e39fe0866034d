"""Region packs: a folder with region.yaml + CSV tables, referenced as region: {pack: ...}."""

import textwrap

import pytest
import yaml

import sim
from sim.errors import ScenarioError


def make_pack(folder):
    folder.mkdir()
    (folder / "region.yaml").write_text(textwrap.dedent("""\
        name: toy
        base_year: 2020
        tables: {places: places.csv, sectors: sectors.csv, links: links.csv}
        """))
    (folder / "places.csv").write_text(
        "id,lat,lon,mobile_pop,ag_pop,source_notes\n"
        "a,0,0,1.0,0.2,made up\n"
        "b,0,1,0.5,0.3,made up\n")
    (folder / "sectors.csv").write_text("id,expenditure_share\nm,0.65\n")
    (folder / "links.csv").write_text("from,to,mode,km,hours\na,b,road,100,2\n")


def scenario(tmp_path, region, name="s.yaml"):
    f = tmp_path / name
    f.write_text(yaml.safe_dump({"schema_version": 1, "region": region,
                                 "time": {"start": 2020, "end": 2022}}))
    return f


def test_pack_by_path_loads_and_runs(tmp_path):
    make_pack(tmp_path / "toy")
    sc = sim.load_scenario(scenario(tmp_path, {"pack": "toy"}))
    assert [p.id for p in sc.region.places] == ["a", "b"]
    assert len(sc.region.links) == 1
    res = sim.run_scenario(sc)
    assert res.places["year"].nunique() == 3


def test_scenario_tables_override_the_pack(tmp_path):
    make_pack(tmp_path / "toy")
    sc = sim.load_scenario(scenario(tmp_path, {
        "pack": "toy/region.yaml",
        "sectors": [{"id": "x", "expenditure_share": 0.3}, {"id": "y",
                                                             "expenditure_share": 0.35}]}))
    assert [s.id for s in sc.region.sectors] == ["x", "y"]
    # dumping resolves the pack: the dump is self-contained
    text = sim.dump_scenario(sc)
    assert "pack" not in text
    f = tmp_path / "dumped.yaml"
    f.write_text(text)
    assert sim.load_scenario(f) == sc


def test_pack_errors_name_file_key_and_value(tmp_path):
    f = scenario(tmp_path, {"pack": "atlantis"})
    with pytest.raises(ScenarioError) as e:
        sim.load_scenario(f)
    assert "s.yaml" in str(e.value) and "region.pack" in str(e.value)
    assert "atlantis" in str(e.value)
    make_pack(tmp_path / "toy")
    (tmp_path / "toy" / "places.csv").write_text("id,lat,lon\na,0,999\n")
    with pytest.raises(ScenarioError) as e:
        sim.load_scenario(scenario(tmp_path, {"pack": "toy"}, "t.yaml"))
    msg = str(e.value)
    assert "places.csv" in msg and "row 1" in msg and "lon" in msg and "999" in msg
