"""Tests of sim.kernels.network: oracles (plain Dijkstra, networkx), hand cases, properties."""

import heapq
import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from sim.kernels.network import (
    exponential_trade_costs,
    link_generalized_cost,
    multimodal_graph,
    reachable,
    shortest_path_costs,
    trade_costs,
    trade_freeness,
)

N_MODES = 3
ROAD, RAIL = 0, 1


# ----------------------------------------------------------------------------- oracles


def oracle_adjacency(n_places, links, terminal):
    """Layered graph as dict-of-dicts, built independently of the kernel.

    Nodes: ("A", p) access node of place p; ("L", p, m) layer node of place p, mode m.
    """
    adj = {("A", p): {} for p in range(n_places)}

    def add(a, b, w):
        adj.setdefault(a, {})
        adj.setdefault(b, {})
        if b not in adj[a] or w < adj[a][b]:
            adj[a][b] = w
            adj[b][a] = w

    for o, d, m, c in links:
        for p in (o, d):
            add(("A", p), ("L", p, m), terminal[m] / 2.0)
        if o != d:
            add(("L", o, m), ("L", d, m), c)
    return adj


def heapq_dijkstra(adj, source):
    dist = {source: 0.0}
    heap = [(0.0, 0, source)]
    tie = 1
    done = set()
    while heap:
        d, _, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        for v, w in adj[u].items():
            nd = d + w
            if v not in dist or nd < dist[v]:
                dist[v] = nd
                heapq.heappush(heap, (nd, tie, v))
                tie += 1
    return dist


def oracle_plain(n_places, links, terminal):
    adj = oracle_adjacency(n_places, links, terminal)
    out = np.full((n_places, n_places), np.inf)
    for p in range(n_places):
        dist = heapq_dijkstra(adj, ("A", p))
        for q in range(n_places):
            out[p, q] = dist.get(("A", q), math.inf)
    return out


def oracle_networkx(n_places, links, terminal):
    g = nx.Graph()
    g.add_nodes_from(("A", p) for p in range(n_places))
    for o, d, m, c in links:
        for p in (o, d):
            g.add_edge(("A", p), ("L", p, m), weight=terminal[m] / 2.0)
        if o == d:
            continue
        a, b = ("L", o, m), ("L", d, m)
        if not g.has_edge(a, b) or c < g.edges[a, b]["weight"]:
            g.add_edge(a, b, weight=c)  # nx.Graph overwrites: keep the minimum by hand
    out = np.full((n_places, n_places), np.inf)
    for p in range(n_places):
        dist = nx.single_source_dijkstra_path_length(g, ("A", p), weight="weight")
        for q in range(n_places):
            out[p, q] = dist.get(("A", q), math.inf)
    return out


def as_arrays(links):
    if not links:
        return (np.zeros(0, np.int64),) * 3 + (np.zeros(0),)
    o, d, m, c = zip(*links, strict=True)
    return np.array(o), np.array(d), np.array(m), np.array(c, dtype=float)


def kernel(n_places, links, terminal):
    return shortest_path_costs(n_places, *as_arrays(links), np.asarray(terminal, dtype=float))


def assert_costs_equal(actual, expected, rtol=1e-12):
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
    fin = np.isfinite(expected)
    np.testing.assert_allclose(actual[fin], expected[fin], rtol=rtol, atol=0.0)


# ----------------------------------------------------------------------------- strategies

costs = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.0, max_value=1e3, allow_nan=False, allow_subnormal=False),
    st.integers(min_value=0, max_value=20).map(float),
)


@st.composite
def networks(draw, max_places=15, max_links=30):
    n = draw(st.integers(min_value=2, max_value=max_places))
    place = st.integers(min_value=0, max_value=n - 1)
    link = st.tuples(place, place, st.integers(min_value=0, max_value=N_MODES - 1), costs)
    links = draw(st.lists(link, max_size=max_links))
    terminal = draw(st.lists(costs, min_size=N_MODES, max_size=N_MODES))
    return n, links, terminal


# ----------------------------------------------------------------------------- oracle tests


