"""``run_sweep``: plan a sweep, execute its missing members and consolidate the folder."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sim.errors import SweepError
from sim.results.folder import clean_siblings, fault_point, folder_kind, replace_folder
from sim.results.sweeps import MANIFEST
from sim.sweep import store
from sim.sweep.design import default_sweep_dir, plan_sweep
from sim.sweep.execute import UNGUARDED, _execute, start_pool_server
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

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # a worker process importing a script that calls run_sweep at module level: say so
        # in one line instead of starting pools recursively
        raise SystemExit(f"sim: {UNGUARDED}")
    if not isinstance(spec, SweepSpec):
        spec = load_sweep_spec(spec)
    if end_year is not None:
        spec = dataclasses.replace(spec, end_year=end_year)
    if not (dask or scheduler):
        start_pool_server()  # the workers' server imports the engine while the scenarios load
    plan = plan_sweep(spec)
    out = Path(out) if out is not None else default_sweep_dir(plan)
    final = out
    clean_siblings(final)
    staging = None
    if out.exists() or out.is_symlink():
        try:
            old = json.loads((out / MANIFEST).read_text())
        except (OSError, ValueError):
            old = None
        if force:
            if folder_kind(out) is None:
                raise SweepError(f"{out}: exists and is not a folder written by sim (no sim "
                                 f"manifest marking it as one); --force replaces only sim's "
                                 f"own results and sweep folders: move it away yourself")
            # the new sweep is built beside the old folder and replaces it once complete
            staging = out.parent / f".{out.name}.next-{os.getpid()}-{uuid.uuid4().hex}"
            out = staging
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
    parts = out / PARTS
    try:
        if not out.exists():
            # created whole (manifest inside) so that a folder at ``out`` can always resume
            new = out.parent / f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex}"
            out.parent.mkdir(parents=True, exist_ok=True)
            new.mkdir()
            try:
                fault_point("sweep-mkdir")
                store._write_json(new / MANIFEST, store._manifest(plan, out))
                os.replace(new, out)
            except BaseException:
                shutil.rmtree(new, ignore_errors=True)
                raise
        store._clean_tmp(out)
        parts.mkdir(exist_ok=True)
    except OSError as e:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise SweepError(f"{final}: cannot write the sweep folder: {e.strerror or e}") from None
    manifest = json.loads((out / MANIFEST).read_text())
    done = store._finished(parts)
    todo = [m for m in plan.members if m["run_id"] not in done]
    session = {"started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
               "resumed_with_finished": len(done), "executed": 0}
    t0 = time.perf_counter()
    frames: dict = {}  # this session's tables, kept for the consolidation
    try:
        if todo:
            _execute(plan, todo, parts, workers=workers, dask=dask, scheduler=scheduler,
                     quiet=quiet, session=session, progress=progress, done=len(done),
                     frames=frames)
    except BaseException:
        session["interrupted"] = True
        raise
    finally:
        session["wall_time_s"] = round(time.perf_counter() - t0, 3)
        manifest["sessions"].append(session)
        store._write_json(out / MANIFEST, manifest)
    store._consolidate(plan, out, manifest, frames)
    if staging is not None:
        replace_folder(staging, final)
    return final


