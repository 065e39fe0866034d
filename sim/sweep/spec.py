"""The sweep file.

Parsing and validation into a :class:`SweepSpec`, and applying a design point's parameter
values to a scenario.

Owns the sweep-file format (``docs/sweeps.md``). May import ``sim.scenario`` and the foundation
modules; never the engine.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import ScenarioError
from sim.scenario.schema import calibration_problem

METHODS = ("none", "grid", "lhs", "sobol", "morris")
PRIORS = ("range", "uniform", "normal", "lognormal", "triangular", "values")
TOP_KEYS = ("schema_version", "name", "description", "scenarios", "baseline", "seeds", "design",
            "parameters", "end_year")
DESIGN_KEYS = ("method", "samples", "seed", "levels", "second_order")
SPECIAL_PARAMETERS = ("sigma", "sigma_scale")
"""``sigma`` sets every sector's CES elasticity; ``sigma_scale`` multiplies each one."""
SHARE_PARAMETERS = ("agriculture_share", "housing_share")
"""Varying these rescales all sector expenditure shares so that the shares still sum to 1."""
DEFAULT_GRID_POINTS = 3
LEVER_PATTERN = re.compile(r"^policies\[(?P<sel>[^\]]+)\]\.(?P<field>[A-Za-z_]\w*)$")
"""A policy lever: ``policies[<label, label prefix or unique part of it>].<numeric field>``."""



@dataclass(frozen=True)
class ParamSpec:
    """One varied parameter and its distribution.

    Attributes
    ----------
    name : str
        A numeric field of ``parameters`` (``sim.scenario.schema.Parameters``), ``sigma`` or
        ``sigma_scale``.
    prior : str
        ``uniform`` (written ``range`` or ``uniform``: ``[lo, hi]``), ``normal``
        (``{mean, sd}``), ``lognormal`` (``{median, sd_log}``), ``triangular``
        (``[lo, mode, hi]``) or ``values`` (explicit grid levels).
    args : tuple of float
        The prior's numbers in the order above (``values``: the levels).
    points : int or None
        Grid levels for a ``range`` under ``design: grid`` (default 3, end points included).
    """

    name: str
    prior: str
    args: tuple[float, ...]
    points: int | None = None