@settings(max_examples=300, deadline=None)
@given(networks())
def test_shortest_paths_match_plain_dijkstra_and_networkx(net):
    n, links, terminal = net
    got = kernel(n, links, terminal)
    assert_costs_equal(got, oracle_plain(n, links, terminal))
    assert_costs_equal(got, oracle_networkx(n, links, terminal))
    assert got.dtype == np.float64
    assert np.all(np.diag(got) == 0.0)
    np.testing.assert_array_equal(got, got.T)


@settings(max_examples=100, deadline=None)
@given(networks(max_places=6, max_links=8))
def test_sparse_disconnected_networks_match_oracle(net):
    # few links on few places: isolated places and several components are common
    n, links, terminal = net
    assert_costs_equal(kernel(n, links, terminal), oracle_plain(n, links, terminal))


@settings(max_examples=100, deadline=None)
@given(networks())
def test_unreduced_graph_gives_same_costs(net):
    # multimodal_graph itself, fed to scipy's dijkstra, agrees with the (reduced) kernel
    n, links, terminal = net
    graph, n_nodes = multimodal_graph(n, *as_arrays(links), np.asarray(terminal, dtype=float))
    assert graph.shape == (n_nodes, n_nodes)
    assert (graph != graph.T).nnz == 0
    dist = dijkstra(graph, directed=True, indices=np.arange(n))[:, :n]
    assert_costs_equal(dist, kernel(n, links, terminal))


@settings(max_examples=150, deadline=None)
@given(networks(), st.data())
def test_adding_a_link_never_raises_a_cost(net, data):
    n, links, terminal = net
    place = st.integers(min_value=0, max_value=n - 1)
    extra = data.draw(st.tuples(place, place, st.integers(0, N_MODES - 1), costs))
    old = kernel(n, links, terminal)
    new = kernel(n, [*links, extra], terminal)
    # tolerance: a different graph reduction may sum the same path in another order
    assert np.all(new <= old + 1e-12 * np.where(np.isfinite(old), old, 0.0))
    assert np.all(reachable(new) | ~reachable(old))


# ----------------------------------------------------------------------------- hand cases


def test_two_places_single_link_pays_full_terminal_cost():
    got = shortest_path_costs(2, [0], [1], [ROAD], [10.0], [4.0])
    np.testing.assert_array_equal(got, [[0.0, 14.0], [14.0, 0.0]])


def test_chain_with_transshipment():
    # place 0 --road (10)-- place 1 --rail (5)-- place 2; terminal road 4, rail 6.
    # 0->1: 4/2 + 10 + 4/2 = 14
    # 1->2: 6/2 + 5 + 6/2 = 11
    # 0->2: 4/2 + 10 + (4/2 + 6/2 transshipment at place 1) + 5 + 6/2 = 25
    got = shortest_path_costs(3, [0, 1], [1, 2], [ROAD, RAIL], [10.0, 5.0], [4.0, 6.0])
    np.testing.assert_array_equal(got, [[0.0, 14.0, 25.0], [14.0, 0.0, 11.0], [25.0, 11.0, 0.0]])


def test_through_traffic_on_one_mode_pays_no_terminal_cost():
    # 0 -road 1- 1 -road 2- 2, road terminal 4: 0->2 = 2 + 1 + 2 + 2 = 7 (no stop at 1)
    got = shortest_path_costs(3, [0, 1], [1, 2], [ROAD, ROAD], [1.0, 2.0], [4.0])
    assert got[0, 2] == 7.0


def test_parallel_links_keep_the_cheaper():
    got = shortest_path_costs(2, [0, 1, 0], [1, 0, 1], [ROAD, ROAD, ROAD], [10.0, 7.0, 9.0], [4.0])
    assert got[0, 1] == 11.0
    graph, n_nodes = multimodal_graph(2, [0, 1, 0], [1, 0, 1], [0, 0, 0], [10.0, 7.0, 9.0], [4.0])
    assert n_nodes == 4
    assert graph.nnz == 6  # 2 terminal edges + 1 link edge, both directions, no duplicates
    assert graph[2, 3] == 7.0  # the minimum, not the sum (coo->csr would give 26)


