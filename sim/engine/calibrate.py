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

from sim.engine.diagnose import attach
from sim.engine.model import SimModel
from sim.errors import ConvergenceError, NumericalError, SimError
from sim.kernels.equilibrium import partner_trade, solve_equilibrium
from sim.kernels.migration import (
    logit_flow_totals,
    logit_kernel,
    logit_weights,
    size_weights,
    utility,
)
from sim.scenario.schema import Scenario, calibration_problem


class CalibrationError(SimError):
    """The inversion failed (infeasible target or no convergence).

    ``stage`` (a key of :data:`sim.engine.diagnose.STAGES`), ``residual`` and ``tol`` are set
    when an inversion did not converge; :func:`calibrate` adds a diagnosis (``diagnosis``).
    """

    def __init__(self, message, *, stage=None, residual=None, tol=None):
        self.stage = stage
        self.residual = residual
        self.tol = tol
        super().__init__(message)


_MEMO: dict = {}
_MEMO_SIZE = 4


def calibrate_cached(sc: Scenario):
    """:func:`calibrate` with an in-process memo of the last few calibration problems.

    ``sim run PLAN --baseline BASE`` calibrates both runs: they share the problem
    (:func:`calibration_problem`), so the second is a look-up. The key is the problem itself
    (frozen, hashable dataclasses), so equal problems and only equal problems share a result.
    """
    key = calibration_problem(sc)
    hit = _MEMO.get(key)
    if hit is None:
        cal, report = calibrate(sc)
        hit = (cal.region.places, report)
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = hit
    places, report = hit
    return dataclasses.replace(sc, region=dataclasses.replace(sc.region, places=places)), \
        report.copy()