@dataclass(frozen=True)
class Design:
    """How design points are drawn.

    Attributes
    ----------
    method : str
        ``none`` (one point: the scenarios' own parameters), ``grid`` (full factorial),
        ``lhs`` (Latin hypercube), ``sobol`` (SALib Sobol' sequence for Saltelli estimators) or
        ``morris`` (SALib Morris trajectories).
    samples : int
        ``lhs``: points; ``sobol``: N (base sample; N (2D + 2) points with second-order
        indices, N (D + 2) without); ``morris``: trajectories r (r (D + 1) points).
    seed : int
        Seed of the design's random draws (``lhs``, ``sobol`` scrambling, ``morris``).
    levels : int
        Morris grid levels p.
    second_order : bool
        Sobol: also estimate second-order indices (changes the design size).
    """

    method: str = "none"
    samples: int = 1
    seed: int = 0
    levels: int = 4
    second_order: bool = True


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file.

    Attributes
    ----------
    name : str
    scenarios : tuple of str
        Scenario file paths (resolved against the sweep file's folder).
    seeds : tuple of int
        Empty: the first scenario's own seed.
    design : Design
    parameters : tuple of ParamSpec
    end_year : int or None
        Stop every run in this year (short runs).
    baseline : str or None
        Name of the reference scenario (policy effects, ensemble comparison).
    description : str
    source : str or None
        The sweep file.
    """

    name: str
    scenarios: tuple[str, ...]
    seeds: tuple[int, ...]
    design: Design = field(default_factory=Design)
    parameters: tuple[ParamSpec, ...] = ()
    end_year: int | None = None
    baseline: str | None = None
    description: str = ""
    source: str | None = field(default=None, compare=False)


def _fail(file, path, value, msg):
    raise ScenarioError(file, path, value, msg)


def _int(v, file, path, *, lo=None) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float) or (isinstance(v, float)
                                                                 and not v.is_integer()):
        _fail(file, path, v, "expected an integer")
    v = int(v)
    if lo is not None and v < lo:
        _fail(file, path, v, f"must be >= {lo}")
    return v


def _float(v, file, path) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        _fail(file, path, v, "expected a finite number")
    return float(v)


def _numeric_parameters() -> dict[str, type]:
    from sim.scenario.schema import Parameters

    return {f.name: type(f.default) for f in dataclasses.fields(Parameters)
            if type(f.default) in (int, float)}


def is_lever(name: str) -> bool:
    """Whether a sweep parameter name addresses a policy field (``policies[...].field``)."""
    return LEVER_PATTERN.match(str(name)) is not None


def _norm(text: str) -> str:
    return " ".join(str(text).replace("_", " ").lower().split())


def match_policies(policies, selector: str) -> list[int]:
    """Indices of the policies a lever selector addresses.

    The selector (case and ``_``/space insensitive) matches, in order of preference: whole
    labels; label prefixes before the first ``:``; labels containing it. Every policy matching
    at the first level that matches anything is returned (one drawn value then sets the
    field of all of them, e.g. both seasons of a tourism loop); an integer selector is a
    position in the scenario's policy list.
    """
    sel = str(selector).strip()
    if sel.lstrip("-").isdigit():
        i = int(sel)
        return [i] if -len(policies) <= i < len(policies) else []
    s = _norm(sel)
    labels = [_norm(p.label) for p in policies]
    for test in (lambda lab: lab == s, lambda lab: _norm(lab.split(":", 1)[0]) == s,
                 lambda lab: s in lab):
        hit = [i for i, lab in enumerate(labels) if lab and test(lab)]
        if hit:
            return hit
    return []


def lever_field_rule(policy, field_name: str):
    """``(kind, predicate, text)`` of a policy's numeric field; None if not numeric.

    ``kind`` is ``int`` or ``float``; the predicate is the scenario loader's rule (if any).
    """
    from sim.scenario.load import _RULES

    fields = {f.name: f for f in dataclasses.fields(policy)}
    if field_name not in fields:
        return None
    v = getattr(policy, field_name)
    if isinstance(v, bool) or not (v is None or isinstance(v, int | float)):
        return None
    if v is None and field_name not in ("km", "hours", "fixed_cost", "capacity"):
        return None
    kind = int if isinstance(v, int) and field_name in ("phase_in", "start", "end") else float
    for cls in type(policy).__mro__:
        rule = _RULES.get(cls, {}).get(field_name)
        if rule is not None:
            return kind, rule[0], rule[1]
    return kind, (lambda x: True), ""


def _check_value(name: str, value: float, file, path, note: str = "") -> None:
    """Validate one parameter value with the scenario loader's rules."""
    from sim.scenario.load import _RULES
    from sim.scenario.schema import Parameters

    if is_lever(name):  # checked against the addressed policies once scenarios are loaded
        return
    if name == "sigma":
        ok, text = value > 1, "must be > 1 (every sector's sigma is set to it)"
    elif name == "sigma_scale":
        ok, text = value > 0, "must be > 0 (multiplies every sector's sigma)"
    else:
        pred, text = _RULES[Parameters].get(name, (lambda x: True, ""))
        ok = pred(value)
    if not ok:
        _fail(file, path, value, text + note)


def _parse_param(name, raw, method: str, file: str) -> ParamSpec:
    path = f"parameters.{name}"
    numeric = _numeric_parameters()
    if str(name).startswith("policies") and not is_lever(name):
        _fail(file, path, name, "a policy lever is written policies[<label>].<field>, e.g. "
                                "policies[innovation base].growth")
    if name not in numeric and name not in SPECIAL_PARAMETERS and not is_lever(name):
        import difflib

        known = sorted([*numeric, *SPECIAL_PARAMETERS])
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        _fail(file, path, name, f"not a numeric structural parameter (one of "
                                f"{', '.join(known)}){hint}")
    if not isinstance(raw, dict) or not raw:
        _fail(file, path, raw, f"expected a mapping with one of: {', '.join(PRIORS)}")
    kinds = [k for k in raw if k in PRIORS]
    extra = [k for k in raw if k not in (*PRIORS, "points")]
    if extra:
        _fail(file, f"{path}.{extra[0]}", raw[extra[0]],
              f"unknown key (allowed: {', '.join(PRIORS)}, points)")
    if len(kinds) != 1:
        _fail(file, path, raw, f"give exactly one of: {', '.join(PRIORS)}")
    kind = kinds[0]
    v = raw[kind]
    kpath = f"{path}.{kind}"
    is_int = numeric.get(name) is int
    points = None
    if "points" in raw:
        if kind not in ("range", "uniform") or method != "grid":
            _fail(file, f"{path}.points", raw["points"],
                  "points applies to a range under design method 'grid'")
        points = _int(raw["points"], file, f"{path}.points", lo=2)
    if kind == "values":
        if not isinstance(v, list) or not v:
            _fail(file, kpath, v, "expected a non-empty list of numbers")
        args = tuple(_float(x, file, f"{kpath}[{i}]") for i, x in enumerate(v))
        for i, x in enumerate(args):
            if is_int and not float(x).is_integer():
                _fail(file, f"{kpath}[{i}]", x, "expected an integer (integer parameter)")
            _check_value(name, x, file, f"{kpath}[{i}]")
        if method != "grid":
            _fail(file, kpath, v, f"explicit values need design method 'grid' (got {method!r})")
        return ParamSpec(name, "values", args)
    if is_int:
        _fail(file, kpath, v, "integer parameter: give explicit 'values' under design 'grid'")
    if kind in ("range", "uniform", "triangular"):
        n = 3 if kind == "triangular" else 2
        form = "[lo, mode, hi]" if kind == "triangular" else "[lo, hi]"
        if not isinstance(v, list) or len(v) != n:
            _fail(file, kpath, v, f"expected {form}")
        args = tuple(_float(x, file, f"{kpath}[{i}]") for i, x in enumerate(v))
        if not args[0] < args[-1] or (kind == "triangular" and not args[0] <= args[1] <= args[2]):
            _fail(file, kpath, v, f"expected {form} with lo < hi")
        _check_value(name, args[0], file, f"{kpath}[0]")
        _check_value(name, args[-1], file, f"{kpath}[{n - 1}]")
        prior = "triangular" if kind == "triangular" else "uniform"
    else:
        keys = ("mean", "sd") if kind == "normal" else ("median", "sd_log")
        if not isinstance(v, dict) or sorted(v) != sorted(keys):
            _fail(file, kpath, v, f"expected {{{keys[0]}: ..., {keys[1]}: ...}}")
        args = tuple(_float(v[k], file, f"{kpath}.{k}") for k in keys)
        if args[1] <= 0 or (kind == "lognormal" and args[0] <= 0):
            _fail(file, kpath, v, f"{keys[1]} must be > 0" + (" and median > 0"
                                                              if kind == "lognormal" else ""))
        prior = kind
    if method in ("sobol", "morris") and prior != "uniform":
        _fail(file, kpath, v, f"design method {method!r} needs a uniform range [lo, hi]")
    if method == "grid" and prior != "uniform":
        _fail(file, kpath, v, "design method 'grid' needs 'values' or a range")
    return ParamSpec(name, prior, args, points)


def _parse_seeds(raw, file: str) -> tuple[int, ...]:
    if raw is None:
        return ()  # the first scenario's seed
    if isinstance(raw, dict):
        bad = [k for k in raw if k not in ("count", "base")]
        if bad or "count" not in raw:
            _fail(file, "seeds", raw, "expected {count: N, base: B} (base default 0)")
        n = _int(raw["count"], file, "seeds.count", lo=1)
        base = _int(raw.get("base", 0), file, "seeds.base", lo=0)
        return tuple(range(base, base + n))
    if not isinstance(raw, list) or not raw:
        _fail(file, "seeds", raw, "expected a non-empty list of seeds or {count: N, base: B}")
    seeds = tuple(_int(s, file, f"seeds[{i}]", lo=0) for i, s in enumerate(raw))
    if len(set(seeds)) != len(seeds):
        _fail(file, "seeds", raw, "seeds must be distinct")
    return seeds


def load_sweep_spec(path) -> SweepSpec:
    """Read and validate a sweep file.

    Parameters
    ----------
    path : str or path-like
        A ``.yaml``/``.yml`` sweep file (format: docs/sweeps.md).

    Returns
    -------
    SweepSpec
        With scenario paths resolved against the sweep file's folder.

    Raises
    ------
    sim.errors.ScenarioError
        Naming the file, the key path and the value (unknown key or parameter, bad range,
        design or seeds, missing scenario file).
    """
    from sim.scenario.load import _read_yaml

    path = Path(path)
    file = str(path)
    data = _read_yaml(path)
    for k in data:
        if k not in TOP_KEYS:
            _fail(file, k, data[k], f"unknown key (allowed: {', '.join(TOP_KEYS)})")
    if data.get("schema_version") != 1:
        _fail(file, "schema_version", data.get("schema_version"), "expected 1")
    name = data.get("name", path.stem.split(".")[0])
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "/\\"):
        _fail(file, "name", name, "must be a non-empty string without '/' or '\\'")
    desc = data.get("description") or ""
    if not isinstance(desc, str):
        _fail(file, "description", desc, "expected a string")
    scen = data.get("scenarios")
    if not isinstance(scen, list) or not scen:
        _fail(file, "scenarios", scen, "expected a non-empty list of scenario files")
    paths = []
    for i, s in enumerate(scen):
        if not isinstance(s, str):
            _fail(file, f"scenarios[{i}]", s, "expected a scenario file path")
        p = (path.parent / s) if not Path(s).is_absolute() else Path(s)
        if not p.is_file():
            _fail(file, f"scenarios[{i}]", s, f"file not found ({p})")
        paths.append(str(p))
    d = data.get("design") or {"method": "none"}
    if not isinstance(d, dict):
        _fail(file, "design", d, f"expected a mapping ({', '.join(DESIGN_KEYS)})")
    for k in d:
        if k not in DESIGN_KEYS:
            _fail(file, f"design.{k}", d[k], f"unknown key (allowed: {', '.join(DESIGN_KEYS)})")
    method = d.get("method", "none")
    if method not in METHODS:
        _fail(file, "design.method", method, f"must be one of: {', '.join(METHODS)}")
    samples = _int(d.get("samples", 1), file, "design.samples", lo=1)
    if method in ("lhs", "sobol", "morris") and "samples" not in d:
        _fail(file, "design.samples", None, f"design method {method!r} needs samples")
    if method == "morris" and samples < 2:
        _fail(file, "design.samples", samples, "Morris needs at least 2 trajectories")
    if method == "sobol" and samples & (samples - 1):
        _fail(file, "design.samples", samples,
              "Sobol' sequences need a power of 2 (balance properties; SALib)")
    design = Design(method=method, samples=samples,
                    seed=_int(d.get("seed", 0), file, "design.seed", lo=0),
                    levels=_int(d.get("levels", 4), file, "design.levels", lo=2),
                    second_order=bool(d.get("second_order", True)))
    if "second_order" in d and not isinstance(d["second_order"], bool):
        _fail(file, "design.second_order", d["second_order"], "expected true or false")
    praw = data.get("parameters") or {}
    if not isinstance(praw, dict):
        _fail(file, "parameters", praw, "expected a mapping: parameter -> distribution")
    params = tuple(_parse_param(k, v, method, file) for k, v in praw.items())
    if method == "none" and params:
        _fail(file, "design.method", method, "parameters are given: choose a design method "
                                             "(grid, lhs, sobol or morris)")
    if method != "none" and not params:
        _fail(file, "parameters", praw, f"design method {method!r} needs parameters to vary")
    if method in ("sobol", "morris") and len(params) < 2:
        _fail(file, "parameters", praw, f"design method {method!r} needs >= 2 parameters")
    if "sigma" in praw and "sigma_scale" in praw:
        _fail(file, "parameters.sigma_scale", praw["sigma_scale"],
              "vary either sigma (sets) or sigma_scale (multiplies), not both")
    if all(k in praw for k in SHARE_PARAMETERS):
        # the rescaling of sector shares is defined for one share at a time
        _fail(file, "parameters.agriculture_share", praw["agriculture_share"],
              "vary agriculture_share or housing_share, not both")
    seeds = _parse_seeds(data.get("seeds"), file)
    end_year = data.get("end_year")
    if end_year is not None:
        end_year = _int(end_year, file, "end_year")
    baseline = data.get("baseline")
    if baseline is not None and not isinstance(baseline, str):
        _fail(file, "baseline", baseline, "expected the name of one of the scenarios")
    return SweepSpec(name=name, scenarios=tuple(paths), seeds=seeds, design=design,
                     parameters=params, end_year=end_year, baseline=baseline,
                     description=desc, source=file)






