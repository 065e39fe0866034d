"""Wild parameters, finite results: random draws from the documented parameter ranges (the
priors of ``scenarios/sweeps/*.yaml``, each widened by half its width) on the Jilin plan to
2025. Every run either converges with finite, plausible values (no place's population grows or
shrinks tenfold in five years) or fails loudly with a diagnosis (ConvergenceError,
NumericalError or ScenarioError recorded by the sweep).

CI runs 4 draws (slow-marked). The full check, 200 draws, prints the share of each outcome::

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
LOUD = ("ConvergenceError", "NumericalError", "ScenarioError")


def widened_ranges() -> dict[str, tuple[float, float]]:
    """Each prior as an interval (the union over the sweep files), widened by half its width.

    Normal and lognormal priors span their 1st-99th percentiles. Bounds that a parameter's
    definition fixes (elasticities >= 0 where the prior is >= 0) are kept.
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
    wide = {}
    for k, (lo, hi) in out.items():
        w = (hi - lo) / 4
        wlo, whi = lo - w, hi + w
        if lo >= 0:
            wlo = max(wlo, 0.0 if k != "sigma_scale" else 0.3)
        if hi <= 0:
            whi = min(whi, 0.0)
        wide[k] = (wlo, whi)
    return wide


def wild_sweep_file(tmp_path: Path, draws: int, seed: int = 13) -> Path:
    params = {k: {"range": [round(lo, 6), round(hi, 6)]}
              for k, (lo, hi) in widened_ranges().items()}
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
            kind = str(r["error"]).split(":", 1)[0].replace("calibration failed", "").strip()
            outcome.append(f"loud {kind}" if kind in LOUD else f"UNEXPECTED {r['error']}")
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
def test_wild_parameter_draws_converge_or_fail_loudly(tmp_path):
    f = wild_sweep_file(tmp_path, DRAWS)
    out = run_sweep(f, tmp_path / "out", workers=min(2, os.cpu_count() or 1))
    runs, shares = classify(out)
    print(f"\nwild parameter draws: {len(runs)} on the Jilin plan to 2025; outcomes: {shares}")
    bad = runs[runs.outcome.str.startswith(("UNEXPECTED", "IMPLAUSIBLE"))]
    cols = [c for c in runs.columns if c in widened_ranges()] + ["outcome"]
    assert bad.empty, bad[cols].to_string()
    assert math.isclose(sum(shares.values()), 1.0, abs_tol=0.01)


def test_widened_ranges_cover_the_priors():
    r = widened_ranges()
    assert {"migration_elasticity", "agglomeration", "distance_elasticity"} <= set(r)
    lo, hi = r["distance_elasticity"]
    assert lo < 0.25 and hi > 0.45
