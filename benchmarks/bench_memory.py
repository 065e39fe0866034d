"""Memory over long sessions: resident-set growth per run (MB/run, least-squares slope).

100 aggregate runs of the example region (2020-2035), 20 agent runs (example_agents at 20,000
household and 20,000 firm agents, 3 years) and 100 calibrated Jilin baseline runs (calibration
and the base year). The slope is stored in the benchmark's ``extra_info`` and printed (``-s``).
Mesa 3.3 keeps every ``Model`` alive; ``SimModel.release()`` drops the heavy state of the run's
own model, and calibration builds its base-year model once.
"""

import dataclasses
from pathlib import Path

import sim
from sim._testing import rss_slope
from sim.scenario.schema import Agents

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def _measure(benchmark, run, n):
    m = benchmark.pedantic(rss_slope, args=(run, n), rounds=1, iterations=1)
    benchmark.extra_info.update(m)
    print(f"\n{benchmark.name}: {m}")
    return m


def test_memory_aggregate_runs(benchmark):
    sc = sim.load_scenario(SCEN / "example.yaml")
    m = _measure(benchmark, lambda: sim.run_scenario(sc), 100)
    assert m["slope_mb_per_run"] < 0.05


def test_memory_agent_runs(benchmark):
    sc = dataclasses.replace(sim.load_scenario(SCEN / "example_agents.yaml"),
                             agents=Agents(20_000, 20_000))
    m = _measure(benchmark, lambda: sim.run_scenario(sc, end_year=sc.time.start + 2), 20)
    assert m["slope_mb_per_run"] < 0.1


def test_memory_calibrated_jilin_runs(benchmark):
    sc = sim.load_scenario(SCEN / "baseline.yaml")
    _measure(benchmark, lambda: sim.run_scenario(sc, end_year=sc.time.start), 100)