def test_parallel_links_of_different_modes_take_cheaper_route():
    # road 10 + terminal 4 = 14 beats rail 8 + terminal 10 = 18
    got = shortest_path_costs(2, [0, 0], [1, 1], [ROAD, RAIL], [10.0, 8.0], [4.0, 10.0])
    assert got[0, 1] == 14.0


def test_zero_cost_link_is_used():
    # direct road 0-2 costs 100; 0-1 is free, 1-2 costs 5; zero terminal costs
    got = shortest_path_costs(3, [0, 1, 0], [1, 2, 2], [ROAD] * 3, [0.0, 5.0, 100.0], [0.0])
    assert got[0, 1] == 0.0
    assert got[0, 2] == 5.0
    assert np.all(np.isfinite(got))


def test_all_zero_network_is_connected_at_zero_cost():
    got = shortest_path_costs(3, [0, 1], [1, 2], [ROAD, RAIL], [0.0, 0.0], [0.0, 0.0])
    np.testing.assert_array_equal(got, np.zeros((3, 3)))


def test_zero_edges_are_stored_explicitly():
    graph, _ = multimodal_graph(2, [0], [1], [ROAD], [0.0], [0.0])
    assert graph.nnz == 6
    assert np.all(graph.data == 0.0)


def test_scipy_dijkstra_treats_explicit_zeros_as_edges():
    # guards the assumption multimodal_graph relies on (see its docstring)
    g = sp.csr_array((np.array([0.0, 0.0, 1.0, 1.0]), ([0, 1, 1, 2], [1, 0, 2, 1])), shape=(3, 3))
    assert g.nnz == 4
    np.testing.assert_array_equal(dijkstra(g, directed=True, indices=[0]), [[0.0, 0.0, 1.0]])


def test_isolated_place_gives_inf_row_and_column():
    got = shortest_path_costs(3, [0], [1], [ROAD], [3.0], [1.0])
    assert got[0, 1] == 4.0
    assert np.all(np.isinf(got[2, :2])) and np.all(np.isinf(got[:2, 2]))
    assert got[2, 2] == 0.0


def test_no_links_at_all():
    got = shortest_path_costs(4, [], [], [], [], [1.0, 2.0])
    expected = np.full((4, 4), np.inf)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_array_equal(got, expected)


def test_self_loop_links_have_no_effect():
    got = shortest_path_costs(2, [0, 0], [0, 1], [RAIL, ROAD], [0.0, 3.0], [1.0, 0.0])
    assert got[0, 1] == 4.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"link_cost": [-1.0]},
        {"link_cost": [np.nan]},
        {"link_cost": [np.inf]},
        {"terminal_cost": [-1.0]},
        {"link_mode": [1]},
        {"link_mode": [-1]},
        {"link_to": [2]},
        {"link_from": [-1]},
        {"link_from": [0.0]},
        {"link_cost": [1.0, 2.0]},
        {"n_places": -1},
        {"n_places": 2.0},
    ],
)
def test_network_validation(kwargs):
    args = {
        "n_places": 2,
        "link_from": [0],
        "link_to": [1],
        "link_mode": [0],
        "link_cost": [1.0],
        "terminal_cost": [1.0],
    }
    args.update(kwargs)
    with pytest.raises(ValueError):
        shortest_path_costs(**args)
    with pytest.raises(ValueError):
        multimodal_graph(**args)


# ----------------------------------------------------------------------------- link cost


def test_link_generalized_cost_hand_check():
    got = link_generalized_cost(
        km=[100.0, 50.0, 0.0],
        hours=[2.0, 1.0, 0.0],
        fixed_cost=[5.0, 0.0, 3.0],
        cost_per_km=[0.3, 0.1, 1.0],
        value_of_time=20.0,
    )
    # 0.3*100 + 20*2 + 5 = 75;  0.1*50 + 20*1 + 0 = 25;  0 + 0 + 3 = 3
    np.testing.assert_allclose(got, [75.0, 25.0, 3.0], rtol=1e-15)
    assert got.dtype == np.float64


