"""Ensemble comparison of sweep folders: bands and beat probabilities on hand-computed
toy data, band plots, the `sim compare` dispatch, and no model import."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.ensemble import (
    bands,
    beat_probabilities,
    compare_ensembles,
    member_indicators,
)
from sim.analysis.headline import theil
from sim.cli import main
from sim.results.sweeps import Sweep
from sim.viz.outputs import write_ensemble_comparison

ROOT = Path(__file__).resolve().parents[1]


def toy_sweep(path=Path("toy")):
    """Two scenarios A (reference) and B, 5 design points, 1 seed, two places, years 0-1.

    Year 1 GDP of A's core at point i is 10 + i, of B's 10 + 2 i - 1 (B ahead except at i = 0).
    The periphery has GDP 5 and population 1; the core has population 2.
    """
    places, runs, sectors = [], [], []
    for sc in ("A", "B"):
        for i in range(5):
            rid = f"p{i:04d}-{sc}-s1"
            runs.append({"run_id": rid, "point": i, "scenario": sc, "seed": 1,
                         "status": "ok", "x": float(i)})
            for year in (0, 1):
                core = 10.0 if year == 0 else (10.0 + i if sc == "A" else 10.0 + 2 * i - 1)
                places += [{"run_id": rid, "year": year, "place": "core", "gdp": core,
                            "population": 2.0, "mobile": 2.0, "real_wage": 1.0},
                           {"run_id": rid, "year": year, "place": "rim", "gdp": 5.0,
                            "population": 1.0, "mobile": 1.0, "real_wage": 1.0}]
                sectors += [{"run_id": rid, "year": year, "place": pl, "sector": "goods",
                             "output": g, "employment": 1.0}
                            for pl, g in (("core", core), ("rim", 5.0))]
    manifest = {"name": "toy", "status": "complete", "baseline": "A", "parameters": ["x"],
                "seeds": [1], "scenarios": [{"name": "A", "groups": {"core": ["core"]}},
                                            {"name": "B", "groups": {"core": ["core"]}}],
                "design": {"method": "grid", "points": 5, "matrix": [[i] for i in range(5)]}}
    return Sweep(path=path, manifest=manifest, runs=pd.DataFrame(runs),
                 places=pd.DataFrame(places), sectors=pd.DataFrame(sectors))


def test_member_indicators_match_headline_formulas():
    ind = member_indicators(toy_sweep())
    v = ind.set_index(["run_id", "year", "indicator"])["value"]
    assert v[("p0003-A-s1", 1, "GDP")] == 18.0
    assert v[("p0003-A-s1", 1, "population")] == 3.0
    assert v[("p0003-A-s1", 1, "GDP per capita")] == 6.0
    assert v[("p0003-A-s1", 1, "core share of GDP")] == pytest.approx(100 * 13 / 18)
    T = "Theil index of GDP per capita"
    assert v[("p0003-A-s1", 1, T)] == pytest.approx(theil([6.5, 5.0], [2.0, 1.0]))


def test_bands_by_hand():
    b = bands(member_indicators(toy_sweep()), reference="A")
    gdp = b[(b["indicator"] == "GDP") & (b["year"] == 1)].set_index(["kind", "scenario"])
    # A: GDP 15..19 -> mean 17; numpy linear percentiles: p5 = 15 + 0.05*4 = 15.2, p95 = 18.8
    a = gdp.loc[("level", "A")]
    assert (a["n"], a["mean"], a["p5"], a["p50"], a["p95"]) == (5, 17.0, 15.2, 17.0, 18.8)
    # B: GDP 14, 16, 18, 20, 22 -> mean 18, p5 14.4, p95 21.6
    bb = gdp.loc[("level", "B")]
    assert (bb["mean"], bb["p5"], bb["p50"], bb["p95"]) == pytest.approx((18, 14.4, 18, 21.6))
    # effect of B vs A, paired by point: 100 (B/A - 1) = 100 (i - 1) / (15 + i)
    e = gdp.loc[("effect", "B")]
    assert e["unit"] == "%"
    eff = [100 * (i - 1) / (15 + i) for i in range(5)]
    assert e["mean"] == pytest.approx(np.mean(eff))
    assert e["p95"] == pytest.approx(np.percentile(eff, 95))
    # shares (unit %) get their effect in percentage points: core share at point i is
    # 100 (10 + i) / (15 + i) in A and 100 (9 + 2 i) / (14 + 2 i) in B
    sh = b[(b["indicator"] == "core share of GDP") & (b["year"] == 1)
           & (b["kind"] == "effect")].iloc[0]
    pp = [100 * (9 + 2 * i) / (14 + 2 * i) - 100 * (10 + i) / (15 + i) for i in range(5)]
    assert sh["unit"] == "pp" and sh["mean"] == pytest.approx(np.mean(pp))


def test_beat_probabilities_by_hand():
    p = beat_probabilities(member_indicators(toy_sweep()), "A").set_index("indicator")
    # B's GDP exceeds A's at points 2, 3, 4 (equal at 1, below at 0): 3 of 5
    assert p.loc["GDP", "p_greater"] == 0.6 and p.loc["GDP", "p_better"] == 0.6
    assert p.loc["GDP", "better"] == "higher" and p.loc["GDP", "n_pairs"] == 5
    # population is equal everywhere: B never beats A
    assert p.loc["population", "p_greater"] == 0.0
    # Theil: lower is better. A is perfectly equal at point 0 (both places 5 per head), equal
    # to B at point 1 and more equal than B at points 2-4: B is never better
    assert p.loc["Theil index of GDP per capita", "better"] == "lower"
    T = "Theil index of GDP per capita"
    assert p.loc[T, "p_better"] == 0.0 and p.loc[T, "p_greater"] == 0.8
    assert np.isnan(p.loc["core share of GDP", "p_better"])  # no better direction, stated


def test_band_plots_and_files(tmp_path):
    files = write_ensemble_comparison([toy_sweep()], tmp_path / "cmp")
    names = {f.name for f in files}
    assert {"ensemble_bands.csv", "ensemble_probabilities.csv", "ensemble.md",
            "ensemble_bands.png", "ensemble_bands.svg", "ensemble_effects.png",
            "ensemble_effects.svg"} <= names
    assert (tmp_path / "cmp" / "ensemble_bands.png").read_bytes()[:4] == b"\x89PNG"
    assert "Probability of beating" in (tmp_path / "cmp" / "ensemble.md").read_text()


def _write_toy_folder(path):
    s = toy_sweep(path)
    path.mkdir()
    (path / "sweep.json").write_text(json.dumps(s.manifest))
    for t in ("runs", "places", "sectors"):
        getattr(s, t).to_parquet(path / f"{t}.parquet")
    return path


def test_cli_compare_dispatches_sweep_folders(tmp_path, capsys):
    folder = _write_toy_folder(tmp_path / "sweep")
    assert main(["compare", str(folder), "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "probability of beating A" in out and "GDP per capita" in out
    assert (tmp_path / "c" / "ensemble_bands.svg").exists()
    c = compare_ensembles(folder)
    assert set(c) >= {"bands", "probabilities", "final"}


def test_ensemble_and_sensitivity_never_import_the_model(tmp_path):
    folder = _write_toy_folder(tmp_path / "sweep")
    code = ("import sys; import sim.viz.outputs as e, sim.analysis.sensitivity, "
            "sim.results.sweeps as s; "
            f"sw = s.load_sweep({str(folder)!r}); e.write_ensemble_comparison([sw], "
            f"{str(tmp_path / 'c')!r}); "
            "bad = [m for m in ('sim.engine.model', 'sim.kernels', 'sim.engine.runner', "
            "'sim.engine.calibrate', "
            "'mesa') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
