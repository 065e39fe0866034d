"""Recorder: preallocated per-year arrays, turned into tidy tables at the end of a run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.build import StaticData

PLACE_VARS = (
    "population", "mobile", "agricultural", "gdp", "wage", "real_wage", "price_index",
    "rent", "utility", "ag_wage", "in_migration", "out_migration", "external_net_migration",
)
SECTOR_VARS = ("output", "employment", "wage", "firms", "price_index")


class Recorder:
    """Collects year x internal-place (x sector) outputs into preallocated arrays.

    Parameters
    ----------
    static : StaticData
    years : sequence of int
        The years that will be recorded, in order.
    """

    def __init__(self, static: StaticData, years):
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

    def place_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (year, place)."""
        T = self.n_recorded
        n = len(self.place_ids)
        df = pd.DataFrame({
            "year": np.repeat(self.years[:T], n),
            "place": np.tile(np.asarray(self.place_ids, dtype=object), T),
        })
        for v in PLACE_VARS:
            df[v] = self.places[v][:T].reshape(-1)
        return df

    def sector_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (year, place, sector)."""
        T = self.n_recorded
        n, K = len(self.place_ids), len(self.sector_ids)
        df = pd.DataFrame({
            "year": np.repeat(self.years[:T], n * K),
            "place": np.tile(np.repeat(np.asarray(self.place_ids, dtype=object), K), T),
            "sector": np.tile(np.asarray(self.sector_ids, dtype=object), T * n),
        })
        for v in SECTOR_VARS:
            df[v] = self.sectors[v][:T].reshape(-1)
        return df
