"""Wild parameters, finite results: random draws from the documented parameter ranges (the
priors of ``scenarios/sweeps/*.yaml``, as published and widened by half their width) on the
Jilin plan to 2025. Every run either converges with finite, plausible values or fails loudly
(CalibrationError, ConvergenceError, NumericalError or ScenarioError recorded by the sweep)
with a diagnosis: failing stage, year, residual and the parameters likely at fault
(``sim.engine.diagnose``).

Plausible: every population is finite and no place's population in 2025 is more than ten times
or less than a tenth of its 2020 value. Frictional migration moves at most the reconsidering
share of workers a year, so only parameters far outside the priors (sigma about 2 with a
migration elasticity about 6 and no amenity congestion) imply a tenfold change in five years.

CI runs 4 draws from the widened box, which contains the priors (slow-marked); the full check,
200 draws from each box, prints the share of each outcome::

    SIM_WILD_DRAWS=200 .venv/bin/python -m pytest tests/test_wild_parameters.py -m slow -s
"""

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.sweep import load_sweep, load_sweep_spec, run_sweep

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
DRAWS = int(os.environ.get("SIM_WILD_DRAWS", "4"))
LONG = "SIM_WILD_DRAWS" in os.environ
LOUD = ("CalibrationError", "ConvergenceError", "NumericalError", "ScenarioError")


def prior_ranges() -> dict[str, tuple[float, float]]:
    """Each prior as an interval: the union over the sweep files.

    Normal and lognormal priors span their 1st-99th percentiles.
    """
    out: dict[str, tuple[float, float]] = {}
    for f in SWEEPS:
        for p in load_sweep_spec(f).parameters:
            a = p.args
            if p.prior in ("range", "uniform"):
                lo, hi = a
            elif p.prior == "triangular":
                lo, hi = a[0], a[2]
            elif p.prior == "normal":
                lo, hi = stats.norm.ppf([0.01, 0.99], a[0], a[1])
            elif p.prior == "lognormal":
                lo, hi = a[0] * np.exp(stats.norm.ppf([0.01, 0.99]) * a[1])
            else:  # values
                lo, hi = min(a), max(a)
            if p.name in out:
                lo, hi = min(lo, out[p.name][0]), max(hi, out[p.name][1])
            out[p.name] = (float(lo), float(hi))
    return out


def widened_ranges() -> dict[str, tuple[float, float]]:
    """Each prior interval (:func:`prior_ranges`) widened by half its width.

    Bounds that a parameter's definition fixes (elasticities >= 0 where the prior is >= 0) are
    kept.
    """
    wide = {}
    for k, (lo, hi) in prior_ranges().items():
        w = (hi - lo) / 4
        wlo, whi = lo - w, hi + w
        if lo >= 0:
            wlo = max(wlo, 0.0 if k != "sigma_scale" else 0.3)
        if hi <= 0:
            whi = min(whi, 0.0)
        wide[k] = (wlo, whi)
    return wide


def wild_sweep_file(tmp_path: Path, draws: int, seed: int = 13, box: str = "widened") -> Path:
    ranges = widened_ranges() if box == "widened" else prior_ranges()
    params = {k: {"range": [round(lo, 6), round(hi, 6)]} for k, (lo, hi) in ranges.items()}
    spec = {"schema_version": 1, "name": "wild", "scenarios": [str(ROOT / "scenarios" /
                                                                  "plan.yaml")],
            "seeds": [2020], "design": {"method": "lhs", "samples": draws, "seed": seed},
            "parameters": params, "end_year": 2025}
    f = tmp_path / "wild.yaml"
    f.write_text(yaml.safe_dump(spec, sort_keys=False))
    return f


def classify(folder) -> tuple[pd.DataFrame, dict]:
    s = load_sweep(folder)
    runs = s.runs.copy()
    outcome = []
    p = s.places
    for _, r in runs.iterrows():
        if r["status"] != "ok":
            err = str(r["error"]).removeprefix("calibration failed: ")
            kind = err.split(":", 1)[0].strip()
            loud = kind in LOUD and (kind == "ScenarioError" or "; diagnosis: " in err)
            outcome.append(f"loud {kind}" if loud else f"UNEXPECTED {r['error']}")
            continue
        pr = p[p.run_id == r["run_id"]].pivot(index="year", columns="place",
                                              values="population")
        ratio = pr.iloc[-1] / pr.iloc[0]
        finite = np.isfinite(pr.to_numpy()).all()
        plausible = finite and bool(((ratio < 10) & (ratio > 0.1)).all())
        outcome.append("ok plausible" if plausible else "IMPLAUSIBLE")
    runs["outcome"] = outcome
    shares = runs["outcome"].value_counts(normalize=True).round(3).to_dict()
    return runs, shares


@pytest.mark.slow
@pytest.mark.parametrize("box", [
    pytest.param("priors", marks=pytest.mark.skipif(
        not LONG, reason="full check only (SIM_WILD_DRAWS=200); CI draws from the widened box")),
    "widened"])
