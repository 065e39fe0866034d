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
import math
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

from sim.engine.model import SimModel
from sim.errors import SimError
from sim.scenario.load import load_scenario
from sim.scenario.schema import Scenario

MAX_YEARS = 200
"""Most annual steps of one stability test (the test usually resolves within a few dozen)."""
RESOLVE_FACTOR = 1.001
"""A perturbation that grows (shrinks) by this factor is growing (shrinking): its growth rate
is resolved (a relative change of 1e-3 is far above the solver's noise, tol 1e-12 against a
perturbation of 1e-6 or more)."""
PHI_MIN = 1e-8
"""Lower end of the bisection on phi."""
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


def _model(scenario: Scenario, lam0: float, years: int) -> SimModel:
    mu = scenario.region.sectors[0].expenditure_share
    start = scenario.time.start
    sc = dataclasses.replace(scenario, time=dataclasses.replace(scenario.time,
                                                                end=start + years))
    return SimModel(sc, end_year=start + years,
                    mobile0=np.array([mu * lam0, mu * (1.0 - lam0)]))


def simulate_share(scenario: Scenario, lam0: float, years: int) -> float:
    """Run the engine's dynamics from lambda0 (share of mobile workers in region 1)."""
    model = _model(scenario, lam0, years)
    try:
        while not model.done:
            model.step()
        L = model.mobile
        return float(L[0] / L.sum())
    finally:
        model.release()


def perturbation_grows(scenario: Scenario, lam0: float, target: float, *,
                       years: int = MAX_YEARS, factor: float = RESOLVE_FACTOR) -> bool:
    """Whether the deviation of lambda from ``target`` grows under the engine's dynamics.

    Steps until the growth rate is resolved: the deviation has grown or shrunk by ``factor``
    (or, after ``years`` steps at the latest, by the sign of its change). Close to a
    bifurcation the rate tends to zero, so the number of steps adapts instead of being fixed.
    """
    model = _model(scenario, lam0, years)
    d0 = abs(lam0 - target)
    d = d0
    try:
        while not model.done:
            model.step()
            L = model.mobile
            d = abs(float(L[0] / L.sum()) - target)
            if d > d0 * factor:
                return True
            if d < d0 / factor:
                return False
        return d > d0
    finally:
        model.release()


def symmetric_stable(base, sigma, mu, phi, *, eps=1e-6, years=MAX_YEARS) -> bool:
    """True if a perturbation of the symmetric state shrinks under the engine's dynamics."""
    return not perturbation_grows(cp_scenario(base, sigma, mu, phi), 0.5 + eps, 0.5,
                                  years=years)


def agglomeration_stable(base, sigma, mu, phi, *, eps=1e-6, years=MAX_YEARS) -> bool:
    """True if a perturbation of full agglomeration (lambda = 1 - eps) shrinks."""
    return not perturbation_grows(cp_scenario(base, sigma, mu, phi), 1.0 - eps, 1.0,
                                  years=years)


def _bisect(pred, lo, hi, iters):
    """Boundary of a predicate that is False on lo's side and True on hi's side.

    Bisects log(phi): the bracket shrinks by the same factor at every scale, so a sustain
    point of 3e-5 is found to the same relative accuracy as a break point of 0.3.
    """
    a, b = np.log(lo), np.log(hi)
    for _ in range(iters):
        mid = 0.5 * (a + b)
        if pred(float(np.exp(mid))):
            b = mid
        else:
            a = mid
    return float(np.exp(0.5 * (a + b)))


def no_black_hole(check: str, state: str, sigma: float, mu: float) -> None:
    """Refuse sigma <= 1 and mu outside (0, (sigma - 1)/sigma), naming ``check`` and ``state``.

    At mu >= rho = (sigma - 1)/sigma the "no black hole" condition fails (Fujita, Krugman &
    Venables 1999, ch. 5): the ``state`` (evenly spread) state is never stable.
    """
    if not (math.isfinite(sigma) and math.isfinite(mu)) or sigma <= 1.0:
        raise SimError(f"check {check}: sigma = {sigma!r}: must be a number > 1")
    rho = (sigma - 1.0) / sigma
    if not 0.0 < mu < rho:
        raise SimError(f"check {check}: mu = {mu!r}: must be in (0, (sigma - 1)/sigma) = "
                       f"(0, {rho:.6g}) at sigma = {sigma!r} (the no-black-hole condition; "
                       f"otherwise the {state} state is never stable)")


def check_pair(sigma: float, mu: float) -> None:
    """Refuse (sigma, mu) pairs the check cannot resolve, with the reason.

    Raises
    ------
    sim.errors.SimError
        sigma <= 1; mu outside (0, rho) with rho = (sigma - 1)/sigma (at mu >= rho the
        "no black hole" condition fails: there is no break point); or a sustain point below
        ``PHI_MIN`` (trade costs tau = phi**(1/(1 - sigma)) beyond what the equilibrium
        solver represents accurately).
    """
    no_black_hole("cp", "symmetric", sigma, mu)
    rho = (sigma - 1.0) / sigma
    floor = PHI_MIN * 10
    # the sustain condition is positive below phi_S: phi_S < floor if it is not positive there
    if (1 + mu) / 2 * floor ** (1 + mu / rho) + (1 - mu) / 2 * floor ** (mu / rho - 1) <= 1:
        tau = floor ** (1.0 / (1.0 - sigma))
        raise SimError(f"check cp: (sigma, mu) = ({sigma!r}, {mu!r}): the sustain point "
                       f"lies below phi = {floor:g} (trade costs tau above {tau:.3g}), beyond "
                       f"what the check resolves; take mu further below (sigma - 1)/sigma or "
                       f"a larger sigma")


def cp_check(sigma: float, mu: float, *, scenario=None, eps: float = 1e-6,
             years: int = MAX_YEARS, iters: int = 30) -> dict:
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
        Most annual steps per stability test (each test steps until the perturbation has
        doubled or halved).
    iters : int
        Bisection steps on phi in (0, 1): the bracket shrinks to 2**-iters.

    Returns
    -------
    dict
        ``phi_break_numeric``, ``phi_break_closed_form``, ``phi_sustain_numeric``,
        ``phi_sustain_closed_form``, their relative errors, and the settings.
    """
    check_pair(sigma, mu)
    base = scenario if isinstance(scenario, Scenario) else load_scenario(
        Path(scenario) if scenario is not None else DEFAULT_SCENARIO)
    lo, hi = PHI_MIN, 1.0 - 1e-6
    # symmetric state: stable below phi_B -> predicate "unstable" is True above it
    phi_b = _bisect(lambda p: not symmetric_stable(base, sigma, mu, p, eps=eps, years=years),
                    lo, hi, iters)
    # full agglomeration: stable above phi_S
    # the perturbation of full agglomeration shrinks with phi: at small phi the periphery's
    # real wage is linear in its share only very close to lambda = 1
    phi_s = _bisect(lambda p: agglomeration_stable(base, sigma, mu, p, eps=eps * min(1.0, p),
                                                   years=years), lo, hi, iters)
    cb, cs = phi_break_closed_form(sigma, mu), phi_sustain_closed_form(sigma, mu)
    return {
        "sigma": sigma, "mu": mu,
        "phi_break_numeric": phi_b, "phi_break_closed_form": cb,
        "phi_break_rel_error": abs(phi_b - cb) / cb,
        "phi_sustain_numeric": phi_s, "phi_sustain_closed_form": cs,
        "phi_sustain_rel_error": abs(phi_s - cs) / cs,
        "eps": eps, "years": years, "bisection_iterations": iters,
    }
