"""Recorder: preallocated per-year arrays, turned into tidy tables at the end of a run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.build import StaticData

PLACE_VARS = (
    "population", "mobile", "agricultural", "gdp", "wage", "real_wage", "price_index",
    "rent", "utility", "ag_wage", "in_migration", "out_migration", "external_net_migration",
    "welfare", "exports_external", "imports_external", "visitors", "visitor_spending",
)
SECTOR_VARS = ("output", "employment", "wage", "firms", "price_index")
FIRM_VARS = ("firms", "entries", "exits", "relocations_in", "relocations_out",
             "employment_p10", "employment_p50", "employment_p90", "mean_productivity")
MIGRATION_MIN = 1e-6  # flows below one worker (1e-6 million) are not written
# Freight is assigned to links (all-or-nothing on shortest-path trees) and written to
# links.parquet only for regions up to this many places (internal + external): measured, the
# assignment adds ~0.03 s a year at 100 places but ~0.28 s at 300 (docs/indicators.md).
LINK_TABLE_MAX_PLACES = 100
MIGRATION_TABLE_DENSE_MAX = 500
"""Up to this many places the migration table keeps every flow of at least one worker."""
MIGRATION_TABLE_TOP_K = 20
"""Above it, the table keeps each origin's 20 largest destinations (docs/model.md, section 8)."""


class Recorder:
    """Collects year x internal-place (x sector) outputs into preallocated arrays.

    Parameters
    ----------
    static : StaticData
    years : sequence of int
        The years that will be recorded, in order.
    """

    def __init__(self, static: StaticData, years, *, firms: bool = False, links: bool = False):
        self.all_ids = np.asarray(static.place_ids, dtype=object)
        self.years = np.asarray(list(years), dtype=np.int64)
        self.place_idx = np.flatnonzero(static.internal)
        self.place_ids = [static.place_ids[i] for i in self.place_idx]
        self.sector_ids = list(static.sector_ids)
        T, n, K = len(self.years), len(self.place_idx), static.n_sectors
        self.places = {v: np.full((T, n), np.nan) for v in PLACE_VARS}
        self.sectors = {v: np.full((T, n, K), np.nan) for v in SECTOR_VARS}
        self.iterations = np.zeros(T, dtype=np.int64)
        self.residual = np.full(T, np.nan)
        self.network_recomputations = 0
        self.n_recorded = 0
        self.has_firms = firms
        if firms:
            self.firms = {v: np.zeros((T, n, K)) for v in FIRM_VARS}
        self.migration: list[dict] = []
        self.has_links = links
        self.mode_ids = np.asarray(static.mode_ids, dtype=object)
        self.links: list[tuple] = []

    def record(self, t: int, places: dict, sectors: dict, iterations: int, residual: float):
        """Store year index ``t``; arrays are over all places and are subset to internal ones."""
        idx = self.place_idx
        for v in PLACE_VARS:
            self.places[v][t] = np.asarray(places[v])[idx]
        for v in SECTOR_VARS:
            self.sectors[v][t] = np.asarray(sectors[v])[idx]
        self.iterations[t] = iterations
        self.residual[t] = residual
        self.n_recorded = max(self.n_recorded, t + 1)

    def record_firms(self, t: int, counts, stats, employment, z_levels):
        """Store firm outcomes of year index ``t``.

        Parameters
        ----------
        counts : ndarray, shape (N, K, Q)
            Firms by productivity level (mass units).
        stats : dict of ndarray, shape (N, K)
            ``entries``, ``exits``, ``moved_in``, ``moved_out`` decided this year.
        employment : ndarray, shape (N, K, Q)
            Employment of one firm of each type.
        z_levels : ndarray, shape (Q,)
        """
        idx = self.place_idx
        c = counts[idx]
        tot = c.sum(axis=2)
        f = self.firms
        f["firms"][t] = tot
        f["entries"][t] = stats["entries"][idx]
        f["exits"][t] = stats["exits"][idx]
        f["relocations_in"][t] = stats["moved_in"][idx]
        f["relocations_out"][t] = stats["moved_out"][idx]
        emp = employment[idx]
        for p, name in ((0.1, "employment_p10"), (0.5, "employment_p50"),
                        (0.9, "employment_p90")):
            f[name][t] = weighted_quantile(emp, c, p)
        f["mean_productivity"][t] = np.divide((c * z_levels).sum(axis=2), tot,
                                              out=np.zeros_like(tot), where=tot > 0)

    def record_migration(self, year: int, flows):
        """Store the non-negligible entries of a flow matrix (aggregate resolution)."""
        o, d = np.nonzero(flows >= MIGRATION_MIN)
        self.migration.append({"year": year, "origin": o, "destination": d,
                               "movers": flows[o, d], "households": None})

    def record_migration_table(self, year: int, origin, destination, movers):
        """Store a sparse flow table (aggregate resolution, from the migration kernel)."""
        order = np.lexsort((destination, origin))
        self.migration.append({"year": year, "origin": np.asarray(origin)[order],
                               "destination": np.asarray(destination)[order],
                               "movers": np.asarray(movers, dtype=float)[order],
                               "households": None})

    def record_migration_pairs(self, year: int, origin, destination, scale: float):
        """Store household-agent moves, aggregated by (origin, destination)."""
        N = len(self.all_ids)
        cnt = np.bincount(origin * N + destination, minlength=N * N)
        cell = np.flatnonzero(cnt)
        self.migration.append({"year": year, "origin": cell // N, "destination": cell % N,
                               "movers": cnt[cell] * scale, "households": cnt[cell]})

    def record_links(self, year: int, volume: dict):
        """Store freight on each active freight link, ``{(from, to, mode): (all, regional)}``."""
        if not volume:
            return
        key = np.array(list(volume.keys()), dtype=np.int64).reshape(-1, 3)
        val = np.array(list(volume.values()), dtype=float).reshape(-1, 2)
        self.links.append((year, key, val))

    def link_frame(self) -> pd.DataFrame | None:
        """Tidy table: year, from, to, mode, freight, freight_regional (bn CNY a year).

        ``freight`` is every flow the link carries (transit between external places included);
        ``freight_regional`` only flows with an internal origin or destination. None if the
        table is not recorded (regions above ``LINK_TABLE_MAX_PLACES`` places).
        """
        if not self.has_links or not self.links:
            return None
        key = np.concatenate([k for _, k, _ in self.links])
        val = np.concatenate([v for _, _, v in self.links])
        return pd.DataFrame({
            "year": np.concatenate([np.full(len(k), y) for y, k, _ in self.links]),
            "from": self.all_ids[key[:, 0]], "to": self.all_ids[key[:, 1]],
            "mode": self.mode_ids[key[:, 2]],
            "freight": val[:, 0], "freight_regional": val[:, 1],
        })

    def firm_frame(self) -> pd.DataFrame | None:
        """Tidy table: one row per (year, place, sector); None without firm dynamics."""
        if not self.has_firms:
            return None
        return self._sector_table(self.firms, FIRM_VARS)

    def migration_frame(self) -> pd.DataFrame | None:
        """Tidy table of moves: year, origin, destination, movers (millions) [, households]."""
        if not self.migration:
            return None
        agents = self.migration[0]["households"] is not None
        cols = {
            "year": np.concatenate([np.full(len(m["origin"]), m["year"])
                                    for m in self.migration]),
            "origin": _labels(self.all_ids,
                              np.concatenate([m["origin"] for m in self.migration])),
            "destination": _labels(self.all_ids,
                                   np.concatenate([m["destination"] for m in self.migration])),
            "movers": np.concatenate([m["movers"] for m in self.migration]).astype(float),
        }
        if agents:
            cols["households"] = np.concatenate([m["households"] for m in self.migration])
        return pd.DataFrame(cols)

    def place_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (year, place)."""
        T = self.n_recorded
        n = len(self.place_ids)
        cols = {"year": np.repeat(self.years[:T], n),
                "place": _labels(np.asarray(self.place_ids, dtype=object),
                                 np.tile(np.arange(n), T))}
        for v in PLACE_VARS:
            cols[v] = self.places[v][:T].reshape(-1)
        return pd.DataFrame(cols)

    def sector_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (year, place, sector)."""
        return self._sector_table(self.sectors, SECTOR_VARS)

    def _sector_table(self, arrays: dict, names) -> pd.DataFrame:
        T = self.n_recorded
        n, K = len(self.place_ids), len(self.sector_ids)
        cols = {"year": np.repeat(self.years[:T], n * K),
                "place": _labels(np.asarray(self.place_ids, dtype=object),
                                 np.tile(np.repeat(np.arange(n), K), T)),
                "sector": _labels(np.asarray(self.sector_ids, dtype=object),
                                  np.tile(np.arange(K), T * n))}
        for v in names:
            cols[v] = arrays[v][:T].reshape(-1)
        return pd.DataFrame(cols)


