"""Krugman core-periphery validation: break and sustain points found by simulating the engine.

The two-region scenario ``scenarios/validation/cp.yaml`` configures the general engine as the
FKV (1999, ch. 5) core-periphery economy: one CES sector with expenditure share mu and
elasticity sigma, agriculture (the numeraire) with share 1 - mu made by immobile farmers split
(1 - mu)/2 per region, no housing, no agglomeration or amenity externality, replicator
migration. Trade freeness phi = tau**(1 - sigma) is set through the transport network: one
link whose generalized cost is tau - 1 with trade costs tau = 1 + cost (psi = 1, c0 = 1).

For a given phi, stability is decided by simulation only: start the engine's own dynamics from
a perturbed state (lambda = 1/2 + eps for the symmetric state, lambda = 1 - eps for full
agglomeration), step ``years`` annual steps, and see whether the perturbation shrank. Bisection
on phi then finds the break point (symmetric state loses stability) and the sustain point
(full agglomeration becomes stable). The closed forms (references: FKV 1999 eq. 5.28 and
5.19; Baldwin et al. 2003 ch. 2) are computed separately for comparison.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

from sim.engine.model import SimModel
from sim.scenario.load import load_scenario
from sim.scenario.schema import Scenario

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "validation" / "cp.yaml"


def phi_break_closed_form(sigma: float, mu: float) -> float:
    r"""Break point of the CP model in closed form.

    :math:`\phi_B = \frac{(\rho-\mu)(1-\mu)}{(\rho+\mu)(1+\mu)}`, rho = (sigma - 1)/sigma.

    References
    ----------
    .. [1] Fujita, Krugman & Venables (1999), The Spatial Economy, eq. (5.28) (in phi form:
       Baldwin et al. 2003, Economic Geography and Public Policy, ch. 2).
    """
    rho = (sigma - 1.0) / sigma
    return (rho - mu) * (1.0 - mu) / ((rho + mu) * (1.0 + mu))


def phi_sustain_closed_form(sigma: float, mu: float) -> float:
    r"""Sustain point of the CP model in closed form.

    The root in (0, 1) of :math:`\frac{1+\mu}{2}\phi^{1+\mu/\rho} +
    \frac{1-\mu}{2}\phi^{\mu/\rho-1} = 1`.

    References
    ----------
    .. [1] Fujita, Krugman & Venables (1999), eq. (5.19).
    """
    rho = (sigma - 1.0) / sigma

    def f(phi):
        return (1 + mu) / 2 * phi ** (1 + mu / rho) + (1 - mu) / 2 * phi ** (mu / rho - 1) - 1

    return float(brentq(f, 1e-12, phi_break_closed_form(sigma, mu), xtol=1e-15, rtol=1e-14))


def cp_scenario(base: Scenario, sigma: float, mu: float, phi: float) -> Scenario:
    """The CP scenario with (sigma, mu) and trade freeness phi set through the network."""
    if not (1.0 < sigma and 0.0 < mu < (sigma - 1.0) / sigma):
        raise ValueError(f"need sigma > 1 and 0 < mu < (sigma-1)/sigma; got {sigma=}, {mu=}")
    if not 0.0 < phi < 1.0:
        raise ValueError(f"phi must be in (0, 1), got {phi}")
    reg = base.region
    if len(reg.places) != 2 or len(reg.sectors) != 1 or len(reg.links) != 1:
        raise ValueError("the CP scenario must have 2 places, 1 sector and 1 link")
    tau = phi ** (1.0 / (1.0 - sigma))
    sector = dataclasses.replace(reg.sectors[0], sigma=sigma, expenditure_share=mu,
                                 fixed_cost=mu / sigma)
    places = tuple(dataclasses.replace(p, mobile_pop=mu / 2, ag_pop=(1 - mu) / 2)
                   for p in reg.places)
    link = dataclasses.replace(reg.links[0], km=tau - 1.0)
    par = dataclasses.replace(base.parameters, agriculture_share=1.0 - mu)
    region = dataclasses.replace(reg, sectors=(sector,), places=places, links=(link,))
    return dataclasses.replace(base, region=region, parameters=par)


def simulate_share(scenario: Scenario, lam0: float, years: int) -> float:
    """Run the engine's dynamics from lambda0 (share of mobile workers in region 1)."""
    mu = scenario.region.sectors[0].expenditure_share
    model = SimModel(scenario, end_year=scenario.time.start + years,
                     mobile0=np.array([mu * lam0, mu * (1.0 - lam0)]))
    try:
        while not model.done:
            model.step()
        L = model.mobile
        return float(L[0] / L.sum())
    finally:
        model.release()


def symmetric_stable(base, sigma, mu, phi, *, eps=1e-6, years=8) -> bool:
    """True if a perturbation of the symmetric state shrinks under the engine's dynamics."""
    lam = simulate_share(cp_scenario(base, sigma, mu, phi), 0.5 + eps, years)
    return abs(lam - 0.5) < eps


def agglomeration_stable(base, sigma, mu, phi, *, eps=1e-6, years=8) -> bool:
    """True if a perturbation of full agglomeration (lambda = 1 - eps) shrinks."""
    lam = simulate_share(cp_scenario(base, sigma, mu, phi), 1.0 - eps, years)
    return (1.0 - lam) < eps


def _bisect(pred, lo, hi, iters):
    """Boundary of a predicate that is False on lo's side and True on hi's side."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def cp_check(sigma: float, mu: float, *, scenario=None, eps: float = 1e-6, years: int = 8,
             iters: int = 30) -> dict:
    """Numeric break and sustain points by simulation, next to the closed forms.

    Parameters
    ----------
    sigma, mu : float
        CES elasticity and manufacturing expenditure share, mu < (sigma - 1)/sigma.
    scenario : Scenario or path, optional
        The two-region CP scenario (default ``scenarios/validation/cp.yaml``).
    eps : float
        Size of the perturbation of lambda.
    years : int
        Annual steps simulated per stability test.
    iters : int
        Bisection steps on phi in (0, 1): the bracket shrinks to 2**-iters.

    Returns
    -------
    dict
        ``phi_break_numeric``, ``phi_break_closed_form``, ``phi_sustain_numeric``,
        ``phi_sustain_closed_form``, their relative errors, and the settings.
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(
        Path(scenario) if scenario is not None else DEFAULT_SCENARIO)
    lo, hi = 1e-6, 1.0 - 1e-6
    # symmetric state: stable below phi_B -> predicate "unstable" is True above it
    phi_b = _bisect(lambda p: not symmetric_stable(base, sigma, mu, p, eps=eps, years=years),
                    lo, hi, iters)
    # full agglomeration: stable above phi_S
    phi_s = _bisect(lambda p: agglomeration_stable(base, sigma, mu, p, eps=eps, years=years),
                    lo, hi, iters)
    cb, cs = phi_break_closed_form(sigma, mu), phi_sustain_closed_form(sigma, mu)
    return {
        "sigma": sigma, "mu": mu,
        "phi_break_numeric": phi_b, "phi_break_closed_form": cb,
        "phi_break_rel_error": abs(phi_b - cb) / cb,
        "phi_sustain_numeric": phi_s, "phi_sustain_closed_form": cs,
        "phi_sustain_rel_error": abs(phi_s - cs) / cs,
        "eps": eps, "years": years, "bisection_iterations": iters,
    }
