"""``run_sweep``: plan a sweep, execute its missing members and consolidate the folder."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from sim.errors import SweepError
from sim.results.sweeps import MANIFEST
from sim.sweep import store
from sim.sweep.design import default_sweep_dir, plan_sweep
from sim.sweep.execute import _execute
from sim.sweep.spec import SweepSpec, load_sweep_spec
from sim.sweep.store import PARTS


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
        store._write_json(out / MANIFEST, store._manifest(plan, out))
    parts.mkdir(exist_ok=True)
    manifest = json.loads((out / MANIFEST).read_text())
    done = store._finished(parts)
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
        store._write_json(out / MANIFEST, manifest)
    store._consolidate(plan, out, manifest)
    return out


