"""Sweeps: ensembles, parameter designs and sensitivity runs on any ``concurrent.futures`` executor.

A sweep file (YAML, ``schema_version: 1``) names scenario files, the structural parameters to
vary (a design: ``none``, ``grid``, ``lhs``, ``sobol`` or ``morris``) and the seeds. Every
combination (design point x scenario x seed) is one *member* run. :func:`run_member` is the unit
of work on every executor: a local process pool (the default), a local Dask cluster or an
existing Dask scheduler (via ``Client.get_executor()``). Scenarios travel to each worker once
(the process pool's ``initializer``; a worker plugin, ``sim._dask``, for Dask); a task
carries only its member's run id, parameter values and seed. Calibration (``calibrate: true``)
runs once per distinct calibration problem (a design point's parameters; policies and seeds do
not change it), as its own task, and its fundamentals are shipped with the members that need
them.

Results folder (see docs/sweeps.md): while running, ``sweep.json`` (``status: running``) and one
atomically written part per finished run in ``runs/<run_id>/``; ``--resume`` runs only the
missing members. At the end the parts are consolidated into ``runs.parquet`` (and ``runs.csv``),
``places.parquet`` and ``sectors.parquet`` (keyed by ``run_id``), sensitivity tables for
``sobol``/``morris`` designs, and ``sweep.json`` becomes ``status: complete``.

This module imports the model only inside the worker functions: reading a sweep folder
(:func:`load_sweep`) stays light.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import platform
import shutil
import socket
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.errors import ScenarioError, SimError

SWEEP_FORMAT = 1
MANIFEST = "sweep.json"
PARTS = "runs"
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


class SweepError(SimError):
    """A sweep folder is missing, incomplete or would be overwritten, or a sweep cannot run."""


# --------------------------------------------------------------------------------------------
# the sweep file


@dataclass(frozen=True)
class ParamSpec:
    """One varied parameter and its distribution.

    Attributes
    ----------
    name : str
        A numeric field of ``parameters`` (``sim.config.schema.Parameters``), ``sigma`` or
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
    from sim.config.schema import Parameters

    return {f.name: type(f.default) for f in dataclasses.fields(Parameters)
            if type(f.default) in (int, float)}


def _check_value(name: str, value: float, file, path, note: str = "") -> None:
    """Validate one parameter value with the scenario loader's rules."""
    from sim.config.load import _RULES
    from sim.config.schema import Parameters

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
    if name not in numeric and name not in SPECIAL_PARAMETERS:
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
    from sim.config.load import _read_yaml

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


# --------------------------------------------------------------------------------------------
# designs


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


# --------------------------------------------------------------------------------------------
# members and the work on a worker


def apply_parameters(sc, values: dict):
    """A scenario with the sweep's parameter values applied.

    ``sigma`` sets every sector's CES elasticity ``Sector.sigma`` to the value; ``sigma_scale``
    multiplies each sector's own sigma by it; ``agriculture_share`` or ``housing_share``
    rescales every sector's expenditure share by the same factor so that all shares still sum
    to 1; any other name replaces that field of ``parameters``.

    Parameters
    ----------
    sc : sim.config.schema.Scenario
    values : dict of str -> float

    Returns
    -------
    sim.config.schema.Scenario
    """
    if not values:
        return sc
    rep = dataclasses.replace
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


def calibration_scenario(sc):
    """The calibration problem of a member scenario: policies, seed and labels removed.

    ``sim.calibrate.calibrate`` ignores policies and does not draw random numbers, so members
    that differ only in policies or seed share one calibration.
    """
    return dataclasses.replace(sc, policies=(), seed=0, name="calibration", description="",
                               groups=(), source=None)


_SHARED_LOADS: dict = {}
"""Times each shared payload (by token) was unpickled in this process (tests: once per worker).

Counted per payload token, so that a long-lived Dask worker serving several sweeps reports each
sweep's payload separately."""
_WORKER_SHARED: dict = {}
"""Shared inputs installed in this worker process, by token (see ``_install_shared``)."""


