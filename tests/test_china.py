"""The national region pack (sim/data/china) loads, adds up, is connected, calibrates and runs;
the synthetic China-sized country generator (sim._testing.synthetic_country)."""

import csv
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

import sim
from sim._testing import COUNTRY_POP, synthetic_country, synthetic_country_scenario
from sim.engine.build import build_static
from sim.engine.primitives import active_links, network_matrices
from sim.kernels import network as netk
from sim.scenario.schema import Parameters

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "sim" / "data" / "china"
SCENARIO = ROOT / "scenarios" / "china_baseline.yaml"
MODES = {"road", "expressway", "rail", "hsr", "sea"}
STATUS = ("sourced", "DERIVED", "EST", "UNSOURCED", "ASSUMPTION")

# 7th census (1 Nov 2020): 1,411,778,724 residents in mainland China including 2.0 m active
# military personnel who belong to no province; the 31 provinces hold 1,409,778,724. The pack
# covers the 31 provinces (Hong Kong, Macao and Taiwan are not in it).
NATIONAL_POP = 1411.778724
PROVINCES_POP = 1409.778724
# 2020 GDP: sum of the 31 provinces (China Statistical Yearbook 2021 table 3-9), 101,241.5 bn;
# the national figure (1,015,986 hundred million, preliminary) differs by 0.35%.
PROVINCES_GDP = 101241.502
NATIONAL_GDP = 101598.6
JILIN = ["changchun", "jilin", "siping", "liaoyuan", "tonghua", "baishan", "songyuan",
         "baicheng", "yanbian"]
FOREIGN = {"usa", "europe", "japan", "korea", "asean", "russia"}


def read(name):
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def scenario():
    return sim.load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def results(scenario):
    # calibrated, 2 years (2020-2021): the run the checks below share (~6 s at 340 places)
    return sim.run_scenario(scenario, end_year=2021)


def province_of():
    return {r["id"]: r["notes"].removeprefix("province: ") for r in read("places.csv")
            if r["external"] == "false"}


# ------------------------------------------------------------------------- the pack


def test_pack_loads_and_is_small(scenario):
    man = yaml.safe_load((DATA / "region.yaml").read_text(encoding="utf-8"))
    assert man["name"] == "china" and man["base_year"] == 2020
    for f in [*man["tables"].values(), man["provinces"], man["sources"]]:
        assert (DATA / f).is_file()
    assert sum(f.stat().st_size for f in DATA.iterdir()) < 2_000_000
    internal = [p for p in scenario.region.places if not p.external]
    external = {p.id for p in scenario.region.places if p.external}
    assert 330 <= len(internal) <= 345
    assert external == FOREIGN
    assert set(dict(scenario.groups)["foreign"]) == FOREIGN
    assert {lk.mode for lk in scenario.region.links} <= MODES


def test_every_number_has_a_status():
    for r in read("places.csv") + read("links.csv"):
        assert any(w in r["source_notes"] for w in STATUS), r


def test_national_totals(scenario):
    internal = [p for p in scenario.region.places if not p.external]
    pop = math.fsum(p.mobile_pop + p.ag_pop for p in internal)
    assert pop == pytest.approx(PROVINCES_POP, abs=1e-4)
    assert pop == pytest.approx(NATIONAL_POP, rel=2e-3)  # the 2.0 m military are in no place
    gdp = math.fsum(p.gdp for p in internal)
    assert gdp == pytest.approx(PROVINCES_GDP, abs=0.1)
    assert gdp == pytest.approx(NATIONAL_GDP, rel=5e-3)


def test_provincial_totals():
    places = {r["id"]: r for r in read("places.csv")}
    prov = province_of()
    for row in read("provinces.csv"):
        mem = [places[i] for i, p in prov.items() if p == row["province"]]
        assert len(mem) == int(row["units"]) >= 1, row["province"]
        pop = math.fsum(float(r["mobile_pop"]) + float(r["ag_pop"]) for r in mem)
        assert pop * 1e6 == pytest.approx(int(row["census_2020"]), abs=5), row["province"]
        gdp = math.fsum(float(r["gdp"]) for r in mem)
        assert gdp == pytest.approx(float(row["gdp_2020_bn"]), abs=0.01), row["province"]
    assert len(read("provinces.csv")) == 31


def _gdp_status(note):
    if note.startswith(("GDP Jilin pack", "GDP sourced (Jilin pack",
                        "GDP UNSOURCED recollection (Jilin pack)", "GDP EST (Jilin pack")):
        return "Jilin pack"
    for word, key in (("GDP sourced:", "sourced"), ("GDP UNSOURCED", "UNSOURCED"),
                      ("GDP DERIVED", "DERIVED"), ("GDP EST", "EST")):
        if note.startswith(word):
            return key
    raise AssertionError(note)


