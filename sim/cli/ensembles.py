"""Ensemble commands: ``sim compare`` on sweep folders and ``sim sensitivity``.

Both print their tables and, with ``--out``, write them with their plots.
"""

from __future__ import annotations

import pandas as pd

from sim.analysis.ensemble import compare_ensembles
from sim.analysis.sensitivity import sensitivity
from sim.errors import SweepError
from sim.results.sweeps import is_sweep_folder
from sim.viz.outputs import write_ensemble_comparison, write_sensitivity


def cmd_compare_ensembles(args) -> int:
    """``sim compare`` when a results folder is a sweep folder: print, optionally write."""
    bad = [r for r in args.runs if not is_sweep_folder(r)]
    if bad:
        raise SweepError(f"{bad[0]}: not a sweep folder; compare sweep folders with sweep "
                         f"folders and single runs with single runs")
    c = compare_ensembles(*args.runs)
    ref = c["reference"]["reference"].iloc[0]
    with pd.option_context("display.float_format", "{:,.4g}".format, "display.width", 160,
                           "display.max_rows", 200, "display.max_columns", 30):
        print(f"final-year bands across members (reference: {ref})")
        print(c["final"].to_string(index=False))
        print(f"\nprobability of beating {ref} (paired by design point and seed)")
        print(c["probabilities"].to_string(index=False))
    if args.out:
        write_ensemble_comparison(args.runs, args.out, force=getattr(args, "force", False))
        print(f"tables and plots: {args.out}")
    return 0


def _cmd_sensitivity(args) -> int:
    t = sensitivity(args.folder)
    with pd.option_context("display.float_format", "{:,.4g}".format, "display.width", 160,
                           "display.max_rows", 500, "display.max_columns", 30):
        print(t.to_string(index=False))
    if args.out:
        write_sensitivity(args.folder, args.out)
        print(f"tables and plots: {args.out}")
    return 0
