"""The full Jilin plan and baseline, 2020-2035, at aggregate and at agent resolution.

Each benchmark times one complete ``run_scenario`` (calibration, firm spin-up and 16 annual
steps). Agent resolution: 100,000 household and 100,000 firm agents.
"""

import dataclasses
from pathlib import Path

import pytest

import sim
from sim.scenario.schema import Agents

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.mark.parametrize("resolution", ["aggregate", "agents"])
@pytest.mark.parametrize("name", ["baseline", "plan"])
def test_jilin_full_run(benchmark, name, resolution):
    sc = sim.load_scenario(SCEN / f"{name}.yaml")
    if resolution == "agents":
        sc = dataclasses.replace(sc, resolution="agents", agents=Agents(100_000, 100_000))
    res = benchmark.pedantic(sim.run_scenario, args=(sc,), rounds=3, iterations=1)
    assert res.places["year"].max() == 2035
    assert res.manifest["solver"]["max_residual"] < sc.solver.tol
