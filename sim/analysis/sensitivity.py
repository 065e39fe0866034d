"""Global sensitivity of headline indicators to structural parameters (analysis layer).

Works on a finished sweep folder whose design is ``sobol`` or ``morris`` (never imports the
model or Mesa). The outputs analysed are the final-year headline indicators
(``sim.analysis.ensemble.headline_subset``: GDP, population, GDP per capita, welfare, the core's GDP
share, Theil index, radiation) of ``sim.analysis.ensemble.member_indicators``; when the sweep names
a ``baseline`` and has other scenarios, the output is the *policy effect*: 100 (B / A - 1) of each
other scenario B against the baseline A at the same design point and seed. Each output is averaged
over seeds, giving one value per design point, and passed to SALib:

* Sobol (``SALib.analyze.sobol``): first-order S1 and total-order ST indices with bootstrap
  95% confidence intervals, from the Saltelli (2010) estimator of S1 and the Jansen (1999)
  estimator of ST over a Sobol' sequence design (``SALib.sample.sobol``);
* Morris (``SALib.analyze.morris``): mean absolute elementary effect mu* (Campolongo, Cariboni &
  Saltelli 2007), mean mu and standard deviation sigma of the elementary effects (Morris 1991).

Formulas and references: docs/sweeps.md.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sim.errors import SweepError
from sim.results.sweeps import Sweep, load_sweep

SOBOL_COLUMNS = ["S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["mu", "mu_star", "sigma", "mu_star_conf"]


def sobol_indices(problem: dict, Y, *, second_order: bool = True, seed: int = 0
                  ) -> pd.DataFrame:
    """First- and total-order Sobol indices of one output (SALib ``analyze.sobol``).

    Parameters
    ----------
    problem : dict
        SALib problem (``names``, ``bounds``, ``num_vars``).
    Y : array-like
        Outputs at the points of ``SALib.sample.sobol.sample(problem, N, ...)``, in order.
    second_order : bool
        Whether the design included the second-order points.
    seed : int
        Seed of the bootstrap confidence intervals.

    Returns
    -------
    pandas.DataFrame
        Index: parameter; columns S1, S1_conf, ST, ST_conf (NaN for a constant output).
    """
    from SALib.analyze import sobol

    Y = np.asarray(Y, float)
    if not np.ptp(Y) > 0:
        return pd.DataFrame(np.nan, index=pd.Index(problem["names"], name="parameter"),
                            columns=SOBOL_COLUMNS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        si = sobol.analyze(problem, Y, calc_second_order=second_order, seed=seed)
    return pd.DataFrame({c: np.asarray(si[c], float) for c in SOBOL_COLUMNS},
                        index=pd.Index(problem["names"], name="parameter"))


def morris_indices(problem: dict, X, Y, *, levels: int = 4, seed: int = 0) -> pd.DataFrame:
    """Morris elementary-effect statistics of one output (SALib ``analyze.morris``).

    Returns
    -------
    pandas.DataFrame
        Index: parameter; columns mu, mu_star, sigma, mu_star_conf (in the output's units per
        full parameter range).
    """
    from SALib.analyze import morris

    X, Y = np.asarray(X, float), np.asarray(Y, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        si = morris.analyze(problem, X, Y, num_levels=levels, seed=seed)
    return pd.DataFrame({c: np.asarray(si[c], float) for c in MORRIS_COLUMNS},
                        index=pd.Index(problem["names"], name="parameter"))


def design_outputs(sweep: Sweep) -> pd.DataFrame:
    """Final-year outputs per design point (mean over seeds), one column per output.

    Returns
    -------
    pandas.DataFrame
        Index: design point (0..n-1); columns MultiIndex (output, indicator), where output is
        ``"<scenario> vs <baseline>"`` for policy effects (indicator labels carry the effect's
        unit: % change, or pp difference for shares and radiation), else the scenario name
        (levels).

    Raises
    ------
    SweepError
        If some design point has no successful run for an output (SALib needs them all).
    """
    from sim.analysis.ensemble import headline_subset, member_indicators, paired_effects

    ind = member_indicators(sweep)
    y1 = int(ind["year"].max())
    ind = ind[(ind["year"] == y1) & ind["indicator"].astype(str).isin(headline_subset(sweep))]
    base = sweep.baseline
    others = [s for s in sweep.scenarios if s != base]
    if base is not None and others:
        eff = paired_effects(ind, base)
        eff["output"] = eff["scenario"] + f" vs {base}"
        eff["indicator"] = eff["indicator"].astype(str) + " (" + eff["unit"] + ")"
        src = eff
    else:
        src = ind.assign(output=ind["scenario"])
    Y = src.groupby(["output", "indicator", "point"], observed=True)["value"].mean() \
        .unstack(["output", "indicator"])
    n = int(sweep.manifest["design"]["points"])
    Y = Y.reindex(range(n))
    missing = Y.index[Y.isna().any(axis=1)]
    if len(missing):
        failed = sweep.runs[sweep.runs["point"].isin(missing) & (sweep.runs["status"] != "ok")]
        ex = f" e.g. {failed['run_id'].iloc[0]}: {failed['error'].iloc[0]}" if len(failed) \
            else ""
        raise SweepError(f"{sweep.path}: {len(missing)} of {n} design points have no "
                         f"successful run (sensitivity indices need every point);{ex}")
    return Y


def sensitivity(sweep) -> pd.DataFrame:
    """Sobol or Morris indices of every headline output for every varied parameter.

    Parameters
    ----------
    sweep : Sweep or path-like
        A finished sweep with a ``sobol`` or ``morris`` design.

    Returns
    -------
    pandas.DataFrame
        Columns method, output, indicator, parameter and the index columns (Sobol: S1, S1_conf,
        ST, ST_conf; Morris: mu, mu_star, sigma, mu_star_conf).
    """
    sw = sweep if isinstance(sweep, Sweep) else load_sweep(sweep)
    d = sw.manifest["design"]
    method = d["method"]
    if method not in ("sobol", "morris"):
        raise SweepError(f"{sw.path}: design method {method!r}; sensitivity indices need a "
                         f"sobol or morris design")
    problem = d["problem"]
    Y = design_outputs(sw)
    X = np.asarray(d["matrix"], float)
    parts = []
    for (output, indicator), y in Y.items():
        if method == "sobol":
            t = sobol_indices(problem, y.to_numpy(), second_order=d["second_order"],
                              seed=d["seed"])
        else:
            t = morris_indices(problem, X, y.to_numpy(), levels=d["levels"], seed=d["seed"])
        parts.append(t.reset_index().assign(method=method, output=output,
                                            indicator=str(indicator)))
    df = pd.concat(parts, ignore_index=True)
    lead = ["method", "output", "indicator", "parameter"]
    return df[lead + [c for c in df.columns if c not in lead]]