def _invert_amenities(sc, eq, inp, prim, net, st, idx, tol):
    """Amenities that make base-year migration match its targets [C2].

    Internal places (``idx``): net migration ``in_n - out_n = m_n (L_n + L^A_n)`` with
    ``m_n = Place.net_migration`` (None: 0, a steady state). External places with a
    ``migration_share``: their share of the region's gross out-migration to those places. Solved
    by ``scipy.optimize.root`` (hybr) with continuation in the net-migration targets (from the
    steady state, where the damped gross-flow fixed point gives a start, to the observed rates).
    One external amenity (the largest share) is held fixed: a common scale of all amenities
    does not change any logit probability.

    Returns
    -------
    lb : ndarray
        Log amenity shifts of the internal places with mobile workers.
    lx : ndarray
        Log amenity shifts of the targeted external places (``ext_ids`` order).
    net : ndarray
        Model net migration (movers a year) of those internal places at the solution.
    err_m : float
        Max |net migration residual| / mobile workers.
    err_s : float
        Max |log share residual| of the external targets.
    ext_ids : list of str
    """
    par = sc.parameters
    L = inp.mobile
    ok = L[idx] > 0
    sel = idx[ok]
    kappa = net.migration_cost
    E = net.migration_kernel if net.migration_kernel is not None else logit_kernel(kappa)
    reg_share = np.where(st.internal, par.hukou_share, 1.0)
    base_amen = prim.amenity.copy()
    mobile_pos = np.where(st.internal, L, 1.0)
    sizew = size_weights(st.size, size_elasticity=par.migration_size_elasticity,
                         elasticity=par.migration_elasticity)
    V = eq.real_income
    by_id = {p.id: p for p in sc.region.places}
    pop = (inp.mobile + inp.ag_workers)[sel]
    rate = np.array([by_id[st.place_ids[i]].net_migration or 0.0 for i in sel])
    T = rate * pop
    reach = np.isfinite(kappa[st.internal]).any(axis=0)
    ext = [p for p in sc.region.places if p.external and p.migration_share is not None
           and st.migration_allowed[st.place_index[p.id]] and reach[st.place_index[p.id]]]
    ext_ids = [p.id for p in ext]
    xi = np.array([st.place_index[i] for i in ext_ids], dtype=int)
    target = np.array([p.migration_share for p in ext], dtype=float)
    if len(target):
        target = target / target.sum()
    pin = int(np.argmax(target)) if len(target) else -1
    xfree = np.array([j for j in range(len(xi)) if j != pin], dtype=int)
    nfree_int = len(sel) if (~st.internal).any() else len(sel) - 1
    ifree = np.arange(len(sel))[len(sel) - nfree_int:]

    def unpack(x):
        lb = np.zeros(len(sel))
        lb[ifree] = x[:nfree_int]
        lx = np.zeros(len(xi))
        lx[xfree] = x[nfree_int:]
        return lb, lx

    def residuals(lb, lx, lam):
        amen = base_amen.copy()
        amen[sel] *= np.exp(lb)
        amen[xi] *= np.exp(lx)
        inflow, outflow, G = _flow_totals(amen, V, L, mobile_pos, E, reg_share, sizew, par,
                                          cols=xi, internal=st.internal)
        net = inflow[sel] - outflow[sel]
        r_int = (net - lam * T) / L[sel]
        if len(xi):
            with np.errstate(divide="ignore", invalid="ignore"):
                r_ext = np.log(G / G.sum()) - np.log(target)
        else:
            r_ext = np.zeros(0)
        return r_int, r_ext, net

    def fun(x, lam):
        lb, lx = unpack(x)
        r_int, r_ext, _ = residuals(lb, lx, lam)
        return np.concatenate([r_int[ifree], r_ext[xfree]])

    # start: external shares by their own fixed point, internal steady state by gross flows
    lx = np.zeros(len(xi))
    lb = np.zeros(len(sel))
    for _ in range(200):
        _, r_ext, _ = residuals(lb, lx, 0.0)
        if not len(xi) or not np.all(np.isfinite(r_ext)) or np.max(np.abs(r_ext)) < 1e-6:
            break
        lx = lx - r_ext / par.migration_elasticity
        lx = lx - lx[pin]
    amen_x = base_amen.copy()
    amen_x[xi] *= np.exp(lx)
    lb = _amenity_fixed_point(
        np.zeros(len(sel)),
        lambda y: _gross_flows(y, amen_x, V, L, mobile_pos, E, reg_share, sel, par, sizew),
        ifree, par.migration_elasticity)
    x = np.concatenate([lb[ifree], lx[xfree]])
    lams = [0.0] if not np.any(T) else [0.0, 0.25, 0.5, 0.75, 1.0]
    message, J = "", None
    for lam in lams:
        r0 = fun(x, lam)
        if not len(r0) or np.max(np.abs(r0)) <= 1e-3 * tol:
            # the start solves it already: a Newton step would first build a finite-difference
            # Jacobian (one flow evaluation per unknown, minutes at 3,000 places)
            continue
        x_new, message, J = _solve_root(fun, x, lam, J)
        if np.all(np.isfinite(x_new)):
            x = x_new
    lb, lx = unpack(x)
    r_int, r_ext, net_mig = residuals(lb, lx, 1.0 if np.any(T) else 0.0)
    err_m = float(np.max(np.abs(r_int))) if len(r_int) else 0.0
    err_s = float(np.max(np.abs(r_ext))) if len(r_ext) else 0.0
    if not np.isfinite(err_m) or err_m > tol or not np.isfinite(err_s) or err_s > 1e-6:
        mig_bad = not np.isfinite(err_m) or err_m > tol
        raise CalibrationError(f"amenity inversion did not converge (max net migration "
                               f"residual {err_m:.2e} of mobile workers, max log share error "
                               f"{err_s:.2e}; {' '.join(str(message).split())})",
                               stage="amenity inversion",
                               residual=err_m if mig_bad else err_s,
                               tol=tol if mig_bad else 1e-6)
    return lb, lx, net_mig, err_m, err_s, ext_ids


def _jacobian(fun, x, f, lam):
    """Forward-difference Jacobian of ``fun(., lam)`` at x (f = fun(x, lam))."""
    n = len(x)
    J = np.empty((n, n))
    h0 = np.sqrt(np.finfo(float).eps)
    for j in range(n):
        xj = x.copy()
        xj[j] += h0 * max(abs(x[j]), 1.0)
        J[:, j] = (fun(xj, lam) - f) / (xj[j] - x[j])
    return J


