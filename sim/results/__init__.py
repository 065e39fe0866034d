"""The results folder of one run: tables in memory (:class:`Results`), written atomically
(:func:`write_results`, :func:`atomic_folder`) and read back (:func:`load_results`);
:mod:`sim.results.sweeps` reads finished sweep folders.

Owns the on-disk format of results (``manifest.json``, Parquet tables). May import only the
foundation modules (``sim.errors``): reading results never imports the scenario loader, the
engine or Mesa, so analysis tools stay light.
"""

from sim.results.folder import (
    MANIFEST,
    OPTIONAL_TABLES,
    REQUIRED_COLUMNS,
    RESULTS_FORMAT,
    TABLES,
    Results,
    ResultsError,
    atomic_folder,
    load_results,
    write_results,
)

__all__ = ["MANIFEST", "OPTIONAL_TABLES", "REQUIRED_COLUMNS", "RESULTS_FORMAT", "TABLES",
           "Results", "ResultsError", "atomic_folder", "load_results", "write_results"]
