"""Tests of sim.kernels.paths (contraction hierarchy + PHAST) against scipy's Dijkstra."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from sim.kernels import network, paths

RTOL = 1e-12


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


def assert_close(got, expected):
    """Same unreachable pairs, same zeros, relative differences below RTOL."""
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
    np.testing.assert_array_equal(got == 0, expected == 0)
    f = np.isfinite(expected) & (expected > 0)
    if f.any():
        assert np.max(np.abs(got[f] - expected[f]) / expected[f]) <= RTOL


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["real", "ties_and_zeros", "sparse_unreachable", "dense"])
def test_matches_scipy_dijkstra(seed, kind):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 160))
    opts = {"real": {"n_edges": 3 * n},
            "ties_and_zeros": {"n_edges": 3 * n, "integer": True, "zero_share": 0.3},
            "sparse_unreachable": {"n_edges": n // 2 + 1, "zero_share": 0.1},
            "dense": {"n_edges": 12 * n, "integer": True}}[kind]
    g = random_graph(rng, n, **opts)
    sources = rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False)
    targets = rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False)
    expected = dijkstra(g, directed=True, indices=sources)[:, targets]
    got = paths.many_source_costs(g.indptr, g.indices, g.data, sources, targets)
    assert_close(got, expected)
    if kind == "sparse_unreachable":
        assert np.isinf(got).any()


@pytest.mark.parametrize("witness_settled", [1, 3, 1000])
def test_any_witness_bound_is_exact(witness_settled):
    """A witness search that gives up early only adds shortcuts: the costs stay exact."""
    rng = np.random.default_rng(11)
    g = random_graph(rng, 300, 900, integer=True, zero_share=0.2)
    h = paths.contraction_hierarchy(g.indptr, g.indices, g.data,
                                    witness_settled=witness_settled)
    src = np.arange(300)
    assert_close(paths.hierarchy_costs(h, src, src), dijkstra(g, directed=True))
    if witness_settled == 1:
        many = h.n_shortcuts
        assert many > paths.contraction_hierarchy(g.indptr, g.indices, g.data).n_shortcuts


def test_hierarchy_is_upward_and_deterministic():
    rng = np.random.default_rng(5)
    g = random_graph(rng, 400, 1200, integer=True, zero_share=0.1)
    h = paths.contraction_hierarchy(g.indptr, g.indices, g.data)
    rows = np.repeat(np.arange(h.n_nodes), np.diff(h.indptr))
    assert np.all(h.indices < rows)  # every stored edge leads to a node contracted later
    assert sorted(h.new_id) == list(range(400))
    again = paths.contraction_hierarchy(g.indptr, g.indices, g.data)
    for a, b in ((h.new_id, again.new_id), (h.indptr, again.indptr),
                 (h.indices, again.indices), (h.data, again.data)):
        np.testing.assert_array_equal(a, b)


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
    assert_close(out, dijkstra(g, directed=True))
    with pytest.raises(ValueError, match="out must be"):
        paths.many_source_costs(g.indptr, g.indices, g.data, [0], [0, 1], out=np.empty((1, 3)))


@pytest.mark.parametrize("bad", [
    {"data": [1.0, -1.0]}, {"data": [1.0, np.nan]}, {"indices": [0, 5]}, {"sources": [2]},
    {"targets": [-1]}, {"indptr": [0, 1, 3]}, {"data": [1.0]},
    {"data": [1.0, 2.0]},  # not the same weight both ways
    {"indptr": [0, 1, 1], "indices": [1], "data": [1.0]},  # one direction only
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
    g = random_graph(rng, 600, 1800, integer=True, zero_share=0.2)
    src = np.arange(600)
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
def test_shortest_path_costs_compiled_matches_scipy_path(seed, monkeypatch):
    """The engine's network kernel gives the same costs to rounding either way."""
    rng = np.random.default_rng(seed)
    n = 300
    args = (n, *_planar_network(rng, n))
    monkeypatch.setattr(paths, "MIN_SOURCES_X_NODES", 10**18)
    scipy_costs = network.shortest_path_costs(*args)
    monkeypatch.setattr(paths, "MIN_SOURCES_X_NODES", 0)
    assert paths.uses_compiled(n, n)
    compiled = network.shortest_path_costs(*args)
    assert_close(compiled, scipy_costs)
    np.testing.assert_array_equal(compiled, compiled.T)
    assert np.all(np.diag(compiled) == 0.0)


def test_two_plans_on_two_threads_equal_the_costs_one_by_one(monkeypatch):
    """shortest_path_plan + plan_costs is shortest_path_costs bit for bit, also with two
    plans (two contraction hierarchies) built at once on two threads, as the network build
    does for its freight and passenger graphs."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(paths, "MIN_SOURCES_X_NODES", 0)  # the compiled path at 300 places
    rng = np.random.default_rng(7)
    first = (300, *_planar_network(rng, 300))
    second = (300, *_planar_network(rng, 300))
    ref = [network.shortest_path_costs(*a) for a in (first, second)]
    with ThreadPoolExecutor(2) as pool:
        plans = list(pool.map(lambda a: network.shortest_path_plan(*a), (first, second)))
    assert all(p.hierarchy is not None for p in plans)
    for plan, want in zip(plans, ref, strict=True):
        np.testing.assert_array_equal(network.plan_costs(plan), want)


def test_synthetic_country_matches_scipy():
    """Both cost kinds of a 2,000-place synthetic country: hierarchy vs scipy's Dijkstra."""
    from sim._testing import synthetic_country_scenario
    from sim.engine.build import build_static
    from sim.engine.primitives import mode_link_costs, year_primitives

    sc = synthetic_country_scenario(2000, 10, seed=3)
    st = build_static(sc)
    links = year_primitives(st, (), sc.time.start, sc.time.start).links
    for kind in ("freight", "passenger"):
        sel, cost, term = mode_link_costs(st, links, sc.parameters, kind)
        graph, _ = network.multimodal_graph(st.n_places, links.from_[sel], links.to[sel],
                                            links.mode[sel], cost, term)
        reduced, anchor, _ = network._reduce_graph(graph, st.n_places)
        h = paths.contraction_hierarchy(reduced.indptr, reduced.indices, reduced.data)
        rows = np.arange(0, st.n_places, 4)  # every fourth source: scipy is the slow part
        expected = dijkstra(reduced, directed=True, indices=anchor[rows])[:, anchor]
        assert_close(paths.hierarchy_costs(h, anchor[rows], anchor), expected)
