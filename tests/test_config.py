"""Scenario loading: round trips, extends, CSV tables, validation errors, schema version."""

import copy
import dataclasses
import math
import re
import shutil
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.scenario.defaults import DEFAULT_MODES
from sim.scenario.load import (
    dump_scenario,
    load_scenario,
    load_scenario_dict,
    scenario_hash,
    scenario_to_dict,
)
from sim.scenario.schema import (
    SCHEMA_VERSION,
    AmenityPolicy,
    ExternalDemandPolicy,
    Link,
    LinkPolicy,
    Mode,
    Parameters,
    Place,
    PlaceSector,
    ProductivityPolicy,
    Region,
    Scenario,
    Sector,
    Solver,
    TimeSpan,
)

DATA = Path(__file__).resolve().parent / "data" / "config"
FIXTURES = ["inline.yaml", "csv_base.yaml", "child/child.yaml", "child/grandchild.yml"]
DEFAULT_MODE_IDS = [m.id for m in DEFAULT_MODES]


def base() -> dict:
    """A small valid scenario tree (2 internal places, 1 external, 2 sectors)."""
    return {
        "schema_version": 1,
        "name": "bad",
        "time": {"start": 2020, "end": 2025},
        "region": {
            "places": [
                {"id": "a", "lat": 43.0, "lon": 125.0, "mobile_pop": 2.0, "ag_pop": 1.0},
                {"id": "b", "lat": 44.0, "lon": 126.0, "mobile_pop": 1.0, "ag_pop": 0.5},
                {"id": "x", "lat": 39.9, "lon": 116.4, "external": True, "gdp": 100.0},
            ],
            "sectors": [
                {"id": "mfg", "expenditure_share": 0.4},
                {"id": "svc", "expenditure_share": 0.25, "tradable": False},
            ],
            "links": [
                {"from": "a", "to": "b", "mode": "road", "km": 100, "hours": 2},
                {"from": "a", "to": "x", "mode": "rail", "km": 900, "hours": 10},
            ],
            "place_sectors": [{"place": "x", "sector": "mfg", "supply_share": 0.5}],
        },
        "parameters": {"agriculture_share": 0.1, "housing_share": 0.25},
        "policies": [],
    }


