"""Results in memory and on disk (io layer: never imports the model or the kernels).

A results folder holds ``manifest.json`` (resolved scenario, seed, versions, wall time, solver
iterations and residuals), ``places.parquet`` and ``sectors.parquet`` (tidy tables), and where
the run has them ``firms.parquet`` and ``migration.parquet``. Folders
are written atomically: built in a temporary sibling folder, then renamed into place; an
existing folder is never replaced unless ``force=True``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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


@contextmanager
def atomic_folder(out, *, force: bool = False):
    """Build a folder in a temporary sibling and rename it to ``out`` only on success.

    Yields the temporary folder's path. On any error the temporary folder is removed and
    ``out`` is untouched; an existing ``out`` is replaced only with ``force=True``.

    Raises
    ------
    ResultsError
        If ``out`` exists and ``force`` is False (nothing is written).
    """
    out = Path(out)
    if out.exists() and not force:
        raise ResultsError(f"{out}: folder exists; use --force to overwrite")
    out.parent.mkdir(parents=True, exist_ok=True)
    # a unique sibling made with os.mkdir, so that it gets the usual permissions (the umask's),
    # not mkdtemp's 0700
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
    """Write ``df`` with its columns' units in the Parquet schema metadata (key ``sim.units``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
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


def write_results(results: Results, out, *, force: bool = False) -> Path:
    """Write ``results`` to folder ``out`` atomically.

    Raises
    ------
    ResultsError
        If ``out`` exists and ``force`` is False (nothing is written).
    """
    out = Path(out)
    with atomic_folder(out, force=force) as tmp:
        _to_parquet(results.places, tmp / "places.parquet")
        _to_parquet(results.sectors, tmp / "sectors.parquet")
        for t in OPTIONAL_TABLES:
            df = getattr(results, t)
            if df is not None:
                _to_parquet(df, tmp / f"{t}.parquet")
        manifest = dict(results.manifest, results_format=RESULTS_FORMAT, units=COLUMN_UNITS)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
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
    if not isinstance(manifest, dict):
        raise ResultsError(f"{path}/{MANIFEST}: corrupt (a JSON object is expected, found "
                           f"{type(manifest).__name__})")
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
    return Results(places=tables["places"], sectors=tables["sectors"], manifest=manifest,
                   firms=tables.get("firms"), migration=tables.get("migration"),
                   links=tables.get("links"))