def test_gdp_status_table_matches_the_readme():
    """The README's table of GDP shares by status is what the rows' GDP notes say."""
    rows = [r for r in read("places.csv") if r["external"] == "false"]
    total = math.fsum(float(r["gdp"]) for r in rows)
    units, gdp = {}, {}
    for r in rows:
        note = next(s for s in r["source_notes"].split(" | ") if s.startswith("GDP "))
        key = _gdp_status(note)
        units[key] = units.get(key, 0) + 1
        gdp[key] = gdp.get(key, 0.0) + float(r["gdp"])
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| prefecture GDP | units | share of GDP |"):]
    table = table[: table.index("\n\n")].splitlines()[2:]
    assert len(table) == len(units)
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        key = next(k for k in units if cells[0].strip("*").startswith(k))
        assert int(cells[1]) == units[key], key
        assert float(cells[2].rstrip("%")) == pytest.approx(100 * gdp[key] / total, abs=0.05), key
    # 289 units (95.4% of GDP) sourced, 33 (2.7%) still on recollections
    assert units["sourced"] >= 289 and gdp["sourced"] / total > 0.95
    assert units["UNSOURCED"] <= 33 and gdp["UNSOURCED"] / total < 0.028


def test_gdp_notes_match_values():
    """Each GDP value is what its note says: a yearbook figure or a recollection, times the common
    factor the note states, or provincial GDP minus the province's sourced units (DERIVED)."""
    rows = [r for r in read("places.csv") if r["external"] == "false"]
    prov = {r["province"]: float(r["gdp_2020_bn"]) for r in read("provinces.csv")}
    note = {r["id"]: next(s for s in r["source_notes"].split(" | ") if s.startswith("GDP "))
            for r in rows}
    members = {}
    for r in rows:
        members.setdefault(r["notes"].removeprefix("province: "), []).append(r)
    n_yearbook = n_recalled = 0
    for r in rows:
        gdp, text = float(r["gdp"]), note[r["id"]]
        factor = re.search(r", x ([\d.]+): ", text)
        f = float(factor.group(1)) if factor else 1.0
        if text.startswith("GDP sourced: ") and "China City Statistical Yearbook 2021" in text:
            n_yearbook += 1
            yi = float(re.match(r"GDP sourced: ([\d.]+) yi \(", text).group(1))
            # the prefecture table rounds to 1 yi; the pack closes each province to 0.001 bn
            assert gdp == pytest.approx(yi / 10 * f, abs=0.005), r["id"]
        elif text.startswith("GDP DERIVED"):
            others = [o for o in members[r["notes"].removeprefix("province: ")] if o is not r]
            assert all(_gdp_status(note[o["id"]]) == "sourced" for o in others), r["id"]
            rest = prov[r["notes"].removeprefix("province: ")] - math.fsum(
                float(o["gdp"]) for o in others)
            assert gdp == pytest.approx(rest, abs=0.002) and gdp > 0, r["id"]
        elif text.startswith("GDP UNSOURCED recollection ") and "(Jilin pack)" not in text:
            n_recalled += 1
            yi = float(re.match(r"GDP UNSOURCED recollection ([\d.]+) yi", text).group(1))
            assert gdp == pytest.approx(yi / 10 * f, abs=0.005), r["id"]
    assert n_yearbook >= 249 and n_recalled >= 1


def test_jilin_consistent_with_the_jilin_pack(scenario):
    by_id = {p.id: p for p in scenario.region.places}
    assert sorted(i for i, p in province_of().items() if p == "jilin") == sorted(JILIN)
    pop = math.fsum(by_id[i].mobile_pop + by_id[i].ag_pop for i in JILIN)
    assert pop == pytest.approx(24.073453, abs=1e-6)
    gdp = math.fsum(by_id[i].gdp for i in JILIN)
    assert abs(gdp - 1231.13) <= 0.01
    with open(ROOT / "sim" / "data" / "jilin" / "places.csv", encoding="utf-8") as f:
        jl = [r for r in csv.DictReader(f) if r["external"] == "false"]
    for pref in JILIN:
        parts = [r for r in jl if pref in (r["id"], r["parent"])
                 or (pref == "yanbian" and r["id"] == "changbaishan")]
        assert by_id[pref].gdp == pytest.approx(math.fsum(float(r["gdp"]) for r in parts),
                                                abs=1e-3)
        assert by_id[pref].ag_pop == pytest.approx(
            math.fsum(float(r["ag_pop"]) for r in parts), abs=1e-5)


def test_place_fields(scenario):
    for p in scenario.region.places:
        assert p.mobile_pop > 0 and p.gdp > 0, p.id
        if p.external:
            assert p.migration is False and p.ag_pop == 0
            assert p.wage == pytest.approx(p.gdp / p.mobile_pop, rel=1e-3)
        else:
            # Shenzhen has no farm residents; Shigatse the most (50%)
            assert 0 <= p.ag_pop <= 0.55 * (p.mobile_pop + p.ag_pop), p.id
            assert p.ag_pop * p.ag_productivity < 0.5 * p.gdp, p.id


