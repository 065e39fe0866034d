"""Excel workbooks of results and comparisons (openpyxl).

One sheet per table; the header row carries each column's label and unit (``GDP [bn CNY]``)
and is frozen; numbers are written as numbers (NaN as an empty cell), text as text. Written
atomically: built in a temporary file beside the target and renamed into place.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.comparison import _label, compare, headline_tables
from sim.analysis.indicators import indicators
from sim.results import Results, ResultsError, load_results
from sim.viz import labels as L

MAX_ROWS = 1_048_575  # Excel's row limit less the header


def _header(col, lang: str, units: dict) -> str:
    if isinstance(col, tuple):  # headline tables: (run, measure)
        return " / ".join(str(c) for c in col)
    col = str(col)
    u = units.get(col)
    if u is None:
        u = L.column_unit(col, lang)
    else:
        u = L.unit(u, lang)
    name = L.column(col, lang)
    return f"{name} [{u}]" if u else name


def _cell(v):
    if v is None:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return None if math.isnan(v) or math.isinf(v) else float(v)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if v is pd.NA:
        return None
    return str(v)


def _sheet_name(name: str, taken: set) -> str:
    base = "".join("_" if c in "[]:*?/\\" else c for c in str(name))[:31] or "sheet"
    out, i = base, 2
    while out.lower() in taken:
        out = f"{base[:28]}~{i}"
        i += 1
    taken.add(out.lower())
    return out


def write_xlsx(tables: dict[str, pd.DataFrame], path, *, units: dict | None = None,
               lang: str = "en", force: bool = False, index: bool | None = None) -> Path:
    """Write tables to an Excel workbook, one sheet per table.

    Parameters
    ----------
    tables : dict of str -> pandas.DataFrame
        Sheet name -> table (empty or None tables are skipped).
    path : path-like
        The ``.xlsx`` file.
    units : dict of str -> dict of str -> str, optional
        Per sheet, units of columns that :data:`sim.viz.labels.COLUMNS` does not know.
    lang : str
        ``en`` or ``zh``: the language of column labels and units.
    force : bool
        Overwrite an existing file.
    index : bool, optional
        Write the index as the first column (default: when it is not a plain range).

    Raises
    ------
    sim.results.ResultsError
        ``path`` exists and ``force`` is False, or a table has more rows than a sheet holds.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    L.check_lang(lang)
    path = Path(path)
    if path.exists() and not force:
        raise ResultsError(f"{path}: file exists; use --force to overwrite")
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    for name, df in tables.items():
        if df is None:
            continue
        if len(df) > MAX_ROWS:
            raise ResultsError(f"table {name}: {len(df):,} rows do not fit an Excel sheet "
                               f"({MAX_ROWS:,}); export fewer runs or use the Parquet files")
        with_index = index if index is not None else not isinstance(df.index, pd.RangeIndex)
        d = df.reset_index() if with_index else df
        ws = wb.create_sheet(_sheet_name(name, taken))
        su = (units or {}).get(name, {})
        ws.append([_header(c, lang, su) for c in d.columns])
        for c in ws[1]:
            c.font = bold
        for row in d.itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])
        ws.freeze_panes = "A2"
        for j, c in enumerate(d.columns, start=1):
            width = min(40, max(10, len(_header(c, lang, su)) + 2))
            ws.column_dimensions[ws.cell(1, j).column_letter].width = width
    if not wb.sheetnames:
        wb.create_sheet("empty")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex}")
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _runs(runs) -> list[Results]:
    return [r if isinstance(r, Results) else load_results(r) for r in runs]


def _facts(res: list[Results]) -> pd.DataFrame:
    rows = []
    for i, r in enumerate(res):
        m = r.manifest
        rows.append({"run": _label(r, i), "name": m.get("name"), "seed": m.get("seed"),
                     "scenario_hash": m.get("scenario_hash"), "start_year": m.get("start_year"),
                     "end_year": m.get("end_year"), "resolution": m.get("resolution"),
                     "policies": "; ".join(p.get("label") or p.get("type", "")
                                           for p in m.get("policies") or []),
                     "git_commit": m.get("git_commit"), "command": m.get("command"),
                     "sim_version": m.get("sim_version"),
                     "wall_time_s": m.get("wall_time_s")})
    return pd.DataFrame(rows)


def _indicator_units(res: list[Results]) -> dict:
    units = {}
    for r in res:
        ind = indicators(r, groups=res[0].manifest.get("scenario", {}).get("groups") or {})
        units.update(dict(zip(ind["indicator"], ind["unit"], strict=True)))
    return units


def export_xlsx(runs, path, *, lang: str = "en", force: bool = False) -> Path:
    """One workbook of one or more results folders.

    Sheets: ``runs`` (run facts), ``indicators`` (yearly indicators, with units), and the
    results tables (``places``, ``sectors`` and, where the runs have them, ``firms``,
    ``migration``, ``links``), each with a ``run`` column when there are several runs.
    """
    res = _runs(runs)
    groups = res[0].manifest.get("scenario", {}).get("groups") or {}
    tabs = {"runs": _facts(res)}
    ind = []
    for i, r in enumerate(res):
        d = indicators(r, groups=groups)
        ind.append(d.assign(run=_label(r, i)) if len(res) > 1 else d)
    tabs["indicators"] = _run_first(pd.concat(ind, ignore_index=True))
    for t in ("places", "sectors", "firms", "migration", "links"):
        parts = [(getattr(r, t), _label(r, i)) for i, r in enumerate(res)
                 if getattr(r, t) is not None]
        if parts:
            tabs[t] = _run_first(pd.concat([d.assign(run=lab) if len(res) > 1 else d
                                            for d, lab in parts], ignore_index=True))
    return write_xlsx(tabs, path, lang=lang, force=force)


def _run_first(d: pd.DataFrame) -> pd.DataFrame:
    return d[["run", *[c for c in d.columns if c != "run"]]] if "run" in d.columns else d


def comparison_xlsx(runs, path, *, lang: str = "en", force: bool = False) -> Path:
    """One workbook of a comparison of results folders (the first is the reference).

    Sheets: ``headline`` (every run against the first), ``runs`` and one sheet of aligned
    differences per table of :func:`sim.analysis.comparison.compare`, with a ``unit`` column
    (the unit of ``value``, ``reference`` and ``difference``).
    """
    res = _runs(runs)
    diff = compare(*res)
    ind_units = _indicator_units(res)
    tabs = {"headline": headline_tables(*res), "runs": _facts(res)}
    for name, d in diff.items():
        u = d["indicator"].map(ind_units) if name == "indicators" else \
            d["indicator"].map(L.column_unit)
        cols = list(d.columns)
        at = cols.index("indicator") + 1
        d = d.copy()
        d.insert(at, "unit", u.fillna("").map(lambda x: L.unit(x, lang)))
        tabs[name] = d
    return write_xlsx(tabs, path, lang=lang, force=force)