@pytest.mark.parametrize(
    "name, value",
    [
        ("km", [-1.0, 1.0]),
        ("hours", [1.0, -0.5]),
        ("fixed_cost", [-2.0, 0.0]),
        ("cost_per_km", [0.1, -0.1]),
        ("value_of_time", -1.0),
        ("km", [np.nan, 1.0]),
        ("hours", [np.inf, 1.0]),
        ("km", [1.0, 2.0, 3.0]),
    ],
)
def test_link_generalized_cost_rejects_bad_inputs(name, value):
    args = {
        "km": [1.0, 2.0],
        "hours": [1.0, 1.0],
        "fixed_cost": [0.0, 0.0],
        "cost_per_km": [1.0, 1.0],
        "value_of_time": 10.0,
    }
    args[name] = value
    with pytest.raises(ValueError):
        link_generalized_cost(**args)


# ----------------------------------------------------------------------------- trade costs

gc_values = st.one_of(
    st.just(0.0),
    st.just(np.inf),
    st.floats(min_value=0.0, max_value=1e12, allow_nan=False, allow_subnormal=False),
)
psis = st.floats(min_value=0.0, max_value=2.0)
c0s = st.floats(min_value=1e-3, max_value=1e4)


@given(st.lists(gc_values, min_size=1, max_size=30), psis, c0s)
def test_trade_costs_properties(values, psi, c0):
    gc = np.array(values)
    tau = trade_costs(gc, psi=psi, c0=c0)
    assert tau.shape == gc.shape
    assert not np.any(np.isnan(tau))
    assert np.all(tau >= 1.0)
    assert np.all(tau[gc == 0.0] == 1.0)
    np.testing.assert_array_equal(np.isinf(tau), np.isinf(gc))
    ordered = tau[np.argsort(gc, kind="stable")]
    assert np.all(ordered[1:] >= ordered[:-1])  # monotone non-decreasing in gc (inf-safe)


def test_trade_costs_on_cost_matrix():
    gc = shortest_path_costs(3, [0], [1], [ROAD], [30.0], [2.0])
    tau = trade_costs(gc, psi=0.33, c0=8.0)
    np.testing.assert_array_equal(np.diag(tau), 1.0)
    np.testing.assert_allclose(tau[0, 1], (1.0 + 32.0 / 8.0) ** 0.33, rtol=1e-14)
    assert np.isinf(tau[0, 2]) and np.isinf(tau[2, 1])


def test_trade_costs_psi_zero_keeps_unreachable_inf():
    tau = trade_costs(np.array([0.0, 5.0, np.inf]), psi=0.0, c0=1.0)
    np.testing.assert_array_equal(tau, [1.0, 1.0, np.inf])


@pytest.mark.parametrize("psi", [0.33, 0.43])
def test_trade_cost_elasticity_tends_to_psi(psi):
    c0 = 10.0
    h = 1e-6

    def elasticity(gc):
        lo, hi = trade_costs(np.array([gc, gc * (1 + h)]), psi=psi, c0=c0)
        return (np.log(hi) - np.log(lo)) / np.log1p(h)

    for gc in (1e7, 1e9):
        assert elasticity(gc) == pytest.approx(psi, rel=1e-5)
    # analytic psi * x / (1 + x), x = gc / c0: well below psi at gc = c0
    assert elasticity(c0) == pytest.approx(psi / 2.0, rel=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"psi": -0.1, "c0": 1.0},
        {"psi": 0.3, "c0": 0.0},
        {"psi": 0.3, "c0": -1.0},
        {"psi": np.nan, "c0": 1.0},
    ],
)
def test_trade_costs_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        trade_costs(np.array([1.0]), **kwargs)


@pytest.mark.parametrize("gc", [[-1.0], [np.nan]])
def test_trade_costs_rejects_bad_costs(gc):
    with pytest.raises(ValueError):
        trade_costs(np.array(gc), psi=0.33, c0=1.0)


