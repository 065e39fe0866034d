"""Benchmarks of sim.kernels.network (pytest-benchmark).

Run: ``PYTHONPATH=. pytest benchmarks/bench_network.py --benchmark-only -q``

Synthetic network: places uniform in the unit square, each linked to its 4 nearest
neighbours with a random mode among 5; link cost = euclidean distance * per-mode cost.
Inputs are built once per size, outside the timed call.
"""

from functools import cache

import numpy as np
import pytest
from scipy.spatial import cKDTree

from sim.kernels.network import shortest_path_costs, trade_costs, trade_freeness

SIZES = (50, 500, 2000)
#                        road, expressway, rail, hsr, sea-like
COST_PER_DISTANCE = np.array([1.0, 0.8, 0.5, 0.9, 0.3])
TERMINAL_COST = np.array([0.01, 0.02, 0.05, 0.04, 0.10])
K_NEAREST = 4


@cache
def network(n_places):
    rng = np.random.default_rng(12345)
    xy = rng.random((n_places, 2))
    dist, nearest = cKDTree(xy).query(xy, k=K_NEAREST + 1)  # first hit is the place itself
    link_from = np.repeat(np.arange(n_places), K_NEAREST)
    link_to = nearest[:, 1:].ravel()
    link_mode = rng.integers(0, COST_PER_DISTANCE.size, link_from.size)
    link_cost = dist[:, 1:].ravel() * COST_PER_DISTANCE[link_mode]
    return n_places, link_from, link_to, link_mode, link_cost, TERMINAL_COST


@cache
def cost_matrix(n_places):
    return shortest_path_costs(*network(n_places))


@pytest.mark.parametrize("n_places", SIZES)
def test_bench_shortest_path_costs(benchmark, n_places):
    args = network(n_places)
    gc = benchmark(shortest_path_costs, *args)
    assert gc.shape == (n_places, n_places)
    assert np.all(np.diag(gc) == 0.0)
    np.testing.assert_array_equal(gc, gc.T)
    assert np.isfinite(gc).mean() > 0.5  # mostly connected


@pytest.mark.parametrize("n_places", SIZES)
def test_bench_trade_freeness(benchmark, n_places):
    gc = cost_matrix(n_places)

    def run():
        return trade_freeness(trade_costs(gc, psi=0.33, c0=0.1), 5.0)

    phi = benchmark(run)
    assert phi.shape == (n_places, n_places)
    assert np.all(np.isfinite(phi))
    assert np.all(np.diag(phi) == 1.0)
    assert np.all((phi >= 0.0) & (phi <= 1.0))


@pytest.mark.parametrize("impl", ["vectorized", "path_walk"])
@pytest.mark.parametrize("n_places", (50, 150))
def test_bench_link_volumes(benchmark, n_places, impl):
    """All-or-nothing assignment of a dense OD matrix: the kernel vs the path-walking oracle."""
    import sys
    from pathlib import Path

    from sim.kernels.network import link_volumes

    args = network(n_places)
    od = np.random.default_rng(1).uniform(0, 1, (n_places, n_places))
    if impl == "vectorized":
        fn = link_volumes
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "kernels"))
        from test_network import _link_volumes_walk as fn
    vol = benchmark(fn, *args, od)
    np.testing.assert_allclose(vol, link_volumes(*args, od), rtol=1e-10, atol=1e-10)
