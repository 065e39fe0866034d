"""The best use of a budget: the allocation map, a closed-form optimum, a toy-region run."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.sweep.optimize import allocation, optimize, pareto

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example.yaml"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp("opt")
    (d / "base.yaml").write_text(f"schema_version: 1\nextends: {EXAMPLE}\nname: optbase\n"
                                 "time: {start: 2020, end: 2022}\n")
    (d / "plan.yaml").write_text(
        "schema_version: 1\nextends: base.yaml\nname: optplan\npolicies:\n"
        "  - {type: productivity, label: 'east: zone', places: [east], factor: 1.03,"
        " start: 2021, cost_cny: 5}\n"
        "  - {type: productivity, label: 'south: zone', places: [south], factor: 1.03,"
        " start: 2021, cost_cny: 5}\n")
    return d


def test_allocation_map_spends_the_budget_within_bounds():
    c = allocation([0.2, 0.8, 0.0], 10.0, [0, 1, 0], [10, 4, 10])
    assert c.sum() == pytest.approx(10.0) and c[1] == pytest.approx(4.0)
    assert c[0] > 0 and c[2] == 0.0
    np.testing.assert_allclose(allocation([0, 0], 6.0, [0, 0], [6, 6]), [3, 3])


def test_closed_form_optimum_found_to_one_percent(toy, tmp_path):
    # effects a c1^eta + b c2^eta with c1 + c2 = B: c1* = B / (1 + (b/a)^(1/(1-eta)))
    a, b, eta, B = 3.0, 1.0, 0.5, 100.0
    c1 = B / (1 + (b / a) ** (1 / (1 - eta)))

    def ev(c):
        return {"discounted real GDP gain (8%) (bn CNY)": a * c[0] ** eta + b * c[1] ** eta,
                "Theil index of GDP per capita 2022 (index)": 0.001 * c[0]}

    o = optimize(toy / "plan.yaml", toy / "base.yaml", levers=["east", "south"], budget=B,
                 evaluate=ev, out=tmp_path / "o", maxiter=30, popsize=10)
    assert o.allocation["east"] == pytest.approx(c1, rel=0.01)
    assert o.allocation.sum() == pytest.approx(B)
    assert len(o.frontier) >= 2  # GDP up means Theil up here: a real trade-off


def test_pareto_keeps_non_dominated_rows():
    import pandas as pd

    df = pd.DataFrame({"g": [1, 2, 3, 2.5], "t": [0.1, 0.2, 0.5, 0.6]})
    assert pareto(df, "g", "t")["g"].tolist() == [1, 2, 3]


def test_toy_region_optimisation_runs_and_resumes_from_its_cache(toy, tmp_path):
    kw = {"levers": ["east", "south"], "budget": 10.0, "end_year": 2022, "workers": 0,
          "maxiter": 2, "popsize": 3, "out": tmp_path / "o"}
    o = optimize(toy / "plan.yaml", toy / "base.yaml", **kw)
    assert o.allocation.sum() == pytest.approx(10.0)
    assert o.objective >= o.plan_objective - 1e-9  # at least as good as the equal split
    n = o.info["evaluations"]
    again = optimize(toy / "plan.yaml", toy / "base.yaml", **kw)  # every run cached
    assert again.info["evaluations"] == 0 and n > 0
    assert again.allocation.equals(o.allocation)
    r = subprocess.run([sys.executable, "-m", "sim", "optimize", str(toy / "plan.yaml"),
                        "--baseline", str(toy / "base.yaml"), "--lever", "east", "--lever",
                        "south", "--budget", "10", "--end-year", "2022", "--workers", "0",
                        "--maxiter", "2", "--popsize", "3", "--out", str(tmp_path / "o"),
                        "--quiet"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "optimum" in r.stdout and "east" in r.stdout
