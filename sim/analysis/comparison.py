"""Compare results folders (analysis layer: never imports the model, the kernels or Mesa).

Also available as ``sim.compare(...)``.

``compare(a, b, ...)`` aligns runs on (year, place[, sector]) and returns tidy tables of every
numeric indicator with the first run as reference: value in each run, absolute and percentage
differences. ``sim compare RUN_A RUN_B ... [--out DIR]`` prints the final-year headline (see
``sim.analysis.headline``) of every run against the first and writes the tables as CSV and Markdown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.headline import headline
from sim.analysis.indicators import indicators
from sim.progress import progress
from sim.results import Results, ResultsError, load_results

KEYS = {"indicators": ["year", "indicator"], "places": ["year", "place"],
        "sectors": ["year", "place", "sector"], "firms": ["year", "place", "sector"],
        "links": ["year", "from", "to", "mode"]}


def _as_results(run) -> Results:
    return run if isinstance(run, Results) else load_results(run)


def _label(res: Results, i: int) -> str:
    return str(res.manifest.get("name", f"run{i}")) + f"#{i}"


def _table(res: Results, name: str, groups) -> pd.DataFrame | None:
    if name == "indicators":
        return indicators(res, groups=groups).drop(columns="unit")
    return getattr(res, name)


def compare(*runs, tables=("indicators", "places", "sectors", "firms", "links"),
            groups=None) -> dict[str, pd.DataFrame]:
    """Aligned differences of every numeric indicator against the first run.

    Parameters
    ----------
    *runs : Results or path-like
        Two or more runs (results folders or in-memory results).
    tables : sequence of str
        Which tables to compare: ``indicators`` (the yearly indicators of
        :func:`~sim.analysis.indicators.indicators`) and the results tables (a table missing from
        any run is skipped). groups : dict of str -> list of str, optional Place groups for the
        indicators (default: the first run's scenario ``groups``, used for every run so that the
        indicators are comparable).

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
    if groups is None:
        groups = res[0].manifest.get("scenario", {}).get("groups", {}) or {}
    out = {}
    for t in tables:
        frames = [_table(r, t, groups) for r in res]
        if any(f is None for f in frames):
            continue
        keys = KEYS[t]
        idx = [f.set_index(keys).sort_index() for f in frames]
        if t == "links":  # links opened or closed by a policy: absent = carries nothing
            union = idx[0].index
            for f in idx[1:]:
                union = union.union(f.index)
            idx = [f.reindex(union, fill_value=0.0) for f in idx]
        ref = idx[0]
        num = [c for c in ref.columns if pd.api.types.is_numeric_dtype(ref[c])]
        parts = []
        for lab, other in zip(labels[1:], idx[1:], strict=True):
            if not other.index.equals(ref.index):
                raise ResultsError(f"{t}: runs {labels[0]} and {lab} do not cover the same "
                                   f"{', '.join(keys)} (different regions or years?)")
            for c in num:
                a, b = ref[c].to_numpy(float), other[c].to_numpy(float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    pct = np.where(a != 0, 100.0 * (b / a - 1.0), np.nan)
                cols = {k: ref.index.get_level_values(k) for k in keys}
                if "indicator" not in keys:
                    cols["indicator"] = c
                parts.append(pd.DataFrame({
                    **cols, "run": lab, "value": b, "reference": a,
                    "difference": b - a, "pct_difference": pct}))
        out[t] = pd.concat(parts, ignore_index=True)
    return out


def headline_tables(*runs) -> pd.DataFrame:
    """Final-year headline of every run against the first.

    Columns: the first run's value, then for every other run its value, the difference and the
    % difference from the first (use the difference for indicators in %, pp or index units).
    Whole-horizon effects (welfare equivalent variation, cost-effectiveness) have a value for
    the other runs only.
    """
    res = [_as_results(r) for r in runs]
    base = res[0]
    cols = {}
    for i, r in enumerate(res[1:], start=1):
        h = headline(r, base)
        cols[(_label(base, 0), "value")] = h["baseline"]
        cols[(_label(r, i), "value")] = h["policy"]
        cols[(_label(r, i), "difference")] = h["difference"]
        cols[(_label(r, i), "% vs first")] = h["% difference"]
    return pd.DataFrame(cols)


def _md_text(s: str) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(s.replace("|", "\\|").splitlines())


def to_markdown(df: pd.DataFrame, floatfmt: str = "{:,.4g}") -> str:
    """A GitHub-flavoured Markdown table (no extra dependency).

    Text cells are escaped (``<``, ``>``, ``&`` as HTML entities, ``|`` and newlines), so that
    scenario names and labels from files never become markup or break the table.
    """
    d = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    head = [_md_text(" / ".join(map(str, c)) if isinstance(c, tuple) else str(c))
            for c in d.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in d.itertuples(index=False):
        cells = [floatfmt.format(v) if isinstance(v, float | np.floating) else _md_text(str(v))
                 for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def load_runs(paths, *, quiet: bool = False) -> list[Results]:
    """Load results folders (with a progress bar on a terminal).

    Raises
    ------
    sim.results.ResultsError
        Fewer than two runs, or a missing or corrupt folder (naming it).
    """
    paths = list(paths)
    if len(paths) < 2:
        raise ResultsError("compare needs at least two runs")
    with progress(len(paths), "loading runs", quiet=quiet, unit="run") as bar:
        out = []
        for p in paths:
            out.append(_as_results(p))
            bar.update()
    return out


