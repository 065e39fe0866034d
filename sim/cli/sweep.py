"""The ``sim sweep`` and ``sim sensitivity`` commands."""

from __future__ import annotations

import json
import time
from pathlib import Path


def _cmd_sweep(args) -> int:
    import sys

    # imported when the command runs: ``sim run`` and the other commands need none of this
    import pandas as pd

    from sim.results.sweeps import MANIFEST
    from sim.sweep.run import run_sweep
    from sim.sweep.spec import load_sweep_spec

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


def add_executor_arguments(parser, workers_help: str) -> None:
    """Add ``--workers`` and the exclusive ``--dask`` / ``--scheduler`` to an executor command.

    Shared by every command that runs on the sweep executors (sweep, decompose, optimize).
    """
    parser.add_argument("--workers", type=int, default=None, help=workers_help)
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--dask", action="store_true",
                   help="run on a local Dask cluster (--workers processes, 1 thread each)")
    g.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run on an existing Dask cluster")


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
    add_executor_arguments(
        s, "worker processes (default: CPU count, at most the number of runs)")
    s.add_argument("--out", default=None,
                   help="results folder (default results/sweeps/<name>-<hash>/)")
    s.add_argument("--resume", action="store_true",
                   help="finish an interrupted sweep: run only the members not yet finished")
    s.add_argument("--force", action="store_true", help="overwrite an existing results folder")
    s.add_argument("--end-year", type=int, default=None, help="stop every run early")
    s.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    s.set_defaults(func=_cmd_sweep)

    a = sub.add_parser(
        "sensitivity", help="Sobol or Morris indices of a finished sweep's headline indicators",
        description="Compute Sobol (S1, ST) or Morris (mu*, sigma) indices of the final-year "
                    "headline indicators (policy effects against the sweep's baseline, or "
                    "levels) with respect to the varied parameters (SALib).")
    a.add_argument("folder", help="sweep results folder (a sobol or morris design)")
    a.add_argument("--out", default=None, help="write CSV, Markdown and plots (PNG, SVG) here")
    a.set_defaults(func=_cmd_sensitivity)


def _cmd_sensitivity(args) -> int:
    from sim.cli.ensembles import _cmd_sensitivity as cmd  # analysis and figures: when run

    return cmd(args)