@given(st.lists(gc_values, min_size=1, max_size=30), psis, c0s)
def test_exponential_trade_costs_properties(values, rate, c0):
    gc = np.array(values)
    tau = exponential_trade_costs(gc, rate=rate, c0=c0)
    assert tau.shape == gc.shape
    assert not np.any(np.isnan(tau))
    assert np.all(tau >= 1.0)
    assert np.all(tau[gc == 0.0] == 1.0)
    assert np.all(np.isinf(tau[np.isinf(gc)]))  # unreachable stays unreachable, also rate 0
    ordered = tau[np.argsort(gc, kind="stable")]
    assert np.all(ordered[1:] >= ordered[:-1])


def test_exponential_trade_costs_values_and_geometric_freeness():
    gc = shortest_path_costs(4, [0, 1], [1, 2], [ROAD, ROAD], [3.0, 3.0], [0.0])
    tau = exponential_trade_costs(gc, rate=0.5, c0=2.0)
    np.testing.assert_allclose(tau[0, 1], np.exp(0.75), rtol=1e-15)
    np.testing.assert_allclose(tau[0, 2], np.exp(1.5), rtol=1e-15)
    assert np.isinf(tau[0, 3]) and np.all(np.diag(tau) == 1.0)
    # freeness decays geometrically in path cost: phi(2 links) = phi(1 link)**2
    phi = trade_freeness(tau, 5.0)
    np.testing.assert_allclose(phi[0, 2], phi[0, 1] ** 2, rtol=1e-14)
    assert phi[0, 3] == 0.0
    # rate 0: no trade costs between reachable pairs; overflow: tau = inf, no NaN, no warning
    np.testing.assert_array_equal(exponential_trade_costs(gc, rate=0.0, c0=1.0)[0, :3], 1.0)
    assert np.isinf(exponential_trade_costs(np.array([1e6]), rate=1.0, c0=1.0)[0])


def test_exponential_and_power_forms_share_the_slope_at_zero_cost():
    c = np.array([0.0, 1e-7])
    for tau in (exponential_trade_costs(c, rate=0.33, c0=10.0),
                trade_costs(c, psi=0.33, c0=10.0)):
        assert (tau[1] - tau[0]) / 1e-7 == pytest.approx(0.033, rel=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [{"rate": -0.1, "c0": 1.0}, {"rate": 0.3, "c0": 0.0}, {"rate": np.inf, "c0": 1.0},
     {"rate": np.nan, "c0": 1.0}],
)
def test_exponential_trade_costs_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        exponential_trade_costs(np.array([1.0]), **kwargs)


@pytest.mark.parametrize("gc", [[-1.0], [np.nan]])
def test_exponential_trade_costs_rejects_bad_costs(gc):
    with pytest.raises(ValueError):
        exponential_trade_costs(np.array(gc), rate=0.33, c0=1.0)


@given(
    st.lists(
        st.one_of(st.just(1.0), st.just(np.inf), st.floats(min_value=1.0, max_value=1e300)),
        min_size=1,
        max_size=30,
    ),
    st.floats(min_value=1.0, max_value=50.0, exclude_min=True),
)
def test_trade_freeness_properties(values, sigma):
    tau = np.array(values)
    phi = trade_freeness(tau, sigma)
    assert np.all(np.isfinite(phi))
    assert np.all((phi >= 0.0) & (phi <= 1.0))
    assert np.all(phi[np.isinf(tau)] == 0.0)
    assert np.all(phi[tau == 1.0] == 1.0)
    fin = np.isfinite(tau)
    np.testing.assert_allclose(phi[fin], tau[fin] ** (1.0 - sigma), rtol=1e-14)


def test_trade_freeness_hand_check():
    phi = trade_freeness(np.array([[1.0, 2.0], [np.inf, 1.0]]), 5.0)
    np.testing.assert_array_equal(phi, [[1.0, 2.0**-4], [0.0, 1.0]])


@pytest.mark.parametrize("sigma", [1.0, 0.5, np.inf, np.nan])
def test_trade_freeness_rejects_bad_sigma(sigma):
    with pytest.raises(ValueError):
        trade_freeness(np.array([1.0, 2.0]), sigma)


@pytest.mark.parametrize("tau", [[0.5], [np.nan]])
def test_trade_freeness_rejects_bad_tau(tau):
    with pytest.raises(ValueError):
        trade_freeness(np.array(tau), 4.0)


