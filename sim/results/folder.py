"""Results in memory and on disk (io layer: never imports the model or the kernels).

A results folder holds ``manifest.json`` (resolved scenario, seed, versions, wall time, solver
iterations and residuals), ``places.parquet`` and ``sectors.parquet`` (tidy tables), and where
the run has them ``firms.parquet`` and ``migration.parquet``. Folders
are written atomically: built in a temporary sibling folder, then renamed into place; an
existing folder is never replaced unless ``force=True``.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import signal
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import SimError

MANIFEST = "manifest.json"
TABLES = ("places", "sectors")
OPTIONAL_TABLES = ("firms", "migration", "links")
RESULTS_FORMAT = 1
REQUIRED_COLUMNS = {
    "places": ("year", "place", "population", "mobile", "gdp", "real_wage"),
    "sectors": ("year", "place", "sector", "output", "employment"),
    "links": ("year", "from", "to", "mode", "freight", "freight_regional"),
}


class ResultsError(SimError):
    """A results folder is missing, incomplete or corrupt, or would be overwritten."""


@dataclass
class Results:
    """Outputs of one run.

    Attributes
    ----------
    places : pandas.DataFrame
        One row per (year, place): population, mobile, agricultural, gdp, wage, real_wage,
        price_index, rent, utility, ag_wage, in_migration, out_migration,
        external_net_migration.
    sectors : pandas.DataFrame
        One row per (year, place, sector): output, employment, wage, firms, price_index.
    manifest : dict
        Run facts (see module docstring).
    firms : pandas.DataFrame or None
        Under ``firm_dynamics: entry_exit``, one row per (year, place, sector): firms, entries,
        exits, relocations_in, relocations_out, employment_p10/p50/p90, mean_productivity.
    migration : pandas.DataFrame or None
        Logit migration: one row per (year, origin, destination) with movers (millions of
        workers) and, at agent resolution, households (agents moved).
    links : pandas.DataFrame or None
        Regions of up to 100 places: one row per (year, active freight link) with the freight
        value it carries (``from``, ``to``, ``mode``, ``freight``; bn CNY a year).
    """

    places: pd.DataFrame
    sectors: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    firms: pd.DataFrame | None = None
    migration: pd.DataFrame | None = None
    links: pd.DataFrame | None = None

    def place_series(self, variable: str) -> pd.DataFrame:
        """A year x place table of one place variable."""
        return self.places.pivot(index="year", columns="place", values=variable)

    def sector_series(self, variable: str, sector: str) -> pd.DataFrame:
        """A year x place table of one sector variable for one sector."""
        df = self.sectors[self.sectors["sector"] == sector]
        return df.pivot(index="year", columns="place", values=variable)

    def summary(self) -> pd.DataFrame:
        """First vs last year by place: population, GDP and real wage with % changes.

        The TOTAL row sums population and GDP; its real-wage change is that of the
        population-weighted mean real wage.
        """
        p = self.places
        y0, y1 = p["year"].min(), p["year"].max()
        a = p[p["year"] == y0].set_index("place")
        b = p[p["year"] == y1].set_index("place")
        out = pd.DataFrame({
            f"pop {y1}": b["population"],
            "pop %": 100 * (b["population"] / a["population"] - 1),
            f"gdp {y1}": b["gdp"],
            "gdp %": 100 * (b["gdp"] / a["gdp"] - 1),
            "real wage %": 100 * (b["real_wage"] / a["real_wage"] - 1),
        })
        total = pd.DataFrame({
            f"pop {y1}": [b["population"].sum()],
            "pop %": [100 * (b["population"].sum() / a["population"].sum() - 1)],
            f"gdp {y1}": [b["gdp"].sum()],
            "gdp %": [100 * (b["gdp"].sum() / a["gdp"].sum() - 1)],
            "real wage %": [100 * (_weighted(b, "real_wage") / _weighted(a, "real_wage") - 1)],
        }, index=["TOTAL"])
        return pd.concat([out, total])


def _weighted(df: pd.DataFrame, col: str) -> float:
    return float((df[col] * df["population"]).sum() / df["population"].sum())


FOLDER_KEY = "sim_folder"
"""The marker key in a folder's manifest: which kind of folder this tool wrote there."""
FOLDER_KINDS = ("results", "comparison", "report", "ensemble", "sweep")
FAULT_ENV = "SIM_FAULT_KILL_AT"
"""Test hook: ``SIM_FAULT_KILL_AT=N`` kills this process with SIGKILL at its N-th file-system
step (see :func:`fault_point`); the fault-injection tests step N through every point."""
_fault_steps = 0


