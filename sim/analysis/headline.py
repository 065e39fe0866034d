"""Headline comparison of a policy run against its baseline (results only; no model import).

``headline(policy, baseline)`` puts the final-year value of every yearly indicator of
:func:`~sim.analysis.indicators.indicators` (provincial GDP, growth, population, GDP per capita,
welfare, the core's primacy shares, radiation, group GDP shares, external and border/port trade,
tourism, inequality and sigma convergence) next to each other, followed by the whole-horizon effects
of :func:`sim.analysis.indicators.effects` (welfare equivalent variation, cumulative and discounted
GDP gains, spending, cost-effectiveness, beta convergence). Formulas: ``docs/indicators.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.indicators import DISCOUNT_RATE, effects, gini, indicators, theil, weighted_cv

__all__ = ["headline", "theil", "gini", "weighted_cv"]


def headline(policy, baseline, groups=None, *, rate=DISCOUNT_RATE) -> pd.DataFrame:
    """Headline indicators, policy vs baseline.

    Parameters
    ----------
    policy, baseline : sim.results.Results
    groups : dict of str -> list of str, optional
        Place groups (default: the ``groups`` of the baseline's resolved scenario).
    rate : float
        Discount rate of the cost-effectiveness rows.

    Returns
    -------
    pandas.DataFrame
        Rows: indicators (final year, then whole-horizon effects, which have a policy value
        only); columns: ``baseline``, ``policy``, ``difference``, ``% difference``.
    """
    if groups is None:
        groups = baseline.manifest.get("scenario", {}).get("groups", {}) or {}
    ib = indicators(baseline, groups=groups)
    ip = indicators(policy, groups=groups)
    y1 = int(ib["year"].max())
    fb = ib[ib["year"] == y1].set_index("indicator")
    fp = ip[ip["year"] == y1].set_index("indicator")
    common = [i for i in fb.index if i in fp.index]
    b = fb.loc[common, "value"].to_numpy(float)
    p = fp.loc[common, "value"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(b != 0, 100.0 * (p / b - 1.0), np.nan)
    labels = [f"{i} {y1} ({u})" for i, u in zip(common, fb.loc[common, "unit"], strict=True)]
    out = pd.DataFrame({"baseline": b, "policy": p, "difference": p - b, "% difference": pct},
                       index=pd.Index(labels, name="indicator"))
    eff = effects(policy, baseline, rate=rate)
    extra = pd.DataFrame({"baseline": np.nan, "policy": eff["value"].to_numpy(float),
                          "difference": np.nan, "% difference": np.nan},
                         index=pd.Index([f"{i} ({u})" for i, u in
                                         zip(eff.index, eff["unit"], strict=True)],
                                        name="indicator"))
    return pd.concat([out, extra])