def test_reachable():
    gc = np.array([[0.0, 3.0, np.inf], [3.0, 0.0, np.inf], [np.inf, np.inf, 0.0]])
    mask = reachable(gc)
    assert mask.dtype == np.bool_
    np.testing.assert_array_equal(mask, np.isfinite(gc))
    with pytest.raises(ValueError):
        reachable(np.array([np.nan]))


def test_unreachable_pairs_raise_no_floating_point_warnings():
    with np.errstate(all="raise"):
        tau = trade_costs(np.array([0.0, 2.0, np.inf]), psi=0.0, c0=1.0)
        tau = trade_costs(np.array([0.0, 2.0, np.inf]), psi=0.33, c0=1.0)
        phi = trade_freeness(tau, 8.0)
    assert phi[0] == 1.0 and 0.0 < phi[1] < 1.0 and phi[2] == 0.0


def test_scalar_inputs():
    assert trade_costs(0.0, psi=0.33, c0=1.0) == 1.0
    assert trade_freeness(np.inf, 4.0) == 0.0


def test_link_volumes_all_or_nothing_hand_case():
    from sim.kernels.network import bpr_hours, link_volumes

    # places a=0, b=1, c=2; road a-b (cost 10), road b-c (cost 10), rail a-c (cost 30)
    lf, lt = np.array([0, 1, 0]), np.array([1, 2, 2])
    lm = np.array([0, 0, 1])
    cost = np.array([10.0, 10.0, 30.0])
    od = np.zeros((3, 3))
    od[0, 2] = 5.0
    od[1, 2] = 2.0
    # terminal costs 0: road path a-b-c costs 20 < rail 30
    v = link_volumes(3, lf, lt, lm, cost, np.zeros(2), od)
    np.testing.assert_allclose(v, [5.0, 7.0, 0.0])
    # expensive road terminals (20 per trip, 10 per transfer node on the way): rail wins a-c
    v = link_volumes(3, lf, lt, lm, cost, np.array([20.0, 0.0]), od)
    np.testing.assert_allclose(v, [0.0, 2.0, 5.0])
    # unreachable pairs carry nothing
    v = link_volumes(3, lf[:1], lt[:1], lm[:1], cost[:1], np.zeros(2), od)
    np.testing.assert_allclose(v, [0.0])
    # BPR: t0 (1 + 0.15 (v/c)^4); infinite capacity: no congestion
    np.testing.assert_allclose(bpr_hours(np.array([2.0, 2.0]), np.array([10.0, 10.0]),
                                         np.array([10.0, np.inf])), [2.3, 2.0])


@given(seed=st.integers(0, 2**31), P=st.integers(2, 7))
@settings(max_examples=25, deadline=None)
def test_link_volumes_stacked_equals_separate_and_conserves_flow(seed, P):
    """Stacked flow matrices are assigned exactly as one by one; volume x 1 = flow x path."""
    from sim.kernels.network import link_volumes

    rng = np.random.default_rng(seed)
    n = rng.integers(P - 1, 3 * P)
    lf, lt = rng.integers(0, P, n), rng.integers(0, P, n)
    lm = rng.integers(0, 2, n)
    cost = rng.uniform(1, 10, n)
    od = rng.uniform(0, 1, (3, P, P)) * (rng.random((3, P, P)) < 0.6)
    both = link_volumes(P, lf, lt, lm, cost, np.zeros(2), od)
    for r in range(3):
        np.testing.assert_allclose(both[r], link_volumes(P, lf, lt, lm, cost, np.zeros(2),
                                                         od[r]), rtol=0, atol=0)
    # linearity in the flows
    np.testing.assert_allclose(link_volumes(P, lf, lt, lm, cost, np.zeros(2), od.sum(0)),
                               both.sum(0), rtol=1e-12, atol=1e-12)