def fault_point(label: str = "") -> None:
    """A file-system step at which the fault-injection tests may kill the process.

    Does nothing unless the environment variable ``SIM_FAULT_KILL_AT`` is set.
    """
    at = os.environ.get(FAULT_ENV)
    if not at:
        return
    global _fault_steps
    _fault_steps += 1
    if _fault_steps == int(at):
        os.kill(os.getpid(), signal.SIGKILL)


def folder_kind(path) -> str | None:
    """The kind of folder this tool wrote at ``path`` (its manifest's marker), else None.

    ``results``, ``comparison``, ``report`` or ``ensemble`` (``manifest.json``) or ``sweep``
    (``sweep.json``). Results and sweep folders written before the marker existed are
    recognised by their format key. A symbolic link, a file or a folder without a readable
    manifest is not a folder of this tool.
    """
    p = Path(path)
    if p.is_symlink() or not p.is_dir():
        return None
    for name, legacy_key, legacy_kind in ((MANIFEST, "results_format", "results"),
                                          ("sweep.json", "sweep_format", "sweep")):
        f = p / name
        try:
            if not f.is_file() or f.stat().st_size > 256 * 2**20:
                continue
            m = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(m, dict):
            continue
        kind = m.get(FOLDER_KEY)
        if kind in FOLDER_KINDS:
            return kind
        if legacy_key in m:
            return legacy_kind
    return None


def check_replaceable(out, *, force: bool, what: str = "folder") -> None:
    """Refuse to write at ``out`` unless it is free, or ``force`` and a folder of this tool.

    Raises
    ------
    ResultsError
        ``out`` exists and ``force`` is False, or ``out`` exists and is not a results, report,
        comparison or sweep folder written by sim (``--force`` never deletes anything else).
    """
    out = Path(out)
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise ResultsError(f"{out}: {what} exists; use --force to overwrite")
    if folder_kind(out) is None:
        raise ResultsError(f"{out}: exists and is not a folder written by sim (no sim manifest "
                           f"marking it as one); --force replaces only sim's own results, "
                           f"report, comparison and sweep folders: move it away yourself")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


_SIBLING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old|next)-(?P<pid>\d+)-[0-9a-f]+$")
_LEGACY_SIBLING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-[0-9a-z_]+$")


def clean_siblings(out) -> list[Path]:
    """Remove the temporary siblings of ``out`` left by killed writers; returns them.

    Temporary folders are named ``.NAME.partial-<pid>-<hex>`` (being built) and
    ``.NAME.old-<pid>-<hex>`` (the replaced folder, only without an atomic exchange); those of
    a process that is no longer alive are removed. If ``out`` itself is missing and a killed
    writer left the old folder aside, the old folder is put back first.
    """
    out = Path(out)
    removed = []
    try:
        entries = list(out.parent.iterdir()) if out.parent.is_dir() else []
    except OSError:
        return removed
    for p in sorted(entries):
        m = _SIBLING.match(p.name) or _LEGACY_SIBLING.match(p.name)
        if not m or not (m["name"] == out.name or m["name"].startswith(f".{out.name}.next-")):
            continue  # (a sweep replaced with --force is built in ``.NAME.next-*``)
        pid = int(m["pid"]) if "pid" in m.groupdict() and m["pid"] else None
        if pid is not None and _pid_alive(pid) and pid != os.getpid():
            continue
        if m["kind"] == "old" and not (out.exists() or out.is_symlink()) and \
                (p / "x").is_dir():
            try:
                os.replace(p / "x", out)
            except OSError:
                continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    global _renameat2
    if _renameat2 is None:
        try:
            _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
            _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                   ctypes.c_char_p, ctypes.c_uint]
        except (OSError, AttributeError):
            _renameat2 = False
    if not _renameat2:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if _renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


_renameat2 = None


def replace_folder(tmp: Path, out: Path) -> None:
    """Put the finished folder ``tmp`` at ``out``, replacing what is there in one step.

    With an atomic exchange, ``out`` always holds either the old or the new folder; without
    one (not Linux, or a file system that cannot), the old folder is moved aside first and
    :func:`clean_siblings` puts it back if the process dies in between.
    """
    fault_point("replace")
    if not (out.exists() or out.is_symlink()):
        os.replace(tmp, out)
        return
    if _exchange(tmp, out):
        fault_point("exchanged")
        shutil.rmtree(tmp, ignore_errors=True)  # now holds the old folder
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex}"
    old.mkdir()
    os.replace(out, old / "x")
    fault_point("moved-aside")
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def _os_error(out: Path, e: OSError) -> ResultsError:
    why = e.strerror or str(e)
    if e.errno == errno.ENOSPC:
        why = "no space left on the device"
    elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"not writable ({e.strerror})"
    elif e.errno in (errno.ENOTDIR, errno.EEXIST) and out.parent.exists() \
            and not out.parent.is_dir():
        why = f"{out.parent} is not a folder"
    return ResultsError(f"{out}: cannot write the folder: {why}; nothing was written")


