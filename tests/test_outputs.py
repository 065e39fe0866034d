"""Invariants of the outputs behind the indicators: welfare [W1], trade [O1]-[O2], tourism [P4]."""

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.scenario.load import load_scenario_dict, scenario_to_dict

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tour():
    """The example region with a tourism loop on two places from 2022 (phase-in 2 years)."""
    d = scenario_to_dict(sim.load_scenario(ROOT / "scenarios" / "example.yaml"))
    places = [p["id"] for p in d["region"]["places"] if not p.get("external")][:2]
    sector = d["region"]["sectors"][-1]["id"]
    d["policies"] = [{"type": "tourism", "label": "loop", "start": 2022, "phase_in": 2,
                      "places": places, "weights": [3.0, 1.0], "visitors": 2.0,
                      "spend_per_visitor": 1.5, "sector": sector, "cost_cny": 4.0}]
    sc = load_scenario_dict(d, source="tourism-toy", base_dir=ROOT / "scenarios")
    return sim.run_scenario(sc, end_year=2025), places


def test_welfare_is_at_least_the_utility_of_staying(tour):
    p = tour[0].places
    # W_n = (sum_m U_m^eps e^-kappa_nm)^(1/eps) >= U_n (the stay term, kappa_nn = 0)
    assert (p["welfare"] >= p["utility"] * (1 - 1e-12)).all()
    assert np.isfinite(p["welfare"]).all()


def test_external_trade_is_bounded_by_output(tour):
    r = tour[0]
    out = r.sectors.groupby(["year", "place"])["output"].sum()
    p = r.places.set_index(["year", "place"])
    assert (p["exports_external"] >= 0).all() and (p["imports_external"] >= 0).all()
    assert (p["exports_external"] <= out.reindex(p.index) * (1 + 1e-9)).all()


def test_tourism_visitors_and_spending_follow_the_policy(tour):
    r, places = tour
    p = r.places
    by = p.groupby("year")[["visitors", "visitor_spending"]].sum()
    phase = {2020: 0.0, 2021: 0.0, 2022: 0.5, 2023: 1.0, 2024: 1.0, 2025: 1.0}
    for y, f in phase.items():
        assert by.loc[y, "visitors"] == pytest.approx(2.0 * f)
        assert by.loc[y, "visitor_spending"] == pytest.approx(2.0 * 1.5 * f)
    last = p[p.year == 2025].set_index("place")["visitors"]
    assert last[places[0]] == pytest.approx(1.5) and last[places[1]] == pytest.approx(0.5)


def test_links_table_regional_freight_and_zero_shock():
    a = sim.run_scenario(ROOT / "scenarios" / "example.yaml", end_year=2023)
    z = sim.run_scenario(ROOT / "scenarios" / "example_zero.yaml", end_year=2023)
    L = a.links
    assert (L["freight_regional"] <= L["freight"] * (1 + 1e-12) + 1e-12).all()
    assert (L["freight"] >= 0).all() and L["freight"].sum() > 0
    # a zero shock reproduces every new output exactly
    for col in ("welfare", "exports_external", "imports_external", "visitors"):
        np.testing.assert_array_equal(a.places[col].to_numpy(), z.places[col].to_numpy())
    np.testing.assert_array_equal(a.links["freight"].to_numpy(), z.links["freight"].to_numpy())


def test_parquet_files_carry_column_units(tmp_path):
    """GDP and every money column are labelled nominal in the Parquet metadata and manifest."""
    import sim
    from sim.results.folder import parquet_units

    res = sim.run_scenario(sim.load_scenario("scenarios/example.yaml"), end_year=2021)
    out = sim.write_results(res, tmp_path / "r")
    units = parquet_units(out / "places.parquet")
    assert "nominal" in units["gdp"] and units["population"] == "m persons"
    assert "nominal" in parquet_units(out / "sectors.parquet")["output"]
    assert "gdp" in sim.load_results(out).manifest["units"]


def test_label_columns_are_the_plain_columns():
    """The recorder's place and sector columns, gathered from the distinct ids by position,
    equal the columns pandas builds from the Python strings (values and dtype)."""
    import numpy as np
    import pandas as pd

    from sim.engine.recorder import _labels

    ids = np.asarray([f"c{i}" for i in range(7)], dtype=object)
    idx = np.random.default_rng(0).integers(0, 7, 50)
    got = pd.DataFrame({"place": _labels(ids, idx)})
    pd.testing.assert_frame_equal(got, pd.DataFrame({"place": ids[idx]}), check_exact=True)
