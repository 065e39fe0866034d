"""Reading a finished sweep folder (``sweep.json`` and the consolidated tables).

Light on purpose: no model, no executors. Writing sweep folders is :mod:`sim.sweep.store`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import platform
import shutil
import socket
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.errors import ScenarioError, SimError, SweepError

MANIFEST = "sweep.json"




@dataclass
class Sweep:
    """A finished sweep folder in memory.

    Attributes
    ----------
    path : pathlib.Path
    manifest : dict
        ``sweep.json``: resolved sweep, design matrix, scenarios, sessions, versions.
    runs : pandas.DataFrame
        One row per member: run_id, point, scenario, scenario_path, the varied parameters,
        seed, status, error, wall_time_s, worker, warnings, calibration, same_as (the member
        whose tables these are, for seeds at aggregate resolution; else empty).
    places, sectors : pandas.DataFrame
        The members' Results tables with a leading ``run_id`` column (successful runs).
    """

    path: Path
    manifest: dict
    runs: pd.DataFrame
    places: pd.DataFrame
    sectors: pd.DataFrame

    @property
    def parameters(self) -> list:
        """Names of the varied parameters."""
        return list(self.manifest.get("parameters", []))

    @property
    def scenarios(self) -> list:
        """Scenario names in sweep-file order."""
        return [s["name"] for s in self.manifest.get("scenarios", [])]

    @property
    def baseline(self) -> str | None:
        """The reference scenario (the sweep's ``baseline``, else None)."""
        return self.manifest.get("baseline")

    def groups(self, scenario: str | None = None) -> dict:
        """Place groups of a scenario (default: the baseline, else the first scenario)."""
        name = scenario or self.baseline or self.scenarios[0]
        for s in self.manifest.get("scenarios", []):
            if s["name"] == name:
                return s.get("groups") or {}
        return {}


def is_sweep_folder(path) -> bool:
    """Whether ``path`` is a sweep results folder (holds ``sweep.json``)."""
    return (Path(path) / MANIFEST).is_file()


def load_sweep(path) -> Sweep:
    """Read a finished sweep folder (never imports the model).

    Raises
    ------
    SweepError
        Missing folder or ``sweep.json``, a sweep that did not finish (resume it), or a
        missing or corrupt table.
    """
    path = Path(path)
    if not path.is_dir():
        raise SweepError(f"{path}: not a sweep folder (does not exist)")
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        raise SweepError(f"{path}: not a sweep folder (missing {MANIFEST})") from None
    except ValueError as e:
        raise SweepError(f"{path}/{MANIFEST}: corrupt ({e})") from None
    except OSError as e:
        raise SweepError(f"{path}/{MANIFEST}: unreadable ({e.strerror or e})") from None
    if not isinstance(manifest, dict):
        raise SweepError(f"{path}/{MANIFEST}: corrupt (a JSON object is expected)")
    if manifest.get("status") != "complete":
        raise SweepError(f"{path}: the sweep did not finish; run `sim sweep "
                         f"{manifest.get('source') or 'SWEEP.yaml'} --out {path} --resume`")
    tables = {}
    for t in ("runs", "places", "sectors"):
        f = path / f"{t}.parquet"
        try:
            tables[t] = pd.read_parquet(f)
        except FileNotFoundError:
            raise SweepError(f"{path}: missing {t}.parquet") from None
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise SweepError(f"{f}: corrupt parquet ({type(e).__name__}: {e})") from None
    return Sweep(path=path, manifest=manifest, **tables)