def _solve_root(fun, x0, lam, J=None, *, xtol=1e-14, max_iter=40):
    """A root of ``fun(x, lam)``: Newton's method, else ``scipy.optimize.root`` (hybr).

    Newton steps with a forward-difference Jacobian (step sqrt(machine eps) max(|x_j|, 1)),
    which is kept while a full step cuts the max residual at least fourfold and recomputed
    otherwise (``J``: one from an earlier solve to start with; the continuation's systems
    differ only by a constant), with step halving on a fresh Jacobian, until a step is below
    ``xtol`` relative to x or the residual stops falling at its rounding floor. Accepted when
    the max residual is below 1e-12 (the callers require 1e-8 of mobile workers and 1e-6 in
    log shares). Otherwise -- Newton far from the root -- the same problem goes to scipy's
    hybrid Powell method with ``tol=xtol``, imported only then (importing scipy.optimize costs
    more than the Newton solve). Returns the root, the solver's message and the last Jacobian.
    """
    x = np.asarray(x0, dtype=float).copy()
    f = fun(x, lam)
    norm = float(np.max(np.abs(f))) if len(x) else 0.0
    fresh = False
    for _ in range(max_iter):
        if not np.isfinite(norm) or norm == 0.0:
            break
        if J is None:
            J, fresh = _jacobian(fun, x, f, lam), True
        try:
            dx = np.linalg.solve(J, -f)
        except np.linalg.LinAlgError:
            if fresh:
                break
            J = None
            continue
        t, n_try = 1.0, np.inf
        while True:
            x_try = x + t * dx
            f_try = fun(x_try, lam)
            n_try = float(np.max(np.abs(f_try)))
            if not fresh or t <= 1.0 / 64 or (np.isfinite(n_try) and n_try < norm):
                break
            t /= 2.0
        if not fresh and not (np.isfinite(n_try) and n_try <= 0.25 * norm):
            if np.isfinite(n_try) and n_try < min(norm, 1e-13):  # at the rounding floor
                x, f, norm = x_try, f_try, n_try
                break
            J = None  # an old Jacobian that no longer pays: a fresh one from the same x
            continue
        if not (np.isfinite(n_try) and n_try < norm):
            break  # at the rounding floor (or lost)
        x, f, norm, fresh = x_try, f_try, n_try, False
        if float(np.max(np.abs(t * dx))) <= xtol * (float(np.max(np.abs(x))) + xtol):
            break
    if np.isfinite(norm) and norm < 1e-12:
        return x, "Newton converged", J
    from scipy.optimize import root

    sol = root(fun, x0, args=(lam,), method="hybr", tol=xtol)
    return sol.x, sol.message, None


def _partner_updates(partners, eq, inp, st, damping):
    """Log errors and damped updates of partner income and productivity [C3].

    Exports to a partner scale with its income (demand): ``Y_j <- Y_j (target/model)^d``;
    imports from it with its productivity to the power sigma - 1 (supply):
    ``A_j <- A_j (target/model)^(d/(sigma - 1))``.

    Returns
    -------
    errors : list of float
    updates : dict of id -> [income factor, productivity factor]
    """
    if not partners:
        return [], {}
    flows = dict(zip(("trade_exports", "trade_imports"), partner_trade(eq, inp), strict=True))
    power = {"trade_exports": damping,
             "trade_imports": damping / (float(np.average(st.sigma, weights=st.beta)) - 1.0)}
    slot = {"trade_exports": 0, "trade_imports": 1}
    errs, updates = [], {}
    for p in partners:
        j = st.place_index[p.id]
        for field, model in flows.items():
            target = getattr(p, field)
            if target is None:
                continue
            if model[j] <= 0:
                raise CalibrationError(f"place {p.id!r}: no base-year trade with it "
                                       f"(unreachable?), cannot match {field} {target}")
            errs.append(np.log(model[j] / target))
            updates.setdefault(p.id, [1.0, 1.0])[slot[field]] = (target / model[j]) ** power[field]
    return errs, updates


def _with_fundamentals(sc: Scenario, prod: dict, amen: dict, income: dict | None = None
                       ) -> Scenario:
    income = income or {}
    places = tuple(dataclasses.replace(p, productivity=float(prod.get(p.id, p.productivity)),
                                       amenity=float(amen.get(p.id, p.amenity)),
                                       gdp=income.get(p.id, p.gdp))
                   for p in sc.region.places)
    return dataclasses.replace(sc, region=dataclasses.replace(sc.region, places=places))


def _base_equilibrium(sc: Scenario, *, free_entry: bool = True):
    """Base-year equilibrium, its inputs, primitives and network (no policies).

    ``free_entry=True`` forces free entry; otherwise the scenario's firm dynamics are used
    (with ``entry_exit`` the model's firm spin-up runs first).
    """
    model = _base_model(sc, free_entry=free_entry)
    try:  # from the firm spin-up's last wages, if it ran
        return _solve_base(model, sc, wage0=getattr(model, "_wage", None))
    finally:
        model.release()


