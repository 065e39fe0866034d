"""The Jilin base-year-2020 region data pack (sim/data/jilin) validates, adds up and runs."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

import sim
from sim.engine.build import build_static
from sim.engine.primitives import active_links, network_matrices
from sim.kernels import network as netk
from sim.scenario.load import load_scenario_dict
from sim.scenario.schema import Parameters

DATA = Path(__file__).resolve().parents[1] / "sim" / "data" / "jilin"
TABLES = ("places", "links", "sectors", "place_sectors")
MODES = {"road", "expressway", "rail", "hsr", "sea", "border_crossing"}
SCENIC = {"tianchi", "chagan_lake", "momoge", "xianghai"}

PROVINCE_POP = 24.073453  # millions, 7th census (1 Nov 2020)
PROVINCE_GDP = 1231.13  # bn CNY, 2020


def read(name):
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def scenario_dict(base_dir=None):
    folder = Path(base_dir) if base_dir else DATA
    region = {t: str(folder / f"{t}.csv") for t in TABLES}
    return {"schema_version": 1, "name": "jilin-check", "region": region,
            "time": {"start": 2020, "end": 2021}}


@pytest.fixture(scope="module")
def scenario():
    return load_scenario_dict(scenario_dict(), base_dir=DATA)


@pytest.fixture(scope="module")
def results(scenario):
    return sim.run_scenario(scenario)


# ------------------------------------------------------------------------- (a) validation


def test_scenario_validates(scenario):
    ids = {p.id for p in scenario.region.places}
    internal = {p.id for p in scenario.region.places if not p.external}
    assert len(internal) == 19
    assert {"changchun", "gongzhuling", "meihekou", "dunhua", "hunchun", "tumen", "daan",
            "tongyu", "jian", "changbai", "changbaishan"} <= internal
    assert {"rest_of_china", "choibalsan", "busan", "vladivostok"} <= ids - internal
    assert not SCENIC & ids
    assert len(scenario.region.sectors) == 13


def test_relative_paths_resolve_against_base_dir():
    rel = {"schema_version": 1, "name": "jilin-rel",
           "region": {t: f"{t}.csv" for t in TABLES}, "time": {"start": 2020, "end": 2021}}
    assert load_scenario_dict(rel, base_dir=DATA).region == \
        load_scenario_dict(scenario_dict(), base_dir=DATA).region


def test_manifest_lists_the_tables():
    man = yaml.safe_load((DATA / "region.yaml").read_text(encoding="utf-8"))
    assert man["name"] == "jilin" and man["base_year"] == 2020
    assert man["tables"] == {t: f"{t}.csv" for t in TABLES}
    for f in [*man["tables"].values(), man["planned_links"], man["sources"]]:
        assert (DATA / f).is_file()


# ------------------------------------------------------------------------- (b) totals


def test_internal_population_sums_to_province(scenario):
    pops = [p.mobile_pop + p.ag_pop for p in scenario.region.places if not p.external]
    assert math.fsum(pops) == pytest.approx(PROVINCE_POP, abs=1e-6)


def test_internal_gdp_sums_to_province(scenario):
    gdp = math.fsum(p.gdp for p in scenario.region.places if not p.external)
    assert abs(gdp - PROVINCE_GDP) <= 0.5


def test_place_fields(scenario):
    for p in scenario.region.places:
        assert p.mobile_pop > 0 and p.gdp > 0, p.id
        if p.external:
            assert p.ag_pop == 0
            assert p.wage == pytest.approx(p.gdp / p.mobile_pop, rel=1e-3), p.id
            assert 0 <= p.gdp_growth <= 0.06, p.id
        else:
            assert 0 < p.ag_pop < p.mobile_pop + p.ag_pop, p.id
            assert -0.003 <= p.natural_growth <= 0, p.id
    internal = [p for p in scenario.region.places if not p.external]
    ag = math.fsum(p.ag_pop for p in internal) / PROVINCE_POP
    assert 0.25 <= ag <= 0.35


def test_sector_shares(scenario):
    par = Parameters()
    shares = [s.expenditure_share for s in scenario.region.sectors]
    assert math.fsum(shares) == pytest.approx(0.65, abs=1e-12)
    assert abs(math.fsum(shares + [par.agriculture_share, par.housing_share]) - 1) < 1e-9
    nontraded = {s.id for s in scenario.region.sectors if not s.tradable}
    assert nontraded == {"tourism", "other_services"}
    logistics = next(s for s in scenario.region.sectors if s.id == "logistics_trade")
    assert logistics.trade_cost_scale == 0.5


def test_place_sector_rows(scenario):
    external = {p.id for p in scenario.region.places if p.external}
    rows = {}
    for ps in scenario.region.place_sectors:
        assert ps.productivity > 0
        if ps.supply_share is not None:
            assert ps.place in external
            rows.setdefault(ps.place, []).append(ps.supply_share)
    for place, shares in rows.items():
        assert math.fsum(shares) == pytest.approx(1.0, abs=1e-6), place
    for r in read("place_sectors.csv"):
        assert "ASSUMPTION" in r["notes"]


# ------------------------------------------------------------------------- links


# under construction in 2020, opened later: part of the baseline in their real year
UNDER_CONSTRUCTION_2020 = {(frozenset(("dunhua", "changbaishan")), "hsr"): 2022,
                           (frozenset(("shenyang", "beijing")), "hsr"): 2021}


def test_links_are_2020_network(scenario):
    for lk in scenario.region.links:
        assert lk.mode in MODES
        late = UNDER_CONSTRUCTION_2020.get((frozenset((lk.from_, lk.to)), lk.mode))
        assert lk.opened == late if late else (lk.opened is None or lk.opened <= 2020)
        assert lk.closed is None
        assert not {lk.from_, lk.to} & SCENIC
        assert (lk.fixed_cost > 0) == (lk.mode == "border_crossing"
                                       or {lk.from_, lk.to} == {"hunchun", "zarubino"})
    keys = [(frozenset((lk.from_, lk.to)), lk.mode) for lk in scenario.region.links]
    assert len(keys) == len(set(keys)), "duplicate links"


def test_planned_links_file(scenario):
    ids = {p.id for p in scenario.region.places}
    rows = read("planned_links.csv")
    assert len(rows) == 10
    for r in rows:
        assert r["from"] in ids and r["to"] in ids and r["mode"] in MODES
        assert float(r["km"]) > 0 and float(r["hours"]) > 0
        assert r["plan_clause"].strip()
    assert any({r["from"], r["to"]} == {"arxan", "choibalsan"} for r in rows)
    assert any({r["from"], r["to"]} == {"manzhouli", "europe"} for r in rows)
    assert any({r["from"], r["to"]} == {"zarubino", "niigata"} for r in rows)


# ------------------------------------------------------------------------- (c) reachability


def test_reachability_2020(scenario):
    static = build_static(scenario)
    nm = network_matrices(static, active_links(static, (), 2020), Parameters())
    i = static.place_index["changchun"]
    for p in scenario.region.places:
        j = static.place_index[p.id]
        if not p.external:
            assert np.isfinite(nm.freight_cost[i, j]), p.id
            assert np.isfinite(nm.passenger_cost[i, j]), p.id
    k = static.place_index["choibalsan"]  # reachable only by the planned Arxan railway
    assert np.isinf(nm.freight_cost[i, k]) and np.isinf(nm.passenger_cost[i, k])
    assert nm.freeness[:, i, k].max() == 0.0
    reach = netk.reachable(nm.freight_cost)
    assert reach[i].sum() == static.n_places - 1  # everything but choibalsan
    for far in ("niigata", "europe"):  # by sea in 2020 (freight only)
        assert np.isfinite(nm.freight_cost[i, static.place_index[far]])


def test_planned_railway_reaches_choibalsan(scenario):
    static = build_static(scenario)
    links = active_links(static, (), 2020)
    row = next(r for r in read("planned_links.csv")
               if {r["from"], r["to"]} == {"arxan", "choibalsan"})
    rail = static.mode_index["rail"]
    frm = np.append(links.from_, static.place_index[row["from"]])
    to = np.append(links.to, static.place_index[row["to"]])
    mode = np.append(links.mode, rail)
    cost = netk.link_generalized_cost(
        np.append(links.km, float(row["km"])), np.append(links.hours, float(row["hours"])),
        np.append(links.fixed, float(row["fixed_cost"])), static.mode_cpk_freight[mode], 5.0)
    sel = static.mode_freight[mode]
    gc = netk.shortest_path_costs(static.n_places, frm[sel], to[sel], mode[sel], cost[sel],
                                  static.mode_terminal_freight)
    i, k = static.place_index["changchun"], static.place_index["choibalsan"]
    assert np.isfinite(gc[i, k])


# ------------------------------------------------------------------------- (d) a run


def test_run_2020_2021_is_finite(scenario, results):
    assert sorted(results.places["year"].unique()) == [2020, 2021]
    assert np.isfinite(results.places.select_dtypes("number").to_numpy()).all()
    assert np.isfinite(results.sectors.select_dtypes("number").to_numpy()).all()
    assert results.manifest["solver"]["max_residual"] < scenario.solver.tol
    base = results.places[results.places["year"] == 2020]
    assert base["population"].sum() == pytest.approx(PROVINCE_POP, abs=1e-6)
