"""Designs and sweep plans.

The design matrix (grid, Latin hypercube, Sobol, Morris) and the list of member runs (design
point x scenario x seed).

May import ``sim.sweep.spec``, ``sim.scenario`` and the foundation modules.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.sweep.spec import (
    DEFAULT_GRID_POINTS,
    LEVER_PATTERN,
    SHARE_PARAMETERS,
    Design,
    ParamSpec,
    SweepSpec,
    _check_value,
    _fail,
    _numeric_parameters,
    is_lever,
    lever_field_rule,
    match_policies,
)


def salib_problem(params) -> dict:
    """The SALib ``problem`` of uniform-range parameters (names and bounds)."""
    return {"num_vars": len(params), "names": [p.name for p in params],
            "bounds": [[p.args[0], p.args[-1]] for p in params]}


def _ppf(p: ParamSpec, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of a parameter's prior at probabilities ``u``."""
    from scipy import stats

    if p.prior == "uniform":
        lo, hi = p.args
        return lo + u * (hi - lo)
    if p.prior == "normal":
        return stats.norm.ppf(u, loc=p.args[0], scale=p.args[1])
    if p.prior == "lognormal":
        return stats.lognorm.ppf(u, s=p.args[1], scale=p.args[0])
    lo, mode, hi = p.args
    return stats.triang.ppf(u, c=(mode - lo) / (hi - lo), loc=lo, scale=hi - lo)