def apply_parameters(sc, values: dict):
    """A scenario with the sweep's parameter values applied.

    ``sigma`` sets every sector's CES elasticity ``Sector.sigma`` to the value; ``sigma_scale``
    multiplies each sector's own sigma by it; ``agriculture_share`` or ``housing_share``
    rescales every sector's expenditure share by the same factor so that all shares still sum
    to 1; ``policies[<selector>].<field>`` sets that field of every policy the selector
    matches (:func:`match_policies`; none in this scenario: no change; setting ``cost_cny``
    of a policy without ``reference_cost_cny`` first makes its stated cost the reference, so
    that its strength scales with the new cost [P9]); any other name
    replaces that field of ``parameters``.

    Parameters
    ----------
    sc : sim.scenario.schema.Scenario
    values : dict of str -> float

    Returns
    -------
    sim.scenario.schema.Scenario
    """
    if not values:
        return sc
    rep = dataclasses.replace
    levers = {k: v for k, v in values.items() if is_lever(k)}
    if levers:
        pols = list(sc.policies)
        for k, v in levers.items():
            m = LEVER_PATTERN.match(k)
            for i in match_policies(pols, m["sel"]):
                rule = lever_field_rule(pols[i], m["field"])
                if rule is None:
                    continue
                extra = {}
                if m["field"] == "cost_cny" and pols[i].reference_cost_cny is None \
                        and pols[i].cost_cny > 0:  # the stated magnitude is at the stated cost
                    extra["reference_cost_cny"] = pols[i].cost_cny
                pols[i] = rep(pols[i], **{m["field"]: rule[0](v)}, **extra)
        sc = rep(sc, policies=tuple(pols))
        values = {k: v for k, v in values.items() if not is_lever(k)}
        if not values:
            return sc
    numeric = _numeric_parameters()
    par = {k: (int(v) if numeric.get(k) is int else float(v))
           for k, v in values.items() if k not in SPECIAL_PARAMETERS}
    new_par = rep(sc.parameters, **par)
    sectors = sc.region.sectors
    if "sigma" in values:
        sectors = tuple(rep(s, sigma=float(values["sigma"])) for s in sectors)
    if "sigma_scale" in values:
        sectors = tuple(rep(s, sigma=s.sigma * float(values["sigma_scale"])) for s in sectors)
    old = 1.0 - sc.parameters.agriculture_share - sc.parameters.housing_share
    new = 1.0 - new_par.agriculture_share - new_par.housing_share
    if new != old:
        sectors = tuple(rep(s, expenditure_share=s.expenditure_share * new / old)
                        for s in sectors)
    return rep(sc, parameters=new_par, region=rep(sc.region, sectors=sectors))


calibration_scenario = calibration_problem
"""The calibration problem of a member scenario (:func:`sim.scenario.schema.calibration_problem`):
members that differ only in policies or seed share one calibration."""