def _link_volumes_walk(P, lf, lt, lm, cost, tc, od):
    """Slow oracle: walk every shortest path back through the predecessor matrix."""
    from sim.kernels.network import multimodal_graph

    lf, lt, lm = (np.asarray(x) for x in (lf, lt, lm))
    graph, _ = multimodal_graph(P, lf, lt, lm, np.asarray(cost, float), np.asarray(tc, float))
    n_modes = len(tc)
    layer_keys = np.unique(np.concatenate([lf * n_modes + lm, lt * n_modes + lm])[
        np.concatenate([lf != lt, lf != lt])])
    node_of = {int(k): P + i for i, k in enumerate(layer_keys)}
    best = {}
    for link in range(len(lf)):
        if lf[link] == lt[link]:
            continue
        a = node_of[int(lf[link] * n_modes + lm[link])]
        b = node_of[int(lt[link] * n_modes + lm[link])]
        key = (min(a, b), max(a, b))
        if key not in best or cost[link] < cost[best[key]]:
            best[key] = link
    vol = np.zeros(len(lf))
    dist, pred = dijkstra(graph, directed=True, return_predecessors=True)
    for s in range(P):
        for t in range(P):
            if t == s or od[s, t] <= 0 or not np.isfinite(dist[s, t]):
                continue
            node = t
            while node != s:
                prev = pred[s, node]
                if prev >= P and node >= P:
                    vol[best[(min(prev, node), max(prev, node))]] += od[s, t]
                node = prev
    return vol


@given(seed=st.integers(0, 2**31), P=st.integers(2, 9))
@settings(max_examples=40, deadline=None)
def test_link_volumes_match_the_path_walking_oracle(seed, P):
    from sim.kernels.network import link_volumes

    rng = np.random.default_rng(seed)
    n = rng.integers(P - 1, 3 * P)
    lf, lt = rng.integers(0, P, n), rng.integers(0, P, n)
    lm = rng.integers(0, 3, n)
    cost = rng.uniform(1, 10, n)
    tc = rng.choice([0.0, 2.0, 5.0], 3)  # zero terminal costs give zero-cost tree edges
    od = rng.uniform(0, 1, (P, P)) * (rng.random((P, P)) < 0.7)
    np.testing.assert_allclose(link_volumes(P, lf, lt, lm, cost, tc, od),
                               _link_volumes_walk(P, lf, lt, lm, cost, tc, od),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("block", [1, 3, 7, 50])
def test_blocked_symmetric_minimum_equals_whole_matrix(block, threaded, monkeypatch):
    """Oracle: the in-place blocked minimum(a, a.T) equals numpy's whole-matrix one exactly,
    also with the strips split among the threads (from dense.MIN_PLACES places)."""
    from sim.kernels import dense
    from sim.kernels.network import _symmetric_min_inplace

    if threaded:
        monkeypatch.setattr(dense, "MIN_PLACES", 2)
    rng = np.random.default_rng(block)
    a = rng.uniform(0.0, 10.0, (23, 23))
    a[rng.random(a.shape) < 0.1] = np.inf
    want = np.minimum(a, a.T)
    _symmetric_min_inplace(a, block)
    assert np.array_equal(a, want)


@given(seed=st.integers(0, 2**31), P=st.integers(2, 7))
@settings(max_examples=25, deadline=None)
def test_link_paths_kept_and_reused_give_link_volumes(seed, P):
    """Trees from every place, computed once, carry any flows exactly as link_volumes does."""
    from sim.kernels.network import assign_flows, link_paths, link_volumes

    rng = np.random.default_rng(seed)
    n = rng.integers(P - 1, 3 * P)
    lf, lt = rng.integers(0, P, n), rng.integers(0, P, n)
    lm = rng.integers(0, 2, n)
    cost = rng.uniform(1, 10, n)
    tc = rng.uniform(0, 3, 2)
    paths = link_paths(P, lf, lt, lm, cost, tc)
    for _ in range(2):
        od = rng.uniform(0, 1, (2, P, P)) * (rng.random((2, P, P)) < 0.6)
        np.testing.assert_allclose(assign_flows(paths, od),
                                   link_volumes(P, lf, lt, lm, cost, tc, od),
                                   rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(assign_flows(paths, od[0]),
                                   link_volumes(P, lf, lt, lm, cost, tc, od[0]),
                                   rtol=1e-14, atol=1e-14)
