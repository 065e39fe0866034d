"""Tests of sim.kernels.paths (compiled many-source Dijkstra) against scipy's Dijkstra."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from sim.kernels import network, paths


def random_graph(rng, n, n_edges, *, integer=False, zero_share=0.0, directed=False):
    """CSR of a random graph: integer weights make many ties, some weights exactly zero."""
    u = rng.integers(0, n, n_edges)
    v = rng.integers(0, n, n_edges)
    w = rng.integers(0, 4, n_edges).astype(float) if integer else rng.exponential(10.0, n_edges)
    w[rng.random(n_edges) < zero_share] = 0.0
    keep = u != v
    u, v, w = u[keep], v[keep], w[keep]
    if not directed:
        u, v, w = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])
    # cheapest of parallel edges, explicit zeros kept (csgraph treats stored zeros as edges)
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(len(u), bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, w = u[first], v[first], w[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    g = sp.csr_array((w, v.astype(np.int32), indptr.astype(np.int32)), shape=(n, n))
    g.has_sorted_indices = True
    return g


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["real", "ties_and_zeros", "sparse_unreachable", "directed"])
def test_matches_scipy_dijkstra(seed, kind):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 120))
    opts = {"real": {"n_edges": 3 * n},
            "ties_and_zeros": {"n_edges": 3 * n, "integer": True, "zero_share": 0.3},
            "sparse_unreachable": {"n_edges": n // 2 + 1, "zero_share": 0.1},
            "directed": {"n_edges": 2 * n, "integer": True, "directed": True}}[kind]
    g = random_graph(rng, n, **opts)
    sources = rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False)
    targets = rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False)
    expected = dijkstra(g, directed=True, indices=sources)[:, targets]
    got = paths.many_source_costs(g.indptr, g.indices, g.data, sources, targets)
    np.testing.assert_array_equal(got, expected)  # bit for bit, inf where unreachable
    if kind == "sparse_unreachable":
        assert np.isinf(got).any()


def test_zero_cost_edges_and_isolated_node_by_hand():
    # 0 -0- 1 -2- 2, 0 -5- 2, node 3 isolated
    g = sp.csr_array((np.array([0.0, 5.0, 0.0, 2.0, 5.0, 2.0]),
                      np.array([1, 2, 0, 2, 0, 1]), np.array([0, 2, 4, 6, 6])), shape=(4, 4))
    got = paths.many_source_costs(g.indptr, g.indices, g.data, [0, 3], [0, 1, 2, 3])
    np.testing.assert_array_equal(got, [[0.0, 0.0, 2.0, np.inf], [np.inf, np.inf, np.inf, 0.0]])


def test_writes_into_out_and_checks_it():
    rng = np.random.default_rng(3)
    g = random_graph(rng, 50, 150)
    out = np.full((50, 50), -1.0)
    assert paths.many_source_costs(g.indptr, g.indices, g.data, np.arange(50), np.arange(50),
                                   out=out) is out
    np.testing.assert_array_equal(out, dijkstra(g, directed=True))
    with pytest.raises(ValueError, match="out must be"):
        paths.many_source_costs(g.indptr, g.indices, g.data, [0], [0, 1], out=np.empty((1, 3)))


@pytest.mark.parametrize("bad", [
    {"data": [1.0, -1.0]}, {"data": [1.0, np.nan]}, {"indices": [0, 5]}, {"sources": [2]},
    {"targets": [-1]}, {"indptr": [0, 1, 3]}, {"data": [1.0]},
])
def test_rejects_bad_input(bad):
    args = {"indptr": [0, 1, 2], "indices": [1, 0], "data": [1.0, 1.0], "sources": [0],
            "targets": [1]}
    args.update(bad)
    with pytest.raises(ValueError):
        paths.many_source_costs(**args)


def test_result_does_not_depend_on_the_number_of_threads():
    import numba

    rng = np.random.default_rng(7)
    g = random_graph(rng, 400, 1200, integer=True, zero_share=0.2)
    src = np.arange(400)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = paths.many_source_costs(g.indptr, g.indices, g.data, src, src)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, paths.many_source_costs(g.indptr, g.indices, g.data,
                                                               src, src))


def _planar_network(rng, n):
    """Links between near neighbours on a grid-like layout, three modes, some isolated."""
    xy = rng.random((n, 2)) * 100
    d = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))
    nn = np.argsort(d, axis=1)[:, 1:4]
    a = np.repeat(np.arange(n), 3)
    b = nn.ravel()
    keep = rng.random(len(a)) > 0.05
    a, b = a[keep], b[keep]
    mode = np.where(rng.random(len(a)) < 0.3, 1, np.where(rng.random(len(a)) < 0.1, 2, 0))
    cost = np.round(d[a, b] * np.array([1.0, 0.6, 0.3])[mode], 1)  # rounded: ties
    return a, b, mode, cost, np.array([0.0, 4.0, 9.0])


@pytest.mark.parametrize("seed", [0, 1])
def test_shortest_path_costs_compiled_equals_scipy_path(seed, monkeypatch):
    """The engine's network kernel gives the same costs, bit for bit, either way."""
    rng = np.random.default_rng(seed)
    n = 300
    args = (n, *_planar_network(rng, n))
    monkeypatch.setattr(paths, "MIN_SOURCES_X_NODES", 10**18)
    scipy_costs = network.shortest_path_costs(*args)
    monkeypatch.setattr(paths, "MIN_SOURCES_X_NODES", 0)
    assert paths.uses_compiled(n, n)
    compiled = network.shortest_path_costs(*args)
    np.testing.assert_array_equal(compiled, scipy_costs)
