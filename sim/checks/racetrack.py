"""Racetrack economy: stability of the uniform state, first unstable mode, settled pattern.

The engine's linearised dynamics and simulated outcome are set next to the closed forms.

The scenario ``scenarios/validation/racetrack.yaml`` configures the general engine as the
Krugman core-periphery economy (see :mod:`sim.checks.cp`) on K identical places equally spaced
on a circle: links only between neighbours, each of generalized cost c_l, so the path cost
between places m steps apart is m c_l (the arc distance), and exponential trade costs
tau = exp(a c / c_0). Trade freeness between places m steps apart is then r**m with
r = exp(-(sigma - 1) a c_l / c_0), the spatial discounting matrix D (d_ij = tau_ij**(1 - sigma))
is circulant, and its eigenvalues chi_k have a closed form (Akamatsu, Takayama & Ikeda 2012).

What is checked (derivations in ``docs/validation_economies.md``, "Racetrack economy"):

1. The Jacobian of the engine's annual change of mobile workers, L(t+1) - L(t), at the uniform
   state, by finite differences of ``SimModel.step`` (equilibrium solve and replicator
   migration), has the Fourier modes as eigenvectors and the eigenvalues
   gamma * G(f_k), f_k = chi_k / chi_0, with G the closed form derived for the engine's CP
   configuration (and 0 for k = 0: total mobile labour is conserved).
2. As trade freeness rises (a falls), the first mode to turn unstable is the alternating mode
   k = K/2; the value of a at which the engine's k = K/2 eigenvalue crosses zero (root finding
   on the finite-difference eigenvalue) matches the closed form
   r* = (1 - sqrt(f*)) / (1 + sqrt(f*)), f* = mu (1 + rho) / (rho + mu**2).
3. Just past that point (halfway in a between the first and the second mode's break points),
   the engine started from the uniform state plus tiny seeded noise settles in K/2 cities on
   every other place.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

from sim.checks.cp import no_black_hole
from sim.engine.model import SimModel
from sim.engine.primitives import network_matrices
from sim.errors import SimError
from sim.rng import spawn_streams
from sim.scenario.load import load_scenario
from sim.scenario.schema import Scenario

DEFAULT_SCENARIO = (Path(__file__).resolve().parents[2] / "scenarios" / "validation"
                    / "racetrack.yaml")
FD_STEP = 1e-3
"""Relative step h of the finite differences (perturbation h * L/K of mobile workers). The
five-point stencil's truncation error is O(h**4), about 1e-12 relative; the solver's noise
(tol 1e-13 in log wages) divided by h is about 1e-10."""
NOISE = 1e-3
"""Relative size of the seeded noise on the uniform state of the settling run."""
MAX_YEARS = 8000
"""Most annual steps of the settling run."""
SETTLED = 1e-10
"""The run has settled when no place's share of mobile workers moves by more than this in a
year."""
CITY_SHARE = 1e-3
"""A place is a city if it holds more than this share of the mobile workers at the end."""


# --------------------------------------------------------------------------- closed forms


def discount_eigenvalues(r: float, K: int) -> np.ndarray:
    r"""Eigenvalues of the racetrack's spatial discounting matrix in closed form.

    With :math:`d_{ij} = r^{m(i,j)}`, :math:`m(i,j) = \min(|i-j|, K-|i-j|)` (even K),

    .. math:: \chi_k = \sum_j d_{0j}\cos\frac{2\pi jk}{K}
              = \frac{(1-r^2)\,(1-(-1)^k r^{K/2})}{1 - 2r\cos(2\pi k/K) + r^2},
              \qquad k = 0, \dots, K-1.

    Parameters
    ----------
    r : float
        Trade freeness between neighbours, in [0, 1).
    K : int
        Number of places, even.

    Returns
    -------
    ndarray of float64, shape (K,)
        chi_k, dimensionless.

    References
    ----------
    .. [1] Akamatsu, T., Takayama, Y. & Ikeda, K. (2012). Spatial discounting, Fourier, and
       racetrack economy: a recipe for the analysis of spatial agglomeration models. Journal
       of Economic Dynamics and Control 36(11), 1729-1759, section 3.
    """
    k = np.arange(K)
    # 1 - 2 r cos + r**2 written as (1 - r)**2 + 2 r (1 - cos): no cancellation near r = 1
    return (1.0 - r * r) * (1.0 - (-1.0) ** k * r ** (K // 2)) / (
        (1.0 - r) ** 2 + 2.0 * r * (1.0 - np.cos(2.0 * np.pi * k / K)))


def f_critical(sigma: float, mu: float) -> float:
    r""":math:`f^* = \mu(1+\rho)/(\rho+\mu^2)`: a mode with :math:`0 < f_k < f^*` is unstable.

    For K = 2, f = (1 - phi)/(1 + phi) and f = f* is the CP break point (FKV 1999, eq. 5.28).
    """
    rho = (sigma - 1.0) / sigma
    return mu * (1.0 + rho) / (rho + mu * mu)


def growth_rate(f, sigma: float, mu: float):
    r"""Relative change of real income per relative change of mobile workers in mode f.

    .. math:: G(f) = \frac{\hat\omega_k}{\hat L_k}
              = \frac{\sigma f\,[\mu(1+\rho) - f(\rho+\mu^2)]}
                     {(\sigma-1)\,(\sigma - \mu f - (\sigma-1) f^2)}

    for the engine's CP configuration (one CES sector, F = mu/sigma, farmers (1 - mu)/K per
    place, no housing; derivation in ``docs/validation_economies.md``). The eigenvalue of the
    annual change of mobile workers under replicator migration of speed gamma is gamma G(f_k).

    Parameters
    ----------
    f : float or ndarray
        Normalised eigenvalues f_k = chi_k / chi_0 of the discounting matrix, in (-1, 1].
    sigma, mu : float
        CES elasticity (> 1) and manufacturing share (0 < mu < (sigma - 1)/sigma).

    Returns
    -------
    float or ndarray
        G(f), per year per unit of gamma.

    References
    ----------
    .. [1] Akamatsu, Takayama & Ikeda (2012), section 4 (the Krugman model's eigenvalues as a
       function of f_k).
    .. [2] Fujita, Krugman & Venables (1999), The Spatial Economy, ch. 5 (eq. 5.28 at K = 2).
    """
    rho = (sigma - 1.0) / sigma
    f = np.asarray(f, dtype=float)
    return sigma * f * (mu * (1.0 + rho) - f * (rho + mu * mu)) / (
        (sigma - 1.0) * (sigma - mu * f - (sigma - 1.0) * f * f))


def jacobian_eigenvalues_closed_form(sigma: float, mu: float, r: float, K: int,
                                     speed: float) -> np.ndarray:
    """Eigenvalues gamma G(f_k) of the Jacobian of L(t+1) - L(t) at the uniform state, by mode k.

    Mode 0 (all places alike) has eigenvalue 0: replicator migration conserves mobile labour.
    """
    chi = discount_eigenvalues(r, K)
    lam = speed * growth_rate(chi / chi[0], sigma, mu)
    lam[0] = 0.0
    return lam


def mode_break_r(sigma: float, mu: float, k: int, K: int) -> float:
    """Neighbour freeness r at which mode k's eigenvalue crosses zero (f_k(r) = f*).

    For k = K/2, f_k = ((1 - r)/(1 + r))**2, so r* = (1 - sqrt(f*))/(1 + sqrt(f*)); other modes
    by root finding (f_k falls from 1 at r = 0 to 0 at r = 1).
    """
    fs = f_critical(sigma, mu)
    if k == K // 2:
        return (1.0 - math.sqrt(fs)) / (1.0 + math.sqrt(fs))

    def g(r):
        chi = discount_eigenvalues(r, K)
        return chi[k] / chi[0] - fs

    return float(brentq(g, 0.0, 1.0 - 1e-12, xtol=1e-15, rtol=1e-14))


def rate_of(r: float, sigma: float, unit: float) -> float:
    """Trade-cost rate a with r = exp(-(sigma - 1) a unit) (unit: link cost / c_0)."""
    return -math.log(r) / ((sigma - 1.0) * unit)


# --------------------------------------------------------------------------- the engine


def check_pair(sigma: float, mu: float) -> None:
    """Refuse (sigma, mu) pairs without a break point.

    Raises
    ------
    sim.errors.SimError
        sigma <= 1 or not finite; mu outside (0, (sigma - 1)/sigma) (the no-black-hole
        condition: at mu >= rho the uniform state is never stable).
    """
    no_black_hole("racetrack", "uniform", sigma, mu)


def racetrack_scenario(base: Scenario, sigma: float, mu: float, a: float) -> Scenario:
    """The racetrack scenario with (sigma, mu) and trade-cost rate a."""
    reg = base.region
    K = len(reg.places)
    if K < 4 or K % 2 or len(reg.sectors) != 1 or len(reg.links) != K:
        raise SimError(f"check racetrack: {base.source or base.name}: needs an even number "
                       f"K >= 4 of places, K links and one sector (got {K} places, "
                       f"{len(reg.links)} links, {len(reg.sectors)} sectors)")
    sector = dataclasses.replace(reg.sectors[0], sigma=sigma, expenditure_share=mu,
                                 fixed_cost=mu / sigma)
    places = tuple(dataclasses.replace(p, mobile_pop=mu / K, ag_pop=(1 - mu) / K)
                   for p in reg.places)
    par = dataclasses.replace(base.parameters, agriculture_share=1.0 - mu,
                              trade_cost_form="exponential", trade_cost_rate=a)
    region = dataclasses.replace(reg, sectors=(sector,), places=places)
    return dataclasses.replace(base, region=region, parameters=par)


def ring_unit(scenario: Scenario) -> float:
    """Generalized cost of one link over c_0, after checking that path costs are arc distances.

    Raises
    ------
    sim.errors.SimError
        If the engine's freight costs between places are not m times the neighbour cost for
        places m steps apart on the circle (in the order of ``region.places``).
    """
    K = len(scenario.region.places)
    model = SimModel(scenario, end_year=scenario.time.start)
    try:
        # a run keeps no cost matrices: build the year's freight costs from its links
        links = model.equilibrium_inputs()[1].links
        fc = network_matrices(model.static, links, scenario.parameters,
                              kappa=False).freight_cost
    finally:
        model.release()
    i, j = np.indices((K, K))
    m = np.minimum(np.abs(i - j), K - np.abs(i - j))
    c = float(fc[0, 1])
    if not (c > 0 and np.allclose(fc, c * m, rtol=1e-12, atol=0.0)):
        raise SimError(f"check racetrack: {scenario.source or scenario.name}: the places are not "
                       f"a ring of equal links (path costs are not arc distances)")
    return c / scenario.parameters.reference_cost


def _delta(scenario: Scenario, L: np.ndarray) -> np.ndarray:
    """The engine's annual change of mobile workers from L: one ``SimModel.step``."""
    model = SimModel(scenario, end_year=scenario.time.start, mobile0=L)
    try:
        model.step()
        return model.mobile - L
    finally:
        model.release()


