"""History calibration: drifts of the fundamentals that reproduce an observed decade.

A run from an earlier census year (e.g. 2010, on that year's network) is calibrated to the base
year as usual (productivity to GDP, amenities to a migration steady state); then each internal
place's amenity and productivity fundamentals drift at constant rates ``g^B_n`` and ``g^A_n``
(log points a year, [D5]) chosen so that the run reproduces the later census year's residents
and GDP by place. This is the idea of Caliendo, Dvorkin & Parro (2019): counterfactuals are
deviations from a baseline that matches observed data. The drifts are then carried into the
later base year's baseline under a rule chosen in the scenario (persist, decay, stop).

``structural`` mode fits productivity drifts to GDP only and keeps amenities fixed: the
migration the model predicts from observed GDP alone, a test of the migration mechanism
(``docs/validation.md``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sim.engine.calibrate import CalibrationError, calibrate
from sim.engine.runner import run_scenario
from sim.scenario.schema import Scenario


def with_drifts(sc: Scenario, amenity: dict, productivity: dict) -> Scenario:
    """``sc`` with the internal places' drifts replaced (missing ids keep theirs)."""
    places = tuple(dataclasses.replace(
        p, amenity_drift=float(amenity.get(p.id, p.amenity_drift)),
        productivity_drift=float(productivity.get(p.id, p.productivity_drift)))
        for p in sc.region.places)
    return dataclasses.replace(sc, region=dataclasses.replace(sc.region, places=places))


def targets_from(sc: Scenario) -> pd.DataFrame:
    """Residents and GDP by internal place of a (later) base-year scenario: history targets."""
    rows = [(p.id, p.mobile_pop + p.ag_pop, p.gdp) for p in sc.region.places if not p.external]
    return pd.DataFrame(rows, columns=["place", "population", "gdp"]).set_index("place")


def _final(sc: Scenario, end: int):
    res = run_scenario(dataclasses.replace(sc, calibrate=False), end_year=end)
    p = res.places[res.places["year"] == end].set_index("place")
    return p


def calibrate_history(sc: Scenario, targets: pd.DataFrame, *, end_year: int | None = None,
                      structural: bool = False, tol: float = 1e-6, max_eval: int = 400):
    """Drifts of amenities and productivities that reproduce ``targets`` in ``end_year``.

    Parameters
    ----------
    sc : Scenario
        The earlier base year (e.g. 2010 populations, GDP and network); calibrated to its base
        year first (``calibrate`` is implied). Its ``parameters.drift`` must be ``persist``.
    targets : pandas.DataFrame
        Index ``place`` (internal ids), columns ``population`` (residents, millions) and
        ``gdp`` (bn CNY at the prices of the scenario's GDP; NaN: no target).
    end_year : int, optional
        The target year (default ``sc.time.end``).
    structural : bool
        Fit productivity drifts to GDP only; amenity drifts stay 0 and base-year amenities make
        a migration steady state (``net_migration`` targets are dropped), so that nothing but
        GDP informs the predicted populations.
    tol : float
        Max |log(model / target)| over all targets.
    max_eval : int
        Model runs allowed to the root finder.

    Returns
    -------
    calibrated : Scenario
        ``sc`` with base-year fundamentals and the fitted drifts (``calibrate`` off).
    fit : pandas.DataFrame
        By internal place: targets, model values in ``end_year``, log errors and drifts;
        ``fit.attrs`` has ``evaluations`` and ``max_log_error``.

    Raises
    ------
    CalibrationError
        If the root finder does not reach ``tol``.
    """
    from scipy.optimize import root

    if sc.parameters.drift != "persist":
        raise CalibrationError("history calibration needs parameters.drift: persist")
    end = sc.time.end if end_year is None else int(end_year)
    if structural:  # no information from the target year: a base-year steady state
        sc = dataclasses.replace(sc, region=dataclasses.replace(sc.region, places=tuple(
            dataclasses.replace(p, net_migration=None) for p in sc.region.places)))
    base, _ = calibrate(dataclasses.replace(sc, policies=()))
    ids = [p.id for p in base.region.places if not p.external]
    zero = dict.fromkeys(ids, 0.0)
    base = with_drifts(base, zero, zero)  # drifts are what is fitted: start from none
    tg = targets.reindex(ids)
    if tg["population"].isna().any():
        missing = [i for i in ids if pd.isna(tg.loc[i, "population"])]
        raise CalibrationError(f"no target population for {', '.join(missing)}")
    gdp_ids = [i for i in ids if pd.notna(tg.loc[i, "gdp"])]
    pop_ids = [] if structural else ids
    years = end - sc.time.start
    evals = [0]

    def run(x):
        gb = dict(zip(pop_ids, x[:len(pop_ids)], strict=True))
        ga = dict(zip(gdp_ids, x[len(pop_ids):], strict=True))
        evals[0] += 1
        return _final(with_drifts(base, gb, ga), end)

    def fun(x):
        p = run(x)
        r_pop = np.log(p.loc[pop_ids, "population"].to_numpy()
                       / tg.loc[pop_ids, "population"].to_numpy())
        r_gdp = np.log(p.loc[gdp_ids, "gdp"].to_numpy() / tg.loc[gdp_ids, "gdp"].to_numpy())
        return np.concatenate([r_pop, r_gdp])

    # start: the log gap spread over the decade (productivity); amenities from a first step
    r0 = fun(np.zeros(len(pop_ids) + len(gdp_ids)))
    x0 = -r0 / max(years, 1)
    sol = root(fun, x0, method="hybr", options={"maxfev": max_eval, "xtol": 1e-12})
    x = sol.x
    r = fun(x)
    err = float(np.max(np.abs(r))) if len(r) else 0.0
    if not np.isfinite(err) or err > tol:
        raise CalibrationError(f"history calibration did not converge: max log error {err:.2e} "
                               f"after {evals[0]} runs ({sol.message})")
    gb = dict(zip(pop_ids, x[:len(pop_ids)], strict=True))
    ga = dict(zip(gdp_ids, x[len(pop_ids):], strict=True))
    out = with_drifts(base, gb, ga)
    p = _final(out, end)
    fit = pd.DataFrame({
        "population_start": [pl.mobile_pop + pl.ag_pop for pl in base.region.places
                             if not pl.external],
        "population_target": tg["population"].to_numpy(),
        "population_model": p.loc[ids, "population"].to_numpy(),
        "gdp_target": tg["gdp"].to_numpy(),
        "gdp_model": p.loc[ids, "gdp"].to_numpy(),
        "net_migration_end": (p.loc[ids, "in_migration"] - p.loc[ids, "out_migration"]).to_numpy()
        / p.loc[ids, "population"].to_numpy(),
        "amenity_drift": [gb.get(i, 0.0) for i in ids],
        "productivity_drift": [ga.get(i, 0.0) for i in ids],
    }, index=pd.Index(ids, name="place"))
    fit["population_log_error"] = np.log(fit["population_model"] / fit["population_target"])
    fit["gdp_log_error"] = np.log(fit["gdp_model"] / fit["gdp_target"])
    fit.attrs.update(evaluations=evals[0], max_log_error=err, start_year=sc.time.start,
                     end_year=end, structural=structural)
    return dataclasses.replace(out, calibrate=False), fit
