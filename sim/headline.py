"""Headline comparison of a policy run against its baseline (results only; no model import).

``headline(policy, baseline)`` computes, for the final year: provincial GDP, population and GDP
per capita; the core's (first place of group ``core``) share of GDP and population; the
radiation effect on group ``circle`` (its GDP and population growth since the base year,
relative to the rest of the province); GDP and population of every other group; tourism
output (sector ``tourism``); inequality across places (population-weighted Theil index and
coefficient of variation of GDP per capita); the plan's cost and its cumulative GDP gain per CNY.
Formulas are in docs/model.md, section "Headline indicators".
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def theil(y, w):
    """Population-weighted Theil T index of per-capita values y (weights w)."""
    y, w = np.asarray(y, float), np.asarray(w, float)
    s = w / w.sum()
    mu = (s * y).sum()
    r = y / mu
    return float((s * r * np.log(np.where(r > 0, r, 1.0))).sum())


def weighted_cv(y, w):
    """Population-weighted coefficient of variation of y."""
    y, w = np.asarray(y, float), np.asarray(w, float)
    s = w / w.sum()
    mu = (s * y).sum()
    return float(np.sqrt((s * (y - mu) ** 2).sum()) / mu)


def _final(res):
    p = res.places
    y1 = p["year"].max()
    return p[p["year"] == y1].set_index("place"), p[p["year"] == p["year"].min()].set_index(
        "place"), y1


def headline(policy, baseline, groups=None) -> pd.DataFrame:
    """Headline indicators, policy vs baseline, final year.

    Parameters
    ----------
    policy, baseline : sim.results.Results
    groups : dict of str -> list of str, optional
        Place groups (default: the ``groups`` of the baseline's resolved scenario).

    Returns
    -------
    pandas.DataFrame
        Rows: indicators; columns: ``baseline``, ``policy``, ``difference``, ``% difference``.
    """
    if groups is None:
        groups = baseline.manifest.get("scenario", {}).get("groups", {}) or {}
    P, P0, y1 = _final(policy)
    B, B0, _ = _final(baseline)
    rows = []

    def add(name, b, p):
        rows.append((name, b, p, p - b, 100.0 * (p / b - 1.0) if b not in (0, 0.0) else np.nan))

    add(f"GDP {y1} (bn CNY)", B["gdp"].sum(), P["gdp"].sum())
    add(f"population {y1} (m)", B["population"].sum(), P["population"].sum())
    add(f"GDP per capita {y1} (k CNY)", B["gdp"].sum() / B["population"].sum(),
        P["gdp"].sum() / P["population"].sum())
    if "core" in groups:
        c = groups["core"][0]
        add(f"{c} share of GDP (%)", 100 * B.loc[c, "gdp"] / B["gdp"].sum(),
            100 * P.loc[c, "gdp"] / P["gdp"].sum())
        add(f"{c} share of population (%)", 100 * B.loc[c, "population"] / B["population"].sum(),
            100 * P.loc[c, "population"] / P["population"].sum())
    if "circle" in groups:
        circ = list(groups["circle"])
        core = list(groups.get("core", []))
        rest = [x for x in B.index if x not in circ and x not in core]
        for var in ("gdp", "population"):
            def rel(F, F0, var=var):
                g_c = F.loc[circ, var].sum() / F0.loc[circ, var].sum() - 1
                g_r = F.loc[rest, var].sum() / F0.loc[rest, var].sum() - 1
                return 100 * (g_c - g_r)
            add(f"radiation: circle {var} growth minus rest (pp)", rel(B, B0), rel(P, P0))
    for g, members in groups.items():
        if g in ("core",):
            continue
        m = list(members)
        add(f"{g} GDP (bn CNY)", B.loc[m, "gdp"].sum(), P.loc[m, "gdp"].sum())
        add(f"{g} population (m)", B.loc[m, "population"].sum(), P.loc[m, "population"].sum())
    def tourism(res):
        s = res.sectors
        return s[(s["year"] == y1) & (s["sector"] == "tourism")]["output"].sum()

    tb, tp = tourism(baseline), tourism(policy)
    if tb > 0:
        add(f"tourism output {y1} (bn CNY)", tb, tp)
    add("Theil index of GDP per capita", theil(B["gdp"] / B["population"], B["population"]),
        theil(P["gdp"] / P["population"], P["population"]))
    add("CV of GDP per capita", weighted_cv(B["gdp"] / B["population"], B["population"]),
        weighted_cv(P["gdp"] / P["population"], P["population"]))
    cost = sum(float(x.get("cost_cny", 0.0)) for x in
               policy.manifest.get("scenario", {}).get("policies", []))
    if cost > 0:
        gain = (policy.places.groupby("year")["gdp"].sum()
                - baseline.places.groupby("year")["gdp"].sum()).sum()
        rows.append(("policy cost (bn CNY)", 0.0, cost, cost, np.nan))
        rows.append(("cumulative GDP gain per CNY spent", np.nan, gain / cost, np.nan, np.nan))
    return pd.DataFrame(rows, columns=["indicator", "baseline", "policy", "difference",
                                       "% difference"]).set_index("indicator")
