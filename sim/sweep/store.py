"""The sweep results folder while it is written.

The manifest, one atomically written part per finished member (what ``--resume`` reads), and the
consolidation into tables at the end.

Reading a finished sweep folder is :mod:`sim.results.sweeps` (light: no model, no executors).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.errors import SimError
from sim.results.folder import FOLDER_KEY, _pid_alive, fault_point
from sim.results.sweeps import MANIFEST, Sweep
from sim.sweep.design import Plan, _json_spec, salib_problem, seed_twins

SWEEP_FORMAT = 1
PARTS = "runs"


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(obj, indent=2, default=str))
        fault_point("json")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_TMP = re.compile(r"^\..+\.tmp(-(?P<pid>\d+))?$")


def _clean_tmp(out: Path) -> None:
    """Remove temporary files of killed writers from a sweep folder (``.NAME.tmp-<pid>``)."""
    for p in out.iterdir():
        m = _TMP.match(p.name)
        if not m or not p.is_file():
            continue
        if m["pid"] and int(m["pid"]) != os.getpid() and _pid_alive(int(m["pid"])):
            continue
        p.unlink(missing_ok=True)


PART_TABLES = ("places", "sectors")
PART_SUFFIX = ".arrow"
"""A part's tables are Arrow IPC files (Feather v2, uncompressed): about 3.5 ms to write a Jilin
run's two tables against 6.5 ms as Parquet, in the sweep's own process while the workers run.
Parts are read back only by a resumed sweep; parts of earlier versions (``.parquet``) still are.
Both keep the frame exactly (pandas metadata: dtypes, column order), so the consolidated tables
are the same bytes whichever the parts were written as."""


def _write_table(df: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    from pyarrow import feather

    # one thread: pyarrow's default starts a thread pool per call for frames this long
    feather.write_feather(pa.Table.from_pandas(df, preserve_index=False, nthreads=1), path,
                          compression="uncompressed")


def _read_table(part: Path, table: str) -> pd.DataFrame:
    f = part / f"{table}{PART_SUFFIX}"
    if f.is_file():
        return pd.read_feather(f)
    return pd.read_parquet(part / f"{table}.parquet")  # a part of an earlier version


def _link(src: Path, dst: Path) -> bool:
    try:
        os.link(src, dst)
    except OSError:  # no hard links here (or the source is gone)
        return False
    return True


def _write_part(parts: Path, res: dict, member: dict, tables_of: str | None = None) -> None:
    """Write the part of one finished member (atomically: a temporary folder renamed).

    ``tables_of``: the run id of a part already written with the same tables (a member that
    differs only in seed, :func:`sim.sweep.execute._seed_groups`), whose table files are
    hard-linked instead of written again (written where the file system has no hard links).
    """
    tmp = Path(tempfile.mkdtemp(prefix=f".{res['run_id']}.tmp-", dir=parts))
    try:
        if res["status"] == "ok":
            for t in PART_TABLES:
                name = f"{t}{PART_SUFFIX}"
                if tables_of is None or not _link(parts / tables_of / name, tmp / name):
                    _write_table(res[t], tmp / name)
        row = {k: v for k, v in res.items() if k not in ("places", "sectors")}
        row["calibration"] = member.get("calibration", "")
        (tmp / "run.json").write_text(json.dumps(row, indent=2, default=str))
        fault_point("part")
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
    from sim.scenario.load import scenario_hash

    spec = plan.spec
    names = [p.name for p in spec.parameters]
    problem = salib_problem(spec.parameters) if spec.design.method in ("sobol", "morris") \
        else None
    return {
        "sweep_format": SWEEP_FORMAT, FOLDER_KEY: "sweep", "name": spec.name,
        "description": spec.description,
        "source": spec.source, "spec_hash": plan.spec_hash, "status": "running",
        "spec": _json_spec(spec),
        "scenarios": [{"name": k, "path": plan.paths[k],
                       "hash": plan.scenario_hashes.get(k) or scenario_hash(sc),
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




def _consolidate(plan: Plan, out: Path, manifest: dict, frames: dict | None = None) -> None:
    """Write the sweep's tables from its parts.

    ``frames`` (run id -> (places, sectors)): the tables of parts written in this session,
    still in memory, used instead of reading those parts back (the same frames: parquet keeps
    every dtype, and the tables come out byte for byte the same).
    """
    parts = out / PARTS
    frames = frames or {}
    names = [p.name for p in plan.spec.parameters]
    twins = seed_twins(plan)
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
               "calibration": info.get("calibration", ""), "same_as": twins.get(m["run_id"], "")}
        rows.append(row)
        if info["status"] == "ok":
            kept = frames.get(m["run_id"])
            for i, (t, acc) in enumerate((("places", places), ("sectors", sectors))):
                # a shallow copy: members with the same tables share the frames in memory
                df = kept[i].copy(deep=False) if kept is not None else _read_table(d, t)
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
        fault_point("consolidate")
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
            from sim.viz.outputs import write_sensitivity

            sweep = Sweep(path=out, manifest=manifest, runs=runs, places=tables["places"],
                          sectors=tables["sectors"])
            written = write_sensitivity(sweep, out)
            manifest["sensitivity"] = {"files": sorted(p.name for p in written)}
        except SimError as e:
            manifest["sensitivity"] = {"error": str(e)}
    _write_json(out / MANIFEST, manifest)
    shutil.rmtree(parts, ignore_errors=True)


