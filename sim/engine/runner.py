"""Run a scenario: build -> step loop -> recorder -> Results (no file writes here)."""

from __future__ import annotations

import dataclasses
import platform
import re
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np

from sim import __version__
from sim.engine.diagnose import attach, stage_of_step_error
from sim.engine.model import SimModel
from sim.errors import ConvergenceError, NumericalError
from sim.progress import progress
from sim.results import Results
from sim.results.folder import result_problem
from sim.scenario.load import load_scenario, scenario_hash, scenario_to_dict
from sim.scenario.schema import Scenario


def _as_scenario(scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(Path(scenario))


def _metadata_headers(name: str) -> tuple[str | None, list[str]]:
    """``Version`` and the ``Requires-Dist`` values of an installed distribution's metadata.

    Read from the header lines of its ``METADATA`` (or ``PKG-INFO``) file: what
    ``importlib.metadata.version`` and ``requires`` return, without parsing the whole file as an
    e-mail message (which took 1-3 ms per package: long descriptions and licence texts).

    Raises
    ------
    importlib.metadata.PackageNotFoundError
        ``name`` is not installed.
    """
    from importlib.metadata import distribution

    dist = distribution(name)
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    ver, reqs = None, []
    for line in text.splitlines():
        if not line:  # end of the headers
            break
        if line.startswith("Version:"):
            ver = line[8:].strip()
        elif line.startswith("Requires-Dist:"):
            reqs.append(line[14:].strip())
    if ver is None:  # an unusual layout: the full parser
        ver, reqs = dist.version, list(dist.requires or [])
    return ver, reqs


@cache
def dependency_versions() -> dict[str, str]:
    """Versions of Python, ``sim`` and every runtime dependency of ``sim`` (installed ones).

    Read from the installed distribution's metadata (``Requires-Dist`` without extras), so a new
    dependency is recorded without editing this function.
    """
    from importlib.metadata import PackageNotFoundError

    v = {"python": platform.python_version(), "sim": __version__}
    try:
        reqs = _metadata_headers("sim")[1]
    except PackageNotFoundError:  # running from a source tree that is not installed
        reqs = []
    names = ["numpy", "scipy", "pandas", "mesa"]
    names += [re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0] for r in reqs if "extra ==" not in r]
    for name in dict.fromkeys(names):
        try:
            v[name] = _metadata_headers(name)[0]
        except PackageNotFoundError:
            pass
    return v


@cache
def git_commit() -> str | None:
    """The git commit of the checkout that ``sim`` is imported from, or None.

    ``+dirty`` is appended when tracked files have local changes; None when ``sim`` is not run
    from a git checkout or git is missing. One ``git status`` gives both (its ``branch.oid``
    header and its list of changed tracked files).
    """
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "status", "--porcelain=v2", "--branch",
                              "--untracked-files=no"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.splitlines()
    head = next((x.split()[2] for x in lines if x.startswith("# branch.oid ")), None)
    if head is None or head.startswith("("):  # no commit yet ("(initial)")
        return None
    dirty = any(x and not x.startswith("#") for x in lines)
    return head + ("+dirty" if dirty else "")


def run_hash(scenario: Scenario, seed: int | None = None, end_year: int | None = None) -> str:
    """The hash of a run's resolved scenario (its ``seed`` and horizon put into it).

    The scenario as it is run: ``seed`` and the horizon cut at ``end_year`` replace the file's
    values (before calibration).
    It names the default results folder (:func:`default_out_dir`) and is the manifest's
    ``scenario_hash``; runs of one scenario with different seeds or horizons differ.
    """
    sc = _run_scenario_of(scenario, seed, end_year)
    return scenario_hash(sc)


def _run_scenario_of(sc: Scenario, seed, end_year) -> Scenario:
    end = sc.time.end if end_year is None else min(int(end_year), sc.time.end)
    s = sc.seed if seed is None else int(seed)
    if end != sc.time.end or s != sc.seed:
        sc = dataclasses.replace(sc, seed=s, time=dataclasses.replace(sc.time, end=end))
    return sc


def run_identity(scenario: Scenario, seed: int | None = None,
                 end_year: int | None = None) -> dict:
    """What makes two runs identical: resolved-scenario hash, seed, years and versions.

    A results folder whose manifest has the same values (see :func:`same_run`) holds the
    results this run would produce (the engine is deterministic), so it can be reused.
    """
    sc = _run_scenario_of(scenario, seed, end_year)
    return {"scenario_hash": scenario_hash(sc), "seed": int(sc.seed),
            "start_year": int(sc.time.start), "end_year": int(sc.time.end),
            "versions": dependency_versions(), "git_commit": git_commit()}


def same_run(manifest: dict, identity: dict) -> bool:
    """True if a results folder's manifest records the run described by ``identity``."""
    return all(manifest.get(k) == v for k, v in identity.items())