def test_wild_parameter_draws_converge_or_fail_loudly(tmp_path, box):
    f = wild_sweep_file(tmp_path, DRAWS, box=box)
    out = run_sweep(f, tmp_path / "out", workers=min(2, os.cpu_count() or 1))
    runs, shares = classify(out)
    print(f"\nwild parameter draws ({box}): {len(runs)} on the Jilin plan to 2025; "
          f"outcomes: {shares}")
    bad = runs[runs.outcome.str.startswith(("UNEXPECTED", "IMPLAUSIBLE"))]
    cols = [c for c in runs.columns if c in widened_ranges()] + ["outcome", "error"]
    assert bad.empty, bad[cols].to_string()
    assert math.isclose(sum(shares.values()), 1.0, abs_tol=0.01)
    if box == "priors":  # the requirement: >= 99% of draws inside the priors converge
        assert shares.get("ok plausible", 0.0) >= 0.99, shares


def test_widened_ranges_cover_the_priors():
    r = widened_ranges()
    assert {"migration_elasticity", "agglomeration", "distance_elasticity"} <= set(r)
    lo, hi = r["distance_elasticity"]
    assert lo < 0.25 and hi > 0.45


def test_published_ranges_are_the_sweep_priors():
    """The diagnosis's published ranges are the sweep files' priors (sigma: scaled sectors)."""
    from sim.engine.diagnose import PUBLISHED_RANGES
    from sim.scenario.load import load_scenario

    pri = prior_ranges()
    for k, (lo, hi) in pri.items():
        if k == "sigma_scale":
            sig = [s.sigma for s in load_scenario(ROOT / "scenarios" / "plan.yaml").region.sectors]
            lo, hi = lo * min(sig), hi * max(sig)
            k = "sigma"
        assert PUBLISHED_RANGES[k] == pytest.approx((lo, hi), abs=0.01), k
    assert set(PUBLISHED_RANGES) == {("sigma" if k == "sigma_scale" else k) for k in pri}


def test_bad_draw_fails_loudly_with_a_diagnosis():
    """A migration elasticity far below its prior: the base-year amenities would have to differ
    by factors of order exp(1/eps); the amenity inversion fails and says why."""
    from sim.engine.calibrate import CalibrationError
    from sim.engine.runner import run_scenario
    from sim.scenario.load import load_scenario
    from sim.sweep.spec import apply_parameters

    sc = apply_parameters(load_scenario(ROOT / "scenarios" / "plan.yaml"),
                          {"migration_elasticity": 0.003, "agglomeration": 0.06})
    with pytest.warns(RuntimeWarning), pytest.raises(CalibrationError) as ei:
        run_scenario(sc, end_year=2021)
    d = ei.value.diagnosis
    assert d["stage"] == "amenity inversion" and d["year"] == 2020
    assert d["suspects"] == ["migration_elasticity"] and d["outside"] == ["migration_elasticity"]
    assert d["residual"] > d["tol"] == 1e-8
    msg = str(ei.value)
    assert "diagnosis: amenity inversion failed in year 2020" in msg
    assert "migration_elasticity = 0.003 is outside its published range 0.75 to 3.3" in msg


def test_equilibrium_failure_names_solver_settings_or_stage_parameters():
    import dataclasses

    from sim.engine.diagnose import diagnosis
    from sim.engine.runner import run_scenario
    from sim.errors import ConvergenceError
    from sim.scenario.load import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "example.yaml")
    bad = dataclasses.replace(sc, calibrate=False,
                              solver=dataclasses.replace(sc.solver, max_iter=3))
    with pytest.raises(ConvergenceError) as ei:
        run_scenario(bad, end_year=sc.time.start + 1)
    d = ei.value.diagnosis
    assert d["stage"] == "annual equilibrium" and d["year"] == sc.time.start
    assert d["suspects"] == ["solver.max_iter"] and d["values"]["solver.max_iter"] == 3
    assert "iterations=3" in str(ei.value) and "solver.max_iter = 3" in str(ei.value)
    # inside the priors and default solver: the stage's own parameters are named
    d = diagnosis(sc, "annual equilibrium", year=2023, residual=1e-3, tol=1e-10)
    assert d["outside"] == [] and d["suspects"][0] == "sigma"
    assert "in year 2023" in d["text"] and "residual 0.001 (tol 1.0e-10)" in d["text"]
    # sigma (1 - housing_share) <= 1: the uniqueness condition fails and is named first
    from sim.sweep.spec import apply_parameters

    d = diagnosis(apply_parameters(sc, {"sigma": 1.2}), "annual equilibrium")
    assert d["suspects"][:2] == ["sigma", "housing_share"]
    assert "sigma = 1.2 is outside" in d["text"] and "(Redding 2016)" in d["text"]
