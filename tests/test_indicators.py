"""Indicators on hand-computed toy data (docs/indicators.md), and the kernels behind them."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.analysis.indicators import (
    beta_convergence,
    effects,
    gdp_deflator,
    gini,
    indicators,
    policy_spending,
    sigma_convergence,
    theil,
    weighted_cv,
    welfare_decomposition,
)
from sim.results import Results

GROUPS = {"core": ["A"], "circle": ["B"], "corridor": ["A", "B"]}


def toy(gdp2021=(11.0, 22.0, 30.0), welfare_scale=1.0, policies=()):
    """Three places, two years. 2020: y = 10, 20, 10 (pop 1, 1, 2)."""
    places = pd.DataFrame({
        "year": [2020] * 3 + [2021] * 3, "place": ["A", "B", "C"] * 2,
        "population": [1.0, 1.0, 2.0] * 2, "mobile": [0.5, 0.5, 1.0] * 2,
        "gdp": [10.0, 20.0, 20.0, *gdp2021],
        "real_wage": [1.0, 2.0, 3.0] * 2,
        "welfare": [welfare_scale * w for w in [1.0, 2.0, 3.0] * 2],
        "exports_external": [1.0, 2.0, 3.0, 2.0, 2.0, 2.0],
        "imports_external": [0.5, 0.5, 0.5, 1.0, 1.0, 1.0],
        "visitors": [0.0, 0.0, 0.0, 1.5, 0.5, 0.0],
        "visitor_spending": [0.0, 0.0, 0.0, 3.0, 1.0, 0.0],
    })
    sectors = pd.DataFrame({
        "year": np.repeat([2020, 2021], 6), "place": np.tile(np.repeat(["A", "B", "C"], 2), 2),
        "sector": ["tourism", "goods"] * 6, "output": [1.0, 9.0, 2.0, 18.0, 0.0, 20.0,
                                                    4.0, 7.0, 3.0, 19.0, 0.5, 29.5],
        "employment": 1.0})
    links = pd.DataFrame({
        "year": [2020] * 3 + [2021] * 3, "from": ["A", "B", "C"] * 2, "to": ["X", "Y", "A"] * 2,
        "mode": ["border_crossing", "sea", "road"] * 2,
        "freight": [100.0, 50.0, 7.0, 120.0, 60.0, 8.0],
        "freight_regional": [4.0, 1.0, 7.0, 5.0, 2.0, 8.0]})
    manifest = {"name": "toy", "scenario": {"groups": GROUPS, "policies": list(policies)}}
    return Results(places=places, sectors=sectors, manifest=manifest, links=links)


def value(ind, name, year):
    v = ind[(ind["indicator"] == name) & (ind["year"] == year)]["value"]
    assert len(v) == 1, name
    return float(v.iloc[0])


@pytest.fixture(scope="module")
def ind():
    return indicators(toy())


def test_provincial_totals(ind):
    assert value(ind, "GDP", 2020) == 50.0 and value(ind, "GDP", 2021) == 63.0
    assert value(ind, "GDP growth", 2021) == pytest.approx(26.0)  # 63/50 - 1
    assert np.isnan(value(ind, "GDP growth", 2020))
    assert value(ind, "population", 2021) == 4.0
    assert value(ind, "GDP per capita", 2021) == pytest.approx(15.75)
    # mobile-weighted: (0.5*1 + 0.5*2 + 1*3) / 2
    assert value(ind, "welfare", 2021) == pytest.approx(2.25)
    assert value(ind, "real wage", 2021) == pytest.approx(2.25)


def test_primacy_radiation_and_group_shares(ind):
    assert value(ind, "A share of GDP", 2021) == pytest.approx(100 * 11 / 63)
    assert value(ind, "A share of population", 2021) == pytest.approx(25.0)
    # circle B grows 22/20 - 1 = 10%, the rest (C) 30/20 - 1 = 50%: -40 pp
    assert value(ind, "radiation: circle GDP growth minus rest", 2021) == pytest.approx(-40.0)
    assert value(ind, "radiation: circle GDP growth minus rest", 2020) == 0.0
    assert value(ind, "radiation: circle population growth minus rest", 2021) == 0.0
    assert value(ind, "circle share of GDP", 2021) == pytest.approx(100 * 22 / 63)
    assert value(ind, "corridor share of GDP", 2020) == pytest.approx(60.0)


def test_trade_and_tourism(ind):
    assert value(ind, "external trade", 2020) == pytest.approx(6.0 + 1.5)
    # border_crossing + sea links only, regional freight: 5 + 2
    assert value(ind, "border and port trade", 2021) == pytest.approx(7.0)
    assert value(ind, "tourism visitors (policy)", 2021) == pytest.approx(2.0)
    assert value(ind, "tourism visitor spending", 2021) == pytest.approx(4.0)
    assert value(ind, "tourism output", 2021) == pytest.approx(7.5)


def test_inequality_by_hand(ind):
    # 2020: y = (10, 20, 10), s = (1/4, 1/4, 1/2), mean 12.5, y/mean = (0.8, 1.6, 0.8)
    T = 0.25 * 0.8 * np.log(0.8) + 0.25 * 1.6 * np.log(1.6) + 0.5 * 0.8 * np.log(0.8)
    assert value(ind, "Theil index of GDP per capita", 2020) == pytest.approx(T, rel=1e-12)
    # Gini: sum_nm s_n s_m |y_n - y_m| = 2 (1/16 * 10 + 1/8 * 10) = 3.75; / (2 * 12.5)
    assert value(ind, "Gini of GDP per capita", 2020) == pytest.approx(0.15, rel=1e-12)
    # CV: variance 1/4 * 2.5^2 + 1/4 * 7.5^2 + 1/2 * 2.5^2 = 18.75
    assert value(ind, "CV of GDP per capita", 2020) == pytest.approx(np.sqrt(18.75) / 12.5)
    # sigma: log deviations (-1, 2, -1) ln2 / 3 -> sd = ln2 sqrt(2) / 3
    assert value(ind, "sigma: sd of log GDP per capita", 2020) == pytest.approx(
        np.log(2) * np.sqrt(2) / 3)


def test_inequality_limits():
    assert theil([5, 5, 5], [1, 2, 3]) == pytest.approx(0.0, abs=1e-15)
    assert gini([5, 5, 5], [1, 2, 3]) == pytest.approx(0.0, abs=1e-15)
    assert weighted_cv([5, 5, 5]) == pytest.approx(0.0, abs=1e-15)
    # one of n equal-weight places has everything: Theil = ln n, Gini = 1 - 1/n
    y = np.array([0.0, 0.0, 0.0, 4.0])
    assert theil(y) == pytest.approx(np.log(4))
    assert gini(y) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        gini([1.0, 2.0], [0.0, 0.0])


@given(st.lists(st.floats(0.1, 100), min_size=2, max_size=12), st.integers(0, 10**6))
def test_gini_matches_pairwise_oracle(y, seed):
    """The Lorenz-curve Gini equals the pairwise-difference definition (slow oracle)."""
    y = np.asarray(y)
    w = np.random.default_rng(seed).uniform(0.1, 5, len(y))
    s = w / w.sum()
    pair = (s[:, None] * s[None, :] * np.abs(y[:, None] - y[None, :])).sum() / (2 * (s * y).sum())
    assert gini(y, w) == pytest.approx(pair, rel=1e-10, abs=1e-12)
    # scale invariance
    assert gini(3 * y, w) == pytest.approx(gini(y, w), rel=1e-10, abs=1e-12)
    assert theil(3 * y, w) == pytest.approx(theil(y, w), rel=1e-9, abs=1e-12)


def test_beta_convergence_by_hand():
    # growth ln(1.1), ln(1.1), ln(1.5) on ln(10), ln(20), ln(10), T = 1
    b = (np.log(1.1) - (np.log(1.1) + np.log(1.5)) / 2) / np.log(2)
    out = beta_convergence([10, 20, 10], [11, 22, 15], 1)
    assert out["slope"] == pytest.approx(b)
    assert out["speed"] == pytest.approx(-np.log(1 + b))
    # Barro & Sala-i-Martin (1992): exact exponential convergence at speed beta gives
    # b = -(1 - e^{-beta T}) / T, and the estimator recovers beta
    beta, T = 0.02, 15
    y0 = np.array([20.0, 40.0, 80.0, 160.0])
    ystar = 100.0
    y1 = np.exp(np.log(ystar) + (np.log(y0) - np.log(ystar)) * np.exp(-beta * T))
    out = beta_convergence(y0, y1, T)
    assert out["slope"] == pytest.approx(-(1 - np.exp(-beta * T)) / T)
    assert out["speed"] == pytest.approx(beta)
    assert sigma_convergence(y1) < sigma_convergence(y0)


def test_policy_spending_and_cost_effectiveness():
    pols = [{"type": "link", "start": 2020, "phase_in": 2, "cost_cny": 10.0},
            {"type": "amenity", "start": 2021, "cost_cny": 3.0},
            {"type": "amenity", "start": 2030, "cost_cny": 99.0}]  # outside the horizon
    s = policy_spending(pols, [2020, 2021])
    assert s.to_dict() == {2020: 5.0, 2021: 8.0}
    base = toy(gdp2021=(11.0, 22.0, 30.0))
    pol = toy(gdp2021=(11.0, 22.0, 40.0), welfare_scale=1.1, policies=pols)
    e = effects(pol, base, rate=0.08)["value"]
    assert e["welfare: equivalent variation"] == pytest.approx(10.0)
    assert e["cumulative GDP gain"] == pytest.approx(10.0)
    assert e["discounted GDP gain (8%)"] == pytest.approx(10 / 1.08)
    assert e["policy spending"] == pytest.approx(13.0)
    assert e["discounted policy spending (8%)"] == pytest.approx(5 + 8 / 1.08)
    assert e["GDP gain per CNY spent"] == pytest.approx(10 / 13)
    assert e["discounted GDP gain per CNY spent (8%)"] == pytest.approx(
        (10 / 1.08) / (5 + 8 / 1.08))
    # against itself: no gain, no spending, no ratio
    z = effects(base, base)["value"]
    assert z["cumulative GDP gain"] == 0 and np.isnan(z["GDP gain per CNY spent"])


def test_indicators_skip_what_a_run_lacks():
    r = toy()
    r.links = None
    r.manifest = {"name": "bare"}
    names = set(indicators(r)["indicator"])
    assert "border and port trade" not in names and not any("share of GDP" in n for n in names)
    assert {"GDP", "Theil index of GDP per capita", "tourism output"} <= names


def test_border_trade_with_a_foreign_group_counts_links_abroad_of_any_mode():
    r = toy()
    extra = pd.DataFrame({"year": [2020, 2021], "from": ["A", "A"], "to": ["Z", "Z"],
                          "mode": ["rail", "rail"], "freight": [9.0, 9.0],
                          "freight_regional": [3.0, 6.0]})
    r.links = pd.concat([r.links, extra], ignore_index=True)
    # X (border crossing) and Z (international rail) are abroad; Y (sea) is a domestic port
    ind = indicators(r, groups={**GROUPS, "foreign": ["X", "Z"]})
    assert value(ind, "border and port trade", 2021) == pytest.approx(5.0 + 6.0)
    assert not any(n.startswith("foreign") for n in set(ind["indicator"]))
    from sim.analysis.indicators import gateway_trade

    g = gateway_trade(r, groups={"foreign": ["X", "Z"]})
    assert set(g["gateway"]) == {"A-X (border_crossing)", "A-Z (rail)"}


def test_real_gdp_chain_index_by_hand():
    """[I1b]: D_t = D_{t-1} sum_n s_{n,t-1} P_nt / P_n,t-1 (Laspeyres chain, GDP weights)."""
    gdp = pd.DataFrame({"A": [10.0, 12.0, 15.0], "B": [30.0, 30.0, 33.0]}, index=[2020, 2021, 2022])
    price = pd.DataFrame({"A": [1.0, 1.1, 1.21], "B": [2.0, 2.0, 2.2]}, index=[2020, 2021, 2022])
    d = gdp_deflator(gdp, price)
    d1 = 0.25 * 1.1 + 0.75 * 1.0
    d2 = d1 * ((12 / 42) * 1.1 + (30 / 42) * 1.1)
    assert d.tolist() == pytest.approx([1.0, d1, d2])
    # prices unchanged: real GDP equals nominal GDP
    assert gdp_deflator(gdp, price * 0 + 1).tolist() == [1.0, 1.0, 1.0]


def _with_utility(res, real=1.0, amen=1.0, option=1.0):
    p = res.places.copy()
    p["real_wage"] = p["real_wage"] * real
    p["utility"] = p["real_wage"] * 1.5 * amen
    p["welfare"] = p["utility"] * 1.2 * option
    return Results(places=p, sectors=res.sectors, manifest=res.manifest, links=res.links)


def test_welfare_decomposition_sums_and_recovers_each_part():
    """[W2]: ln W = ln V + ln(U/V) + ln(W/U); parts sum exactly to the weighted total."""
    base = _with_utility(toy())
    pol = _with_utility(toy(), real=1.05, amen=0.98, option=1.03)
    d = welfare_decomposition(pol, base)
    assert d["real income"] == pytest.approx(100 * np.log(1.05))
    assert d["amenities"] == pytest.approx(100 * np.log(0.98))
    assert d["mobility option value"] == pytest.approx(100 * np.log(1.03))
    parts = d["real income"] + d["amenities"] + d["mobility option value"]
    assert d["total"] == pytest.approx(parts, abs=1e-12)
    assert d["equivalent variation (%)"] == pytest.approx(100 * (1.05 * 0.98 * 1.03 - 1))
    # place-specific changes: the parts still sum to the population-weighted total
    p = pol.places.copy()
    p.loc[p["place"] == "C", "welfare"] *= 1.2
    p.loc[p["place"] == "A", "real_wage"] *= 0.9
    pol2 = Results(places=p, sectors=pol.sectors, manifest=pol.manifest, links=pol.links)
    d2 = welfare_decomposition(pol2, base)
    assert d2["total"] == pytest.approx(
        d2["real income"] + d2["amenities"] + d2["mobility option value"], abs=1e-12)
    e = effects(pol2, base)["value"]
    assert e["welfare change: total"] == pytest.approx(d2["total"])


def test_every_gdp_gain_row_states_its_direction():
    from sim.analysis.headline import better_direction

    for label in ("cumulative real GDP gain (2020 prices) (bn CNY)",
                  "discounted real GDP gain (8%) (bn CNY)", "real GDP 2035 (bn CNY, 2020 prices)",
                  "cumulative GDP gain (bn CNY)"):
        assert better_direction(label) == "higher", label