def run_scenario(scenario, *, seed: int | None = None, end_year: int | None = None,
                 quiet: bool = True, command: list[str] | None = None) -> Results:
    """Run a scenario and return its results in memory.

    Parameters
    ----------
    scenario : Scenario or path-like
        A validated scenario, or the path of a scenario YAML file.
    seed : int, optional
        Overrides the scenario's seed.
    end_year : int, optional
        Stop before the scenario's last year (short test runs).
    quiet : bool
        False: show a progress bar of the years on a terminal (never in CI; see
        :mod:`sim.progress`).
    command : list of str, optional
        The command line recorded in the manifest (default ``sys.argv``).

    Returns
    -------
    Results
        ``places`` and ``sectors`` tables and the run ``manifest``.

    Raises
    ------
    sim.errors.ScenarioError
        Invalid scenario file.
    sim.errors.ConvergenceError
        The equilibrium did not converge in some year.
    sim.errors.NumericalError
        A result is not finite (or a population, GDP, output or employment is negative):
        the message names table, column, year and place.
    sim.engine.calibrate.CalibrationError
        The base-year calibration failed.

    Every ``ConvergenceError``, ``NumericalError`` and ``CalibrationError`` carries a
    diagnosis (``err.diagnosis``, also appended to its message; :mod:`sim.engine.diagnose`):
    the failing stage, year and residual and the parameters most likely at fault.
    """
    sc = _as_scenario(scenario)
    identity = run_identity(sc, seed, end_year)
    t0 = time.perf_counter()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    calibration = None
    if sc.calibrate:
        from sim.engine.calibrate import calibrate_cached

        sc, report = calibrate_cached(sc)
        calibration = {k: (v if isinstance(v, int | dict) else float(v))
                       for k, v in report.attrs.items()}
        if "partners" in calibration:  # plain floats for the manifest
            calibration["partners"] = {j: {k: float(x) for k, x in d.items()}
                                       for j, d in calibration["partners"].items()}
    try:
        model = SimModel(sc, seed=seed, end_year=end_year)
    except (ConvergenceError, NumericalError) as e:
        raise attach(e, sc, "base-year equilibrium", year=sc.time.start) from None
    try:
        with progress(model.end_year - model.year + 1, sc.name, quiet=quiet,
                      unit="year") as bar:
            while not model.done:
                try:
                    model.step()
                except (ConvergenceError, NumericalError) as e:
                    raise attach(e, sc, stage_of_step_error(e), year=model.year) from None
                bar.update()
        rec = model.run()  # finalizes the recorder (no years left to step)
        places, sectors = rec.place_frame(), rec.sector_frame()
        firms, migration, links = rec.firm_frame(), rec.migration_frame(), rec.link_frame()
        seed_used = model.seed_used
        agent_info = None
        if sc.resolution == "agents":
            agent_info = {"households": sc.agents.households, "firms": sc.agents.firms,
                          "workers_per_household": model.households.scale,
                          "firms_per_agent": model.firms.scale}
        solver = {
            "years": rec.years[: rec.n_recorded].tolist(),
            "iterations": rec.iterations[: rec.n_recorded].tolist(),
            "residuals": rec.residual[: rec.n_recorded].tolist(),
            "tol": sc.solver.tol,
            "max_residual": float(np.max(rec.residual[: rec.n_recorded])),
            "network_recomputations": rec.network_recomputations,
            "firm_spinup_rounds": getattr(model, "spinup_rounds", None),
        }
    finally:
        model.release()
    manifest = {
        "name": sc.name,
        "description": sc.description,
        "source": sc.source,
        "scenario_hash": identity["scenario_hash"],
        "seed": seed_used,
        "start_year": int(places["year"].min()),
        "end_year": int(places["year"].max()),
        "resolution": sc.resolution,
        "firm_dynamics": sc.parameters.firm_dynamics,
        "agents": agent_info,
        "policies": [{"type": p.type, "start": p.start, "end": p.end, "label": p.label}
                     for p in sc.policies],
        "sim_version": __version__,
        "versions": identity["versions"],
        "git_commit": identity["git_commit"],
        "command": shlex.join(sys.argv if command is None else command),
        "started_utc": started,
        "wall_time_s": round(time.perf_counter() - t0, 4),
        "solver": solver,
        "calibration": calibration,
        "scenario": scenario_to_dict(sc),
    }
    res = Results(places=places, sectors=sectors, manifest=manifest, firms=firms,
                  migration=migration, links=links)
    problem = result_problem(res)
    if problem:
        raise attach(NumericalError(f"{problem}; the run is refused"), sc, "result check")
    return res


def default_out_dir(scenario: Scenario, seed: int | None = None, root="results",
                    end_year: int | None = None) -> Path:
    """``results/<scenario-name>-<hash>-s<seed>/``.

    The hash is :func:`run_hash`, the manifest's ``scenario_hash``.
    """
    s = scenario.seed if seed is None else seed
    return Path(root) / f"{scenario.name}-{run_hash(scenario, seed, end_year)}-s{s}"