def write(folder: Path, data: dict, name: str = "bad.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def error_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


def test_base_is_valid(tmp_path):
    sc = load_scenario(write(tmp_path, base()))
    assert sc.name == "bad"
    assert [p.id for p in sc.region.places] == ["a", "b", "x"]


# --------------------------------------------------------------------------------------------
# fixtures and round trips


def test_inline_fixture_values():
    sc = load_scenario(DATA / "inline.yaml")
    reg = sc.region
    assert sc.name == "inline-fixture" and sc.seed == 7
    assert sc.source == str(DATA / "inline.yaml")
    assert sc.time == TimeSpan(2020, 2030)
    assert reg.places[0] == Place("a", 43.9, 125.3, name="Town A", mobile_pop=3.0, ag_pop=1.0,
                                  productivity=1.1, land=2.0)
    assert reg.places[3].external and reg.places[3].gdp == 3000.0
    assert isinstance(reg.places[3].gdp, float) and isinstance(reg.sectors[0].sigma, float)
    assert reg.sectors[1] == Sector("svc", 0.3, sigma=4.0, tradable=False, agglomeration=0.02)
    assert reg.links[0] == Link(from_="a", to="b", mode="expressway", km=110.0, hours=1.3)
    assert reg.links[1].opened == 2015 and reg.links[1].closed == 2040
    assert reg.place_sectors == (PlaceSector("x", "mfg", supply_share=0.6),
                                 PlaceSector("a", "svc", productivity=1.2))
    assert sc.parameters == Parameters(migration_rule="replicator")
    assert sc.solver == Solver(tol=1e-9, max_iter=500, damping=0.7)
    types = [type(p) for p in sc.policies]
    assert types == [LinkPolicy] * 4 + [ProductivityPolicy, AmenityPolicy, ExternalDemandPolicy]
    assert sc.policies[0] == LinkPolicy(start=2024, label="new road", cost_cny=25.0,
                                        action="open", from_="a", to="c", mode="expressway",
                                        km=300.0, hours=3.4)
    assert sc.policies[2].new_mode == "hsr" and sc.policies[2].end == 2029
    assert sc.policies[4].places == ("a", "b") and sc.policies[4].sectors == ("mfg",)
    assert sc.policies[5].places == ()


def test_modes_override_field_by_field():
    modes = {m.id: m for m in load_scenario(DATA / "inline.yaml").region.modes}
    defaults = {m.id: m for m in DEFAULT_MODES}
    assert list(modes) == DEFAULT_MODE_IDS + ["ferry"]
    assert modes["road"] == dataclasses.replace(defaults["road"], cost_per_km_freight=0.45)
    for mid in DEFAULT_MODE_IDS[1:]:
        assert modes[mid] == defaults[mid]
    assert modes["ferry"] == Mode("ferry", passenger=False, cost_per_km_freight=0.05,
                                  terminal_cost_freight=50.0)


def test_new_mode_without_fields_takes_mode_defaults(tmp_path):
    d = base()
    d["region"]["modes"] = {"cart": None, "barge": {}}
    modes = load_scenario(write(tmp_path, d)).region.modes
    assert modes[-2:] == (Mode("cart"), Mode("barge"))
    assert [m.id for m in load_scenario_dict(base()).region.modes] == DEFAULT_MODE_IDS


def test_csv_fixture_values():
    sc = load_scenario(DATA / "csv_base.yaml")
    a, b, c, x = sc.region.places
    assert a == Place("a", 43.9, 125.3, name="Town A", name_zh="甲镇", mobile_pop=3.0, ag_pop=1.0,
                      productivity=1.1)
    assert (b.external, b.productivity, b.gdp) == (False, 1.0, 120.5)  # empty cell: default
    assert (c.name, c.external, c.gdp) == ("", False, None)
    assert (x.external, x.ag_pop, x.gdp) == (True, 0.0, 3000.0)
    mfg, svc = sc.region.sectors
    assert mfg == Sector("mfg", 0.4)
    assert (svc.sigma, svc.tradable, svc.agglomeration) == (5.0, False, 0.01)
    assert sc.region.links[0] == Link("a", "b", "expressway", 110.0, 1.3)
    assert sc.region.links[1].opened == 2010 and sc.region.links[1].closed is None
    assert sc.region.links[2].fixed_cost == 2.5 and sc.region.links[2].closed == 2040
    assert sc.region.place_sectors == (PlaceSector("x", "mfg", supply_share=0.7),
                                       PlaceSector("a", "svc", productivity=1.2))


@pytest.mark.parametrize("name", FIXTURES)
def test_roundtrip_fixture(name, tmp_path):
    sc = load_scenario(DATA / name)
    text = dump_scenario(sc)
    assert "extends" not in yaml.safe_load(text)
    assert load_scenario_dict(yaml.safe_load(text)) == sc
    assert load_scenario_dict(scenario_to_dict(sc)) == sc
    f = tmp_path / "resolved.yaml"
    f.write_text(text, encoding="utf-8")
    again = load_scenario(f)
    assert again == sc
    assert dump_scenario(again) == text
    assert scenario_hash(again) == scenario_hash(sc)


def test_dump_is_fully_resolved():
    d = yaml.safe_load(dump_scenario(load_scenario(DATA / "csv_base.yaml")))
    assert list(d) == ["schema_version", "name", "description", "seed", "resolution", "agents",
                       "calibrate", "groups", "time", "region", "parameters", "solver",
                       "policies"]
    assert d["schema_version"] == SCHEMA_VERSION
    assert list(d["region"]["modes"]) == DEFAULT_MODE_IDS
    assert all(isinstance(d["region"][t], list) for t in ("places", "sectors", "links"))
    link = d["region"]["links"][0]
    assert link["from"] == "a" and "from_" not in link
    assert d["region"]["places"][0]["gdp"] is None  # None written as null, every field listed
    assert d["policies"][0]["type"] == "amenity" and d["policies"][0]["places"] == ["a"]


def test_scenario_hash():
    sc = load_scenario(DATA / "inline.yaml")
    h = scenario_hash(sc)
    assert re.fullmatch(r"[0-9a-f]{8}", h)
    assert scenario_hash(dataclasses.replace(sc, source="elsewhere")) == h
    assert scenario_hash(dataclasses.replace(sc, seed=8)) != h


# --------------------------------------------------------------------------------------------
# extends


def test_extends_deep_merge_and_csv_paths_relative_to_declaring_file():
    parent = load_scenario(DATA / "csv_base.yaml")
    child = load_scenario(DATA / "child" / "child.yaml")
    assert child.name == "child"  # the child's stem, not the parent's name
    assert child.description == "child of csv-base"
    # places: child/places_alt.csv (relative to the child); sectors: tables/sectors.csv
    # (relative to the parent; there is no child/tables/)
    assert [p.mobile_pop for p in child.region.places] == [4.0, 1.0, 0.5, 25.0]
    assert child.region.sectors == parent.region.sectors
    assert child.region.links == parent.region.links
    road = {m.id: m for m in child.region.modes}["road"]
    default_road = DEFAULT_MODES[0]
    assert (road.cost_per_km_freight, road.terminal_cost_freight) == (0.5, 12.0)
    assert road.cost_per_km_passenger == default_road.cost_per_km_passenger
    assert child.parameters == dataclasses.replace(parent.parameters, migration_elasticity=3.0)
    assert child.parameters.migration_cost_fixed == 1.5
    assert child.solver.tol == 1e-9
    assert [p.type for p in child.policies] == ["amenity", "productivity"]
    assert child.policies[0] == parent.policies[0]


def test_extends_recursive_lists_replaced_policies_appended():
    sc = load_scenario(DATA / "child" / "grandchild.yml")
    assert sc.name == "grandchild"
    assert sc.region.links == (Link("a", "b", "hsr", 111.0, 0.5),)
    assert sc.solver == Solver(tol=1e-9, max_iter=50)
    assert [p.type for p in sc.policies] == ["amenity", "productivity", "external_demand"]
    assert sc.parameters.migration_elasticity == 3.0
    assert sc.region.places[0].mobile_pop == 4.0


def test_extends_name_defaults_to_child_stem(tmp_path):
    write(tmp_path, base(), "parent.yaml")
    write(tmp_path, {"schema_version": 1, "extends": "parent.yaml"}, "kid.yaml")
    assert load_scenario(tmp_path / "kid.yaml").name == "kid"


def test_extends_cycle():
    err = error_of(DATA / "cycle_a.yaml")
    assert "cycle" in str(err)
    assert "cycle_a.yaml -> cycle_b.yaml -> cycle_a.yaml" in str(err)
    assert err.path == "extends"


def test_extends_self_cycle(tmp_path):
    f = write(tmp_path, {**base(), "extends": "bad.yaml"})
    assert "cycle" in str(error_of(f))


def test_extends_missing_parent(tmp_path):
    f = write(tmp_path, {"schema_version": 1, "extends": "nowhere.yaml"})
    err = error_of(f)
    assert err.file == str(f) and err.path == "extends" and "nowhere.yaml" in str(err)


def test_errors_name_the_file_that_wrote_the_value(tmp_path):
    parent = base()
    parent["region"]["sectors"][0]["sigma"] = 0.5
    parent["policies"] = [{"type": "amenity", "start": 2021, "factor": 1.1}]
    write(tmp_path, parent, "parent.yaml")
    child = {"schema_version": 1, "extends": "parent.yaml",
             "policies": [{"type": "amenity", "start": 2021, "factor": -1.0}]}
    err = error_of(write(tmp_path, child, "child.yaml"))
    assert err.file.endswith("parent.yaml") and err.path == "region.sectors[0].sigma"
    # fix the parent: now the child's policy (index 1 after the parent's) is the first error
    parent["region"]["sectors"][0]["sigma"] = 5.0
    write(tmp_path, parent, "parent.yaml")
    err = error_of(tmp_path / "child.yaml")
    assert err.file.endswith("child.yaml") and err.path == "policies[1].factor"
    assert err.value == -1.0


def test_parent_schema_version_checked(tmp_path):
    write(tmp_path, {**base(), "schema_version": 2}, "parent.yaml")
    err = error_of(write(tmp_path, {"schema_version": 1, "extends": "parent.yaml"}, "c.yaml"))
    assert err.file.endswith("parent.yaml") and err.path == "schema_version"


def test_load_scenario_dict_base_dir_and_source():
    d = yaml.safe_load((DATA / "csv_base.yaml").read_text())
    sc = load_scenario_dict(d, base_dir=DATA, source="mine")
    assert sc == load_scenario(DATA / "csv_base.yaml") and sc.source == "mine"
    d.pop("name")
    assert load_scenario_dict(d, base_dir=DATA).name == "scenario"
    with pytest.raises(ScenarioError, match="^mine: seed = -1"):
        load_scenario_dict({**d, "seed": -1}, base_dir=DATA, source="mine")


# --------------------------------------------------------------------------------------------
# coercion and defaults


def test_coercion_and_null_means_default(tmp_path):
    d = base()
    d["seed"] = "3"
    d["solver"] = {"tol": "1e-10", "max_iter": 200.0, "damping": None}  # "1e-10": YAML 1.1 str
    d["region"]["places"][0].update(lat="43.5", external="no", gdp=None)
    sc = load_scenario(write(tmp_path, d))
    assert sc.seed == 3
    assert sc.solver == Solver(tol=1e-10, max_iter=200, damping=0.5)
    assert sc.region.places[0].lat == 43.5 and sc.region.places[0].external is False


def test_yml_suffix_and_other_suffix_refused(tmp_path):
    assert load_scenario(write(tmp_path, base(), "s.yml")).name == "bad"
    err = error_of(write(tmp_path, base(), "s.txt"))
    assert ".yaml" in str(err)


# --------------------------------------------------------------------------------------------
# bad input: every error names the file, the key path and the offending value


def _set(*path_value):
    *path, value = path_value

    def mutate(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return mutate


def _pol(**p):
    def mutate(d):
        d["policies"] = [p]
    return mutate


def _del(*path):
    def mutate(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]
    return mutate


def _all_external(d):
    for p in d["region"]["places"]:
        p["external"] = True


def _link_years(d):
    d["region"]["links"][0].update(opened=2030, closed=2030)


def _dup_place(d):
    d["region"]["places"][1]["id"] = "a"


R = ("region",)
P0 = R + ("places", 0)
S0 = R + ("sectors", 0)
L0 = R + ("links", 0)
BAD = [
    ("sigma", _set(*S0, "sigma", 0.5), "region.sectors[0].sigma", 0.5),
    ("lat", _set(*P0, "lat", 95), "region.places[0].lat", 95.0),
    ("lon", _set(*P0, "lon", -190.5), "region.places[0].lon", -190.5),
    ("mobile_pop", _set(*P0, "mobile_pop", -1), "region.places[0].mobile_pop", -1.0),
    ("productivity", _set(*P0, "productivity", 0), "region.places[0].productivity", 0.0),
    ("gdp", _set(*R, "places", 2, "gdp", -5.0), "region.places[2].gdp", -5.0),
    ("nan", _set(*P0, "land", float("nan")), "region.places[0].land", "nan"),
    ("inf", _set(*S0, "tfp_growth", float("inf")), "region.sectors[0].tfp_growth", "inf"),
    ("type", _set(*S0, "sigma", "five"), "region.sectors[0].sigma", "five"),
    ("bool-as-number", _set(*L0, "km", True), "region.links[0].km", True),
    ("missing", _del(*P0, "lat"), "region.places[0].lat", None),
    ("empty-id", _set(*P0, "id", ""), "region.places[0].id", ""),
    ("dup-place", _dup_place, "region.places[1].id", "a"),
    ("dup-sector", _set(*R, "sectors", 1, "id", "mfg"), "region.sectors[1].id", "mfg"),
    ("no-internal", _all_external, "region.places", ["a", "b", "x"]),
    ("no-sector", _set(*R, "sectors", []), "region.sectors", []),
    ("share", _set(*S0, "expenditure_share", 0.5), "region.sectors", 1.1),
    ("share-range", _set(*S0, "expenditure_share", 1.5), "region.sectors[0].expenditure_share",
     1.5),
    ("unknown-top", _set("polices", []), "polices", []),
    ("unknown-place-key", _set(*P0, "latitude", 1.0), "region.places[0].latitude", 1.0),
    ("from_", _set(*L0, "from_", "a"), "region.links[0].from_", "a"),
    ("unknown-param", _set("parameters", "agglomeration_elasticity", 0.1),
     "parameters.agglomeration_elasticity", 0.1),
    ("link-place", _set(*L0, "to", "zz"), "region.links[0].to", "zz"),
    ("link-self", _set(*L0, "to", "a"), "region.links[0].to", "a"),
    ("link-mode", _set(*L0, "mode", "teleport"), "region.links[0].mode", "teleport"),
    ("link-km", _set(*L0, "km", -1), "region.links[0].km", -1.0),
    ("link-years", _link_years, "region.links[0].closed", 2030),
    ("ps-sector", _set(*R, "place_sectors", 0, "sector", "agri"),
     "region.place_sectors[0].sector", "agri"),
    ("ps-share", _set(*R, "place_sectors", 0, "supply_share", 1.5),
     "region.place_sectors[0].supply_share", 1.5),
    ("mode-cost", _set(*R, "modes", {"road": {"cost_per_km_freight": -0.1}}),
     "region.modes.road.cost_per_km_freight", -0.1),
    ("mode-key", _set(*R, "modes", {"road": {"speed": 80}}), "region.modes.road.speed", 80),
    ("region-key", _set(*R, "nodes", []), "region.nodes", []),
    ("rule", _set("parameters", "migration_rule", "random"), "parameters.migration_rule",
     "random"),
    ("housing", _set("parameters", "housing_share", 1.0), "parameters.housing_share", 1.0),
    ("tc-form", _set("parameters", "trade_cost_form", "linear"), "parameters.trade_cost_form",
     "linear"),
    ("tc-rate", _set("parameters", "trade_cost_rate", -0.5), "parameters.trade_cost_rate",
     -0.5),
    ("tc-rate-inf", _set("parameters", "trade_cost_rate", float("inf")),
     "parameters.trade_cost_rate", "inf"),
    ("reconsider", _set("parameters", "reconsider_share", 2), "parameters.reconsider_share",
     2.0),
    ("damping", _set("solver", {"damping": 0}), "solver.damping", 0.0),
    ("max_iter", _set("solver", {"max_iter": 0}), "solver.max_iter", 0),
    ("tol", _set("solver", {"tol": -1e-9}), "solver.tol", -1e-9),
    ("time", _set("time", "end", 2019), "time.end", 2019),
    ("resolution", _set("resolution", "microsim"), "resolution", "microsim"),
    ("seed", _set("seed", -1), "seed", -1),
    ("seed-float", _set("seed", 1.5), "seed", 1.5),
    ("name", _set("name", "a/b"), "name", "a/b"),
    ("pol-type", _pol(type="tax", start=2021), "policies[0].type", "tax"),
    ("pol-end", _pol(type="amenity", start=2022, end=2022), "policies[0].end", 2022),
    ("pol-factor", _pol(type="amenity", start=2022, factor=0), "policies[0].factor", 0.0),
    ("pol-cost", _pol(type="amenity", start=2022, cost_cny=-3), "policies[0].cost_cny", -3.0),
    ("pol-start", _pol(type="amenity", factor=1.1), "policies[0].start", None),
    ("pol-place", _pol(type="amenity", start=2022, places=["a", "q"]), "policies[0].places[1]",
     "q"),
    ("pol-places-str", _pol(type="amenity", start=2022, places="a"), "policies[0].places", "a"),
    ("pol-sector", _pol(type="productivity", start=2022, sectors=["agri"]),
     "policies[0].sectors[0]", "agri"),
    ("pol-internal", _pol(type="productivity", start=2022, places=["x"]),
     "policies[0].places[0]", "x"),
    ("pol-external", _pol(type="external_demand", start=2022, places=["a"]),
     "policies[0].places[0]", "a"),
    ("pol-phase", _pol(type="amenity", start=2022, phase_in=-1), "policies[0].phase_in", -1),
    ("pol-key", _pol(type="amenity", start=2022, sectors=["mfg"]), "policies[0].sectors",
     ["mfg"]),
    ("link-action", _pol(type="link", action="build", start=2022, **{"from": "a"}, to="b",
                         mode="road"), "policies[0].action", "build"),
    ("link-open-km", _pol(type="link", action="open", start=2022, **{"from": "a"}, to="b",
                          mode="road", hours=1.0), "policies[0].km", None),
    ("link-upgrade", _pol(type="link", action="upgrade", start=2022, **{"from": "b"}, to="x",
                          mode="road", hours=1.0), "policies[0]", "b-x road"),
    ("link-upgrade-mode", _pol(type="link", action="close", start=2022, **{"from": "b"},
                               to="a", mode="rail"), "policies[0]", "b-a rail"),
    ("link-pol-mode", _pol(type="link", action="open", start=2022, **{"from": "b"}, to="x",
                           mode="rocket", km=1, hours=1), "policies[0].mode", "rocket"),
    ("link-new-mode", _pol(type="link", action="upgrade", start=2022, **{"from": "a"}, to="b",
                           mode="road", new_mode="maglev"), "policies[0].new_mode", "maglev"),
    ("link-pol-place", _pol(type="link", action="open", start=2022, **{"from": "a"}, to="q",
                            mode="road", km=1, hours=1), "policies[0].to", "q"),
]


@pytest.mark.parametrize("mutate, path, value", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input(tmp_path, mutate, path, value):
    d = copy.deepcopy(base())
    mutate(d)
    f = write(tmp_path, d)
    err = error_of(f)
    msg = str(err)
    assert err.file == str(f) and msg.startswith(f"{f}: ")
    assert err.path == path
    if value in ("nan", "inf"):
        assert isinstance(err.value, float) and not math.isfinite(err.value)
    elif path == "region.sectors" and value != []:
        assert math.isclose(err.value, value)
        assert "sum to 1" in msg and "agriculture_share 0.1" in msg and "mfg 0.5" in msg
        return
    else:
        assert err.value == value
    assert f"{path} = {err.value!r}: " in msg


def test_unknown_key_suggests_the_right_one(tmp_path):
    d = base()
    d["polices"] = []
    assert "did you mean 'policies'" in str(error_of(write(tmp_path, d)))


def test_schema_version_refused(tmp_path):
    err = error_of(write(tmp_path, {**base(), "schema_version": 2}))
    assert err.path == "schema_version" and err.value == 2
    assert f"schema_version {SCHEMA_VERSION}" in str(err) and "bad.yaml" in str(err)
    d = base()
    del d["schema_version"]
    err = error_of(write(tmp_path, d))
    assert err.path == "schema_version" and "supported: 1" in str(err)
    err = error_of(write(tmp_path, {**base(), "schema_version": "1"}))
    assert err.value == "1"


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("schema_version: 1\nregion:\n  places: [{id: a, lat: 1\n  sectors: []\n")
    err = error_of(f)
    assert err.file == str(f) and re.match(r"line \d+, column \d+", err.path)
    assert "invalid YAML" in str(err)


def test_duplicate_yaml_key_refused(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text("schema_version: 1\nseed: 1\nseed: 2\n")
    err = error_of(f)
    assert err.path == "line 3, column 1" and "duplicate key 'seed'" in str(err)


def test_top_level_must_be_mapping(tmp_path):
    f = tmp_path / "list.yaml"
    f.write_text("- 1\n- 2\n")
    assert error_of(f).path == "(top level)"


def test_missing_file():
    err = error_of(DATA / "no_such.yaml")
    assert "not found" in str(err) and "no_such.yaml" in str(err)


# --------------------------------------------------------------------------------------------
# CSV tables

PLACES_HEADER = "id,lat,lon,external,mobile_pop,notes"
PLACES_ROWS = ["a,43.0,125.0,false,2.0,first", "b,44.0,126.0,,1.0,", "x,39.9,116.4,true,5.0,"]


def _csv_scenario(tmp_path, rows=PLACES_ROWS, header=PLACES_HEADER, links=None):
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "places.csv").write_text("\n".join([header, *rows]) + "\n")
    d = base()
    d["region"]["places"] = "data/places.csv"
    if links is not None:
        (tmp_path / "data" / "links.csv").write_text("\n".join(links) + "\n")
        d["region"]["links"] = {"file": "data/links.csv"}
    return write(tmp_path, d)


def test_csv_scenario_ok(tmp_path):
    sc = load_scenario(_csv_scenario(tmp_path))
    assert [p.external for p in sc.region.places] == [False, False, True]


CSV_BAD = [
    ("number", ["a,43.0,125.0,false,2.0,", "b,abc,126.0,,1.0,"], PLACES_HEADER,
     "places.csv row 2, column lat", "abc"),
    ("range", ["a,95,125.0,false,2.0,", *PLACES_ROWS[1:]], PLACES_HEADER,
     "places.csv row 1, column lat", 95.0),
    ("required", ["a,,125.0,false,2.0,", *PLACES_ROWS[1:]], PLACES_HEADER,
     "places.csv row 1, column lat", None),
    ("bool", ["a,43.0,125.0,maybe,2.0,", *PLACES_ROWS[1:]], PLACES_HEADER,
     "places.csv row 1, column external", "maybe"),
    ("negative", [*PLACES_ROWS[:2], "x,39.9,116.4,true,-5.0,"], PLACES_HEADER,
     "places.csv row 3, column mobile_pop", -5.0),
    ("dup-id", [*PLACES_ROWS, "a,1,1,,1,"], PLACES_HEADER, "places.csv row 4, column id", "a"),
    ("unknown-column", PLACES_ROWS, PLACES_HEADER.replace("notes", "population"),
     "places.csv row 0, column population", "population"),
    ("dup-column", PLACES_ROWS, PLACES_HEADER.replace("notes", "lat"),
     "places.csv row 0, column lat", "lat"),
    ("cells", [PLACES_ROWS[0], "b,44.0,126.0", PLACES_ROWS[2]], PLACES_HEADER,
     "places.csv row 2", "b,44.0,126.0"),
]


@pytest.mark.parametrize("rows, header, path, value", [b[1:] for b in CSV_BAD],
                         ids=[b[0] for b in CSV_BAD])
def test_csv_errors(tmp_path, rows, header, path, value):
    err = error_of(_csv_scenario(tmp_path, rows, header))
    assert err.file == str((tmp_path / "data" / "places.csv").absolute())
    assert err.path == path and err.value == value
    assert f"places.csv: {path} = {value!r}: " in str(err)


def test_csv_link_reference_error(tmp_path):
    links = ["from,to,mode,km,hours", "a,b,road,100,2", "a,zz,rail,900,10"]
    err = error_of(_csv_scenario(tmp_path, links=links))
    assert err.file.endswith("links.csv") and err.path == "links.csv row 2, column to"
    assert err.value == "zz"


def test_csv_missing_file(tmp_path):
    d = base()
    d["region"]["sectors"] = "nowhere/sectors.csv"
    err = error_of(write(tmp_path, d))
    assert err.file.endswith("bad.yaml") and err.path == "region.sectors"
    assert "sectors.csv" in str(err) and "not found" in str(err)


def test_csv_doc_columns_ignored_and_empty_means_default(tmp_path):
    header = "id,lat,lon,external,mobile_pop,name_zh,source_notes,notes,kind,productivity"
    rows = ["a,43,125,,2,甲,src,n,town,", "b,44,126,0,1,,,,,1.5", "x,39.9,116.4,1,5,,,,,"]
    sc = load_scenario(_csv_scenario(tmp_path, rows, header))
    assert [p.productivity for p in sc.region.places] == [1.0, 1.5, 1.0]


def test_csv_path_relative_to_declaring_file(tmp_path):
    # parent in tmp/base/ with data/places.csv; child in tmp/ (no data/ folder next to it)
    (tmp_path / "base").mkdir()
    _csv_scenario(tmp_path / "base")
    shutil.move(tmp_path / "base" / "bad.yaml", tmp_path / "base" / "parent.yaml")
    f = write(tmp_path, {"schema_version": 1, "extends": "base/parent.yaml",
                         "seed": 4}, "kid.yaml")
    sc = load_scenario(f)
    assert sc.seed == 4 and [p.id for p in sc.region.places] == ["a", "b", "x"]


# --------------------------------------------------------------------------------------------
# property test: random valid scenarios survive dump -> load

IDS = st.text(string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=6)
TEXT = st.text(max_size=12)


def num(lo=-1e6, hi=1e6, **kw):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, **kw)


POS = num(0.0, 1e6, exclude_min=True)
NONNEG = num(0.0, 1e6)


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 5))
    place_ids = draw(st.lists(IDS, min_size=n, max_size=n, unique=True))
    external = [False] + draw(st.lists(st.booleans(), min_size=n - 1, max_size=n - 1))
    places = tuple(
        Place(id=pid, lat=draw(num(-90, 90)), lon=draw(num(-180, 180)), name=draw(TEXT),
              external=ext, mobile_pop=draw(NONNEG), ag_pop=draw(NONNEG),
              productivity=draw(POS), amenity=draw(POS), ag_productivity=draw(POS),
              land=draw(POS), wage=draw(POS), gdp=draw(st.none() | NONNEG),
              natural_growth=draw(num(-0.2, 0.2)), gdp_growth=draw(num(-0.2, 0.2)))
        for pid, ext in zip(place_ids, external, strict=True))

    modes = list(DEFAULT_MODES)
    for i in draw(st.lists(st.integers(0, len(modes) - 1), max_size=3)):
        modes[i] = dataclasses.replace(modes[i], freight=draw(st.booleans()),
                                       cost_per_km_freight=draw(NONNEG))
    for mid in draw(st.lists(IDS.filter(lambda m: m not in DEFAULT_MODE_IDS), max_size=2,
                             unique=True)):
        modes.append(Mode(mid, passenger=draw(st.booleans()),
                          terminal_cost_passenger=draw(NONNEG)))
    mode_ids = [m.id for m in modes]

    k = draw(st.integers(1, 3))
    sector_ids = draw(st.lists(IDS, min_size=k, max_size=k, unique=True))
    ag, housing = draw(num(0, 0.45)), draw(num(0, 0.45))
    weights = draw(st.lists(num(0.01, 1.0), min_size=k, max_size=k))
    shares = [w / sum(weights) * (1.0 - ag - housing) for w in weights]
    assume(abs(math.fsum(shares + [ag, housing]) - 1.0) <= 1e-9)
    sectors = tuple(
        Sector(id=sid, expenditure_share=sh, name=draw(TEXT),
               sigma=draw(num(1.0, 50.0, exclude_min=True)), fixed_cost=draw(POS),
               tradable=draw(st.booleans()), trade_cost_scale=draw(NONNEG),
               agglomeration=draw(st.none() | num(-1, 1)), tfp_growth=draw(num(-0.2, 0.2)))
        for sid, sh in zip(sector_ids, shares, strict=True))

    links = []
    if n >= 2:
        for _ in range(draw(st.integers(0, 4))):
            a, b = draw(st.lists(st.sampled_from(place_ids), min_size=2, max_size=2,
                                 unique=True))
            opened = draw(st.none() | st.integers(1900, 2100))
            closed = draw(st.none() | st.integers(2101, 2200))
            links.append(Link(a, b, draw(st.sampled_from(mode_ids)), draw(NONNEG),
                              draw(NONNEG), draw(NONNEG), opened, closed))
    pairs = draw(st.lists(st.tuples(st.sampled_from(place_ids), st.sampled_from(sector_ids)),
                          unique=True, max_size=3))
    place_sectors = tuple(PlaceSector(p, s, draw(POS), draw(st.none() | num(0, 1)))
                          for p, s in pairs)

    internal = [p.id for p in places if not p.external]
    outside = [p.id for p in places if p.external]
    policies, starts = [], []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(1990, 2100))
        starts.append(start)
        common = {"start": start, "end": draw(st.none() | st.integers(start + 1, 2200)),
                  "label": draw(TEXT), "cost_cny": draw(NONNEG)}
        shape = {"factor": draw(POS), "phase_in": draw(st.integers(0, 10))}
        kind = draw(st.sampled_from(["link", "productivity", "amenity", "external"]))
        if kind == "productivity":
            policies.append(ProductivityPolicy(
                **common, **shape, places=tuple(draw(st.lists(st.sampled_from(internal)))),
                sectors=tuple(draw(st.lists(st.sampled_from(sector_ids))))))
        elif kind == "amenity":
            policies.append(AmenityPolicy(
                **common, **shape, places=tuple(draw(st.lists(st.sampled_from(internal))))))
        elif kind == "external" and outside:
            policies.append(ExternalDemandPolicy(
                **common, **shape, places=tuple(draw(st.lists(st.sampled_from(outside))))))
        elif kind == "link" and links:
            lk = draw(st.sampled_from(links))
            action = draw(st.sampled_from(["open", "upgrade", "close"]))
            opt = st.none() | NONNEG
            policies.append(LinkPolicy(
                **common, action=action, from_=lk.to, to=lk.from_, mode=lk.mode,
                km=draw(NONNEG if action == "open" else opt),
                hours=draw(NONNEG if action == "open" else opt), fixed_cost=draw(opt),
                new_mode=draw(st.none() | st.sampled_from(mode_ids))
                if action == "upgrade" else None))

    t0 = draw(st.integers(1900, 2100))
    return Scenario(
        name=draw(IDS), description=draw(TEXT), seed=draw(st.integers(0, 2**63)),
        time=TimeSpan(t0, draw(st.integers(max([t0, *starts]), 2200))),
        region=Region(places=places, sectors=sectors, links=tuple(links), modes=tuple(modes),
                      place_sectors=place_sectors),
        parameters=Parameters(
            agriculture_share=ag, housing_share=housing, distance_elasticity=draw(NONNEG),
            reference_cost=draw(POS), value_of_time_passenger=draw(NONNEG),
            agglomeration=draw(num(-1, 1)), migration_rule=draw(st.sampled_from(
                ["logit", "replicator", "none"])), reconsider_share=draw(num(0, 1)),
            migration_elasticity=draw(POS), replicator_speed=draw(POS),
            hukou_cost=draw(NONNEG), firm_dynamics=draw(st.sampled_from(["free_entry",
                                                                          "entry_exit"])),
            productivity_levels=draw(st.integers(2, 15))),
        solver=Solver(tol=draw(num(0, 1, exclude_min=True)), max_iter=draw(st.integers(1, 10**6)),
                      damping=draw(num(0, 1, exclude_min=True)), anderson=draw(st.integers(0, 9))),
        policies=tuple(policies))


