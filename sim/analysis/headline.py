"""Headline comparison of a policy run against its baseline (results only; no model import).

``headline(policy, baseline)`` puts the final-year value of every yearly indicator of
:func:`~sim.analysis.indicators.indicators` (provincial GDP, growth, population, GDP per capita,
welfare, the core's primacy shares, radiation, group GDP shares, external and border/port trade,
tourism, inequality and sigma convergence) next to each other, followed by the whole-horizon effects
of :func:`sim.analysis.indicators.effects` (welfare equivalent variation, cumulative and discounted
GDP gains, spending, cost-effectiveness, beta convergence). Formulas: ``docs/indicators.md``.

Each row states its ``better`` direction (``higher``, ``lower`` or ``n/a`` for trade-offs such
as concentration) and its ``kind``: ``outcome``, or ``input`` for what the scenario sets
(spending, visitors and their spending), which are shown but are not results. Indicators in
points, shares or growth rates get their difference only (a % change of a percentage misleads:
a radiation indicator going from -2.6 to -3.6 pp is a worsening, not "+38%"). With a
decomposition (``sim decompose``) or an ensemble (a sweep folder), the headline adds the top
contributors and the 5-95% band of the effect.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sim.analysis.indicators import DISCOUNT_RATE, effects, gini, indicators, theil, weighted_cv

__all__ = ["headline", "theil", "gini", "weighted_cv", "better_direction", "indicator_kind",
           "DIFFERENCE_ONLY_UNITS", "INPUTS"]

DIFFERENCE_ONLY_UNITS = ("%", "pp", "% a year", "log points x 100")
"""Units of indicators that are points, shares or rates: the headline shows the difference
only (no % difference)."""

INPUTS = ("policy spending", "discounted policy spending", "tourism visitors (policy)",
          "tourism visitor spending")
"""Indicators the scenario sets (inputs): spending and the visitors of tourism policies."""

_BETTER = {
    "GDP": "higher", "real GDP": "higher", "GDP growth": "higher", "real GDP growth": "higher",
    "population": "higher", "GDP per capita": "higher", "welfare": "higher",
    "real wage": "higher", "external trade": "higher", "border and port trade": "higher",
    "tourism output": "higher", "Theil index of GDP per capita": "lower",
    "Gini of GDP per capita": "lower", "CV of GDP per capita": "lower",
    "sigma: sd of log GDP per capita": "lower",
    "radiation: circle GDP growth minus rest": "higher",
    "radiation: circle population growth minus rest": "higher",
    "welfare: equivalent variation": "higher", "cumulative GDP gain": "higher",
    "discounted GDP gain": "higher", "cumulative real GDP gain": "higher",
    "discounted real GDP gain": "higher", "GDP gain per CNY spent": "higher",
    "discounted GDP gain per CNY spent": "higher", "welfare change": "higher",
    "beta convergence speed (policy)": "higher",
}


def _base_name(label: str) -> str:
    """An indicator row label without year, unit and parenthesised qualifiers."""
    s = re.sub(r" \((?:[^()]|\([^()]*\))*\)$", "", label.strip())  # trailing "(unit)"
    s = re.sub(r" \d{4}$", "", s)  # trailing year
    s = re.sub(r" \(\d+(?:\.\d+)?%\)$", "", s)  # "(8%)"
    s = re.sub(r" \(\d{4} prices\)$", "", s)  # "(2020 prices)"
    return s


def better_direction(label: str) -> str:
    """``higher``, ``lower`` or ``n/a`` (a trade-off or an input) for an indicator row label.

    Population counts as better when higher: the plan's aim for a shrinking province (the
    Jilin plan's stated goal of holding population); core and group shares are trade-offs.
    """
    name = _base_name(label)
    if indicator_kind(label) == "input":
        return "n/a"
    if name in _BETTER:
        return _BETTER[name]
    if name.startswith("welfare change"):
        return "higher"
    return "n/a"


def indicator_kind(label: str) -> str:
    """``input`` (set by the scenario: :data:`INPUTS`) or ``outcome``."""
    return "input" if _base_name(label) in INPUTS else "outcome"


def headline(policy, baseline, groups=None, *, rate=DISCOUNT_RATE, decomposition=None,
             ensemble=None, top: int = 3) -> pd.DataFrame:
    """Headline indicators, policy vs baseline.

    Parameters
    ----------
    policy, baseline : sim.results.Results
    groups : dict of str -> list of str, optional
        Place groups (default: the ``groups`` of the baseline's resolved scenario).
    rate : float
        Discount rate of the cost-effectiveness rows.
    decomposition : sim.results.decompositions.Decomposition, optional
        Adds ``top contributors``: the ``top`` components with the largest absolute Shapley
        values and their shares of the effect.
    ensemble : pandas.DataFrame, optional
        Final-year effect bands (``sim.analysis.ensemble.compare_ensembles(...)["final"]``):
        adds ``band 5-95%`` of the difference or % difference of matching indicators.
    top : int
        Contributors listed.

    Returns
    -------
    pandas.DataFrame
        Rows: indicators (final year, then whole-horizon effects, which have a policy value
        only); columns: ``baseline``, ``policy``, ``difference``, ``% difference`` (NaN for
        indicators in :data:`DIFFERENCE_ONLY_UNITS` and for effects), ``better``, ``kind``
        (and ``top contributors``, ``band 5-95%`` when given).
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
    units = fb.loc[common, "unit"].to_numpy(object)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where((b != 0) & ~np.isin(units, DIFFERENCE_ONLY_UNITS),
                       100.0 * (p / b - 1.0), np.nan)
    labels = [f"{i} {y1} ({u})" for i, u in zip(common, units, strict=True)]
    out = pd.DataFrame({"baseline": b, "policy": p, "difference": p - b, "% difference": pct},
                       index=pd.Index(labels, name="indicator"))
    eff = effects(policy, baseline, rate=rate)
    extra = pd.DataFrame({"baseline": np.nan, "policy": eff["value"].to_numpy(float),
                          "difference": np.nan, "% difference": np.nan},
                         index=pd.Index([f"{i} ({u})" for i, u in
                                         zip(eff.index, eff["unit"], strict=True)],
                                        name="indicator"))
    out = pd.concat([out, extra])
    out["better"] = [better_direction(i) for i in out.index]
    out["kind"] = [indicator_kind(i) for i in out.index]
    if decomposition is not None:
        out["top contributors"] = [_contributors(decomposition, i, top) for i in out.index]
    if ensemble is not None:
        out["band 5-95%"] = [_band(ensemble, i) for i in out.index]
    return out


def _contributors(dec, label: str, top: int) -> str:
    c = dec.contributions
    c = c[c["indicator"] == label]
    if not len(c):
        return ""
    tot = c[c["component"] == "total"]["shapley"]
    parts = c[~c["component"].isin(["total", "sum of components"])]
    if not len(parts) or not len(tot) or not np.isfinite(tot.iloc[0]) or tot.iloc[0] == 0:
        return ""
    parts = parts.reindex(parts["shapley"].abs().sort_values(ascending=False).index).head(top)
    return ", ".join(f"{r.component} {r.shapley:+.3g} ({100 * r.shapley / tot.iloc[0]:.0f}%)"
                     for r in parts.itertuples())


def _band(final: pd.DataFrame, label: str) -> str:
    f = final[final["kind"] == "effect"] if "kind" in final.columns else final
    name = _base_name(label)
    m = f[f["indicator"] == name]
    if not len(m):
        return ""
    r = m.iloc[0]
    unit = "pp" if r["unit"] == "pp" else "%"
    return f"[{r['p5']:+.3g}, {r['p95']:+.3g}] {unit}"
