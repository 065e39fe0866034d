"""Diagnoses of loud failures: which solver, which year, which residual, which parameter.

A run that cannot produce finite, converged results raises ``CalibrationError``,
``ConvergenceError`` or ``NumericalError``. :func:`attach` adds a diagnosis to such an error
(``err.diagnosis``, a dict, and one more sentence in its message): the solver stage that failed,
the year, the residual and its tolerance, and the structural parameters most likely at fault —
those outside their published ranges (:data:`PUBLISHED_RANGES`, the priors of the sweep files;
docs/model.md section 7, "Published ranges and failure diagnoses"), farthest outside first, or,
when all are inside, solver settings changed from their defaults or the parameters the failing
stage depends on most; ``sigma`` and ``housing_share`` come first when the uniqueness condition
sigma (1 - housing_share) > 1 of Redding (2016) fails.
"""

from __future__ import annotations

#: Published range (low, high) of each swept structural parameter: the union of the priors of
#: ``scenarios/sweeps/*.yaml`` (normal and lognormal priors by their 1st-99th percentiles);
#: ``sigma`` is every sector's own CES elasticity (``sigma_scale`` 0.8-1.2 of the Jilin pack's
#: 4-7). Sources: docs/model.md section 7.
PUBLISHED_RANGES: dict[str, tuple[float, float]] = {
    "migration_elasticity": (0.75, 3.3),   # Tombe & Zhu (2019) 1.5 ... MRRH (2018) 3.3
    "agglomeration": (0.03, 0.10),         # Rosenthal & Strange (2004); Allen & Arkolakis (2014)
    "distance_elasticity": (0.25, 0.45),   # Redding (2016) 0.33; MRRH (2018) 0.43
    "amenity_elasticity": (-0.3, 0.0),     # Allen & Arkolakis (2014) -0.3
    "sigma": (3.2, 8.4),                   # Redding & Rossi-Hansberg (2017) 4-5, scaled 0.8-1.2
}

#: Solver stages, the residual each one reports and the parameters its solution depends on
#: most (named when every parameter is inside its published range).
STAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "GDP inversion": (
        "max relative GDP error (or max log error of partner trade)",
        ("sigma", "agglomeration", "distance_elasticity")),
    "amenity inversion": (
        "max |net migration residual| / mobile workers (or max log error of migration shares)",
        ("migration_elasticity", "amenity_elasticity", "migration_cost_fixed")),
    "base-year equilibrium": (
        "max change of log wages per iteration",
        ("sigma", "agglomeration", "distance_elasticity")),
    "annual equilibrium": (
        "max change of log wages per iteration",
        ("sigma", "agglomeration", "distance_elasticity", "migration_elasticity")),
    "result check": (
        "a non-finite or negative value in the results",
        ("migration_elasticity", "agglomeration", "sigma", "amenity_elasticity")),
}


def parameter_values(sc) -> dict[str, float]:
    """The swept structural parameters of a scenario (``sigma``: the sectors' min and max)."""
    par = sc.parameters
    out = {k: float(getattr(par, k)) for k in PUBLISHED_RANGES if hasattr(par, k)}
    out["migration_cost_fixed"] = float(par.migration_cost_fixed)
    sig = [float(s.sigma) for s in sc.region.sectors]
    if sig:
        out["sigma"] = (min(sig), max(sig))
    return out


def outside(sc) -> list[tuple[str, object, float]]:
    """Parameters outside their published range, farthest (in range widths) first.

    Returns
    -------
    list of (name, value, distance)
        ``distance``: how far outside, in units of the range's width (> 0).
    """
    vals = parameter_values(sc)
    found = []
    for k, (lo, hi) in PUBLISHED_RANGES.items():
        if k not in vals:
            continue
        v = vals[k]
        vlo, vhi = (v if isinstance(v, tuple) else (v, v))
        d = max(lo - vlo, vhi - hi, 0.0) / (hi - lo)
        if d > 0:
            found.append((k, v, d))
    return sorted(found, key=lambda t: -t[2])


def solver_changes(sc) -> dict[str, float]:
    """Solver settings that differ from their defaults (``solver.<field>`` -> value)."""
    default = type(sc.solver)()
    return {f"solver.{k}": float(getattr(sc.solver, k)) for k in ("max_iter", "tol", "damping",
                                                                  "anderson")
            if getattr(sc.solver, k) != getattr(default, k)}


