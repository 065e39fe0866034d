"""Benchmarks of the country-scale inputs (pytest-benchmark).

Run: ``PYTHONPATH=. pytest benchmarks/bench_country.py --benchmark-only -q``

``synthetic_country`` (sim._testing) builds a China-sized region of N places (Pareto sizes,
clustered locations, Delaunay links); the national pack (sim/data/china, 340 places, 2,088 links)
is loaded and turned into arrays. Measured on the 2-core development machine: the generator
takes about 0.3 s at N = 1,000, 0.4 s at 3,000 and 1.7 s at 10,000.
"""

from pathlib import Path

import pytest

import sim
from sim._testing import synthetic_country
from sim.engine.build import build_static

SIZES = (1000, 3000, 10000)
CHINA = Path(__file__).resolve().parents[1] / "scenarios" / "china_baseline.yaml"


@pytest.mark.parametrize("n_places", SIZES)
def test_bench_synthetic_country(benchmark, n_places):
    region = benchmark.pedantic(synthetic_country, args=(n_places, 13), kwargs={"seed": 1},
                                rounds=1, iterations=1)
    assert sum(not p.external for p in region.places) == n_places


def test_bench_china_pack_load_and_build(benchmark):
    def load_and_build():
        return build_static(sim.load_scenario(CHINA))
    static = benchmark.pedantic(load_and_build, rounds=1, iterations=1)
    assert static.n_places == 346