def _base_model(sc: Scenario, *, free_entry: bool = True) -> SimModel:
    """The base-year model of ``sc`` (no policies, aggregate), built once per calibration."""
    par = sc.parameters
    if free_entry:
        par = dataclasses.replace(par, firm_dynamics="free_entry")
    # the amenity inversion reads the migration costs kappa themselves; the network matrices
    # are offered to the calibrated run, which needs the same ones (the calibration changes
    # productivities and amenities only)
    return SimModel(dataclasses.replace(sc, policies=(), parameters=par, resolution="aggregate"),
                    end_year=sc.time.start, keep_kappa=True, share_network=True)


def _solve_base(model: SimModel, sc: Scenario, wage0=None, tol=None):
    """Base-year equilibrium of ``model`` (to ``tol``, default the scenario's solver tol)."""
    inp, prim, net = model.equilibrium_inputs()
    slv = sc.solver
    eq = solve_equilibrium(inp, wage0=wage0, tol=slv.tol if tol is None else max(tol, slv.tol),
                           max_iter=slv.max_iter, damping=slv.damping, anderson=slv.anderson,
                           year=sc.time.start)
    return eq, inp, prim, net, model.static


#: Inexact inner solves of the GDP inversion: while the GDP error is ``e``, each base-year
#: equilibrium is solved to ``INNER_TOL_FACTOR * e`` (at most ``INNER_TOL_MAX``, at least the
#: scenario's solver tol) in log wages; once the GDP targets hold, the same fundamentals are
#: solved again to the solver tol and checked (Dembo, Eisenstat & Steihaug 1982).
INNER_TOL_FACTOR = 1e-2
INNER_TOL_MAX = 1e-4


def _flow_totals(amen, V, L, mobile_pos, E, reg_share, sizew, par, cols=None, internal=None):
    """Gross migration flows of one base year for amenities ``amen`` [D1], [H1].

    From the kernel E = exp(-kappa) by two matrix-vector products
    (:func:`~sim.kernels.migration.logit_flow_totals`), no (N, N) temporary: the row and column
    sums of the flow matrix F_nm (n != m) of the dense logit rule.

    Returns
    -------
    inflow, outflow : ndarray, shape (N,)
        sum_n F_nm and sum_m F_nm.
    into : ndarray, shape (len(cols),)
        sum over the ``internal`` origins n of F_nm for the places ``cols`` (external targets).
    """
    U = utility(V, amen, mobile_pos, amenity_elasticity=par.amenity_elasticity)
    u, _ = logit_weights(U, sizew, elasticity=par.migration_elasticity)
    N = len(L)
    tot = logit_flow_totals(E, u, L * reg_share, L * (1 - reg_share),
                            reconsider_share=par.reconsider_share,
                            hukou_factor=float(np.exp(-par.hukou_cost)),
                            external=np.zeros(N, dtype=bool))
    into = np.zeros(0)
    if cols is not None and len(cols):
        origins = np.flatnonzero(internal)
        into = u[cols] * (tot["a"][origins] @ E[np.ix_(origins, cols)])
    return tot["inflow"], tot["out_reg"] + tot["out_unreg"], into


def _gross_flows(log_b, base_amen, V, L, mobile_pos, E, reg_share, idx, par, sizew=1.0):
    """Gross inflows and outflows of internal places ``idx`` for log amenity shifts ``log_b``."""
    amen = base_amen.copy()
    amen[idx] = amen[idx] * np.exp(log_b)
    inflow, outflow, _ = _flow_totals(amen, V, L, mobile_pos, E, reg_share, sizew, par)
    return inflow[idx], outflow[idx]


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

    A failure (``CalibrationError``, or ``ConvergenceError`` of a base-year equilibrium) carries
    a diagnosis (:func:`sim.engine.diagnose.attach`): the stage, year, residual and the
    parameters most likely at fault.

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
    stage = ["GDP inversion"]
    try:
        return _calibrate(sc, tol, max_iter, damping, stage)
    except (CalibrationError, ConvergenceError, NumericalError) as e:
        name = getattr(e, "stage", None) or stage[0]
        if isinstance(e, ConvergenceError):
            name = "base-year equilibrium"
        raise attach(e, sc, name, year=sc.time.start) from None


