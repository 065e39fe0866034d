"""Base-year inversion: GDP reproduced, migration steady state, levers excluded."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.engine.calibrate import CalibrationError, calibrate
from sim.scenario.schema import ProductivityPolicy

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
TARGETS = {"core": 40.0, "east": 9.0, "south": 5.0, "remote": 2.0}


def with_targets(sc, targets=TARGETS, trends=True):
    places = tuple(dataclasses.replace(
        p, gdp=targets.get(p.id, p.gdp),
        natural_growth=p.natural_growth if trends else 0.0,
        gdp_growth=p.gdp_growth if trends else 0.0) for p in sc.region.places)
    sectors = sc.region.sectors if trends else tuple(
        dataclasses.replace(k, tfp_growth=0.0) for k in sc.region.sectors)
    return dataclasses.replace(sc, region=dataclasses.replace(sc.region, places=places,
                                                              sectors=sectors))


def test_calibrated_base_year_reproduces_gdp_and_is_stationary():
    sc = with_targets(sim.load_scenario(SCEN / "example.yaml"), trends=False)
    cal, rep = calibrate(sc)
    assert rep.attrs["max_gdp_rel_error"] < 1e-8
    assert rep.attrs["max_net_migration_share"] < 1e-8
    res = sim.run_scenario(cal, end_year=2025)
    p = res.places.set_index(["year", "place"])
    for pid, gdp in TARGETS.items():
        assert p.loc[(2020, pid), "gdp"] == pytest.approx(gdp, rel=1e-8)
    # no trends, no policies, steady migration: nothing moves
    for y in range(2021, 2026):
        np.testing.assert_allclose(p.loc[y, "population"], p.loc[2020, "population"],
                                   rtol=1e-9)
        np.testing.assert_allclose(p.loc[y, "gdp"], p.loc[2020, "gdp"], rtol=1e-8)


def test_calibration_ignores_policies_so_zero_shock_holds():
    sc = with_targets(sim.load_scenario(SCEN / "example.yaml"))
    pol = dataclasses.replace(sc, policies=(ProductivityPolicy(start=2020, factor=1.5),))
    a, _ = calibrate(sc)
    b, _ = calibrate(pol)
    assert a.region == b.region
    base = sim.run_scenario(dataclasses.replace(sc, calibrate=True), end_year=2022)
    assert base.manifest["calibration"]["max_gdp_rel_error"] < 1e-8
    assert base.places.query("year == 2020").set_index("place")["gdp"].to_dict() == \
        pytest.approx(TARGETS, rel=1e-8)


def test_infeasible_target_is_a_clear_error():
    sc = with_targets(sim.load_scenario(SCEN / "example.yaml"), {"remote": 0.1})
    with pytest.raises(CalibrationError, match="remote.*below its farm income"):
        calibrate(sc)


def test_cli_calibrate_reports_fit_and_writes_scenario(tmp_path, capsys):
    src = tmp_path / "s.yaml"
    sc = with_targets(sim.load_scenario(SCEN / "example.yaml"))
    src.write_text(sim.dump_scenario(sc))
    out = tmp_path / "cal.yaml"
    assert main(["calibrate", str(src), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "max GDP error" in text and "core" in text and "gdp_full_model" in text
    cal = sim.load_scenario(out)
    res = sim.run_scenario(cal, end_year=2020)
    got = res.places.set_index("place")["gdp"]
    for pid, gdp in TARGETS.items():
        assert got[pid] == pytest.approx(gdp, rel=1e-7)
    assert main(["calibrate", str(src), "--out", str(out)]) == 2  # no overwrite


@pytest.mark.parametrize("par", [{"migration_elasticity": 3.3, "amenity_elasticity": -0.3},
                                 {"migration_elasticity": 5.0}],
                         ids=["MRRH-eps-AA-beta", "eps-5"])
def test_jilin_calibrates_at_literature_elasticities(par):
    """The amenity inversion converges at the literature's migration elasticities.

    Monte, Redding & Rossi-Hansberg (2018) estimate eps = 3.3 and Allen & Arkolakis (2014) use
    beta = -0.3. Newton on the net-flow equations from zero diverges there (net migration share
    42.7 at eps = 3); the damped gross-flow fixed point gets it into Newton's basin.
    """
    sc = sim.load_scenario(SCEN / "baseline.yaml")
    sc = dataclasses.replace(sc, parameters=dataclasses.replace(sc.parameters, **par))
    _, rep = calibrate(sc)
    assert rep.attrs["max_gdp_rel_error"] < 1e-8
    assert rep.attrs["max_net_migration_share"] < 1e-8


def test_amenity_fixed_point_solves_a_two_place_logit_by_hand():
    """Two places, no moving costs, s = 1: the steady state has U_1^eps / U_2^eps = L_1 / L_2."""
    from sim.engine.calibrate import _amenity_fixed_point

    L = np.array([3.0, 1.0])
    eps = 4.0

    def flows(x):
        w = np.exp(eps * x)
        P = w / w.sum()  # every worker reconsiders; destination shares
        inflow = L.sum() * P - L * P  # arrivals from the other place
        outflow = L * (1 - P)
        return inflow, outflow

    x = _amenity_fixed_point(np.zeros(2), flows, np.array([0]), eps)
    assert np.exp(eps * (x[0] - x[1])) == pytest.approx(3.0, rel=1e-9)


def test_flow_totals_equal_the_dense_flow_matrix():
    """Oracle: the calibration's kernel flow totals equal the dense logit flow matrix's sums."""
    from types import SimpleNamespace

    from sim.engine.calibrate import _flow_totals
    from sim.kernels.households import continuum_step, status_probabilities
    from sim.kernels.migration import logit_kernel, migration_costs, size_weights, utility

    rng = np.random.default_rng(5)
    N = 30
    c = rng.uniform(10, 400, (N, N))
    c = (c + c.T) / 2
    c[rng.random((N, N)) < 0.05] = np.inf
    np.fill_diagonal(c, 0.0)
    ext = np.zeros(N, bool)
    ext[-3:] = True
    kappa = migration_costs(c, fixed=1.0, per_hour=0.01, value_of_time=30.0, external=ext,
                            external_cost=2.0, distance_elasticity=1.0)
    par = SimpleNamespace(amenity_elasticity=-0.3, migration_elasticity=2.0, hukou_cost=0.5,
                          reconsider_share=0.1)
    amen, V = rng.uniform(0.5, 2.0, N), rng.uniform(0.5, 3.0, N)
    L = rng.uniform(0.1, 5.0, N)
    reg_share = np.where(ext, 1.0, 0.6)
    sizew = size_weights(L, size_elasticity=1.0, elasticity=2.0)
    U = utility(V, amen, L, amenity_elasticity=-0.3) * sizew
    PR, P = status_probabilities(U, kappa, elasticity=2.0, hukou_cost=0.5)
    _, _, F = continuum_step(L * reg_share, L * (1 - reg_share), PR, P, reconsider_share=0.1,
                             conversion=0.0, internal=np.ones(N, dtype=bool))
    xi = np.flatnonzero(ext)
    inflow, outflow, into = _flow_totals(amen, V, L, L, logit_kernel(kappa), reg_share, sizew,
                                         par, cols=xi, internal=~ext)
    assert np.allclose(inflow, F.sum(axis=0), rtol=1e-12, atol=1e-15)
    assert np.allclose(outflow, F.sum(axis=1), rtol=1e-12, atol=1e-15)
    assert np.allclose(into, F[np.ix_(~ext, xi)].sum(axis=0), rtol=1e-12, atol=1e-15)


def test_amenity_root_newton_and_scipy_fallback():
    """The continuation's root finder: Newton (reusing a Jacobian across steps) where it
    converges, scipy's hybr where it does not."""
    from sim.engine.calibrate import _solve_root

    A = np.array([[3.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 5.0]])

    def fun(x, lam):
        return A @ x + 0.1 * np.sinh(x) - lam * np.array([1.0, 2.0, 3.0])

    x, msg, J = _solve_root(fun, np.zeros(3), 0.5)
    assert msg == "Newton converged" and np.max(np.abs(fun(x, 0.5))) < 1e-12
    x2, msg2, _ = _solve_root(fun, x, 1.0, J)  # next continuation step, old Jacobian
    assert msg2 == "Newton converged" and np.max(np.abs(fun(x2, 1.0))) < 1e-12

    # Newton not converged (here: given no iterations): the same problem goes to scipy's hybr
    x3, msg3, J3 = _solve_root(fun, np.zeros(3), 0.5, max_iter=0)
    assert msg3 != "Newton converged" and J3 is None
    np.testing.assert_allclose(x3, x, rtol=1e-10, atol=1e-12)


