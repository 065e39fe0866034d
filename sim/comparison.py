"""Compare results folders (analysis layer: never imports the model, the kernels or Mesa).

Also available as ``sim.compare(...)``.

``compare(a, b, ...)`` aligns runs on (year, place[, sector]) and returns tidy tables of every
numeric indicator with the first run as reference: value in each run, absolute and percentage
differences. ``sim compare RUN_A RUN_B ... [--out DIR]`` prints the final-year headline (see
``sim.headline``) of every run against the first and writes the tables as CSV and Markdown.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.headline import headline
from sim.results import Results, ResultsError, load_results

KEYS = {"places": ["year", "place"], "sectors": ["year", "place", "sector"],
        "firms": ["year", "place", "sector"]}


def _as_results(run) -> Results:
    return run if isinstance(run, Results) else load_results(run)


def _label(res: Results, i: int) -> str:
    return str(res.manifest.get("name", f"run{i}")) + f"#{i}"


def compare(*runs, tables=("places", "sectors", "firms")) -> dict[str, pd.DataFrame]:
    """Aligned differences of every numeric indicator against the first run.

    Parameters
    ----------
    *runs : Results or path-like
        Two or more runs (results folders or in-memory results).
    tables : sequence of str
        Which tables to compare (a table missing from any run is skipped).

    Returns
    -------
    dict of str -> pandas.DataFrame
        For each table, a tidy frame with the key columns, ``indicator``, ``run`` (label),
        ``value``, ``reference`` (first run), ``difference`` and ``pct_difference`` (NaN where
        the reference is 0).

    Raises
    ------
    sim.results.ResultsError
        Fewer than two runs, a missing or corrupt folder, or runs whose keys do not align.
    """
    if len(runs) < 2:
        raise ResultsError("compare needs at least two runs")
    res = [_as_results(r) for r in runs]
    labels = [_label(r, i) for i, r in enumerate(res)]
    out = {}
    for t in tables:
        frames = [getattr(r, t) for r in res]
        if any(f is None for f in frames):
            continue
        keys = KEYS[t]
        ref = frames[0].set_index(keys).sort_index()
        num = [c for c in ref.columns if pd.api.types.is_numeric_dtype(ref[c])]
        parts = []
        for lab, f in zip(labels[1:], frames[1:], strict=True):
            other = f.set_index(keys).sort_index()
            if not other.index.equals(ref.index):
                raise ResultsError(f"{t}: runs {labels[0]} and {lab} do not cover the same "
                                   f"{', '.join(keys)} (different regions or years?)")
            for c in num:
                a, b = ref[c].to_numpy(float), other[c].to_numpy(float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    pct = np.where(a != 0, 100.0 * (b / a - 1.0), np.nan)
                parts.append(pd.DataFrame({
                    **{k: ref.index.get_level_values(k) for k in keys},
                    "indicator": c, "run": lab, "value": b, "reference": a,
                    "difference": b - a, "pct_difference": pct}))
        out[t] = pd.concat(parts, ignore_index=True)
    return out


def headline_tables(*runs) -> pd.DataFrame:
    """Final-year headline of every run against the first (columns: one per run)."""
    res = [_as_results(r) for r in runs]
    base = res[0]
    cols = {}
    for i, r in enumerate(res[1:], start=1):
        h = headline(r, base)
        cols[(_label(base, 0), "value")] = h["baseline"]
        cols[(_label(r, i), "value")] = h["policy"]
        cols[(_label(r, i), "% vs first")] = h["% difference"]
    return pd.DataFrame(cols)


def to_markdown(df: pd.DataFrame, floatfmt: str = "{:,.4g}") -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    d = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    head = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in d.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in d.itertuples(index=False):
        cells = [floatfmt.format(v) if isinstance(v, float | np.floating) else str(v)
                 for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_comparison(runs, out) -> Path:
    """Write the comparison tables (CSV) and the headline (CSV and Markdown) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in compare(*runs).items():
        df.to_csv(out / f"{name}_differences.csv", index=False)
    h = headline_tables(*runs)
    h.to_csv(out / "headline.csv")
    (out / "headline.md").write_text(to_markdown(h))
    return out
