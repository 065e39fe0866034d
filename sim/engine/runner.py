"""Run a scenario: build -> step loop -> recorder -> Results (no file writes here)."""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import mesa
import numpy as np
import scipy

from sim import __version__
from sim.engine.model import SimModel
from sim.progress import progress
from sim.results import Results
from sim.scenario.load import load_scenario, scenario_hash, scenario_to_dict
from sim.scenario.schema import Scenario


def _as_scenario(scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(Path(scenario))


def run_scenario(scenario, *, seed: int | None = None, end_year: int | None = None,
                 quiet: bool = True) -> Results:
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
    """
    sc = _as_scenario(scenario)
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
    model = SimModel(sc, seed=seed, end_year=end_year)
    try:
        with progress(model.end_year - model.year + 1, sc.name, quiet=quiet,
                      unit="year") as bar:
            while not model.done:
                model.step()
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
        "scenario_hash": scenario_hash(sc),
        "seed": seed_used,
        "start_year": int(places["year"].min()),
        "end_year": int(places["year"].max()),
        "resolution": sc.resolution,
        "firm_dynamics": sc.parameters.firm_dynamics,
        "agents": agent_info,
        "policies": [{"type": p.type, "start": p.start, "end": p.end, "label": p.label}
                     for p in sc.policies],
        "sim_version": __version__,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scipy": scipy.__version__, "mesa": mesa.__version__},
        "started_utc": started,
        "wall_time_s": round(time.perf_counter() - t0, 4),
        "solver": solver,
        "calibration": calibration,
        "scenario": scenario_to_dict(sc),
    }
    return Results(places=places, sectors=sectors, manifest=manifest, firms=firms,
                   migration=migration, links=links)


def default_out_dir(scenario: Scenario, seed: int | None = None, root="results") -> Path:
    """``results/<scenario-name>-<short hash>-s<seed>/``."""
    s = scenario.seed if seed is None else seed
    return Path(root) / f"{scenario.name}-{scenario_hash(scenario)}-s{s}"