def _stencil(scenario: Scenario, L0: np.ndarray, v: np.ndarray, h: float) -> np.ndarray:
    """Directional derivative of the annual change along v (five-point stencil, step h)."""
    d = [_delta(scenario, L0 + s * h * v) for s in (2.0, 1.0, -1.0, -2.0)]
    return (-d[0] + 8.0 * d[1] - 8.0 * d[2] + d[3]) / (12.0 * h)


def engine_jacobian(scenario: Scenario, *, h: float = FD_STEP) -> np.ndarray:
    """Jacobian of the engine's L(t+1) - L(t) at the uniform state in relative units.

    Column j is the response to perturbing place j by h * L/K (relative to the uniform
    level), so entries are dimensionless and per year.

    Returns
    -------
    ndarray, shape (K, K)
        J_ij = d(Delta L_i / ell) / d(L_j / ell), ell = L/K.
    """
    mu = scenario.region.sectors[0].expenditure_share
    K = len(scenario.region.places)
    ell = mu / K
    L0 = np.full(K, ell)
    return np.column_stack([_stencil(scenario, L0, ell * np.eye(K)[j], h) / ell
                            for j in range(K)])


def fourier_modes(K: int) -> np.ndarray:
    """Real Fourier vectors cos(2 pi j k / K) by mode k (rows), shape (K, K)."""
    k = np.arange(K)
    return np.cos(2.0 * np.pi * np.outer(k, k) / K)