def _calibrate(sc, tol, max_iter, damping, stage):
    reg = sc.region
    internal = [p for p in reg.places if not p.external]
    ids = [p.id for p in internal]
    target = {p.id: p.gdp for p in internal if p.gdp is not None}
    prod = {p.id: p.productivity for p in internal}
    amen = {p.id: p.amenity for p in internal}
    par = sc.parameters
    bh = par.housing_share
    # customs targets [C3]: partners' income (demand) and productivity (supply)
    partners = [p for p in reg.places if p.external and (p.trade_exports is not None
                                                         or p.trade_imports is not None)]
    income = {p.id: p.gdp for p in partners}
    for p in partners:
        prod[p.id] = p.productivity
    err_g = err_t = np.inf
    it = 0
    # one base-year model for the whole inversion: each iteration only rescales its static
    # productivity rows and partner incomes (network and arrays are built once; Mesa 3.3 never
    # frees Model objects, so building one per iteration also leaked), and the equilibrium
    # starts from the previous iteration's wages
    model = _base_model(_with_fundamentals(sc, prod, amen, income))
    st0, prod0, inc0, wage = model.static, dict(prod), dict(income), None
    inner_tol = INNER_TOL_MAX  # the first solve: only the GDP error's size matters
    try:
        for it in range(1, max_iter + 1):  # noqa: B007 (it is reported)
            row = np.ones(st0.n_places)
            inc = np.ones(st0.n_places)
            for pid, v in prod.items():
                row[st0.place_index[pid]] = v / prod0[pid]
            for pid, v in income.items():
                inc[st0.place_index[pid]] = v / inc0[pid]
            model.static = dataclasses.replace(st0, productivity=st0.productivity * row[:, None],
                                               ext_income=st0.ext_income * inc)
            exact = inner_tol <= sc.solver.tol
            eq, inp, prim, net, st = _solve_base(model, sc, wage0=wage, tol=inner_tol)
            wage = eq.wage
            idx = np.array([st.place_index[i] for i in ids])
            errs_t, trade_updates = _partner_updates(partners, eq, inp, st, damping)
            err_t = float(np.max(np.abs(errs_t))) if errs_t else 0.0
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
            if err_g < tol and err_t < tol:
                if exact:
                    break
                inner_tol = 0.0  # the same fundamentals again, solved to the solver tol
                continue
            inner_tol = min(INNER_TOL_MAX, INNER_TOL_FACTOR * max(err_g, err_t))
            for pid, f in updates.items():
                prod[pid] *= f
            for pid, (fy, fa) in trade_updates.items():
                income[pid] *= fy
                prod[pid] *= fa
        else:
            raise CalibrationError(f"GDP inversion did not converge in {max_iter} iterations "
                                   f"(max relative error {err_g:.2e}, max log error of partner "
                                   f"trade {err_t:.2e})", stage="GDP inversion",
                                   residual=max(err_g, err_t), tol=tol)
    finally:
        model.release()
    net_mig = np.zeros(len(ids))
    err_m = 0.0
    if par.migration_rule == "logit" and par.firm_dynamics != "free_entry":
        # amenities must make the actual model's base year stationary: use its real incomes
        eq, inp, prim, net, st = _base_equilibrium(_with_fundamentals(sc, prod, amen, income),
                                                   free_entry=False)
    share_err = 0.0
    if par.migration_rule == "logit":
        stage[0] = "amenity inversion"
        lb, lx, res, err_m, share_err, ext_ids = _invert_amenities(sc, eq, inp, prim, net, st,
                                                                   idx, tol)
        sel_ids = np.asarray(ids)[inp.mobile[idx] > 0]
        for j, pid in enumerate(sel_ids):
            amen[pid] = amen[pid] * float(np.exp(lb[j]))
        for j, pid in enumerate(ext_ids):
            amen[pid] = amen.get(pid, st.amenity[st.place_index[pid]]) * float(np.exp(lx[j]))
        net_mig[inp.mobile[idx] > 0] = res
    calibrated = _with_fundamentals(sc, prod, amen, income)
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
    report.attrs.update(iterations=it, max_gdp_rel_error=err_g, max_net_migration_share=err_m,
                        max_partner_trade_log_error=err_t,
                        partners={p.id: {"income": income[p.id], "productivity": prod[p.id]}
                                  for p in partners},
                        max_migration_share_log_error=share_err)
    return calibrated, report
