"""Ensemble comparison of sweep folders (analysis layer: never imports the model or Mesa).

``sim compare SWEEP_FOLDER [...]`` lands here when a folder holds ``sweep.json``. For every
member run the yearly indicators of :func:`~sim.analysis.indicators.indicators` are computed
(:func:`member_indicators`; formulas in docs/indicators.md): provincial GDP, growth, population,
GDP per capita, welfare, primacy, radiation, group shares, external trade, tourism, Theil, Gini,
CV and sigma convergence. Then:

* :func:`bands`: mean, 5th, 50th and 95th percentiles across the members of each scenario
  (seeds and parameter draws) per year and indicator; with a reference scenario also the bands
  of the paired policy effect (% difference against the reference at the same design point and
  seed);
* :func:`beat_probabilities`: for each other scenario B and each indicator, the share of paired
  members (same design point and seed) whose final-year value of B exceeds the reference A's,
  and the share in which B is *better*, with the direction stated (``BETTER``);
* :func:`band_plot`: mean lines and 5-95% bands per indicator (PNG and SVG).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.indicators import indicators
from sim.errors import SweepError
from sim.results import Results
from sim.results.sweeps import Sweep, load_sweep

BETTER = {
    "GDP": "higher", "GDP growth": "higher", "population": "higher",
    "GDP per capita": "higher", "welfare": "higher", "real wage": "higher",
    "external trade": "higher", "tourism output": "higher",
    "tourism visitor spending": "higher", "tourism visitors (policy)": "higher",
    "Theil index of GDP per capita": "lower", "Gini of GDP per capita": "lower",
    "CV of GDP per capita": "lower", "sigma: sd of log GDP per capita": "lower",
}
"""Which direction of an indicator (docs/indicators.md) is better. Every other indicator
(primacy and group shares, radiation, border and port trade) is ``n/a``: concentration and
where growth lands are trade-offs, not goals, so only P(B > A) is reported for them."""

BAND_INDICATORS = ("GDP", "population", "GDP per capita", "welfare",
                   "Theil index of GDP per capita", "radiation: circle GDP growth minus rest")
"""Indicators drawn by :func:`band_plot` (those a sweep has)."""

PERCENTILES = (5, 50, 95)


def headline_subset(sweep: Sweep) -> list[str]:
    """The headline indicators of a sweep: ``BAND_INDICATORS`` and the core's GDP share."""
    core = (sweep.groups().get("core") or [None])[0]
    return [*BAND_INDICATORS[:4], *([f"{core} share of GDP"] if core else []),
            *BAND_INDICATORS[4:]]


def better(indicator: str) -> str:
    """``higher``, ``lower`` or ``n/a`` for an indicator name (see ``BETTER``)."""
    if indicator in BETTER:
        return BETTER[indicator]
    return "n/a"


def member_indicators(sweep: Sweep) -> pd.DataFrame:
    """Yearly indicators of every successful member run (``sim.analysis.indicators``).

    Every member gets the same place groups (the reference scenario's), so that primacy,
    radiation and group shares are comparable across scenarios. Policy spending is left out
    (it is an input, not an outcome).

    Parameters
    ----------
    sweep : Sweep

    Returns
    -------
    pandas.DataFrame
        Columns run_id, scenario, point, seed, year, indicator, unit, value.
    """
    p, s = sweep.places, sweep.sectors
    if p.empty:
        raise SweepError(f"{sweep.path}: no successful runs to compare")
    groups = sweep.groups()
    sectors = dict(tuple(s.groupby("run_id", sort=False)))
    parts = []
    for rid, pp in p.groupby("run_id", sort=True):
        res = Results(places=pp.drop(columns="run_id").reset_index(drop=True),
                      sectors=sectors[rid].drop(columns="run_id").reset_index(drop=True),
                      manifest={"scenario": {"groups": groups}})
        parts.append(indicators(res, groups=groups).assign(run_id=rid))
    long = pd.concat(parts, ignore_index=True)
    long = long[long["indicator"] != "policy spending"]
    meta = sweep.runs.set_index("run_id")[["scenario", "point", "seed"]]
    long = long.join(meta, on="run_id")
    order = list(dict.fromkeys(long["indicator"]))
    long["indicator"] = pd.Categorical(long["indicator"], categories=order, ordered=True)
    return long[["run_id", "scenario", "point", "seed", "year", "indicator", "unit", "value"]] \
        .sort_values(["scenario", "indicator", "year", "run_id"], kind="stable") \
        .reset_index(drop=True)


def _summary(df: pd.DataFrame, keys) -> pd.DataFrame:
    def q(p):
        def f(x):
            v = x.to_numpy(float)
            v = v[np.isfinite(v)]
            return float(np.percentile(v, p)) if len(v) else np.nan
        return f

    agg = df.groupby(keys, observed=True, sort=True)["value"].agg(
        n="count", mean="mean", **{f"p{p}": q(p) for p in PERCENTILES})
    return agg.reset_index()


DIFFERENCE_UNITS = ("%", "pp")
"""Indicators in these units (shares, radiation) get their effect as a difference (pp), not a
% change of a percentage."""