def mode_eigenvalues(J: np.ndarray) -> tuple[np.ndarray, float]:
    """Eigenvalues of a circulant J by mode, and how far the Fourier vectors are from eigenvectors.

    Returns
    -------
    lam : ndarray, shape (K,)
        Rayleigh quotients c_k' J c_k / c_k' c_k.
    residual : float
        max_k |J c_k - lam_k c_k| / (|J| |c_k|) (0 for an exactly circulant symmetric J).
    """
    C = fourier_modes(J.shape[0])
    lam = np.einsum("ki,ij,kj->k", C, J, C) / np.einsum("ki,ki->k", C, C)
    res = max(np.linalg.norm(J @ c - lv * c) / np.linalg.norm(c) for c, lv in zip(C, lam,
                                                                                  strict=True))
    return lam, float(res / np.linalg.norm(J, 2))


def engine_mode_eigenvalue(scenario: Scenario, k: int, *, h: float = FD_STEP) -> float:
    """Eigenvalue of mode k of the engine's Jacobian, by one directional derivative."""
    mu = scenario.region.sectors[0].expenditure_share
    K = len(scenario.region.places)
    ell = mu / K
    c = fourier_modes(K)[k]
    return float(c @ _stencil(scenario, np.full(K, ell), ell * c, h) / ell / (c @ c))