def test_links_and_reachability(scenario):
    keys = [(frozenset((lk.from_, lk.to)), lk.mode) for lk in scenario.region.links]
    assert len(keys) == len(set(keys)), "duplicate links"
    for lk in scenario.region.links:
        assert lk.km > 0 and lk.hours > 0
        assert lk.opened is None or lk.opened <= 2021
    static = build_static(scenario)
    nm = network_matrices(static, active_links(static, (), 2020), Parameters())
    assert netk.reachable(nm.freight_cost).all()
    internal = [static.place_index[p.id] for p in scenario.region.places if not p.external]
    assert np.isfinite(nm.passenger_cost[np.ix_(internal, internal)]).all()
    hsr = {frozenset((lk.from_, lk.to)) for lk in scenario.region.links if lk.mode == "hsr"}
    for a, b in [("beijing", "langfang"), ("wuxi", "suzhou_jiangsu"), ("harbin", "changchun"),
                 ("guiyang", "anshun"), ("changchun", "jilin")]:
        assert frozenset((a, b)) in hsr


# ------------------------------------------------------------------------- calibration, run


def test_calibration_reproduces_gdp(scenario, results):
    cal = results.manifest["calibration"]
    assert cal["max_gdp_rel_error"] < 1e-6
    base = results.places[results.places["year"] == 2020].set_index("place")
    target = {p.id: p.gdp for p in scenario.region.places if not p.external}
    rel = np.array([base.loc[i, "gdp"] / g - 1 for i, g in target.items()])
    assert np.abs(rel).max() < 1e-6


def test_short_run_is_finite(scenario, results):
    assert sorted(results.places["year"].unique()) == [2020, 2021]
    num = results.places.select_dtypes("number").to_numpy()
    assert np.isfinite(num).all()
    for col in ("population", "gdp", "wage"):
        assert (results.places[col] >= 0).all()
    assert np.isfinite(results.sectors.select_dtypes("number").to_numpy()).all()
    assert results.manifest["solver"]["max_residual"] < scenario.solver.tol
    base = results.places[results.places["year"] == 2020]
    internal = {p.id for p in scenario.region.places if not p.external}
    assert base[base["place"].isin(internal)]["population"].sum() == pytest.approx(
        PROVINCES_POP, abs=1e-3)


def test_jilin_out_migrants_go_to_other_provinces(scenario, results):
    m = results.migration
    prov = province_of()
    out = m[m["origin"].isin(JILIN) & ~m["destination"].isin(JILIN) & (m["movers"] > 0)]
    assert out["movers"].sum() > 0
    assert not set(out["destination"]) & FOREIGN  # none abroad
    assert set(out["destination"]) <= set(prov)  # internal places of the national pack
    by_prov = out.groupby(out["destination"].map(prov))["movers"].sum()
    assert "jilin" not in by_prov.index and len(by_prov) >= 10
    # the neighbours and Beijing are among the main destinations
    top = set(by_prov.sort_values(ascending=False).index[:6])
    assert {"liaoning", "heilongjiang"} <= top
    assert m[m["origin"].isin(FOREIGN) | m["destination"].isin(FOREIGN)]["movers"].sum() == 0


# ------------------------------------------------------------------------- synthetic country


def _hill(x, frac=0.1):
    top = np.sort(x)[::-1][: max(int(frac * len(x)), 10)]
    return 1.0 / np.mean(np.log(top[:-1] / top[-1]))


def test_synthetic_country_sizes_and_reach():
    reg = synthetic_country(2000, 3, seed=3)
    internal = [p for p in reg.places if not p.external]
    pop = np.array([p.mobile_pop + p.ag_pop for p in internal])
    assert len(internal) == 2000 and pop.sum() == pytest.approx(COUNTRY_POP)
    assert 0.7 <= _hill(pop) <= 1.5  # a Pareto tail with exponent ~1 (Zipf)
    assert pop.max() / pop.sum() <= 0.02 + 1e-12
    xs = np.array([p.lon for p in internal]) * 111.32 * np.cos(np.radians(35.0))
    ys = np.array([p.lat for p in internal]) * 110.57
    assert 3000 <= np.ptp(xs) <= 4100 and 2500 <= np.ptp(ys) <= 3600
    # every place reachable by freight modes (one connected component)
    idx = {p.id: i for i, p in enumerate(reg.places)}
    fr = [lk for lk in reg.links if lk.mode != "hsr"]
    adj = coo_matrix((np.ones(len(fr)), ([idx[lk.from_] for lk in fr], [idx[lk.to] for lk in fr])),
                     shape=(len(idx), len(idx)))
    assert connected_components(adj, directed=False)[0] == 1
    modes = {lk.mode for lk in reg.links}
    assert modes == {"road", "expressway", "rail", "hsr", "sea"}
    # deterministic by seed
    assert synthetic_country(300, 2, seed=5) == synthetic_country(300, 2, seed=5)
    assert synthetic_country(300, 2, seed=5) != synthetic_country(300, 2, seed=6)


def test_synthetic_country_runs():
    sc = synthetic_country_scenario(150, 3, seed=1, years=2)
    static = build_static(sc)
    nm = network_matrices(static, active_links(static, (), 2020), Parameters())
    assert netk.reachable(nm.freight_cost).all()
    res = sim.run_scenario(sc)
    assert np.isfinite(res.places.select_dtypes("number").to_numpy()).all()