class SharedInputs:
    """What every member needs: the resolved scenarios by name (sent once per worker).

    Unpickling increments this module's ``_SHARED_LOADS[token]`` in the receiving process,
    which every result reports, so that tests can check the payload travelled once per worker.
    The token is drawn once per sweep session (``uuid4``; it never enters any result table).
    """

    def __init__(self, scenarios: dict):
        self.scenarios = dict(scenarios)
        self.token = uuid.uuid4().hex

    def __getstate__(self):
        return {"scenarios": self.scenarios, "token": self.token}

    def __setstate__(self, state):
        self.__dict__.update(state)
        _SHARED_LOADS[self.token] = _SHARED_LOADS.get(self.token, 0) + 1

    @property
    def loads(self) -> int:
        """How often this payload was unpickled in the current process (0 in the parent)."""
        return _SHARED_LOADS.get(self.token, 0)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextlib.contextmanager
def _counting_warnings(out: dict):
    """Record numerical warnings as a count in ``out['warnings']`` instead of on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            yield
        finally:
            out["warnings"] = len(caught)


def run_member(shared: SharedInputs, member: dict) -> dict:
    """Run one member of a sweep (the unit of work on every executor).

    Parameters
    ----------
    shared : SharedInputs
        The scenarios by name.
    member : dict
        ``run_id``, ``scenario`` (name), ``params`` (dict), ``seed``, ``end_year`` and, for
        calibrated scenarios, ``places`` (the calibrated places; the member then runs with
        ``calibrate`` off).

    Returns
    -------
    dict
        ``run_id``, ``status`` (``ok``/``failed``), ``error`` (text), ``wall_time_s``,
        ``worker`` (host:pid), ``shared_loads``, ``warnings`` (numerical warnings raised
        during the run, counted instead of printed) and the ``places`` and ``sectors`` tables
        (None on failure). Exceptions are caught: a failing member never stops the sweep.
    """
    t0 = time.perf_counter()
    out = {"run_id": member["run_id"], "status": "ok", "error": "", "worker": _worker_id(),
           "shared_loads": shared.loads, "places": None, "sectors": None}
    try:
        from sim.runner import run_scenario

        sc = apply_parameters(shared.scenarios[member["scenario"]], member["params"])
        if member.get("places") is not None:
            sc = dataclasses.replace(sc, calibrate=False, region=dataclasses.replace(
                sc.region, places=member["places"]))
        with _counting_warnings(out):
            res = run_scenario(sc, seed=member["seed"], end_year=member["end_year"])
        out["places"], out["sectors"] = res.places, res.sectors
    except Exception as e:  # recorded, never raised: one failing run does not stop a sweep
        out.update(status="failed", error=f"{type(e).__name__}: {e}")
    out["wall_time_s"] = round(time.perf_counter() - t0, 4)
    return out


def run_calibration(shared: SharedInputs, job: dict) -> dict:
    """Calibrate one calibration problem (see :func:`calibration_scenario`) on a worker.

    Returns
    -------
    dict
        ``key``, ``status``, ``error``, ``places`` (calibrated), ``wall_time_s``, ``worker``.
    """
    t0 = time.perf_counter()
    out = {"key": job["key"], "status": "ok", "error": "", "places": None,
           "worker": _worker_id(), "shared_loads": shared.loads}
    try:
        from sim.calibrate import calibrate

        sc = apply_parameters(shared.scenarios[job["scenario"]], job["params"])
        with _counting_warnings(out):
            cal, _ = calibrate(calibration_scenario(sc))
        out["places"] = cal.region.places
    except Exception as e:
        out.update(status="failed", error=f"{type(e).__name__}: {e}")
    out["wall_time_s"] = round(time.perf_counter() - t0, 4)
    return out


def _install_shared(shared: SharedInputs) -> None:
    """Keep ``shared`` in this worker process under its token (pool initializer, Dask plugin)."""
    _WORKER_SHARED[shared.token] = shared


def _pool_call(fn, arg, token):
    """Run ``fn(shared, arg)`` with the shared inputs installed in this worker process."""
    try:
        shared = _WORKER_SHARED[token]
    except KeyError:
        raise SweepError(f"worker {_worker_id()} has no shared inputs for this sweep") from None
    return fn(shared, arg)


# --------------------------------------------------------------------------------------------
# executors


@dataclass
class _Exec:
    submit: object
    info: dict


@contextlib.contextmanager
def open_executor(shared: SharedInputs, *, workers: int | None = None, dask: bool = False,
                  scheduler: str | None = None):
    """A ``submit(fn, arg)`` that runs ``fn(shared, arg)`` on an executor; closes it on exit.

    Parameters
    ----------
    shared : SharedInputs
        Sent once to each worker: through the pool's ``initializer`` or, on Dask, as a worker
        plugin (``sim._dask.SharedInputsPlugin``); tasks find it in their process by token.
    workers : int, optional
        Worker processes (local pool or local Dask cluster; default ``os.cpu_count()``).
    dask : bool
        Start a local Dask ``LocalCluster`` (``workers`` processes, one thread each).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:PORT``).

    Yields
    ------
    _Exec
        ``submit(fn, arg) -> concurrent.futures.Future`` and ``info`` (executor kind, workers).
    """
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise SweepError(f"--workers must be >= 1, got {n}")
    if scheduler or dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - the dask extra is not installed
            raise SweepError("Dask executors need the 'dask' extra: pip install "
                             "'sim[dask]'") from None
        cluster = None
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as e:
                raise SweepError(f"cannot connect to the Dask scheduler {scheduler}: {e}") \
                    from None
        else:
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=40)
            client = Client(cluster)
        try:
            client.wait_for_workers(1, timeout=60)
            from sim._dask import SharedInputsPlugin

            plugin = SharedInputsPlugin(shared)
            client.register_plugin(plugin, name=plugin.name)
            nworkers = len(client.scheduler_info().get("workers", {}))
            ex = client.get_executor(pure=False)
            import dask

            yield _Exec(submit=lambda fn, arg: ex.submit(_pool_call, fn, arg, shared.token),
                        info={"executor": "dask-scheduler" if scheduler else "dask-local",
                              "workers": nworkers, "scheduler": scheduler,
                              "dask": dask.__version__})
        finally:
            with contextlib.suppress(Exception):
                client.unregister_worker_plugin(f"sim-shared-{shared.token}")
            client.close()
            if cluster is not None:
                cluster.close()
        return
    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_install_shared, initargs=(shared,))
    try:
        yield _Exec(submit=lambda fn, arg: pool.submit(_pool_call, fn, arg, shared.token),
                    info={"executor": "process-pool", "workers": n})
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)


# --------------------------------------------------------------------------------------------
# planning a sweep


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
    from sim.config.load import load_scenario, scenario_hash

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
    ident = {"spec": _json_spec(spec),
             "scenarios": {k: scenario_hash(v) for k, v in scenarios.items()}}
    h = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:8]
    baseline = spec.baseline
    return Plan(spec=spec, scenarios=scenarios, paths=paths, matrix=X, members=members,
                spec_hash=h, baseline=baseline)


def default_sweep_dir(plan: Plan, root="results/sweeps") -> Path:
    """``results/sweeps/<name>-<hash>/`` (the hash covers the sweep and its scenarios)."""
    return Path(root) / f"{plan.spec.name}-{plan.spec_hash}"


# --------------------------------------------------------------------------------------------
# running


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)


def _write_part(parts: Path, res: dict, member: dict) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{res['run_id']}.tmp-", dir=parts))
    try:
        if res["status"] == "ok":
            res["places"].to_parquet(tmp / "places.parquet", index=False)
            res["sectors"].to_parquet(tmp / "sectors.parquet", index=False)
        row = {k: v for k, v in res.items() if k not in ("places", "sectors")}
        row["calibration"] = member.get("calibration", "")
        (tmp / "run.json").write_text(json.dumps(row, indent=2, default=str))
        dest = parts / res["run_id"]
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _finished(parts: Path) -> set:
    done = set()
    if not parts.is_dir():
        return done
    for d in parts.iterdir():
        if d.name.startswith("."):
            shutil.rmtree(d, ignore_errors=True)  # an interrupted part write
        elif (d / "run.json").is_file():
            done.add(d.name)
    return done


def _versions(extra: dict | None = None) -> dict:
    v = {"sim": __version__, "python": platform.python_version(), "numpy": np.__version__,
         "pandas": pd.__version__}
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("SALib", "dask", "distributed"):
        try:
            v[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return {**v, **(extra or {})}


def _manifest(plan: Plan, out: Path) -> dict:
    from sim.config.load import scenario_hash

    spec = plan.spec
    names = [p.name for p in spec.parameters]
    problem = salib_problem(spec.parameters) if spec.design.method in ("sobol", "morris") \
        else None
    return {
        "sweep_format": SWEEP_FORMAT, "name": spec.name, "description": spec.description,
        "source": spec.source, "spec_hash": plan.spec_hash, "status": "running",
        "spec": _json_spec(spec),
        "scenarios": [{"name": k, "path": plan.paths[k], "hash": scenario_hash(sc),
                       "calibrate": sc.calibrate, "groups": {g: list(m) for g, m in sc.groups},
                       "start_year": sc.time.start, "end_year": sc.time.end,
                       "policies": len(sc.policies)}
                      for k, sc in plan.scenarios.items()],
        "baseline": plan.baseline, "parameters": names,
        "seeds": sorted({m["seed"] for m in plan.members}),
        "design": {**dataclasses.asdict(spec.design), "points": int(len(plan.matrix)),
                   "matrix": plan.matrix.tolist(), "problem": problem},
        "members": len(plan.members), "sessions": [],
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
    }


def run_sweep(spec, out=None, *, workers: int | None = None, dask: bool = False,
              scheduler: str | None = None, resume: bool = False, force: bool = False,
              quiet: bool = True, end_year: int | None = None) -> Path:
    """Run a sweep and write its results folder.

    Parameters
    ----------
    spec : SweepSpec or path-like
        A sweep spec or sweep file.
    out : path-like, optional
        Results folder (default ``results/sweeps/<name>-<hash>/``).
    workers : int, optional
        Worker processes (local pool or local Dask cluster; default ``os.cpu_count()``, at
        most the number of tasks).
    dask : bool
        Run on a local Dask ``LocalCluster``.
    scheduler : str, optional
        Run on an existing Dask cluster (``tcp://HOST:PORT``).
    resume : bool
        Finish an interrupted sweep in ``out``: only members without a finished part run.
    force : bool
        Replace an existing folder.
    quiet : bool
        No progress bar.
    end_year : int, optional
        Overrides the sweep file's ``end_year``.

    Returns
    -------
    pathlib.Path
        The results folder.

    Raises
    ------
    sim.errors.ScenarioError
        Invalid sweep or scenario file (nothing is written).
    SweepError
        The folder exists (without ``resume``/``force``), or it belongs to a different sweep.
    """
    from sim.progress import progress

    if not isinstance(spec, SweepSpec):
        spec = load_sweep_spec(spec)
    if end_year is not None:
        spec = dataclasses.replace(spec, end_year=end_year)
    plan = plan_sweep(spec)
    out = Path(out) if out is not None else default_sweep_dir(plan)
    parts = out / PARTS
    if out.exists():
        try:
            old = json.loads((out / MANIFEST).read_text())
        except (OSError, ValueError):
            old = None
        if force:
            shutil.rmtree(out)
        elif not resume:
            state = "an interrupted sweep" if old and old.get("status") != "complete" \
                else "a results folder"
            hint = "--resume to finish it or " if old and old.get("status") != "complete" else ""
            raise SweepError(f"{out}: {state} exists; use {hint}--force to overwrite")
        elif old is None:
            raise SweepError(f"{out}: exists but is not a sweep folder (no readable {MANIFEST})")
        elif old.get("spec_hash") != plan.spec_hash:
            raise SweepError(f"{out}: holds sweep {old.get('name')!r} ({old.get('spec_hash')}), "
                             f"not this one ({plan.spec_hash}): the sweep file or a scenario "
                             f"changed; use --force to start over")
        elif old.get("status") == "complete":
            return out
    if not out.exists():
        out.mkdir(parents=True)
        _write_json(out / MANIFEST, _manifest(plan, out))
    parts.mkdir(exist_ok=True)
    manifest = json.loads((out / MANIFEST).read_text())
    done = _finished(parts)
    todo = [m for m in plan.members if m["run_id"] not in done]
    session = {"started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
               "resumed_with_finished": len(done), "executed": 0}
    t0 = time.perf_counter()
    try:
        if todo:
            _execute(plan, todo, parts, workers=workers, dask=dask, scheduler=scheduler,
                     quiet=quiet, session=session, progress=progress, done=len(done))
    except BaseException:
        session["interrupted"] = True
        raise
    finally:
        session["wall_time_s"] = round(time.perf_counter() - t0, 3)
        manifest["sessions"].append(session)
        _write_json(out / MANIFEST, manifest)
    _consolidate(plan, out, manifest)
    return out


def _execute(plan: Plan, todo: list, parts: Path, *, workers, dask, scheduler, quiet, session,
             progress, done) -> None:
    """Run ``todo`` members (calibrations first where needed); write a part per member."""
    # calibration problems of the pending members
    cal_jobs, waiting, ready = {}, {}, []
    keys = {}
    for m in plan.members:  # ids in member order: stable across resumes
        sc = plan.scenarios[m["scenario"]]
        if sc.calibrate:
            k = _calibration_key(apply_parameters(sc, m["params"]))
            keys.setdefault(k, f"c{len(keys):04d}")
    for m in todo:
        sc = plan.scenarios[m["scenario"]]
        if sc.calibrate:
            k = _calibration_key(apply_parameters(sc, m["params"]))
            cid = keys[k]
            m = dict(m, calibration=cid)
            if cid not in cal_jobs:
                cal_jobs[cid] = {"key": cid, "scenario": m["scenario"], "params": m["params"]}
                waiting[cid] = []
            waiting[cid].append(m)
        else:
            ready.append(m)
    n_tasks = len(cal_jobs) + len(todo)
    if scheduler is None and workers is None:
        workers = max(1, min(os.cpu_count() or 1, n_tasks))
    shared = SharedInputs(plan.scenarios)
    cal_times = {}
    with progress(len(plan.members), f"sweep {plan.spec.name}", quiet=quiet,
                  unit="run") as bar, open_executor(shared, workers=workers, dask=dask,
                                                    scheduler=scheduler) as ex:
        bar.update(done)
        session.update(ex.info)
        futs = {}
        for job in cal_jobs.values():
            futs[ex.submit(run_calibration, job)] = ("cal", job)
        for m in ready:
            futs[ex.submit(run_member, m)] = ("run", m)
        workers_seen, loads = set(), {}
        session.update(calibrations=cal_times, workers_seen=[], shared_loads_per_worker=loads)
        while futs:
            finished, _ = cf.wait(list(futs), return_when=cf.FIRST_COMPLETED)
            for f in finished:
                kind, item = futs.pop(f)
                r = f.result()
                workers_seen.add(r["worker"])
                loads[r["worker"]] = max(loads.get(r["worker"], 0), r["shared_loads"])
                if kind == "cal":
                    cal_times[item["key"]] = {"status": r["status"], "error": r["error"],
                                              "wall_time_s": r["wall_time_s"],
                                              "worker": r["worker"],
                                              "warnings": r.get("warnings", 0)}
                    for m in waiting[item["key"]]:
                        if r["status"] == "ok":
                            futs[ex.submit(run_member, dict(m, places=r["places"]))] = ("run", m)
                        else:
                            _write_part(parts, {"run_id": m["run_id"], "status": "failed",
                                                "error": f"calibration failed: {r['error']}",
                                                "wall_time_s": 0.0, "worker": r["worker"],
                                                "shared_loads": r["shared_loads"]}, m)
                            session["executed"] += 1
                            bar.update(1)
                else:
                    _write_part(parts, r, item)
                    session["executed"] += 1
                    bar.update(1)
            session.update(calibrations=cal_times, workers_seen=sorted(workers_seen),
                           shared_loads_per_worker=loads)


def _calibration_key(sc):
    c = calibration_scenario(sc)
    return (c.region, c.parameters, c.time, c.solver, c.resolution, c.agents)


def _consolidate(plan: Plan, out: Path, manifest: dict) -> None:
    parts = out / PARTS
    names = [p.name for p in plan.spec.parameters]
    rows, places, sectors = [], [], []
    for m in plan.members:
        d = parts / m["run_id"]
        info = json.loads((d / "run.json").read_text())
        row = {"run_id": m["run_id"], "point": m["point"], "scenario": m["scenario"],
               "scenario_path": plan.paths[m["scenario"]],
               **{n: m["params"][n] for n in names}, "seed": m["seed"],
               "status": info["status"], "error": info["error"],
               "wall_time_s": info["wall_time_s"], "worker": info["worker"],
               "warnings": int(info.get("warnings", 0)),
               "calibration": info.get("calibration", "")}
        rows.append(row)
        if info["status"] == "ok":
            for t, acc in (("places", places), ("sectors", sectors)):
                df = pd.read_parquet(d / f"{t}.parquet")
                df.insert(0, "run_id", m["run_id"])
                acc.append(df)
    runs = pd.DataFrame(rows)
    tables = {"runs": runs,
              "places": pd.concat(places, ignore_index=True) if places
              else pd.DataFrame({"run_id": pd.Series(dtype=str)}),
              "sectors": pd.concat(sectors, ignore_index=True) if sectors
              else pd.DataFrame({"run_id": pd.Series(dtype=str)})}
    for t, df in tables.items():
        tmp = out / f".{t}.parquet.tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, out / f"{t}.parquet")
    tmp = out / ".runs.csv.tmp"
    runs.to_csv(tmp, index=False)
    os.replace(tmp, out / "runs.csv")
    manifest.update(status="complete",
                    finished_utc=datetime.now(UTC).isoformat(timespec="seconds"),
                    runs_ok=int((runs["status"] == "ok").sum()),
                    runs_failed=int((runs["status"] != "ok").sum()))
    if plan.spec.design.method in ("sobol", "morris"):
        try:
            from sim.sensitivity import write_sensitivity

            sweep = Sweep(path=out, manifest=manifest, runs=runs, places=tables["places"],
                          sectors=tables["sectors"])
            written = write_sensitivity(sweep, out)
            manifest["sensitivity"] = {"files": sorted(p.name for p in written)}
        except SimError as e:
            manifest["sensitivity"] = {"error": str(e)}
    _write_json(out / MANIFEST, manifest)
    shutil.rmtree(parts, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# reading a sweep folder


@dataclass
class Sweep:
    """A finished sweep folder in memory.

    Attributes
    ----------
    path : pathlib.Path
    manifest : dict
        ``sweep.json``: resolved sweep, design matrix, scenarios, sessions, versions.
    runs : pandas.DataFrame
        One row per member: run_id, point, scenario, scenario_path, the varied parameters,
        seed, status, error, wall_time_s, worker, calibration.
    places, sectors : pandas.DataFrame
        The members' Results tables with a leading ``run_id`` column (successful runs).
    """

    path: Path
    manifest: dict
    runs: pd.DataFrame
    places: pd.DataFrame
    sectors: pd.DataFrame

    @property
    def parameters(self) -> list:
        """Names of the varied parameters."""
        return list(self.manifest.get("parameters", []))

    @property
    def scenarios(self) -> list:
        """Scenario names in sweep-file order."""
        return [s["name"] for s in self.manifest.get("scenarios", [])]

    @property
    def baseline(self) -> str | None:
        """The reference scenario (the sweep's ``baseline``, else None)."""
        return self.manifest.get("baseline")

    def groups(self, scenario: str | None = None) -> dict:
        """Place groups of a scenario (default: the baseline, else the first scenario)."""
        name = scenario or self.baseline or self.scenarios[0]
        for s in self.manifest.get("scenarios", []):
            if s["name"] == name:
                return s.get("groups") or {}
        return {}


def is_sweep_folder(path) -> bool:
    """Whether ``path`` is a sweep results folder (holds ``sweep.json``)."""
    return (Path(path) / MANIFEST).is_file()


def load_sweep(path) -> Sweep:
    """Read a finished sweep folder (never imports the model).

    Raises
    ------
    SweepError
        Missing folder or ``sweep.json``, a sweep that did not finish (resume it), or a
        missing or corrupt table.
    """
    path = Path(path)
    if not path.is_dir():
        raise SweepError(f"{path}: not a sweep folder (does not exist)")
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        raise SweepError(f"{path}: not a sweep folder (missing {MANIFEST})") from None
    except ValueError as e:
        raise SweepError(f"{path}/{MANIFEST}: corrupt ({e})") from None
    if manifest.get("status") != "complete":
        raise SweepError(f"{path}: the sweep did not finish; run `sim sweep "
                         f"{manifest.get('source') or 'SWEEP.yaml'} --out {path} --resume`")
    tables = {}
    for t in ("runs", "places", "sectors"):
        f = path / f"{t}.parquet"
        try:
            tables[t] = pd.read_parquet(f)
        except FileNotFoundError:
            raise SweepError(f"{path}: missing {t}.parquet") from None
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise SweepError(f"{f}: corrupt parquet ({type(e).__name__}: {e})") from None
    return Sweep(path=path, manifest=manifest, **tables)


# --------------------------------------------------------------------------------------------
# command line


def _cmd_sweep(args) -> int:
    import sys

    t0 = time.perf_counter()
    spec = load_sweep_spec(args.sweep)
    before = None
    if args.out and args.resume and (Path(args.out) / MANIFEST).is_file():
        before = len(json.loads((Path(args.out) / MANIFEST).read_text()).get("sessions", []))
    out = run_sweep(spec, args.out, workers=args.workers, dask=args.dask,
                    scheduler=args.scheduler, resume=args.resume, force=args.force,
                    quiet=args.quiet, end_year=args.end_year)
    m = json.loads((out / MANIFEST).read_text())
    ran = m.get("sessions") and len(m["sessions"]) != before
    s = m["sessions"][-1] if ran else {}
    failed = pd.read_parquet(out / "runs.parquet").query("status != 'ok'")
    if not args.quiet:
        wall = time.perf_counter() - t0
        ex = s.get("executor", "nothing to run")
        rate = 60.0 * s.get("executed", 0) / wall if wall > 0 else float("nan")
        print(f"sweep {m['name']}: {m['members']} runs ({m['runs_ok']} ok, {m['runs_failed']} "
              f"failed); {s.get('executed', 0)} executed now on {ex} "
              f"({s.get('workers', '-')} workers) in {wall:.1f} s ({rate:.1f} runs/min)")
        if "sensitivity" in m:
            sens = m["sensitivity"]
            print(f"sensitivity: {', '.join(sens['files'])}" if "files" in sens
                  else f"sensitivity not computed: {sens['error']}")
        print(f"results: {out}")
    if len(failed):
        print(f"warning: {len(failed)} of {m['members']} runs failed (see {out}/runs.csv), "
              f"e.g. {failed['run_id'].iloc[0]}: {failed['error'].iloc[0]}", file=sys.stderr)
    return 0


def add_parser(sub) -> None:
    """Add the ``sweep`` and ``sensitivity`` subcommands to the ``sim`` parser."""
    s = sub.add_parser(
        "sweep", help="run an ensemble, parameter sweep or sensitivity design",
        description="Run every member (design point x scenario x seed) of SWEEP on a local "
                    "process pool (default), a local Dask cluster (--dask) or an existing "
                    "Dask scheduler (--scheduler) and write one results folder: runs.parquet "
                    "and runs.csv, places.parquet and sectors.parquet keyed by run_id, "
                    "sweep.json and, for sobol/morris designs, sensitivity tables and plots. "
                    "See docs/sweeps.md.")
    s.add_argument("sweep", help="sweep YAML file")
    s.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: CPU count, at most the number of runs)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--dask", action="store_true",
                   help="run on a local Dask cluster (--workers processes, 1 thread each)")
    g.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run on an existing Dask cluster")
    s.add_argument("--out", default=None,
                   help="results folder (default results/sweeps/<name>-<hash>/)")
    s.add_argument("--resume", action="store_true",
                   help="finish an interrupted sweep: run only the members not yet finished")
    s.add_argument("--force", action="store_true", help="overwrite an existing results folder")
    s.add_argument("--end-year", type=int, default=None, help="stop every run early")
    s.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    s.set_defaults(func=_cmd_sweep)

    from sim.sensitivity import _cmd_sensitivity

    a = sub.add_parser(
        "sensitivity", help="Sobol or Morris indices of a finished sweep's headline indicators",
        description="Compute Sobol (S1, ST) or Morris (mu*, sigma) indices of the final-year "
                    "headline indicators (policy effects against the sweep's baseline, or "
                    "levels) with respect to the varied parameters (SALib).")
    a.add_argument("folder", help="sweep results folder (a sobol or morris design)")
    a.add_argument("--out", default=None, help="write CSV, Markdown and plots (PNG, SVG) here")
    a.set_defaults(func=_cmd_sensitivity)