def _labels(ids, index):
    """The column ``ids[index]`` of string labels, in the dtype pandas gives such a column.

    With pandas' string dtype (pandas 3: pyarrow-backed ``str``), the few distinct ids are
    converted once and gathered by position (``take``) instead of converting every row's
    Python string (a 3.2-million-row migration table: 0.03 s against 0.22 s per column);
    with object columns (pandas 2), the object array itself. The same table either way.
    """
    dtype = pd.Series(ids[:1]).dtype
    if isinstance(dtype, np.dtype):  # object
        return ids[index]
    return pd.array(ids, dtype=dtype).take(index)


def weighted_quantile(values, weights, p):
    """Quantile p of ``values`` weighted by ``weights`` along the last axis (0 if no weight).

    Parameters
    ----------
    values, weights : ndarray, shape (..., Q)
    p : float in [0, 1]

    Returns
    -------
    ndarray, shape (...)
        The smallest value whose cumulative weight share reaches p.
    """
    order = np.argsort(values, axis=-1)
    v = np.take_along_axis(values, order, axis=-1)
    w = np.take_along_axis(weights, order, axis=-1)
    cw = np.cumsum(w, axis=-1)
    tot = cw[..., -1:]
    share = np.divide(cw, tot, out=np.zeros_like(cw), where=tot > 0)
    j = np.argmax(share >= p - 1e-12, axis=-1)
    out = np.take_along_axis(v, j[..., None], axis=-1)[..., 0]
    return np.where(tot[..., 0] > 0, out, 0.0)
