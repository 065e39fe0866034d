"""Long sessions: repeated runs in one process must not grow the resident set.

Slow-marked. The benchmark ``benchmarks/bench_memory.py`` measures the same slopes over 100
aggregate, 20 agent and 100 calibrated Jilin runs::

    .venv/bin/python -m pytest benchmarks/bench_memory.py --benchmark-only -s
"""

import dataclasses
from pathlib import Path

import pytest

import sim
from sim._testing import calibrated_toy, rss_slope
from sim.scenario.schema import Agents

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
LIMIT_MB_PER_RUN = 0.05


@pytest.mark.slow
def test_aggregate_runs_do_not_grow_rss():
    sc = sim.load_scenario(SCEN / "example.yaml")
    m = rss_slope(lambda: sim.run_scenario(sc, end_year=2022), 20)
    assert m["slope_mb_per_run"] < LIMIT_MB_PER_RUN, m


@pytest.mark.slow
def test_agent_runs_do_not_grow_rss():
    sc = sim.load_scenario(SCEN / "example_agents.yaml")
    sc = dataclasses.replace(sc, agents=Agents(5_000, 5_000))
    m = rss_slope(lambda: sim.run_scenario(sc, end_year=sc.time.start + 1), 6)
    assert m["slope_mb_per_run"] < LIMIT_MB_PER_RUN * 2, m


@pytest.mark.slow
def test_calibrated_runs_do_not_grow_rss():
    """Calibration used to build ~32 Mesa models per run, which Mesa 3.3 never frees (0.42
    MB/run on Jilin, 0.14 on this toy); it now builds its base-year model once (0.01 MB/run)."""
    sc = calibrated_toy(SCEN / "example.yaml")
    m = rss_slope(lambda: sim.run_scenario(sc, end_year=2020), 12)
    assert m["slope_mb_per_run"] < LIMIT_MB_PER_RUN, m