def paired_effects(ind: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Effect of every scenario against ``reference`` at the same design point and seed.

    Returns
    -------
    pandas.DataFrame
        Columns scenario, point, seed, year, indicator, ``value`` (the effect: 100 (B / A - 1),
        or B - A in percentage points for indicators in % or pp), ``unit`` (``%`` or ``pp``:
        the effect's unit), ``difference`` (B - A); members without a successful partner are
        dropped; a % effect is NaN where the reference is 0.
    """
    keys = ["point", "seed", "year", "indicator"]
    ref = ind[ind["scenario"] == reference].set_index(keys)["value"]
    other = ind[ind["scenario"] != reference]
    a = other.set_index(keys).index.map(ref)
    out = other.assign(reference=np.asarray(a, float))
    out = out[np.isfinite(out["reference"])]
    ref_v = out["reference"].to_numpy(float)
    diff = out["value"].to_numpy(float) - ref_v
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(ref_v != 0, 100.0 * (out["value"].to_numpy(float) / ref_v - 1.0), np.nan)
    units = out["unit"].to_numpy(object) if "unit" in out.columns else np.full(len(out), "")
    in_pp = np.isin(units, DIFFERENCE_UNITS)
    out = out.assign(difference=diff, value=np.where(in_pp, diff, pct),
                     unit=np.where(in_pp, "pp", "%"))
    return out.drop(columns="reference").reset_index(drop=True)


def bands(ind: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """Mean and percentile bands across members, per scenario, year and indicator.

    Parameters
    ----------
    ind : pandas.DataFrame
        :func:`member_indicators`.
    reference : str, optional
        Also give the bands of the paired effect of each other scenario against it (kind
        ``effect``: % change, or pp difference for indicators in % or pp; see ``unit``).

    Returns
    -------
    pandas.DataFrame
        Columns kind (``level`` or ``effect``), scenario, year, indicator, unit, n, mean, p5,
        p50, p95 (``numpy.percentile``, linear interpolation).
    """
    if "unit" not in ind.columns:
        ind = ind.assign(unit="")
    out = [_summary(ind, ["scenario", "year", "indicator", "unit"]).assign(kind="level")]
    if reference is not None:
        eff = paired_effects(ind, reference)
        if len(eff):
            out.append(_summary(eff, ["scenario", "year", "indicator", "unit"])
                       .assign(kind="effect"))
    df = pd.concat(out, ignore_index=True)
    return df[["kind", "scenario", "year", "indicator", "unit", "n", "mean", "p5", "p50",
               "p95"]]


def beat_probabilities(ind: pd.DataFrame, reference: str, year: int | None = None
                       ) -> pd.DataFrame:
    """Probability that each scenario beats ``reference`` on each indicator (final year).

    Members are paired by design point and seed. ``p_greater`` is the share of pairs in which
    the scenario's value exceeds the reference's; ``p_better`` is the share in which it is
    better in the indicator's stated direction (``higher``: = p_greater; ``lower``: the share
    in which it is smaller; ``n/a``: NaN).

    Returns
    -------
    pandas.DataFrame
        Columns scenario, reference, indicator, better, n_pairs, p_greater, p_better.
    """
    y = int(ind["year"].max()) if year is None else year
    eff = paired_effects(ind[ind["year"] == y], reference)
    rows = []
    for (sc, key), d in eff.groupby(["scenario", "indicator"], observed=True, sort=True):
        diff = d["difference"].to_numpy(float)
        direction = better(str(key))
        pg = float(np.mean(diff > 0)) if len(diff) else np.nan
        pl = float(np.mean(diff < 0)) if len(diff) else np.nan
        pb = {"higher": pg, "lower": pl}.get(direction, np.nan)
        rows.append((sc, reference, key, direction, len(diff), pg, pb))
    return pd.DataFrame(rows, columns=["scenario", "reference", "indicator", "better",
                                       "n_pairs", "p_greater", "p_better"])


def _load(folders) -> tuple[pd.DataFrame, str, str]:
    """Indicators of one or more sweep folders, the reference scenario and a title."""
    sweeps = [f if isinstance(f, Sweep) else load_sweep(f) for f in folders]
    parts, names = [], []
    for sw in sweeps:
        ind = member_indicators(sw)
        if len(sweeps) > 1:
            ind["run_id"] = f"{sw.path.name}/" + ind["run_id"]
        dup = set(ind["scenario"]) & set(names)
        if dup:
            raise SweepError(f"{sw.path}: scenario {sorted(dup)[0]!r} is also in another sweep "
                             f"folder; compare folders with different scenarios")
        names += list(dict.fromkeys(sw.scenarios))
        parts.append(ind)
    if len(sweeps) > 1:
        d0 = sweeps[0].manifest["design"]["matrix"]
        for sw in sweeps[1:]:
            if sw.manifest["design"]["matrix"] != d0 or sw.manifest["seeds"] != \
                    sweeps[0].manifest["seeds"]:
                raise SweepError(f"{sw.path}: its design points or seeds differ from "
                                 f"{sweeps[0].path}'s, so members cannot be paired")
    ref = sweeps[0].baseline or sweeps[0].scenarios[0]
    title = ", ".join(sw.manifest["name"] for sw in sweeps)
    return pd.concat(parts, ignore_index=True), ref, title


def compare_ensembles(*folders) -> dict[str, pd.DataFrame]:
    """Bands and beat probabilities of one or more sweep folders.

    The reference is the first folder's ``baseline`` (else its first scenario). Several
    folders are paired by design point and seed, so they must share the design and seeds.

    Returns
    -------
    dict
        ``indicators`` (member_indicators), ``bands``, ``probabilities``, ``final`` (final-year
        bands) and ``reference`` (a one-row frame naming the reference scenario).
    """
    ind, ref, _ = _load(folders)
    b = bands(ind, ref)
    y1 = int(ind["year"].max())
    return {"indicators": ind, "bands": b, "final": b[b["year"] == y1].reset_index(drop=True),
            "probabilities": beat_probabilities(ind, ref),
            "reference": pd.DataFrame({"reference": [ref]})}


