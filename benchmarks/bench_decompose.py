"""Decomposition of the Jilin plan by pillar: exact Shapley values over its 8 pillars.

256 coalition runs (the baseline plus every subset of the pillars core, corridors, belts,
tourism, channels, bases, integration and the plan's own policies), calibrated once, cut to
2020-2022 (``END``) so that a benchmark round stays within minutes; on the local process pool
with 1 and 2 workers. Wall time and runs per minute are in ``extra_info``; compare the two
medians side by side from one session (the machine may be shared).
The full horizon (2020-2035) on 2 workers is quoted in docs/sweeps.md.
"""

import time
from pathlib import Path

import pytest

from sim.sweep.decompose import decompose

ROOT = Path(__file__).resolve().parents[1]
END = 2022


@pytest.mark.parametrize("workers", [1, 2])
def test_decompose_plan_by_pillar(benchmark, workers, tmp_path):
    rounds = []

    def run():
        out = tmp_path / f"d{len(rounds)}"
        t0 = time.perf_counter()
        dec = decompose(ROOT / "scenarios" / "plan.yaml", ROOT / "scenarios" / "baseline.yaml",
                        out=out, end_year=END, workers=workers, figures=False)
        rounds.append(time.perf_counter() - t0)
        return dec

    dec = benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(dec.components) == 8 and dec.manifest["coalitions"] == 256
    c = dec.contributions.set_index(["indicator", "component"])["shapley"]
    g = f"GDP {END} (bn CNY, nominal)"
    assert abs(c[(g, "sum of components")] - c[(g, "total")]) < 1e-9
    benchmark.extra_info.update(workers=workers, runs=256, wall_s=round(rounds[-1], 1),
                                runs_per_min=round(60 * 256 / rounds[-1], 1))
