"""Finished decomposition folders (``sim decompose``): read without the engine.

A decomposition folder holds ``manifest.json`` (components, coalitions, sessions),
``contributions.csv`` (Shapley value, stand-alone and last-in effects of every component on
every indicator, with the total), ``interactions.csv`` (pairwise Shapley interaction indices,
exact decompositions only), ``coalitions.csv`` (the effect of every coalition run) and the
coalition runs under ``runs/``. Written by :mod:`sim.sweep.decompose`; read here so that
analysis and reports (``sim report --decomposition``) need not import the sweep machinery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.errors import SimError


@dataclass
class Decomposition:
    """A finished decomposition.

    Attributes
    ----------
    path : pathlib.Path
        Its folder.
    components : list of str
    contributions, interactions, values : pandas.DataFrame
        Tidy tables (see :func:`sim.analysis.shapley.decomposition_table`); ``values``: the
        effect of every coalition run (indicator x coalition, the coalition written as a
        string of 0/1 per component).
    manifest : dict
    """

    path: Path
    components: list
    contributions: pd.DataFrame
    interactions: pd.DataFrame
    values: pd.DataFrame
    manifest: dict = field(default_factory=dict)

    def table(self, indicators=None) -> pd.DataFrame:
        """Shapley contributions as component x indicator (plus the total row)."""
        c = self.contributions
        if indicators is not None:
            c = c[c["indicator"].isin(list(indicators))]
        t = c.pivot(index="component", columns="indicator", values="shapley")
        if indicators is not None:
            t = t[[i for i in indicators if i in t.columns]]
        order = [*self.components, "total"]
        return t.reindex([o for o in order if o in t.index])


def is_decomposition_folder(path) -> bool:
    """Whether ``path`` is a finished decomposition folder."""
    p = Path(path) / "manifest.json"
    try:
        return p.is_file() and json.loads(p.read_text()).get("status") == "complete" \
            and (Path(path) / "contributions.csv").is_file()
    except (OSError, ValueError):
        return False


def load_decomposition(path) -> Decomposition:
    """Read a finished decomposition folder.

    Raises
    ------
    sim.errors.SimError
        The folder is missing or unfinished.
    """
    path = Path(path)
    if not is_decomposition_folder(path):
        raise SimError(f"{path}: not a finished decomposition folder (sim decompose)")
    man = json.loads((path / "manifest.json").read_text())
    return Decomposition(path=path, components=man["component_names"],
                         contributions=pd.read_csv(path / "contributions.csv"),
                         interactions=pd.read_csv(path / "interactions.csv"),
                         values=pd.read_csv(path / "coalitions.csv", index_col=0),
                         manifest=man)
