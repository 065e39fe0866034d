"""Racetrack economy (Akamatsu, Takayama & Ikeda 2012, JEDC 36(11)): K = 8 places on a circle.

Closed forms (docs/validation_economies.md): chi_k of the circulant discounting matrix, the
eigenvalue gamma G(f_k) of the engine's annual change of mobile workers at the uniform state,
the break point r* = (1 - sqrt(f*))/(1 + sqrt(f*)) of the alternating mode k = K/2. The engine
side: finite differences of SimModel.step and a settling run from uniform + seeded noise.
"""

import json

import numpy as np
import pytest

import sim.checks.racetrack as rt
from sim.checks.cp import phi_break_closed_form
from sim.cli import main
from sim.scenario.load import load_scenario

SIGMA, MU = 4.0, 0.3


@pytest.fixture(scope="module")
def out():
    """One full check at sigma 4, mu 0.3 (about 2,400 engine years, 6 s)."""
    return rt.racetrack_check(SIGMA, MU)


@pytest.mark.parametrize("K", [4, 6, 8, 12])
@pytest.mark.parametrize("r", [0.0, 0.07, 0.5, 0.95])
def test_discount_eigenvalues_closed_form_is_the_circulant_spectrum(K, r):
    i, j = np.indices((K, K))
    D = r ** np.minimum(np.abs(i - j), K - np.abs(i - j))
    chi = rt.discount_eigenvalues(r, K)
    np.testing.assert_allclose(chi, D[0] @ rt.fourier_modes(K).T, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.sort(chi), np.linalg.eigvalsh(D), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("sigma,mu", [(5.0, 0.4), (3.0, 0.1), (8.0, 0.6)])
def test_growth_rate_at_two_places_gives_the_cp_break_point(sigma, mu):
    """K = 2: f_1 = (1 - phi)/(1 + phi); G changes sign at FKV's phi_B (eq. 5.28)."""
    phi_b = phi_break_closed_form(sigma, mu)
    f_b = (1 - phi_b) / (1 + phi_b)
    assert rt.f_critical(sigma, mu) == pytest.approx(f_b, rel=1e-12)
    assert abs(rt.growth_rate(f_b, sigma, mu)) < 1e-12
    assert rt.growth_rate(f_b * 0.99, sigma, mu) > 0 > rt.growth_rate(f_b * 1.01, sigma, mu)


@pytest.mark.parametrize("sigma,mu", [(5.0, 0.4), (2.0, 0.3), (4.0, 0.1), (8.0, 0.6)])
def test_alternating_mode_breaks_first_in_closed_form(sigma, mu):
    K = 8
    r = {k: rt.mode_break_r(sigma, mu, k, K) for k in range(1, K // 2 + 1)}
    assert min(r, key=r.get) == K // 2
    chi = rt.discount_eigenvalues(r[K // 2], K)
    assert chi[K // 2] / chi[0] == pytest.approx(rt.f_critical(sigma, mu), rel=1e-12)


@pytest.mark.parametrize("sigma,mu,factor", [(3.0, 0.3, 2.0), (5.0, 0.4, 0.5)])
def test_engine_jacobian_matches_closed_form_away_from_the_break(sigma, mu, factor):
    """Far inside the stable (factor 2) and unstable (factor 1/2) ranges of a."""
    base = load_scenario(rt.DEFAULT_SCENARIO)
    K = 8
    a = factor * rt.rate_of(rt.mode_break_r(sigma, mu, K // 2, K), sigma, 1.0)
    sc = rt.racetrack_scenario(base, sigma, mu, a)
    assert rt.ring_unit(sc) == 1.0
    J = rt.engine_jacobian(sc)
    lam, residual = rt.mode_eigenvalues(J)
    cf = rt.jacobian_eigenvalues_closed_form(sigma, mu, np.exp(-(sigma - 1) * a), K,
                                             base.parameters.replicator_speed)
    assert residual < 1e-8 and np.abs(J - J.T).max() < 1e-9  # circulant and symmetric
    np.testing.assert_allclose(lam[1:], cf[1:], rtol=1e-6)
    assert abs(lam[0]) < 1e-9  # mobile labour is conserved
    assert (lam[1:] > 0).any() == (factor < 1)


def test_linearised_stability_by_mode(out):
    assert out["K"] == 8
    assert out["eigenvalue_max_rel_error"] < 1e-6, out
    assert out["fourier_residual"] < 1e-8
    assert abs(out["eigenvalues_numeric"][0]) < 1e-9


def test_first_unstable_mode_is_alternating_and_breaks_at_the_closed_form(out):
    assert [m["mode"] for m in out["modes_by_break"]][0] == 4
    assert out["first_unstable_mode_numeric"] == 4
    assert out["unstable_modes_numeric"] == [4]  # just past the break: only k = K/2
    assert out["break_a_rel_error"] < 1e-6, out
    assert out["break_r_numeric"] == pytest.approx(out["break_r_closed_form"], rel=1e-6)
    # just before the break (as far above a* as a_run is below), the engine's mode 4 decays
    base = load_scenario(rt.DEFAULT_SCENARIO)
    a_before = 2 * out["break_a_closed_form"] - out["a_run"]
    assert rt.engine_mode_eigenvalue(rt.racetrack_scenario(base, SIGMA, MU, a_before), 4) < 0


def test_settles_in_four_equal_alternating_cities(out):
    run = out["settle"]
    assert run["settled"] and out["settled_alternating"], run
    assert len(run["cities"]) == 4 and run["saddles"] == []
    shares = np.array(run["shares"])
    np.testing.assert_allclose(shares[run["cities"]], 0.25, atol=1e-6)
    assert out["settled_equal_sizes"] and out["equal_cities_stability"]["stable"]
    assert max(run["stability"]["city_eigenvalues"] + run["stability"]["invasion_rates"]) < 0
    assert rt.passed(out)


def test_equal_four_cities_are_a_saddle_at_sigma_5_mu_04():
    """At (5, 0.4), halfway past the break, 4 equal cities are unstable to size alternation
    among them (the engine then settles in 4 cities of two sizes; docs)."""
    base = load_scenario(rt.DEFAULT_SCENARIO)
    r = [rt.mode_break_r(5.0, 0.4, k, 8) for k in (4, 3)]
    a = 0.5 * sum(rt.rate_of(x, 5.0, 1.0) for x in r)
    st = rt.pattern_stability(rt.racetrack_scenario(base, 5.0, 0.4, a),
                              np.array([0.25, 1e-12] * 4) / (1 + 4e-12))
    assert not st["stable"] and max(st["invasion_rates"]) < 0
    ev = np.array(st["city_eigenvalues"])
    assert (ev > 0).sum() == 1 and ev.max() > 1e-3


def test_settling_is_deterministic_and_seeded():
    """Same seed, same path; the noise is what picks the pattern's phase, not the run."""
    base = load_scenario(rt.DEFAULT_SCENARIO)
    sc = rt.racetrack_scenario(base, 5.0, 0.4, 0.64)
    a = rt.settle(sc, seed=3, max_years=30)
    b = rt.settle(sc, seed=3, max_years=30)
    c = rt.settle(sc, seed=4, max_years=30)
    assert a == b and a["shares"] != c["shares"] and a["years"] == 30


def test_cli_prints_the_table(out, monkeypatch, capsys):
    monkeypatch.setattr(rt, "racetrack_check", lambda *a, **k: out)
    assert main(["check", "racetrack"]) == 0
    text = capsys.readouterr().out
    assert "mode" in text and "closed form" in text and "engine (FD)" in text
    assert "first unstable mode: 4 (closed form), 4 (engine)" in text
    assert "in 4 cities (p0 0.2500, p2 0.2500, p4 0.2500, p6 0.2500)" in text
    assert "equal sizes: yes" in text
    assert text.rstrip().endswith("PASS")
    assert main(["check", "racetrack", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True
    bad = out | {"settled_alternating": False}
    monkeypatch.setattr(rt, "racetrack_check", lambda *a, **k: bad)
    assert main(["check", "racetrack"]) == 1
    assert capsys.readouterr().out.rstrip().endswith("FAIL")


@pytest.mark.parametrize("args,reason", [
    (["--mu", "0.9"], "no-black-hole"), (["--sigma", "1"], "sigma"),
    (["--eps", "0"], "eps"), (["--max-years", "0"], "max_years")])
def test_check_racetrack_refuses_bad_settings(args, reason, capsys):
    assert main(["check", "racetrack", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: check racetrack") and reason in err and err.count("\n") == 1


def test_refuses_a_scenario_that_is_not_a_ring(tmp_path, capsys):
    text = rt.DEFAULT_SCENARIO.read_text().replace(
        "{from: p7, to: p0, mode: track, km: 1.0", "{from: p7, to: p0, mode: track, km: 2.0")
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    assert main(["check", "racetrack", "--scenario", str(f)]) == 2
    assert "not a ring" in capsys.readouterr().err