def _run_until_still(scenario: Scenario, L: np.ndarray, years: int, max_years: int):
    """Step chained models from L until no share moves by more than ``SETTLED`` in a year."""
    s = L / L.sum()
    still = False
    while years < max_years and not still:
        model = SimModel(scenario, mobile0=L)
        try:
            while not model.done and years < max_years:
                model.step()
                years += 1
                L = model.mobile.copy()
                new = L / L.sum()
                still = bool(np.max(np.abs(new - s)) <= SETTLED)
                s = new
                if still:
                    break
        finally:
            model.release()
    return L, years, still


def settle(scenario: Scenario, *, eps: float = NOISE, seed: int = 0,
           max_years: int = MAX_YEARS, h: float = FD_STEP) -> dict:
    """Run the engine from the uniform state plus seeded noise until it rests at a stable state.

    The initial mobile workers are L/K (1 + eps z_n), z standard normal from the
    ``perturbation`` stream of ``seed`` (:func:`sim.rng.spawn_streams`), rescaled to total L.
    Models of at most the scenario's time span are chained (each starts from the last one's
    mobile workers) until no place's share moves by more than ``SETTLED`` in a year. The rest
    point is then tested (:func:`pattern_stability`): a saddle (reached because the noise along
    its unstable direction had decayed to rounding level on the way) is perturbed again by
    (1 + eps z) with fresh draws of the same stream and the run continues.

    Returns
    -------
    dict
        ``shares`` (final shares of mobile workers), ``years`` stepped, ``settled`` (a stable
        rest point was reached), ``cities`` (places holding more than ``CITY_SHARE``),
        ``stability`` (of the final state) and ``saddles`` (rest points passed on the way:
        year, shares, largest eigenvalue).
    """
    mu = scenario.region.sectors[0].expenditure_share
    K = len(scenario.region.places)
    rng = spawn_streams(seed)["perturbation"]
    L = mu / K * (1.0 + eps * rng.standard_normal(K))
    L *= mu / L.sum()
    years, saddles = 0, []
    while True:
        L, years, still = _run_until_still(scenario, L, years, max_years)
        s = L / L.sum()
        stab = pattern_stability(scenario, s, h=h) if still else None
        if stab is None or stab["stable"] or years >= max_years:
            break
        saddles.append({"year": years, "shares": s.tolist(),
                        "largest_eigenvalue": max(stab["city_eigenvalues"]
                                                  + stab["invasion_rates"])})
        L = L * (1.0 + eps * rng.standard_normal(K))
        L *= mu / L.sum()
    return {"shares": s.tolist(), "years": years,
            "settled": bool(still and stab is not None and stab["stable"]),
            "cities": [int(i) for i in np.flatnonzero(s > CITY_SHARE)],
            "stability": stab, "saddles": saddles}


