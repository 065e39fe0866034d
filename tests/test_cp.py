"""Krugman core-periphery validation (Fujita, Krugman & Venables 1999, ch. 5).

Closed forms (references.md section 2; FKV eqs. 5.19 and 5.28; Baldwin et al. 2003 ch. 2):
phi_B = (rho - mu)(1 - mu) / ((rho + mu)(1 + mu)); sustain point: root of
(1 + mu)/2 phi^(1 + mu/rho) + (1 - mu)/2 phi^(mu/rho - 1) = 1.
The numeric points come from simulating the engine's dynamics (sim.checks.cp).
"""

import json

import numpy as np
import pytest

from sim.checks.cp import (
    DEFAULT_SCENARIO,
    agglomeration_stable,
    cp_check,
    phi_break_closed_form,
    phi_sustain_closed_form,
    symmetric_stable,
)
from sim.cli import main
from sim.scenario.load import load_scenario


def test_closed_forms_literature_values():
    # references.md section 2: sigma = 5, mu = 0.4 -> phi_B = 1/7, phi_S ~= 0.0937274
    assert phi_break_closed_form(5, 0.4) == pytest.approx(1 / 7, rel=1e-12)
    assert phi_sustain_closed_form(5, 0.4) == pytest.approx(0.0937274, abs=1e-7)


PAIRS = [(5.0, 0.4), (3.0, 0.1), (4.0, 0.3), (6.0, 0.5), (8.0, 0.6), (3.5, 0.6),
         (1.5, 0.3)]  # (1.5, 0.3): sustain point 2.8e-5, missed by 0.85% with 8-year tests


@pytest.mark.parametrize("sigma,mu", PAIRS)
def test_numeric_break_and_sustain_match_closed_forms(sigma, mu):
    assert mu < (sigma - 1) / sigma
    out = cp_check(sigma, mu, iters=16)  # log-phi bisection: 2**-16 of ln(1e8), 3e-4
    assert out["phi_break_rel_error"] < 0.005, out
    assert out["phi_sustain_rel_error"] < 0.005, out
    # the sustain point lies below the break point: hysteresis band
    assert out["phi_sustain_numeric"] < out["phi_break_numeric"]


@pytest.mark.parametrize("sigma,mu", [(5.0, 0.4), (4.0, 0.3)])
def test_hysteresis_between_sustain_and_break(sigma, mu):
    """Between phi_S and phi_B both the symmetric state and full agglomeration are stable;
    below phi_S only the symmetric state, above phi_B only agglomeration (FKV fig. 5.4)."""
    base = load_scenario(DEFAULT_SCENARIO)
    ps, pb = phi_sustain_closed_form(sigma, mu), phi_break_closed_form(sigma, mu)
    mid = 0.5 * (ps + pb)
    assert symmetric_stable(base, sigma, mu, mid) and agglomeration_stable(base, sigma, mu, mid)
    assert symmetric_stable(base, sigma, mu, 0.8 * ps)
    assert not agglomeration_stable(base, sigma, mu, 0.8 * ps)
    assert not symmetric_stable(base, sigma, mu, 1.2 * pb)
    assert agglomeration_stable(base, sigma, mu, 1.2 * pb)


def test_cp_scenario_agglomerates():
    """The shipped CP scenario (phi above phi_B) ends in full agglomeration in east."""
    import sim

    res = sim.run_scenario(DEFAULT_SCENARIO)
    mob = res.place_series("mobile")
    lam = mob["east"] / (mob["east"] + mob["west"])
    assert lam.iloc[0] == pytest.approx(0.55)
    assert np.all(np.diff(lam.to_numpy()) > -1e-12)
    assert lam.iloc[-1] > 0.999


def test_cli_check_cp_json(capsys):
    assert main(["check", "cp", "--sigma", "5", "--mu", "0.4", "--iters", "18", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("phi_break_numeric", "phi_break_closed_form", "phi_sustain_numeric",
                "phi_sustain_closed_form"):
        assert key in out
    assert abs(out["phi_break_numeric"] / out["phi_break_closed_form"] - 1) < 0.005
    assert abs(out["phi_sustain_numeric"] / out["phi_sustain_closed_form"] - 1) < 0.005


@pytest.mark.parametrize("sigma,mu,reason", [
    (1.0, 0.3, "sigma"), (5.0, 0.8, "no-black-hole"), (5.0, 0.0, "mu"),
    (2.0, 0.48, "sustain point"), (float("nan"), 0.3, "sigma")])
def test_check_cp_refuses_pairs_it_cannot_resolve(sigma, mu, reason, capsys):
    assert main(["check", "cp", "--sigma", str(sigma), "--mu", str(mu)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: check cp") and reason in err and err.count("\n") == 1
