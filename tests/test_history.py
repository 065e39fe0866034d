"""History calibration and the baseline it implies (docs/model.md [C2], [D5]; docs/validation.md).

* The 2010 history run (6th census, 2010 network, shipped drifts) reproduces the 7th census by
  place within 1% and provincial GDP within 2%; the 2020 baseline still reproduces 2020 data.
* The structural test (productivity drifts fitted to GDP only, amenities fixed) beats "no
  change" as a prediction of 2010-2020 population growth by place.
* In the baseline, foreign places receive no resident migrants and domestic regions receive at
  least 90% of out-migration.
* Kernels: the drift rules, the size term and the log distance term of migration costs against
  their closed forms; blocked places get no flows.
"""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import sim
from sim.engine.calibrate import calibrate
from sim.engine.history import calibrate_history, targets_from
from sim.engine.primitives import drift_years
from sim.engine.runner import run_scenario
from sim.kernels.migration import logit_probabilities, migration_costs, size_weights

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def baseline_sc():
    return sim.load_scenario("scenarios/baseline.yaml")


@pytest.fixture(scope="module")
def history_run():
    sc = sim.load_scenario("scenarios/validation/history_2010.yaml")
    return sc, run_scenario(sc)


def _internal(sc):
    return [p.id for p in sc.region.places if not p.external]


def test_history_run_reproduces_the_2020_census_and_gdp(history_run, baseline_sc):
    sc, res = history_run
    tg = targets_from(baseline_sc)
    f = res.places[res.places["year"] == 2020].set_index("place").loc[tg.index]
    rel = f["population"] / tg["population"] - 1
    assert rel.abs().max() < 0.01, rel.to_dict()
    # prefectures (2020 boundaries: split-out places summed into their parents)
    parent = {p.id: (p.parent or p.id) for p in baseline_sc.region.places if not p.external}
    pref = pd.DataFrame({"m": f["population"], "t": tg["population"],
                         "pref": [parent[i] for i in tg.index]}).groupby("pref").sum()
    assert ((pref["m"] / pref["t"] - 1).abs() < 0.01).all()
    assert abs(f["gdp"].sum() / tg["gdp"].sum() - 1) < 0.02
    # and the decade really happened: the province lost about 12% of its residents
    start = res.places[res.places["year"] == 2010]["population"].sum()
    assert f["population"].sum() / start - 1 == pytest.approx(-0.123, abs=0.005)


def test_2020_base_year_still_reproduces_2020_data(baseline_sc):
    cal, rep = calibrate(baseline_sc)
    assert rep.attrs["max_gdp_rel_error"] < 1e-6
    assert rep.attrs["max_net_migration_share"] < 1e-6
    target = {p.id: p.net_migration for p in baseline_sc.region.places if not p.external}
    pop = rep.set_index("place")["population"]
    model = rep.set_index("place")["net_migration"] / pop
    for pid, m in target.items():
        assert model[pid] == pytest.approx(m, abs=1e-6)


def test_history_calibration_refits_the_shipped_drifts(baseline_sc):
    """Re-running the fit recovers the pack's drift columns (so they are not hand-set)."""
    sc = sim.load_scenario("scenarios/validation/history_2010.yaml")
    _, fit = calibrate_history(sc, targets_from(baseline_sc))
    assert fit.attrs["max_log_error"] < 1e-6
    shipped = {p.id: (p.amenity_drift, p.productivity_drift) for p in baseline_sc.region.places
               if not p.external}
    for pid, (a, g) in shipped.items():
        assert fit.loc[pid, "amenity_drift"] == pytest.approx(a, abs=1e-5)
        assert fit.loc[pid, "productivity_drift"] == pytest.approx(g, abs=1e-5)


def test_structural_test_beats_no_change(baseline_sc):
    """docs/validation.md: GDP-only drifts, fixed amenities; no 2020 census information used."""
    sc = sim.load_scenario("scenarios/validation/structural_2010.yaml")
    res = run_scenario(sc)
    tg = targets_from(baseline_sc)
    p = res.places.pivot(index="place", columns="year", values="population").loc[tg.index]
    obs = tg["population"] / p[2010] - 1
    model = p[2020] / p[2010] - 1
    mae_model = (obs - model).abs().mean()
    mae_nochange = obs.abs().mean()
    assert mae_model < mae_nochange
    # its GDP fit is exact, so the prediction uses the observed GDP and nothing else
    g = res.places[res.places["year"] == 2020].set_index("place").loc[tg.index, "gdp"]
    assert np.allclose(g, tg["gdp"], rtol=1e-4)