@contextmanager
def atomic_folder(out, *, force: bool = False, kind: str = "results"):
    """Build a folder in a temporary sibling and rename it to ``out`` only on success.

    Yields the temporary folder's path. On any error the temporary folder is removed and
    ``out`` is untouched; an existing ``out`` is replaced only with ``force=True``, only if it
    is a folder written by sim (:func:`folder_kind`), and only once the new folder is complete.
    Temporary siblings left by killed writers are removed first (:func:`clean_siblings`).
    Unless the caller wrote one, the folder gets a ``manifest.json`` marking its ``kind``.

    Raises
    ------
    ResultsError
        If ``out`` exists and ``force`` is False or it is not a sim folder (nothing is
        written), or the folder cannot be written (read-only, out of space, parent is a file).
    """
    out = Path(out)
    if kind not in FOLDER_KINDS:
        raise ValueError(f"unknown folder kind {kind!r}")
    clean_siblings(out)
    check_replaceable(out, force=force)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # a unique sibling made with os.mkdir, so that it gets the usual permissions (the
        # umask's), not mkdtemp's 0700
        tmp.mkdir()
    except OSError as e:
        raise _os_error(out, e) from None
    try:
        fault_point("mkdir")
        yield tmp
        if not (tmp / MANIFEST).exists():
            (tmp / MANIFEST).write_text(json.dumps(
                {FOLDER_KEY: kind, "sim_format": RESULTS_FORMAT}, indent=2))
        fault_point("written")
        check_replaceable(out, force=force)  # nothing else appeared there meanwhile
        replace_folder(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _os_error(out, e) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


NON_NEGATIVE = {"places": ("population", "mobile", "gdp"),
                "sectors": ("output", "employment")}
"""Result columns that can never be negative."""


def result_problem(results: Results) -> str | None:
    """The first non-finite (or impossible negative) number in ``results``, described by
    table, column, year and place; None if every number is finite."""
    for t in TABLES + OPTIONAL_TABLES:
        df = getattr(results, t)
        if df is None or df.empty:
            continue
        num = df.select_dtypes("number")
        if num.empty:
            continue
        vals = num.to_numpy(dtype=float)
        bad = ~np.isfinite(vals)
        neg = np.zeros_like(bad)
        for j, c in enumerate(num.columns):
            if c in NON_NEGATIVE.get(t, ()):
                neg[:, j] = vals[:, j] < 0
        for mask, what in ((bad, "non-finite"), (neg, "negative")):
            if mask.any():
                i, j = map(int, np.argwhere(mask)[0])
                row = df.iloc[i]
                where = ", ".join(f"{k} {row[k]}" for k in ("year", "place", "origin",
                                                             "destination", "sector", "from",
                                                             "to") if k in df.columns)
                return (f"{results.manifest.get('name', 'run')}: {what} result {vals[i, j]} in "
                        f"{t}.{num.columns[j]} ({where}; {int(mask.sum())} {what} values in "
                        f"all)")
    return None


def _check_finite(results: Results) -> None:
    problem = result_problem(results)
    if problem:
        raise ResultsError(f"{problem}; nothing was written")


NOMINAL = "bn CNY a year, nominal (model prices: numeraire the farm good, base-year CNY)"
COLUMN_UNITS = {
    "year": "year", "population": "m persons", "mobile": "m persons",
    "agricultural": "m persons", "gdp": NOMINAL,
    "wage": "k CNY per worker a year, nominal", "real_wage": "index (nominal wage / price index)",
    "price_index": "index (consumer price index of the place, numeraire = 1)",
    "rent": "nominal, model units", "utility": "index", "welfare": "index (units of utility)",
    "ag_wage": "k CNY per farm worker a year, nominal",
    "in_migration": "m persons a year", "out_migration": "m persons a year",
    "external_net_migration": "m persons a year", "exports_external": NOMINAL,
    "imports_external": NOMINAL, "visitors": "m trips a year", "visitor_spending": NOMINAL,
    "output": NOMINAL, "employment": "m persons", "firms": "firm mass",
    "movers": "m persons a year", "households": "agents", "freight": NOMINAL,
    "freight_regional": NOMINAL,
}
"""Units of the results tables' columns, written into each Parquet file's metadata
(``sim.units``, JSON) and into the manifest (``units``)."""


def _to_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` with its columns' units in the Parquet schema metadata (key ``sim.units``).

    Columns are converted in this thread (``nthreads=1``): the same table, without starting a
    thread pool for a few thousand rows.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False, nthreads=1)
    units = {c: COLUMN_UNITS[c] for c in df.columns if c in COLUMN_UNITS}
    meta = dict(table.schema.metadata or {})
    meta[b"sim.units"] = json.dumps(units).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def parquet_units(path) -> dict:
    """The column units stored in a results Parquet file (empty if none)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"sim.units")
    return json.loads(raw) if raw else {}


def manifest_json(obj, depth: int = 2, level: int = 0) -> str:
    """JSON text of a manifest: mappings indented to ``depth`` levels, deeper values on one line.

    ``json.loads`` gives back what ``json.dumps(obj, default=str)`` would: the top-level keys
    and those of mappings under them (the scenario's sections, the solver's entries) one per
    line, each deeper value (a region table, a list of residuals) as one line. The indented
    writer of the json module is pure Python: it took 5 ms for the Jilin manifest, this 1 ms.
    """
    if level >= depth or not isinstance(obj, dict) or not obj \
            or not all(isinstance(k, str) for k in obj):
        return json.dumps(obj, default=str)
    pad = "  " * (level + 1)
    items = [f"{pad}{json.dumps(k)}: {manifest_json(v, depth, level + 1)}"
             for k, v in obj.items()]
    return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"


def write_results(results: Results, out, *, force: bool = False) -> Path:
    """Write ``results`` to folder ``out`` atomically.

    Every number is checked to be finite before anything is written.

    Raises
    ------
    ResultsError
        If ``out`` exists and ``force`` is False or it is not a sim folder, a table holds a
        non-finite number (naming table, column, year and place), or the folder cannot be
        written (nothing is written).
    """
    out = Path(out)
    _check_finite(results)
    with atomic_folder(out, force=force) as tmp:
        counts = {}
        for t in TABLES + OPTIONAL_TABLES:
            df = getattr(results, t)
            if df is not None:
                _to_parquet(df, tmp / f"{t}.parquet")
                counts[t] = len(df)
                fault_point(t)
        manifest = dict(results.manifest, results_format=RESULTS_FORMAT, units=COLUMN_UNITS,
                        tables=counts)
        manifest[FOLDER_KEY] = "results"
        (tmp / MANIFEST).write_text(manifest_json(manifest))
    return out


def load_results(path) -> Results:
    """Read a results folder written by :func:`write_results`.

    Raises
    ------
    ResultsError
        Naming the folder and what is missing or unreadable.
    """
    path = Path(path)
    if not path.is_dir():
        raise ResultsError(f"{path}: not a results folder (does not exist)")
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing {MANIFEST}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}/{MANIFEST}: corrupt ({e})") from None
    except OSError as e:
        raise ResultsError(f"{path}/{MANIFEST}: unreadable ({e.strerror or e})") from None
    if not isinstance(manifest, dict):
        raise ResultsError(f"{path}/{MANIFEST}: corrupt (a JSON object is expected, found "
                           f"{type(manifest).__name__})")
    kind = manifest.get(FOLDER_KEY, "results")
    if kind != "results":
        raise ResultsError(f"{path}: a {kind} folder written by sim, not a results folder")
    if "results_format" not in manifest:
        raise ResultsError(f"{path}/{MANIFEST}: incomplete (no results_format: not written by "
                           f"sim.write_results)")
    tables = {}
    for t in TABLES + OPTIONAL_TABLES:
        f = path / f"{t}.parquet"
        if not f.exists():
            if t in OPTIONAL_TABLES:
                continue
            raise ResultsError(f"{path}: missing {t}.parquet")
        try:
            tables[t] = pd.read_parquet(f, engine="pyarrow")
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise ResultsError(f"{f}: corrupt parquet ({type(e).__name__}: {e})") from None
        missing = [c for c in REQUIRED_COLUMNS.get(t, ()) if c not in tables[t].columns]
        if missing:
            raise ResultsError(f"{f}: corrupt (missing columns {', '.join(missing)})")
    counts = manifest.get("tables")
    for t, df in tables.items():
        if isinstance(counts, dict) and t in counts and counts[t] != len(df):
            raise ResultsError(f"{path}/{t}.parquet: incomplete ({len(df)} rows, the manifest "
                               f"records {counts[t]})")
    if isinstance(counts, dict):
        for t in counts:
            if t not in tables:
                raise ResultsError(f"{path}: missing {t}.parquet (listed in the manifest)")
    places = tables["places"]
    if places.empty:
        raise ResultsError(f"{path}/places.parquet: incomplete (no rows)")
    years = set(pd.unique(places["year"]))
    for key in ("start_year", "end_year"):
        if key in manifest and manifest[key] not in years:
            raise ResultsError(f"{path}/places.parquet: incomplete (no rows for {key} "
                               f"{manifest[key]!r})")
    return Results(places=tables["places"], sectors=tables["sectors"], manifest=manifest,
                   firms=tables.get("firms"), migration=tables.get("migration"),
                   links=tables.get("links"))