def pattern_stability(scenario: Scenario, shares, *, h: float = FD_STEP) -> dict:
    """Linear stability of a settled pattern under the engine's dynamics.

    At a rest point of replicator migration with empty places the Jacobian of the annual change
    is block triangular: an empty place j only grows at its invasion rate
    gamma (omega_j - omega_bar) / omega_bar (the engine's Delta L_j / L_j, L_j tiny), and the
    cities' block is found by finite differences of ``SimModel.step`` among the cities (empty
    places held). The pattern is stable if every invasion rate and every eigenvalue of the
    block other than the conservation mode (eigenvalue 0: mobile labour is conserved) is
    negative.

    Returns
    -------
    dict
        ``invasion_rates`` (by empty place), ``city_eigenvalues`` (real parts, the conservation
        mode dropped), ``stable`` (bool).
    """
    mu = scenario.region.sectors[0].expenditure_share
    L = mu * np.asarray(shares, dtype=float)
    cities = np.flatnonzero(L > CITY_SHARE * mu)
    empty = np.flatnonzero(L <= CITY_SHARE * mu)
    d = _delta(scenario, L)
    inv = d[empty] / np.where(L[empty] > 0, L[empty], np.nan)
    block = np.column_stack([_stencil(scenario, L, L[c] * np.eye(len(L))[c], h)[cities]
                             / L[cities] for c in cities])
    ev = np.linalg.eigvals(block)
    ev = np.delete(ev, np.argmin(np.abs(ev)))  # the conservation mode
    stable = bool(np.all(np.isfinite(inv)) and np.all(inv < 0) and np.all(ev.real < 0))
    return {"invasion_rates": inv.tolist(), "city_eigenvalues": np.sort(ev.real).tolist(),
            "stable": stable}


def alternating(cities: list[int], K: int) -> bool:
    """True for K/2 cities on every other place (0, 2, 4, ... or 1, 3, 5, ...)."""
    return len(cities) == K // 2 and len({c % 2 for c in cities}) == 1