def test_baseline_migrants_go_to_domestic_regions_not_foreign_villages(baseline_sc):
    sc = dataclasses.replace(baseline_sc, time=dataclasses.replace(baseline_sc.time, end=2023),
                             parameters=dataclasses.replace(baseline_sc.parameters,
                                                            firm_dynamics="free_entry"))
    res = run_scenario(sc)
    m = res.migration
    foreign = set(dict(sc.groups)["foreign"])
    internal = set(_internal(sc))
    out = m[m["origin"].isin(internal) & ~m["destination"].isin(internal)]
    to_foreign = out[out["destination"].isin(foreign)]["movers"].sum()
    from_foreign = m[m["origin"].isin(foreign)]["movers"].sum()
    assert to_foreign == 0 and from_foreign == 0
    domestic = out[~out["destination"].isin(foreign)]["movers"].sum()
    assert domestic / out["movers"].sum() >= 0.9
    # shares by destination follow the calibrated census shares in the base year
    shares = {p.id: p.migration_share for p in sc.region.places if p.migration_share}
    big = {k for k, v in shares.items() if v >= 0.005}
    y0 = out[out["year"] == 2020].groupby("destination")["movers"].sum()
    tot = sum(shares.values())
    for pid in big:
        s = shares[pid]
        # (the migration table drops pairs below one worker, so tiny destinations are ~1% off)
        assert y0.get(pid, 0.0) / y0.sum() == pytest.approx(s / tot, rel=0.02)
    # the province keeps losing residents at about the 2010s rate (-1.3% a year)
    pop = res.places[res.places["place"].isin(internal)].groupby("year")["population"].sum()
    growth = pop.pct_change().dropna()
    assert (growth < -0.005).all() and (growth > -0.02).all()


def test_drift_rules_closed_forms():
    t = np.arange(0, 31)
    assert np.array_equal(drift_years(t, "persist"), t)
    assert np.all(drift_years(t, "stop") == 0)
    d = drift_years(t, "decay", 10.0)
    # the yearly increment halves every half-life; the total tends to h / ln 2
    inc = np.diff(d)
    assert inc[10] / inc[0] == pytest.approx(0.5, rel=0.04)
    assert drift_years(1e6, "decay", 10.0) == pytest.approx(10 / np.log(2))


def test_migration_size_term_and_distance_elasticity_closed_forms():
    # size term: P_nm proportional to S_m^zeta U_m^eps (zeta = 1): doubling a destination's
    # size doubles its odds against any other destination
    U = np.array([1.0, 1.0, 1.0])
    S = np.array([1.0, 2.0, 4.0])
    kappa = np.zeros((3, 3))
    P = logit_probabilities(U * size_weights(S, size_elasticity=1.0, elasticity=1.5), kappa,
                            elasticity=1.5)
    assert P[0, 2] / P[0, 1] == pytest.approx(2.0)
    # log distance term: flows fall with (1 + t)^-delta
    c = np.array([[0.0, 30.0, 90.0], [30.0, 0.0, 60.0], [90.0, 60.0, 0.0]])  # CNY at 30 CNY/h
    k = migration_costs(c, fixed=0.0, per_hour=0.0, value_of_time=30.0,
                        external=np.zeros(3, bool), external_cost=0.0, distance_elasticity=1.2)
    P = logit_probabilities(np.ones(3), k, elasticity=1.5)
    assert P[0, 1] / P[0, 2] == pytest.approx(((1 + 3.0) / (1 + 1.0)) ** 1.2)
    # a place outside migration gets no flow either way; unreachable stays blocked with kappa_1 0
    k = migration_costs(np.where(np.eye(3, dtype=bool), 0.0, np.inf), fixed=1.0, per_hour=0.0,
                        value_of_time=30.0, external=np.zeros(3, bool), external_cost=0.0,
                        allowed=np.array([True, True, False]))
    assert np.isinf(k[0, 1]) and np.isinf(k[0, 2]) and not np.isnan(k).any()
    k = migration_costs(c, fixed=1.0, per_hour=0.0, value_of_time=30.0,
                        external=np.zeros(3, bool), external_cost=0.0,
                        allowed=np.array([True, True, False]))
    assert np.isinf(k[0, 2]) and np.isinf(k[2, 0]) and np.isfinite(k[0, 1]) and k[2, 2] == 0


def test_history_fit_recovers_known_drifts_on_a_toy_region():
    """Oracle: drifts planted in a run are recovered by fitting that run's end state."""
    from sim._testing import synthetic_scenario

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc = synthetic_scenario(8, 2, seed=3)
        sc = dataclasses.replace(sc, time=dataclasses.replace(sc.time, start=2010, end=2016))
        ids = _internal(sc)
        rng = np.random.default_rng(0)
        gb = dict(zip(ids, rng.uniform(-0.03, 0.03, len(ids)), strict=True))
        ga = dict(zip(ids, rng.uniform(-0.02, 0.02, len(ids)), strict=True))
        base, _ = calibrate(sc)
        from sim.engine.history import with_drifts

        truth = run_scenario(dataclasses.replace(with_drifts(base, gb, ga), calibrate=False))
        f = truth.places[truth.places["year"] == 2016].set_index("place").loc[ids]
        tg = pd.DataFrame({"population": f["population"], "gdp": f["gdp"]})
        _, fit = calibrate_history(sc, tg)
    # in a closed toy region (no external place, no farm numeraire sector to pin prices) a
    # common shift of all amenities changes no logit probability and a common shift of all
    # productivities no nominal GDP: drifts are identified up to a constant each
    a = fit["amenity_drift"].to_numpy() - np.array([gb[i] for i in ids])
    g = fit["productivity_drift"].to_numpy() - np.array([ga[i] for i in ids])
    assert np.ptp(a) < 1e-6 and np.ptp(g) < 1e-6
