"""The best use of a budget (``sim optimize``): allocate spending across levers.

Given a total budget B, candidate levers (pillars or policy labels of a plan) with bounds on
their spending, an objective and a horizon, find the allocation ``c`` (bn CNY per lever,
``sum(c) = B``) that maximises the objective. Each lever's spending is split over its policies
in proportion to their stated costs, and every policy's strength follows the concave
cost -> effect rule [P9] (docs/model.md) from its stated cost; policies outside the levers
keep their stated settings.

Optimiser: ``scipy.optimize.differential_evolution`` (Storn & Price 1997) over the unit cube,
mapped onto the budget simplex with bounds (:func:`allocation`). It needs no derivatives (each
evaluation is a full model run whose objective is only piecewise smooth: the equilibrium
solver's tolerance makes finite differences noisy), handles bounds natively, and evaluates a
whole population at once (``updating='deferred'``), so each generation runs in parallel on the
sweep executors. Every evaluation is cached on disk by the hash of its allocation, so an
interrupted optimisation resumes and a repeated one costs nothing.

Reported: the optimum, the plan's own allocation for comparison, the frontier (the evaluated
allocations not dominated in discounted real GDP gain and the change of the Theil index), and
how the optimum and the plan's allocation fare across a small ensemble of structural
parameters (robustness).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ScenarioError, SimError

OBJECTIVES = {
    "gdp": "discounted real GDP gain (8%) (bn CNY)",
    "welfare": "welfare: equivalent variation (%)",
}
"""Objectives (maximised) and the effect row they read; ``gdp_theil`` is ``gdp`` with a cap on
the rise of the final-year Theil index (a penalty beyond it)."""
THEIL = "Theil index of GDP per capita"


def allocation(x, budget: float, lo, hi) -> np.ndarray:
    """Map a point of the unit cube to spending per lever on the bounded budget simplex.

    ``c = lo + (B - sum(lo)) x / sum(x)``, then levers above their upper bound are clamped and
    their excess redistributed over the others in proportion to x (repeated until none
    exceeds its bound). ``x = 0`` gives equal shares.

    Parameters
    ----------
    x : array_like, shape (k,)
        In [0, 1].
    budget : float
        B, bn CNY.
    lo, hi : array_like, shape (k,)
        Bounds per lever (sum(lo) <= B <= sum(hi)).

    Returns
    -------
    numpy.ndarray, shape (k,)
        Spending per lever, summing to B.
    """
    x = np.clip(np.asarray(x, float), 0.0, 1.0)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    w = x if x.sum() > 0 else np.ones_like(x)
    c = lo.copy()
    free = np.ones(len(x), bool)
    rest = budget - lo.sum()
    for _ in range(len(x) + 1):
        ww = np.where(free, w, 0.0)
        if ww.sum() <= 0:
            ww = free.astype(float)
        add = rest * ww / ww.sum()
        over = free & (c + add > hi)
        if not over.any():
            c = c + add
            break
        rest -= (hi[over] - c[over]).sum()
        c[over] = hi[over]
        free &= ~over
    return c


@dataclass
class Optimum:
    """Result of :func:`optimize`.

    Attributes
    ----------
    levers : list of str
    allocation : pandas.Series
        Optimal spending per lever (bn CNY).
    objective : float
        Its objective value.
    plan_allocation : pandas.Series
        The plan's own spending per lever, and ``plan_objective`` its value.
    evaluations : pandas.DataFrame
        Every evaluated allocation with its effects.
    frontier : pandas.DataFrame
        Evaluated allocations not dominated in (GDP gain up, Theil change down).
    robustness : pandas.DataFrame or None
        Objective of the optimum and of the plan's allocation at each ensemble point.
    path : pathlib.Path
    info : dict
    """

    levers: list
    allocation: pd.Series
    objective: float
    plan_allocation: pd.Series
    plan_objective: float
    evaluations: pd.DataFrame
    frontier: pd.DataFrame
    robustness: pd.DataFrame | None
    path: Path | None
    info: dict = field(default_factory=dict)


def _key(alloc, params) -> str:
    txt = json.dumps({"c": [round(float(v), 6) for v in alloc],
                      "p": {k: round(float(v), 9) for k, v in sorted((params or {}).items())}})
    return hashlib.sha1(txt.encode()).hexdigest()[:16]


def lever_policies(plan, base, levers) -> list[tuple[int, ...]]:
    """Indices (among the plan's policies beyond the baseline's) of each lever's policies.

    A lever is a pillar name (``sim decompose`` pillars) or a policy label selector
    (:func:`sim.sweep.spec.match_policies`).
    """
    from sim.sweep.decompose import _extra_policies, pillars
    from sim.sweep.spec import match_policies

    extra = list(_extra_policies(plan, base, plan.source))
    pill = {c.name: c.policies for c in pillars(plan, base)}
    out = []
    for lev in levers:
        idx = pill.get(lev) or tuple(match_policies(extra, lev))
        if not idx:
            raise ScenarioError(plan.source, "levers", lev,
                                f"neither a pillar ({', '.join(pill)}) nor a policy label")
        if not any(extra[i].cost_cny > 0 for i in idx):
            raise ScenarioError(plan.source, "levers", lev, "its policies cost nothing: no "
                                                            "spending to reallocate")
        out.append(tuple(idx))
    seen = [i for t in out for i in t]
    if len(seen) != len(set(seen)):
        raise ScenarioError(plan.source, "levers", levers, "levers share policies")
    return out


def allocated_scenario(base, extra, groups, alloc):
    """The baseline plus every extra policy, the levers' policies at spending ``alloc``.

    Each lever's spending is split over its policies in proportion to their stated costs;
    a policy's stated cost becomes its reference cost [P9] (unless it has one).
    """
    pols = list(extra)
    for idx, c in zip(groups, alloc, strict=True):
        stated = np.array([pols[i].cost_cny for i in idx], float)
        share = stated / stated.sum()
        for i, s in zip(idx, share, strict=True):
            p = pols[i]
            ref = p.reference_cost_cny if p.reference_cost_cny is not None else \
                (p.cost_cny if p.cost_cny > 0 else None)
            pols[i] = dataclasses.replace(p, cost_cny=float(c * s), reference_cost_cny=ref)
    return dataclasses.replace(base, policies=tuple(base.policies) + tuple(pols))


def run_allocation(shared, job: dict) -> dict:
    """Run one allocation (``alloc`` None: the baseline) on a worker (the unit of work).

    Returns the run's tables (``places``, ``sectors``, ``links``, ``manifest``); the parent
    computes the effects against the baseline of the same structural parameters.
    """
    t0 = time.perf_counter()
    out = {"key": job["key"], "status": "ok", "error": "", "tables": None}
    try:
        from sim.engine.runner import run_scenario
        from sim.sweep.spec import apply_parameters

        base, plan = shared.scenarios["base"], shared.scenarios["plan"]
        extra = plan.policies[len(base.policies):]
        b = apply_parameters(base, job["params"])
        if job["places"] is not None:
            b = dataclasses.replace(b, calibrate=False, region=dataclasses.replace(
                b.region, places=job["places"]))
        sc = b if job["alloc"] is None else allocated_scenario(b, extra, job["groups"],
                                                               job["alloc"])
        res = run_scenario(sc, seed=job["seed"], end_year=job["end_year"])
        out["tables"] = {"places": res.places, "sectors": res.sectors, "links": res.links,
                         "manifest": res.manifest}
    except Exception as e:  # reported by the parent
        out.update(status="failed", error=f"{type(e).__name__}: {e}")
    out["wall_time_s"] = round(time.perf_counter() - t0, 3)
    return out


def _objective(eff: dict, objective: str, theil_cap: float | None) -> float:
    if objective in OBJECTIVES:
        return float(eff[OBJECTIVES[objective]])
    if objective == "gdp_theil":
        g = float(eff[OBJECTIVES["gdp"]])
        dt = _theil(eff)
        cap = 0.0 if theil_cap is None else theil_cap
        return g - 1e4 * max(0.0, dt - cap)  # a steep penalty beyond the cap
    raise ScenarioError("<optimize>", "objective", objective,
                        f"one of: {', '.join([*OBJECTIVES, 'gdp_theil'])}")


def _theil(eff: dict) -> float:
    k = next((k for k in eff if k.startswith(THEIL)), None)
    return float(eff[k]) if k else float("nan")


def pareto(df: pd.DataFrame, up: str, down: str) -> pd.DataFrame:
    """Rows of ``df`` not dominated: no other row has ``up`` >= and ``down`` <= (one strictly)."""
    v = df[[up, down]].to_numpy(float)
    keep = []
    for i in range(len(v)):
        dom = (v[:, 0] >= v[i, 0]) & (v[:, 1] <= v[i, 1]) & \
            ((v[:, 0] > v[i, 0]) | (v[:, 1] < v[i, 1]))
        keep.append(not dom.any())
    return df[np.array(keep, bool)].sort_values(up)


def optimize(plan, baseline, *, levers, budget: float | None = None, bounds=None,
             objective: str = "gdp", theil_cap: float | None = None,
             end_year: int | None = None, out=None, workers: int | None = None,
             dask: bool = False, scheduler: str | None = None, maxiter: int = 8,
             popsize: int = 5, seed: int = 0, robustness: int = 0, quiet: bool = True,
             evaluate=None) -> Optimum:
    """Find the allocation of a budget across levers that maximises an objective.

    Parameters
    ----------
    plan, baseline : path-like or Scenario
    levers : sequence of str
        Pillar names or policy label selectors (at least 2).
    budget : float, optional
        Total spending B over the levers (default: their stated total).
    bounds : sequence of (float, float), optional
        Spending bounds per lever (default: 0 and B).
    objective : str
        ``gdp`` (discounted real GDP gain at 8%), ``welfare`` (equivalent variation, %) or
        ``gdp_theil`` (``gdp`` with the final-year Theil index allowed to rise by at most
        ``theil_cap``, default 0).
    end_year : int, optional
        Horizon (stop every run early).
    out : path-like, optional
        Folder of the evaluation cache and outputs (default
        ``results/optimize/<plan>-<hash>/``); reused to resume.
    workers, dask, scheduler
        Executor, as for sweeps; ``workers=0`` runs in this process.
    maxiter, popsize, seed
        ``differential_evolution`` settings (population ``popsize * k``; ``seed`` fixes it).
    robustness : int
        Evaluate the optimum and the plan's allocation at this many Latin-hypercube points of
        the structural parameters (migration elasticity, agglomeration, distance elasticity
        and sigma scale, docs/sweeps.md priors); 0: skip.
    quiet : bool
        No progress output.
    evaluate : callable, optional
        ``evaluate(alloc) -> dict of effects`` instead of model runs (tests of the optimiser
        against closed forms).

    Returns
    -------
    Optimum
    """
    from scipy.optimize import differential_evolution

    from sim.scenario.load import load_scenario, scenario_hash

    plan = plan if not isinstance(plan, str | os.PathLike) else load_scenario(Path(plan))
    base = baseline if not isinstance(baseline, str | os.PathLike) \
        else load_scenario(Path(baseline))
    levers = list(levers)
    if len(levers) < 2:
        raise ScenarioError(plan.source, "levers", levers, "give at least two levers")
    groups = lever_policies(plan, base, levers)
    extra = plan.policies[len(base.policies):]
    stated = np.array([sum(extra[i].cost_cny for i in g) for g in groups])
    B = float(stated.sum() if budget is None else budget)
    lo = np.array([b[0] for b in bounds], float) if bounds else np.zeros(len(levers))
    hi = np.array([b[1] for b in bounds], float) if bounds else np.full(len(levers), B)
    if B <= 0 or lo.sum() > B + 1e-9 or hi.sum() < B - 1e-9 or (lo > hi).any():
        raise ScenarioError(plan.source, "budget", B, f"infeasible with bounds {lo.tolist()} - "
                                                      f"{hi.tolist()}")
    _objective({OBJECTIVES["gdp"]: 0.0, OBJECTIVES["welfare"]: 0.0}, objective, theil_cap)
    ident = {"plan": scenario_hash(plan), "base": scenario_hash(base), "levers": levers,
             "end_year": end_year, "synthetic": evaluate is not None}
    h = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:10]
    out = Path(out) if out is not None else Path("results") / "optimize" / f"{plan.name}-{h}"
    cache_dir = out / "evals"
    cache_dir.mkdir(parents=True, exist_ok=True)
    man = out / "manifest.json"
    if man.is_file() and json.loads(man.read_text()).get("hash") != h:
        raise SimError(f"{out}: holds another optimisation; choose another --out")
    man.write_text(json.dumps({**ident, "hash": h, "status": "running"}, indent=2))
    cache: dict = {}
    for f in cache_dir.glob("*.json"):
        d = json.loads(f.read_text())
        cache[d["key"]] = d
    stats = {"evaluations": 0, "reused": 0, "generations": 0}
    t0 = time.perf_counter()

    with contextlib.ExitStack() as stack:
        runner = None
        if evaluate is None:
            runner = stack.enter_context(_Runner(plan, base, groups, end_year, workers, dask,
                                                 scheduler, out))

        def batch(allocs, params=None):
            keys = [_key(a, params) for a in allocs]
            todo = [(k, a) for k, a in zip(keys, allocs, strict=True) if k not in cache]
            todo = list(dict((k, a) for k, a in todo).items())
            stats["reused"] += len(allocs) - len(todo)
            if todo:
                if evaluate is not None:
                    res = {k: evaluate(a) for k, a in todo}
                else:
                    res = runner.run([a for _, a in todo], [k for k, _ in todo], params)
                for k, a in todo:
                    d = {"key": k, "alloc": [float(v) for v in a], "params": params or {},
                         "effects": res[k]}
                    cache[k] = d
                    (cache_dir / f"{k}.json").write_text(json.dumps(d))
                stats["evaluations"] += len(todo)
            return [cache[k]["effects"] for k in keys]

        def mapper(func, xs):
            xs = list(xs)
            allocs = [allocation(x, B, lo, hi) for x in xs]
            effs = batch(allocs)
            stats["generations"] += 1
            if not quiet:
                best = max(_objective(e, objective, theil_cap) for e in effs)
                print(f"optimize: batch {stats['generations']}, {len(xs)} allocations, "
                      f"best {best:,.4g}, {stats['evaluations']} runs so far "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
            return [-_objective(e, objective, theil_cap) for e in effs]

        k = len(levers)
        x_plan = (stated - lo) / max(1e-12, (stated - lo).sum()) if budget is None else None
        init = "latinhypercube"
        res = differential_evolution(lambda x: 0.0, [(0.0, 1.0)] * k, maxiter=maxiter,
                                     popsize=popsize, seed=seed, workers=mapper,
                                     updating="deferred", polish=False, init=init, tol=1e-6)
        best_alloc = allocation(res.x, B, lo, hi)
        plan_alloc = allocation(x_plan, B, lo, hi) if x_plan is not None else stated
        be, pe = batch([best_alloc, plan_alloc])
        # the best evaluated allocation (DE's answer is the best of its population)
        rows = []
        for d in cache.values():
            if d.get("params"):
                continue
            rows.append({**{f"{lv} (bn CNY)": v for lv, v in zip(levers, d["alloc"],
                                                               strict=True)},
                         "objective": _objective(d["effects"], objective, theil_cap),
                         "discounted real GDP gain": d["effects"].get(OBJECTIVES["gdp"],
                                                                      np.nan),
                         "welfare EV (%)": d["effects"].get(OBJECTIVES["welfare"], np.nan),
                         "Theil change": _theil(d["effects"])})
        ev = pd.DataFrame(rows).sort_values("objective", ascending=False)
        top = ev.iloc[0]
        if top["objective"] > _objective(be, objective, theil_cap):
            best_alloc = top[[f"{lv} (bn CNY)" for lv in levers]].to_numpy(float)
            be = batch([best_alloc])[0]
        rob = None
        if robustness and evaluate is None:
            rob = _robustness(batch, best_alloc, plan_alloc, robustness, seed, objective,
                              theil_cap)
    front = pareto(ev.dropna(subset=["discounted real GDP gain", "Theil change"]),
                   "discounted real GDP gain", "Theil change") if len(ev) else ev
    opt = Optimum(levers=levers,
                  allocation=pd.Series(best_alloc, index=levers, name="bn CNY"),
                  objective=_objective(be, objective, theil_cap),
                  plan_allocation=pd.Series(plan_alloc, index=levers, name="bn CNY"),
                  plan_objective=_objective(pe, objective, theil_cap),
                  evaluations=ev, frontier=front, robustness=rob, path=out,
                  info={**stats, "objective": objective, "budget": B, "method":
                        "scipy.optimize.differential_evolution (deferred updating, no polish)",
                        "maxiter": maxiter, "popsize": popsize, "seed": seed,
                        "wall_time_s": round(time.perf_counter() - t0, 2),
                        "de_message": str(res.message), "nfev": int(res.nfev)})
    _write(opt, out, h)
    return opt


def _robustness(batch, best, plan_alloc, n, seed, objective, theil_cap) -> pd.DataFrame:
    from sim.sweep.design import latin_hypercube

    names = ("migration_elasticity", "agglomeration", "distance_elasticity", "sigma_scale")
    lo = np.array([1.0, 0.03, 0.30, 0.85])
    hi = np.array([2.5, 0.08, 0.43, 1.15])
    u = latin_hypercube(n, len(names), seed)
    rows = []
    for i, row in enumerate(lo + u * (hi - lo)):
        params = dict(zip(names, map(float, row), strict=True))
        eb, ep = batch([best, plan_alloc], params)
        rows.append({"point": i, **params,
                     "optimum": _objective(eb, objective, theil_cap),
                     "plan allocation": _objective(ep, objective, theil_cap)})
    df = pd.DataFrame(rows)
    df["optimum better"] = df["optimum"] > df["plan allocation"]
    return df


class _Runner:
    """Model runs of allocations on the sweep executors (calibrations shared per parameters)."""

    def __init__(self, plan, base, groups, end_year, workers, dask, scheduler, out):
        self.plan, self.base, self.groups, self.end_year = plan, base, groups, end_year
        self.args = (workers, dask, scheduler)
        self.out = out
        self.cal: dict = {}
        self.base_eff: dict = {}

    def __enter__(self):
        from sim.sweep.decompose import _open
        from sim.sweep.execute import SharedInputs

        self.shared = SharedInputs({"base": self.base, "plan": self.plan})
        w, d, s = self.args
        w = (os.cpu_count() or 1) if w is None else w
        self._cm = _open(self.shared, workers=w, dask=d, scheduler=s)
        self.ex = self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)

    def _places(self, params):
        from sim.sweep.execute import run_calibration

        key = json.dumps(params or {}, sort_keys=True)
        if key not in self.cal:
            if not self.base.calibrate:
                self.cal[key] = None
            else:
                r = self.ex.submit(run_calibration, {"key": "c", "scenario": "base",
                                                     "params": params or {}}).result()
                if r["status"] != "ok":
                    raise SimError(f"calibration failed: {r['error']}")
                self.cal[key] = r["places"]
        return self.cal[key]

    def _submit(self, key, alloc, places, params):
        from sim.sweep.execute import SharedInputs  # noqa: F401  (the payload's class)

        return self.ex.submit(run_allocation, {
            "key": key, "alloc": None if alloc is None else [float(v) for v in alloc],
            "groups": self.groups, "places": places, "params": params or {},
            "seed": self.plan.seed, "end_year": self.end_year})

    @staticmethod
    def _results(r):
        from sim.results import Results

        if r["status"] != "ok":
            raise SimError(f"an allocation run failed: {r['error']}")
        t = r["tables"]
        return Results(places=t["places"], sectors=t["sectors"], manifest=t["manifest"],
                       links=t["links"])

    def run(self, allocs, keys, params=None) -> dict:
        from sim.analysis.indicators import indicators
        from sim.analysis.shapley import effect_values

        places = self._places(params)
        pkey = json.dumps(params or {}, sort_keys=True)
        futs = [self._submit(k, a, places, params) for k, a in zip(keys, allocs, strict=True)]
        if pkey not in self.base_eff:
            b = self._results(self._submit("base", None, places, params).result())
            groups = b.manifest.get("scenario", {}).get("groups", {}) or {}
            self.base_eff[pkey] = (b, indicators(b, groups=groups))
        b, bind = self.base_eff[pkey]
        out = {}
        for f in futs:
            r = f.result()
            out[r["key"]] = effect_values(self._results(r), b,
                                          baseline_indicators=bind).to_dict()
        return out


def _write(opt: Optimum, out: Path, h: str) -> None:
    from sim.viz.decomposition import to_markdown

    opt.evaluations.to_csv(out / "evaluations.csv", index=False)
    opt.frontier.to_csv(out / "frontier.csv", index=False)
    tab = pd.DataFrame({"optimum": opt.allocation, "plan": opt.plan_allocation})
    tab.index.name = "lever"
    lines = [f"# Budget allocation ({opt.info['objective']}, budget {opt.info['budget']:,.1f} "
             "bn CNY)\n", to_markdown(tab),
             f"\nObjective: optimum {opt.objective:,.4g}, plan allocation "
             f"{opt.plan_objective:,.4g}; {opt.info['evaluations']} runs "
             f"({opt.info['method']}).\n",
             "\nFrontier (discounted real GDP gain vs Theil change, evaluated allocations):\n",
             to_markdown(opt.frontier.round(3).astype(str).set_index(opt.frontier.columns[0]))
             if len(opt.frontier) else "(none)\n"]
    if opt.robustness is not None:
        opt.robustness.to_csv(out / "robustness.csv", index=False)
        lines += ["\nRobustness across structural parameters:\n",
                  to_markdown(opt.robustness.set_index("point").astype(float))]
    (out / "summary.md").write_text("\n".join(lines))
    (out / "manifest.json").write_text(json.dumps(
        {"hash": h, "status": "complete", "levers": opt.levers,
         "allocation": opt.allocation.to_dict(), "objective": opt.objective,
         "plan_allocation": opt.plan_allocation.to_dict(), "plan_objective": opt.plan_objective,
         **opt.info}, indent=2, default=str))


__all__ = ["OBJECTIVES", "Optimum", "allocated_scenario", "allocation", "lever_policies",
           "optimize", "pareto", "run_allocation"]
