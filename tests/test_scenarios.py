"""Every scenario file validates and runs (a shortened horizon in tests)."""

from pathlib import Path

import numpy as np
import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]
# scenarios/sweeps/ holds sweep files (docs/sweeps.md), run by tests/test_sweep.py
FILES = sorted(p for p in (ROOT / "scenarios").rglob("*.yaml")
               if "sweeps" not in p.relative_to(ROOT / "scenarios").parts)


def test_there_are_scenarios():
    assert len(FILES) >= 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_scenario_runs(path):
    sc = sim.load_scenario(path)
    res = sim.run_scenario(sc, end_year=sc.time.start + 3)
    assert res.places["year"].nunique() == 4
    assert np.isfinite(res.places.select_dtypes("number").to_numpy()).all()
    assert res.manifest["solver"]["max_residual"] < sc.solver.tol


def test_scenario_roundtrip_all_files(tmp_path):
    for path in FILES:
        sc = sim.load_scenario(path)
        f = tmp_path / f"{sc.name}.yaml"
        f.write_text(sim.dump_scenario(sc))
        assert sim.load_scenario(f) == sc