def latin_hypercube(n: int, d: int, seed: int) -> np.ndarray:
    """Latin hypercube sample of ``n`` points in ``[0, 1)^d`` (McKay, Beckman & Conover 1979).

    Each column has exactly one point in each stratum ``[i/n, (i+1)/n)``: a random permutation
    of the strata plus a uniform offset within the stratum, both drawn from
    ``numpy.random.default_rng(SeedSequence(seed))``.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    u = np.empty((n, d))
    for j in range(d):
        u[:, j] = (rng.permutation(n) + rng.random(n)) / n
    return u


def design_matrix(design: Design, params) -> np.ndarray:
    """Design points, one row per point and one column per parameter (in ``params`` order).

    Parameters
    ----------
    design : Design
    params : sequence of ParamSpec

    Returns
    -------
    numpy.ndarray
        ``none``: shape (1, 0); ``grid``: the full factorial, first parameter slowest;
        ``lhs``: ``samples`` points; ``sobol``: ``samples * (2 D + 2)`` (second order) or
        ``samples * (D + 2)`` points (SALib ``sample.sobol``); ``morris``:
        ``samples * (D + 1)`` points (SALib ``sample.morris``).
    """
    params = list(params)
    d = len(params)
    m = design.method
    if m == "none":
        return np.empty((1, 0))
    if m == "grid":
        axes = [list(p.args) if p.prior == "values"
                else list(np.linspace(p.args[0], p.args[1], p.points or DEFAULT_GRID_POINTS))
                for p in params]
        return np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, d)
    if m == "lhs":
        u = latin_hypercube(design.samples, d, design.seed)
        return np.column_stack([_ppf(p, u[:, j]) for j, p in enumerate(params)])
    problem = salib_problem(params)
    if m == "sobol":
        from SALib.sample import sobol

        return np.asarray(sobol.sample(problem, design.samples,
                                       calc_second_order=design.second_order,
                                       scramble=True, seed=design.seed), dtype=float)
    from SALib.sample import morris

    return np.asarray(morris.sample(problem, design.samples, num_levels=design.levels,
                                    seed=design.seed), dtype=float)






@dataclass
class Plan:
    """A resolved sweep: scenarios, design matrix and members (no runs yet)."""

    spec: SweepSpec
    scenarios: dict
    paths: dict
    matrix: np.ndarray
    members: list
    spec_hash: str
    baseline: str | None
    scenario_hashes: dict = dataclasses.field(default_factory=dict)
    """``sim.scenario.load.scenario_hash`` of each scenario, by name (computed once)."""


def seed_twins(plan: Plan, members=None) -> dict:
    """Members whose tables are another member's: run id -> run id of that member.

    A run that draws no random numbers (:func:`sim.scenario.schema.draws_random_numbers`:
    aggregate resolution) gives the same tables whatever its seed, so of the ``members``
    (default: the plan's) that differ only in seed, each after the first (in the order given)
    maps to the first. Members of agent-resolution scenarios map to nothing.
    """
    from sim.scenario.schema import draws_random_numbers

    first, twins = {}, {}
    for m in plan.members if members is None else members:
        if draws_random_numbers(plan.scenarios[m["scenario"]]):
            continue
        key = (m["scenario"], repr(sorted(m["params"].items())), m["end_year"])
        if key in first:
            twins[m["run_id"]] = first[key]
        else:
            first[key] = m["run_id"]
    return twins


def _json_spec(spec: SweepSpec) -> dict:
    d = dataclasses.asdict(spec)
    d.pop("source", None)
    return d


def plan_sweep(spec: SweepSpec) -> Plan:
    """Load the scenarios, draw the design and list the members of a sweep.

    Raises
    ------
    sim.errors.ScenarioError
        A scenario file is invalid, two scenarios share a name, the baseline is not one of
        them, ``end_year`` is outside a scenario's years or a design value is invalid.
    """
    from sim.scenario.load import load_scenario, scenario_hash

    file = spec.source or "<sweep>"
    scenarios, paths = {}, {}
    for i, p in enumerate(spec.scenarios):
        sc = load_scenario(p)
        if sc.name in scenarios:
            _fail(file, f"scenarios[{i}]", p, f"two scenarios are named {sc.name!r}")
        if spec.end_year is not None and not sc.time.start <= spec.end_year <= sc.time.end:
            _fail(file, "end_year", spec.end_year,
                  f"outside scenario {sc.name!r}'s years {sc.time.start}-{sc.time.end}")
        scenarios[sc.name], paths[sc.name] = sc, p
    if spec.baseline is not None and spec.baseline not in scenarios:
        _fail(file, "baseline", spec.baseline,
              f"not one of the scenarios ({', '.join(scenarios)})")
    X = design_matrix(spec.design, spec.parameters)
    names = [p.name for p in spec.parameters]
    for j, name in enumerate(names):
        if is_lever(name):
            _check_lever(name, X[:, j], scenarios, file)
    if spec.design.method not in ("grid",):  # drawn values: check every point
        for i, row in enumerate(X):
            for name, v in zip(names, row, strict=True):
                _check_value(name, float(v), file, f"parameters.{name}",
                             f" (design point {i}: the prior puts mass outside the valid "
                             f"range; narrow it)")
    if "sigma_scale" in names:
        j = names.index("sigma_scale")
        lo = float(X[:, j].min())
        for sc in scenarios.values():
            smin = min(s.sigma for s in sc.region.sectors)
            if smin * lo <= 1:
                _fail(file, "parameters.sigma_scale", lo, f"scenario {sc.name!r}: sector sigma "
                                                          f"{smin} x {lo} must stay > 1")
    for name in SHARE_PARAMETERS:
        if name in names:
            j = names.index(name)
            other = [n for n in SHARE_PARAMETERS if n != name][0]
            for sc in scenarios.values():
                rest = getattr(sc.parameters, other)
                hi = float(X[:, j].max())
                if hi + rest >= 1:
                    _fail(file, f"parameters.{name}", hi, f"with {other} {rest} of scenario "
                                                          f"{sc.name!r} nothing is left for the "
                                                          f"sectors")
    seeds = spec.seeds or (next(iter(scenarios.values())).seed,)
    members = []
    for i, row in enumerate(X):
        params = {n: (int(v) if _numeric_parameters().get(n) is int else float(v))
                  for n, v in zip(names, row, strict=True)}
        for label in scenarios:
            for seed in seeds:
                members.append({"run_id": f"p{i:04d}-{label}-s{seed}", "point": i,
                                "scenario": label, "params": params, "seed": int(seed),
                                "end_year": spec.end_year})
    hashes = {k: scenario_hash(v) for k, v in scenarios.items()}
    ident = {"spec": _json_spec(spec), "scenarios": hashes}
    h = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:8]
    baseline = spec.baseline
    return Plan(spec=spec, scenarios=scenarios, paths=paths, matrix=X, members=members,
                spec_hash=h, baseline=baseline, scenario_hashes=hashes)


def _check_lever(name, column, scenarios, file) -> None:
    """A lever must address a numeric field of at least one policy; every value must be valid."""
    m = LEVER_PATTERN.match(name)
    path = f"parameters.{name}"
    hits = 0
    for sc in scenarios.values():
        for i in match_policies(sc.policies, m["sel"]):
            pol = sc.policies[i]
            rule = lever_field_rule(pol, m["field"])
            if rule is None:
                _fail(file, path, m["field"], f"not a numeric field of policy {pol.label!r} "
                                              f"(type {pol.type}) in scenario {sc.name!r}")
            kind, pred, text = rule
            for v in np.unique(column):
                if kind is int and not float(v).is_integer():
                    _fail(file, path, float(v), "expected an integer (integer field)")
                if not pred(kind(v)):
                    _fail(file, path, float(v), f"{text} (field {m['field']} of policy "
                                                f"{pol.label!r})")
            hits += 1
    if hits == 0:
        _fail(file, path, m["sel"], "matches no policy label in the sweep's scenarios")


def default_sweep_dir(plan: Plan, root="results/sweeps") -> Path:
    """``results/sweeps/<name>-<hash>/`` (the hash covers the sweep and its scenarios)."""
    return Path(root) / f"{plan.spec.name}-{plan.spec_hash}"