def racetrack_check(sigma: float = 5.0, mu: float = 0.4, *, scenario=None,
                    eps: float = NOISE, seed: int = 0, max_years: int = MAX_YEARS,
                    h: float = FD_STEP) -> dict:
    """Linear stability, first unstable mode, break point and settled pattern, by the engine.

    Parameters
    ----------
    sigma, mu : float
        CES elasticity and manufacturing share, 0 < mu < (sigma - 1)/sigma.
    scenario : Scenario or path, optional
        The racetrack scenario (default ``scenarios/validation/racetrack.yaml``).
    eps, seed : float, int
        Relative size and seed of the noise on the uniform state of the settling run.
    max_years : int
        Most annual steps of the settling run.
    h : float
        Relative finite-difference step.

    Returns
    -------
    dict
        Settings; the neighbour cost ``unit`` (c_l / c_0); the closed-form break points of
        every mode (``modes_by_break``: modes in the order they turn unstable as a falls);
        ``a_run`` (halfway in a between the first and second break) and its closed-form and
        engine eigenvalues by mode with their largest relative difference; the break point of
        the first mode by the engine and in closed form (a, r, neighbour tau); the settling run.
    """
    check_pair(sigma, mu)
    if not (math.isfinite(eps) and 0.0 < eps < 0.5):
        raise SimError(f"check racetrack: eps = {eps!r}: must be in (0, 0.5)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SimError(f"check racetrack: seed = {seed!r}: must be an integer >= 0")
    if isinstance(max_years, bool) or not isinstance(max_years, int) or max_years < 1:
        raise SimError(f"check racetrack: max_years = {max_years!r}: must be an integer >= 1")
    base = scenario if isinstance(scenario, Scenario) else load_scenario(
        Path(scenario) if scenario is not None else DEFAULT_SCENARIO)
    K = len(base.region.places)
    speed = base.parameters.replicator_speed
    if base.parameters.migration_rule != "replicator":
        raise SimError(f"check racetrack: {base.source or base.name}: needs migration_rule: "
                       f"replicator")
    unit = ring_unit(racetrack_scenario(base, sigma, mu, 1.0))
    r_break = {k: mode_break_r(sigma, mu, k, K) for k in range(1, K // 2 + 1)}
    order = sorted(r_break, key=lambda k: r_break[k])  # first to turn unstable: smallest r
    first, second = order[0], order[1]
    a_first, a_second = (rate_of(r_break[k], sigma, unit) for k in (first, second))
    a_run = 0.5 * (a_first + a_second)
    r_run = math.exp(-(sigma - 1.0) * a_run * unit)
    sc_run = racetrack_scenario(base, sigma, mu, a_run)
    lam_cf = jacobian_eigenvalues_closed_form(sigma, mu, r_run, K, speed)
    lam_fd, residual = mode_eigenvalues(engine_jacobian(sc_run, h=h))
    nz = np.abs(lam_cf) > 0
    rel = float(np.max(np.abs(lam_fd[nz] - lam_cf[nz]) / np.abs(lam_cf[nz])))
    # the engine's break point: where its mode-K/2 eigenvalue crosses zero
    k_half = K // 2
    span = a_first - a_second
    a_num = float(brentq(lambda a: engine_mode_eigenvalue(
        racetrack_scenario(base, sigma, mu, a), k_half, h=h), a_second, a_first + span,
        xtol=1e-12, rtol=1e-12))
    run = settle(sc_run, eps=eps, seed=seed, max_years=max_years, h=h)
    half = np.zeros(K)
    half[::2] = 2.0 / K  # K/2 equal cities on every other place, the others empty
    half[1::2] = 1e-12
    equal = pattern_stability(sc_run, half / half.sum(), h=h)
    return {
        "sigma": sigma, "mu": mu, "K": K, "replicator_speed": speed, "unit": unit,
        "f_critical": f_critical(sigma, mu),
        "modes_by_break": [{"mode": k, "r": r_break[k],
                            "a": rate_of(r_break[k], sigma, unit)} for k in order],
        "first_unstable_mode_closed_form": first,
        "first_unstable_mode_numeric": int(np.argmax(lam_fd[:k_half + 1])),
        "unstable_modes_numeric": [int(k) for k in np.flatnonzero(lam_fd[1:] > 0) + 1],
        "a_run": a_run, "r_run": r_run,
        "f_run": (discount_eigenvalues(r_run, K) / discount_eigenvalues(r_run, K)[0]).tolist(),
        "eigenvalues_closed_form": lam_cf.tolist(), "eigenvalues_numeric": lam_fd.tolist(),
        "eigenvalue_max_rel_error": rel, "fourier_residual": residual,
        "break_a_numeric": a_num, "break_a_closed_form": a_first,
        "break_a_rel_error": abs(a_num - a_first) / a_first,
        "break_r_numeric": math.exp(-(sigma - 1.0) * a_num * unit),
        "break_r_closed_form": r_break[first],
        "break_tau_neighbour_closed_form": math.exp(a_first * unit),
        "settle": run, "settled_alternating": alternating(run["cities"], K),
        "settled_equal_sizes": bool(np.ptp(np.array(run["shares"])[run["cities"]]) < 1e-6),
        "equal_cities_stability": equal,
        "place_ids": [p.id for p in base.region.places],
        "eps": eps, "seed": seed, "fd_step": h,
    }


TOLERANCE = 1e-6
"""Relative agreement required of the engine's eigenvalues and break point (``passed``)."""


def passed(out: dict) -> bool:
    """Whether a :func:`racetrack_check` result confirms every claim.

    Eigenvalues and the break point within ``TOLERANCE`` (relative), the first unstable mode
    is K/2 in closed form and by the engine (the only unstable one at ``a_run``), and the run
    settled in K/2 cities on every other place.
    """
    K = out["K"]
    return bool(out["eigenvalue_max_rel_error"] < TOLERANCE
                and out["break_a_rel_error"] < TOLERANCE
                and out["first_unstable_mode_closed_form"] == K // 2
                and out["first_unstable_mode_numeric"] == K // 2
                and out["unstable_modes_numeric"] == [K // 2]
                and out["settle"]["settled"] and out["settled_alternating"])