@given(scenarios())
def test_roundtrip_property(sc):
    text = dump_scenario(sc)
    back = load_scenario_dict(yaml.safe_load(text))
    assert back == sc
    assert dump_scenario(back) == text
    assert load_scenario_dict(scenario_to_dict(sc)) == sc


def test_roundtrip_property_through_a_file(tmp_path):
    @given(scenarios())
    def check(sc):
        f = tmp_path / "s.yaml"
        f.write_text(dump_scenario(sc), encoding="utf-8")
        assert load_scenario(f) == sc

    check()


@pytest.mark.parametrize("patch,key,value", [
    ({"resolution": "agents"}, "parameters.firm_dynamics", "free_entry"),
    ({"resolution": "agents", "parameters": {"firm_dynamics": "entry_exit",
                                             "migration_rule": "replicator"}},
     "parameters.migration_rule", "replicator"),
    ({"parameters": {"firm_dynamics": "melitz"}}, "parameters.firm_dynamics", "melitz"),
    ({"agents": {"households": 0}}, "agents.households", "0"),
    ({"parameters": {"productivity_levels": 1}}, "parameters.productivity_levels", "1"),
    ({"policies": [{"type": "firm_subsidy", "start": 2021, "rate": 1.5}]},
     "policies[0].rate", "1.5"),
])
def test_agent_and_firm_settings_validated(tmp_path, patch, key, value):
    base = yaml.safe_load((DATA / "inline.yaml").read_text())
    base.pop("policies", None)
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k].update(v)
        else:
            base[k] = v
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(base))
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    msg = str(e.value)
    assert "s.yaml" in msg and key in msg and value in msg


def test_groups_internal_places_and_the_reserved_foreign_group(tmp_path):
    d = base()
    d["groups"] = {"core": ["a"], "foreign": ["x"]}
    sc = load_scenario(write(tmp_path, d))
    assert dict(sc.groups) == {"core": ("a",), "foreign": ("x",)}
    d["groups"] = {"corridor": ["a", "x"]}  # an external place in an ordinary group
    err = error_of(write(tmp_path, d))
    assert "groups.corridor[1]" in str(err) and "'x'" in str(err) and "internal place" in str(err)
    d["groups"] = {"foreign": ["b"]}  # an internal place abroad
    err = error_of(write(tmp_path, d))
    assert "groups.foreign[0]" in str(err) and "'b'" in str(err) and "external place" in str(err)
