"""Sensitivity indices: known answers through our design and SALib wiring, and a small
real sweep with a Morris design."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.sensitivity import morris_indices, sobol_indices
from sim.cli import main
from sim.sweep import Design, ParamSpec, design_matrix, salib_problem

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"


def test_sobol_ishigami_known_indices():
    """Ishigami function, a = 7, b = 0.1, x_i ~ U(-pi, pi): analytical first-order indices
    S1 = (0.3139, 0.4424, 0) and total indices ST = (0.5576, 0.4424, 0.2437)
    (Ishigami & Homma 1990; values from Saltelli et al. 2008, Global Sensitivity Analysis:
    The Primer, section 4.6 / Sobol' & Levitan 1999)."""
    ps = tuple(ParamSpec(f"x{i}", "uniform", (-np.pi, np.pi)) for i in (1, 2, 3))
    X = design_matrix(Design("sobol", samples=2048, seed=3), ps)
    Y = np.sin(X[:, 0]) + 7 * np.sin(X[:, 1]) ** 2 + 0.1 * X[:, 2] ** 4 * np.sin(X[:, 0])
    t = sobol_indices(salib_problem(ps), Y, seed=3)
    assert t["S1"].to_numpy() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.03)
    assert t["ST"].to_numpy() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.03)


def test_sobol_linear_model_first_order_only():
    """Y = sum a_i x_i with independent uniforms: S1_i = ST_i = a_i^2 w_i^2 / sum_j a_j^2 w_j^2
    (w_i the range width; additive model, Saltelli et al. 2008, ch. 1)."""
    a = np.array([1.0, 2.0, 0.5])
    w = np.array([1.0, 1.0, 4.0])
    ps = tuple(ParamSpec(f"x{i}", "uniform", (0.0, float(w[i]))) for i in range(3))
    X = design_matrix(Design("sobol", samples=1024, seed=1, second_order=False), ps)
    t = sobol_indices(salib_problem(ps), X @ a, second_order=False, seed=1)
    exact = (a * w) ** 2 / ((a * w) ** 2).sum()
    assert t["S1"].to_numpy() == pytest.approx(exact, abs=0.02)
    assert t["ST"].to_numpy() == pytest.approx(exact, abs=0.02)


def test_morris_linear_model_exact():
    """For Y = sum a_i x_i every elementary effect of x_i is a_i times its range (SALib's
    unscaled effects per unit of the [0, 1]-scaled input): mu* = |mu| = |a_i| w_i, sigma = 0
    (Morris 1991; Campolongo, Cariboni & Saltelli 2007)."""
    a = np.array([3.0, -2.0, 0.0])
    lo, hi = np.array([0.0, 1.0, -1.0]), np.array([2.0, 4.0, 1.0])
    ps = tuple(ParamSpec(f"x{i}", "uniform", (lo[i], hi[i])) for i in range(3))
    X = design_matrix(Design("morris", samples=6, seed=2, levels=4), ps)
    t = morris_indices(salib_problem(ps), X, X @ a, levels=4, seed=2)
    assert t["mu_star"].to_numpy() == pytest.approx(np.abs(a) * (hi - lo))
    assert t["mu"].to_numpy() == pytest.approx(a * (hi - lo))
    assert t["sigma"].to_numpy() == pytest.approx(0.0, abs=1e-9)


def test_constant_output_gives_nan_not_an_error():
    ps = tuple(ParamSpec(f"x{i}", "uniform", (0.0, 1.0)) for i in range(2))
    X = design_matrix(Design("sobol", samples=8, seed=1), ps)
    assert sobol_indices(salib_problem(ps), np.zeros(len(X))).isna().all().all()


def test_morris_sweep_on_toy_region(tmp_path, capsys):
    """A real (small) sweep: Morris design over three elasticities, policy vs baseline."""
    f = tmp_path / "m.yaml"
    f.write_text(f"""schema_version: 1
name: toy-morris
scenarios: [{SCEN / 'example.yaml'}, {SCEN / 'example_link.yaml'}]
baseline: example
seeds: [1]
design: {{method: morris, samples: 3, levels: 4, seed: 5}}
parameters:
  sigma: {{range: [4, 6]}}
  migration_elasticity: {{range: [1.0, 2.5]}}
  distance_elasticity: {{range: [0.25, 0.45]}}
end_year: 2026
""")
    out = tmp_path / "out"
    assert main(["sweep", str(f), "--out", str(out), "--workers", "2"]) == 0
    assert "sensitivity: sensitivity.csv" in capsys.readouterr().out
    t = pd.read_csv(out / "sensitivity.csv")
    assert set(t["parameter"]) == {"sigma", "migration_elasticity", "distance_elasticity"}
    assert set(t["output"]) == {"example-link vs example"}
    gdp = t[t["indicator"] == "GDP (%)"].set_index("parameter")
    assert {"GDP (%)", "welfare (%)", "Theil index of GDP per capita (%)"} <= set(t["indicator"])
    assert np.isfinite(gdp["mu_star"]).all() and (gdp["mu_star"] >= 0).all()
    assert (out / "sensitivity.svg").exists() and (out / "sensitivity.md").exists()
    m = json.loads((out / "sweep.json").read_text())
    assert m["design"]["points"] == 3 * (3 + 1)
    assert main(["sensitivity", str(out), "--out", str(tmp_path / "s")]) == 0
    assert "mu_star" in capsys.readouterr().out
    assert (tmp_path / "s" / "sensitivity.png").exists()
    assert main(["sensitivity", str(tmp_path)]) == 2  # not a sweep folder