def test_calibrated_run_takes_the_calibration_network_and_stays_bit_identical():
    from sim.engine import primitives
    from sim.engine.model import SimModel

    sc = with_targets(sim.load_scenario(SCEN / "example.yaml"))
    cal, _ = calibrate(sc)
    taken = SimModel(cal, end_year=2022)  # the calibration's matrices are on offer
    built = SimModel(cal, end_year=2022)
    try:
        taken.equilibrium_inputs()  # takes them
        built.equilibrium_inputs()  # nothing on offer: builds them
        for m in (taken, built):
            while not m.done:
                m.step()
        assert (taken.network.shared, built.network.shared) == (1, 0)
        assert taken.network.recomputations == built.network.recomputations == 1
        assert not primitives._HANDOFF  # taking it removed it
        pd_a, pd_b = taken.recorder.place_frame(), built.recorder.place_frame()
        assert pd_a.equals(pd_b)
        net_a = taken.network.get(taken.equilibrium_inputs()[1].links)
        assert net_a.migration_cost is None  # the run does not keep what it does not read
    finally:
        taken.release()
        built.release()
    # a different network (here: dearer freight time) is not taken
    calibrate(sc)
    other = dataclasses.replace(cal, parameters=dataclasses.replace(
        cal.parameters, value_of_time_freight=cal.parameters.value_of_time_freight * 2))
    m = SimModel(other, end_year=2020)
    try:
        m.equilibrium_inputs()
        assert m.network.shared == 0
        assert not primitives._HANDOFF  # not taken by the next build: dropped
    finally:
        m.release()
        primitives._HANDOFF.clear()
