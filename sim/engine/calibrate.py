"""Base-year calibration: invert the model for unobserved fundamentals.

The standard quantitative-spatial-economics inversion (Redding 2016; Allen & Arkolakis 2014,
2025): choose each internal place's productivity fundamental A-bar_n and amenity B-bar_n so that
in the base year

* the model's GDP equals observed GDP (places with a ``gdp`` value), and
* observed populations are a migration steady state (gross flows in = gross flows out at every
  internal place under the logit rule), so that without policies or trends nothing moves.

A-bar_n is found by damped multiplicative updates (the ratio of target to model labour income
to the power sigma/(sigma - 1)); given the resulting real incomes, the amenities solve the
migration steady state with ``scipy.optimize.root``, started, when Newton from zero fails, from
a damped fixed point on gross flows (docs/model.md, section "Calibration").
Policies are ignored (fundamentals must not depend on the levers), so a policy scenario
calibrated the same way shares its baseline's fundamentals exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sim.engine.model import SimModel
from sim.errors import SimError
from sim.kernels.equilibrium import solve_equilibrium
from sim.kernels.households import continuum_step, status_probabilities
from sim.kernels.migration import utility
from sim.scenario.schema import Scenario


class CalibrationError(SimError):
    """The inversion failed (infeasible target or no convergence)."""


def _with_fundamentals(sc: Scenario, prod: dict, amen: dict) -> Scenario:
    places = tuple(dataclasses.replace(p, productivity=float(prod.get(p.id, p.productivity)),
                                       amenity=float(amen.get(p.id, p.amenity)))
                   for p in sc.region.places)
    return dataclasses.replace(sc, region=dataclasses.replace(sc.region, places=places))


def _base_equilibrium(sc: Scenario, *, free_entry: bool = True):
    """Base-year equilibrium, its inputs, primitives and network (no policies).

    ``free_entry=True`` forces free entry; otherwise the scenario's firm dynamics are used
    (with ``entry_exit`` the model's firm spin-up runs first).
    """
    par = sc.parameters
    if free_entry:
        par = dataclasses.replace(par, firm_dynamics="free_entry")
    model = SimModel(dataclasses.replace(sc, policies=(), parameters=par, resolution="aggregate"),
                     end_year=sc.time.start)
    try:
        inp, prim, net = model.equilibrium_inputs()
        slv = sc.solver
        eq = solve_equilibrium(inp, tol=slv.tol, max_iter=slv.max_iter, damping=slv.damping,
                               anderson=slv.anderson, year=sc.time.start)
        return eq, inp, prim, net, model.static
    finally:
        model.release()


def _gross_flows(log_b, base_amen, V, L, mobile_pos, kappa, reg_share, idx, par):
    """Gross inflows and outflows of internal places ``idx`` for log amenity shifts ``log_b``."""
    amen = base_amen.copy()
    amen[idx] = amen[idx] * np.exp(log_b)
    U = utility(V, amen, mobile_pos, amenity_elasticity=par.amenity_elasticity)
    PR, P = status_probabilities(U, kappa, elasticity=par.migration_elasticity,
                                 hukou_cost=par.hukou_cost)
    _, _, F = continuum_step(L * reg_share, L * (1 - reg_share), PR, P,
                             reconsider_share=par.reconsider_share, conversion=0.0,
                             internal=np.ones(len(L), dtype=bool))
    return F.sum(axis=0)[idx], F.sum(axis=1)[idx]


def _net_migration(log_b, base_amen, V, L, mobile_pos, kappa, reg_share, idx, par):
    """Net migration share (in - out) / L of internal places for log amenity shifts log_b."""
    inflow, outflow = _gross_flows(log_b, base_amen, V, L, mobile_pos, kappa, reg_share, idx,
                                   par)
    return (inflow - outflow) / L[idx]


def _amenity_fixed_point(x0, flows, free, elasticity, *, damping=0.5, tol=1e-10,
                         max_iter=20_000):
    """Damped fixed point x <- x + (d / eps) ln(out / in) on the free log amenities.

    A place that loses more movers than it gains needs a higher amenity: raising B_n by the
    factor (out_n / in_n)^(1/eps) scales its logit attraction U_n^eps by out_n / in_n (the
    Ahlfeldt et al. 2015 style of inversion). Robust far from the solution, where Newton-type
    steps on the net-flow equations diverge at high migration elasticities; the result is
    polished by ``scipy.optimize.root``.
    """
    x = x0.copy()
    for _ in range(max_iter):
        inflow, outflow = flows(x)
        step = np.log(np.maximum(outflow[free], 1e-300) / np.maximum(inflow[free], 1e-300))
        if not np.all(np.isfinite(step)):
            break
        x[free] = x[free] + damping / elasticity * step
        if np.max(np.abs(step)) < tol:
            break
    return x


def calibrate(sc: Scenario, *, tol: float = 1e-8, max_iter: int = 500, damping: float = 0.7):
    """Calibrate productivity and amenity fundamentals to the base year.

    Parameters
    ----------
    sc : Scenario
        Places with observed ``gdp`` are GDP targets; all internal places' base-year
        populations are migration targets (logit migration only).
    tol : float
        Every GDP within ``tol`` (relative) of its target; every place's net migration within
        ``tol`` of its population.
    max_iter : int
        Iterations of the GDP inversion.
    damping : float
        Exponent damping of the productivity updates, in (0, 1].

    Returns
    -------
    calibrated : Scenario
        ``sc`` with the internal places' ``productivity`` and ``amenity`` replaced.
    report : pandas.DataFrame
        By internal place: gdp_observed, gdp_model, gdp_rel_error, population,
        net_migration, productivity, amenity; ``report.attrs`` holds iterations and the max
        errors.

    Raises
    ------
    CalibrationError
        If a GDP target is below the place's farm income (infeasible) or an inversion does not
        converge.

    Notes
    -----
    GDP: A-bar_n is scaled by (target / model labour income)^(d sigma/(sigma - 1)) until all
    targets hold (amenities do not affect the base-year equilibrium: populations are given).
    Migration: with the equilibrium's real incomes, the log amenities of internal places solve
    in_n = out_n for every internal place by ``scipy.optimize.root`` (with no external place
    the system has one redundant equation and the first place's amenity is held fixed).
    """
    from scipy.optimize import root

    reg = sc.region
    internal = [p for p in reg.places if not p.external]
    ids = [p.id for p in internal]
    target = {p.id: p.gdp for p in internal if p.gdp is not None}
    prod = {p.id: p.productivity for p in internal}
    amen = {p.id: p.amenity for p in internal}
    par = sc.parameters
    bh = par.housing_share
    err_g = np.inf
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported)
        eq, inp, prim, net, st = _base_equilibrium(_with_fundamentals(sc, prod, amen))
        idx = np.array([st.place_index[i] for i in ids])
        ag = (inp.ag_wage * inp.ag_workers)[idx]
        labour = eq.income[idx] * (1.0 - bh) - ag
        gdp = eq.income[idx]
        errs, updates = [], {}
        for j, pid in enumerate(ids):
            if pid not in target:
                continue
            need = target[pid] * (1.0 - bh) - ag[j]
            if need <= 0:
                raise CalibrationError(
                    f"place {pid!r}: observed GDP {target[pid]:.4g} is below its farm income "
                    f"{ag[j] / (1 - bh):.4g} (ag_pop x ag_productivity / (1 - housing_share))")
            errs.append(gdp[j] / target[pid] - 1.0)
            k = st.place_index[pid]
            sig = float(np.average(st.sigma, weights=np.maximum(eq.employment[k], 1e-300)))
            updates[pid] = (need / labour[j]) ** (damping * sig / (sig - 1.0))
        err_g = float(np.max(np.abs(errs))) if errs else 0.0
        if err_g < tol:
            break
        for pid, f in updates.items():
            prod[pid] *= f
    else:
        raise CalibrationError(f"GDP inversion did not converge in {max_iter} iterations "
                               f"(max relative error {err_g:.2e})")
    net_mig = np.zeros(len(ids))
    err_m = 0.0
    if par.migration_rule == "logit" and par.firm_dynamics != "free_entry":
        # amenities must make the actual model's base year stationary: use its real incomes
        eq, inp, prim, net, st = _base_equilibrium(_with_fundamentals(sc, prod, amen),
                                                   free_entry=False)
    if par.migration_rule == "logit":
        L = inp.mobile
        ok = L[idx] > 0
        kappa = net.migration_cost
        reg_share = np.where(st.internal, par.hukou_share, 1.0)
        base_amen = prim.amenity.copy()
        mobile_pos = np.where(st.internal, L, 1.0)
        sel = idx[ok]
        free = np.arange(len(sel)) if (~st.internal).any() else np.arange(1, len(sel))

        def fun(x):
            lb = np.zeros(len(sel))
            lb[free] = x
            r = _net_migration(lb, base_amen, eq.real_income, L, mobile_pos, kappa,
                               reg_share, sel, par)
            return r[free]

        def solve(x0):
            sol = root(fun, x0, method="hybr", tol=1e-14)
            lb = np.zeros(len(sel))
            lb[free] = sol.x
            res = _net_migration(lb, base_amen, eq.real_income, L, mobile_pos, kappa,
                                 reg_share, sel, par)
            return sol, lb, res, float(np.max(np.abs(res))) if len(res) else 0.0

        sol, lb, res, err_m = solve(np.zeros(len(free)))
        if not np.isfinite(err_m) or err_m > tol:
            # Newton from zero diverges at high migration elasticities: start from the damped
            # fixed point on gross flows instead, then polish
            x = _amenity_fixed_point(
                np.zeros(len(sel)),
                lambda x: _gross_flows(x, base_amen, eq.real_income, L, mobile_pos, kappa,
                                       reg_share, sel, par),
                free, par.migration_elasticity)
            sol, lb, res, err_m = solve(x[free])
        if not np.isfinite(err_m) or err_m > tol:
            raise CalibrationError(f"amenity inversion did not converge (max net migration "
                                   f"share {err_m:.2e}; {sol.message})")
        for j, pid in enumerate(np.asarray(ids)[ok]):
            amen[pid] = amen[pid] * float(np.exp(lb[j]))
        net_mig[ok] = res * L[sel]
    calibrated = _with_fundamentals(sc, prod, amen)
    report = pd.DataFrame({
        "place": ids,
        "gdp_observed": [target.get(i, np.nan) for i in ids],
        "gdp_model": gdp,
        "population": (inp.mobile + inp.ag_workers)[idx],
        "net_migration": net_mig,
        "productivity": [prod[i] for i in ids],
        "amenity": [amen[i] for i in ids],
    })
    report["gdp_rel_error"] = report["gdp_model"] / report["gdp_observed"] - 1.0
    report.attrs.update(iterations=it, max_gdp_rel_error=err_g, max_net_migration_share=err_m)
    return calibrated, report