def _fmt(v) -> str:
    if isinstance(v, tuple):
        return f"{v[0]:.4g}" if v[0] == v[1] else f"{v[0]:.4g}-{v[1]:.4g}"
    return f"{v:.4g}"


def diagnosis(sc, stage: str, *, year=None, residual=None, tol=None) -> dict:
    """The diagnosis of a failure of ``stage`` (a key of :data:`STAGES`) for scenario ``sc``.

    Returns
    -------
    dict
        ``stage``, ``year``, ``residual_name``, ``residual``, ``tol``, ``suspects`` (list of
        parameter names, most likely first), ``outside`` (the names outside their published
        range), ``values`` (their values) and ``text`` (one sentence).
    """
    rname, related = STAGES[stage]
    vals = parameter_values(sc)
    out = outside(sc)
    bh = float(sc.parameters.housing_share)
    sig = [float(x.sigma) for x in sc.region.sectors]
    helpman = bh > 0 and sig and min(sig) * (1.0 - bh) <= 1.0
    solver = solver_changes(sc) if stage.endswith("equilibrium") else {}
    if out:
        suspects = [k for k, _, _ in out]
        why = "; ".join(f"{k} = {_fmt(v)} is outside its published range "
                        f"{PUBLISHED_RANGES[k][0]:g} to {PUBLISHED_RANGES[k][1]:g} "
                        f"(by {d:.2g} of its width)" for k, v, d in out)
    elif solver:
        suspects = list(solver)
        vals.update(solver)
        why = ("every swept parameter is inside its published range; the solver settings "
               "differ from their defaults: " + ", ".join(f"{k} = {v:g}" for k, v in
                                                          solver.items()))
    else:
        suspects = [k for k in related if k in vals]
        why = ("every swept parameter is inside its published range; this stage depends most "
               "on " + ", ".join(f"{k} = {_fmt(vals[k])}" for k in suspects))
    size = ""
    if residual is not None:
        size = f", residual {float(residual):.3g}"
        if tol is not None:
            size += f" (tol {float(tol):.1e})"
    if helpman:  # the uniqueness condition of the Helpman-Redding economy fails
        suspects = ["sigma", "housing_share"] + [k for k in suspects
                                                 if k not in ("sigma", "housing_share")]
        vals["housing_share"] = bh
        why += (f"; min sigma x (1 - housing_share) = {min(sig) * (1 - bh):.3g} <= 1: no unique "
                "stable spatial equilibrium (Redding 2016)")
    where = f" in year {year}" if year is not None else ""
    text = (f"diagnosis: {stage} failed{where} ({rname}{size}); likely at fault: "
            f"{', '.join(suspects) or 'none identified'} ({why})")
    return {"stage": stage, "year": year, "residual_name": rname,
            "residual": None if residual is None else float(residual),
            "tol": None if tol is None else float(tol), "suspects": suspects,
            "outside": [k for k, _, _ in out], "values": {k: vals[k] for k in suspects},
            "text": text}


def attach(err, sc, stage: str, *, year=None):
    """Add a diagnosis to ``err`` (once) and return it.

    ``err.diagnosis`` becomes the dict of :func:`diagnosis`; its text is appended to the
    message. Residual, tolerance and year are taken from the error when it carries them
    (``ConvergenceError``, ``CalibrationError``).
    """
    if getattr(err, "diagnosis", None) is not None:
        return err
    y = getattr(err, "year", None)
    y = year if y is None else y
    d = diagnosis(sc, stage, year=y, residual=getattr(err, "residual", None),
                  tol=getattr(err, "tol", None))
    err.diagnosis = d
    err.args = (f"{err.args[0] if err.args else ''}; {d['text']}",) + tuple(err.args[1:])
    return err


def stage_of_step_error(err) -> str:
    """The stage of an error raised while stepping the model."""
    from sim.errors import ConvergenceError

    return "annual equilibrium" if isinstance(err, ConvergenceError) else "result check"


__all__ = ["PUBLISHED_RANGES", "STAGES", "attach", "diagnosis", "outside", "parameter_values",
           "solver_changes", "stage_of_step_error"]
