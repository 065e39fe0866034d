"""Transport-network kernel: link costs, multimodal shortest paths, iceberg trade costs.

Pipeline used by the engine::

    link_generalized_cost -> shortest_path_costs -> trade_costs -> trade_freeness

* ``link_generalized_cost``: money + time cost of one traversal of each link.
* ``multimodal_graph`` / ``shortest_path_costs``: least generalized cost between every pair of
  places over a layered multimodal graph with terminal (loading/unloading) and transshipment
  costs, by Dijkstra (``scipy.sparse.csgraph``; large networks: the compiled kernel of
  :mod:`sim.kernels.paths`, the same costs).
* ``trade_costs``: iceberg trade costs ``tau = (1 + c / c0) ** psi`` (power form, default).
* ``exponential_trade_costs``: iceberg trade costs ``tau = exp(a * c / c0)`` (exponential form).
* ``trade_freeness``: ``tau ** (1 - sigma)``, with ``0`` for unreachable pairs.

Every public function validates its inputs and raises ``ValueError``; the arithmetic lives in
private helpers (``scipy.sparse.csgraph`` style). Unreachable pairs are ``+inf`` generalized
cost, ``+inf`` iceberg cost and ``0`` trade freeness: callers must handle them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from sim._deferred import submodules
from sim._types import FLOAT, INDEX

try:  # Dijkstra without csgraph's package __init__ (it loads scipy.sparse.linalg, scipy.linalg)
    dijkstra = submodules("scipy.sparse.csgraph", "_shortest_path")[0].dijkstra
except (ImportError, AttributeError):  # a SciPy that moved it
    from scipy.sparse.csgraph import dijkstra

from sim.kernels import dense as _dense
from sim.kernels import paths as _paths

__all__ = [
    "LinkPaths",
    "assign_flows",
    "link_paths",
    "link_generalized_cost",
    "multimodal_graph",
    "shortest_path_costs",
    "shortest_path_plan",
    "plan_costs",
    "ShortestPathPlan",
    "trade_costs",
    "exponential_trade_costs",
    "trade_freeness",
    "reachable",
]

#: Upper bound on the number of float64 entries of one Dijkstra distance block
#: (``n_sources_in_block * n_nodes``): 2**22 entries = 32 MiB.
_DIJKSTRA_BLOCK_ENTRIES = 1 << 22


# --------------------------------------------------------------------------- validation helpers


def _float_1d(name, x):
    a = np.asarray(x, dtype=FLOAT)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    return a


def _check_nonneg_finite(name, a):
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN/inf)")
    if np.any(a < 0):
        raise ValueError(f"{name} must be non-negative, min is {a.min()!r}")


def _index_1d(name, x):
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.size == 0:
        return a.astype(INDEX)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array, got dtype {a.dtype}")
    return a.astype(INDEX, copy=False)


def _check_n_places(n_places):
    if isinstance(n_places, bool) or not isinstance(n_places, int | np.integer):
        raise ValueError(f"n_places must be an int, got {n_places!r}")
    if n_places < 0:
        raise ValueError(f"n_places must be >= 0, got {n_places}")
    return int(n_places)


def _validate_network(n_places, link_from, link_to, link_mode, link_cost, terminal_cost):
    n_places = _check_n_places(n_places)
    link_from = _index_1d("link_from", link_from)
    link_to = _index_1d("link_to", link_to)
    link_mode = _index_1d("link_mode", link_mode)
    link_cost = _float_1d("link_cost", link_cost)
    terminal_cost = _float_1d("terminal_cost", terminal_cost)
    n_links = link_from.shape[0]
    for name, a in (("link_to", link_to), ("link_mode", link_mode), ("link_cost", link_cost)):
        if a.shape[0] != n_links:
            raise ValueError(f"{name} has {a.shape[0]} entries, link_from has {n_links}")
    _check_nonneg_finite("link_cost", link_cost)
    _check_nonneg_finite("terminal_cost", terminal_cost)
    if n_links:
        for name, a in (("link_from", link_from), ("link_to", link_to)):
            if a.min() < 0 or a.max() >= n_places:
                raise ValueError(f"{name} must be place indices in [0, {n_places})")
        if link_mode.min() < 0 or link_mode.max() >= terminal_cost.shape[0]:
            raise ValueError(
                f"link_mode must be mode indices in [0, {terminal_cost.shape[0]}) "
                "(the length of terminal_cost)"
            )
    return n_places, link_from, link_to, link_mode, link_cost, terminal_cost


# ----------------------------------------------------------------------------- link cost


def link_generalized_cost(km, hours, fixed_cost, cost_per_km, value_of_time):
    r"""Generalized cost of one traversal of each link.

    .. math:: c_l = k_l\,d_l + v\,h_l + f_l

    with :math:`d_l` the link length, :math:`h_l` its travel time, :math:`k_l` the per-km
    monetary cost of the link's mode, :math:`v` the value of time and :math:`f_l` a fixed
    per-traversal cost (tolls, fares, handling not counted as terminal cost).

    Units: CNY per tonne for freight (then ``cost_per_km`` is CNY per tonne-km and
    ``value_of_time`` CNY per tonne-hour) or CNY per trip for passengers (CNY per
    passenger-km, CNY per passenger-hour).

    Parameters
    ----------
    km : array_like of float64, shape (n_links,)
        Link length :math:`d_l`, km, >= 0.
    hours : array_like of float64, shape (n_links,)
        Travel time :math:`h_l`, hours, >= 0.
    fixed_cost : array_like of float64, shape (n_links,)
        Fixed cost per traversal :math:`f_l`, CNY per tonne (or per trip), >= 0.
    cost_per_km : array_like of float64, shape (n_links,)
        Monetary cost per km :math:`k_l`, already looked up by the link's mode, >= 0.
    value_of_time : float or array_like of float64, shape (n_links,)
        :math:`v`, CNY per hour (per tonne or per passenger), >= 0.

    Returns
    -------
    ndarray of float64, shape (n_links,)
        :math:`c_l` >= 0, finite.

    Raises
    ------
    ValueError
        If any input is negative, NaN or infinite, or the shapes disagree.

    References
    ----------
    .. [1] de Jong, G. et al. (2004). National and international freight transport models:
       an overview and ideas for future development. Transport Reviews 24(1), 103-124.
    .. [2] Ortuzar, J. de D. & Willumsen, L. G. (2011). Modelling Transport, 4th ed., Wiley,
       ch. 5 (generalized cost).
    """
    km = _float_1d("km", km)
    n = km.shape[0]
    arrays = {
        "km": km,
        "hours": _float_1d("hours", hours),
        "fixed_cost": _float_1d("fixed_cost", fixed_cost),
        "cost_per_km": _float_1d("cost_per_km", cost_per_km),
    }
    vot = np.asarray(value_of_time, dtype=FLOAT)
    if vot.ndim > 1 or (vot.ndim == 1 and vot.shape[0] != n):
        raise ValueError(f"value_of_time must be a scalar or shape ({n},), got {vot.shape}")
    arrays["value_of_time"] = vot
    for name, a in arrays.items():
        if a.ndim == 1 and a.shape[0] != n:
            raise ValueError(f"{name} has {a.shape[0]} entries, km has {n}")
        _check_nonneg_finite(name, a)
    return _link_generalized_cost(
        km, arrays["hours"], arrays["fixed_cost"], arrays["cost_per_km"], vot
    )


def _link_generalized_cost(km, hours, fixed_cost, cost_per_km, value_of_time):
    return cost_per_km * km + value_of_time * hours + fixed_cost


# ----------------------------------------------------------------------------- graph


def _layered_edges(n_places, link_from, link_to, link_mode, link_cost, terminal_cost):
    """Undirected edge list (u, v, w) of the layered graph and its node count (no checks)."""
    n_modes = terminal_cost.shape[0]
    keep = link_from != link_to  # a self-loop link cannot shorten any path
    link_from, link_to = link_from[keep], link_to[keep]
    link_mode, link_cost = link_mode[keep], link_cost[keep]
    # layer node key p * n_modes + m for both ends of every link; ids follow the access nodes
    keys = np.concatenate([link_from * n_modes + link_mode, link_to * n_modes + link_mode])
    layer_keys, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1).astype(INDEX, copy=False)
    n_links = link_from.shape[0]
    n_layer = layer_keys.shape[0]
    layer_ids = np.arange(n_places, n_places + n_layer, dtype=INDEX)
    # link edges between layer nodes, then access <-> layer edges at half the terminal cost
    u = np.concatenate([n_places + inverse[:n_links], layer_keys // n_modes])
    v = np.concatenate([n_places + inverse[n_links:], layer_ids])
    w = np.concatenate([link_cost, 0.5 * terminal_cost[layer_keys % n_modes]])
    return u.astype(INDEX, copy=False), v.astype(INDEX, copy=False), w, n_places + n_layer


def _dedupe_min(rows, cols, data, n_nodes):
    """Sort directed entries by (row, col) and keep the cheapest of each (row, col)."""
    key = rows * n_nodes + cols
    order = np.lexsort((data, key))  # by (row, col), cheapest first within a (row, col)
    key = key[order]
    first = np.ones(key.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    order = order[first]
    return rows[order], cols[order], data[order]


def _csr_from_sorted(rows, cols, data, n_nodes):
    """CSR from entries already sorted by (row, col) without duplicates (no conversion)."""
    indptr = np.zeros(n_nodes + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n_nodes), out=indptr[1:])
    # int32 indices: scipy.sparse.csgraph's native index type (no copy inside dijkstra)
    graph = sp.csr_array(
        (data.astype(FLOAT, copy=False), cols.astype(np.int32), indptr), shape=(n_nodes, n_nodes)
    )
    graph.has_sorted_indices = True
    return graph


def _symmetric_min_csr(u, v, w, n_nodes):
    """Symmetric CSR of undirected edges, keeping the minimum weight of parallel edges.

    Built from ``(data, indices, indptr)`` directly: no coo->csr conversion (which would sum
    duplicates) and no ``eliminate_zeros`` (stored zeros are edges for csgraph's Dijkstra).
    """
    rows, cols, data = _dedupe_min(
        np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w]), n_nodes
    )
    return _csr_from_sorted(rows, cols, data, n_nodes)


def multimodal_graph(n_places, link_from, link_to, link_mode, link_cost, terminal_cost):
    r"""Layered multimodal transport graph as a symmetric sparse adjacency matrix.

    Nodes ``0 .. n_places-1`` are the places' *access* nodes. For every (place ``p``, mode
    ``m``) pair with at least one link of mode ``m`` at ``p``, a *layer* node ``(p, m)`` is
    added (ids ``n_places ..``, ordered by ``p * n_modes + m``). Edges (all undirected):

    .. math::
        w\big((p,m),(q,m)\big) = \min_{l:\ \{p,q\}=\{o_l, d_l\},\ m_l = m} c_l, \qquad
        w\big(p,(p,m)\big) = \tfrac12 F_m

    so a trip by one mode pays :math:`F_m` once (half at each end) plus the link costs, and
    switching from mode :math:`m` to :math:`m'` at an intermediate place (transshipment) pays
    :math:`\tfrac12 (F_m + F_{m'})`. Parallel links (same end layer nodes) keep the *minimum*
    cost. Self-loop links (``link_from == link_to``) are dropped: they cannot shorten any
    path.

    Zero weights: stored explicitly. ``scipy.sparse.csgraph.dijkstra`` treats every *stored*
    entry of a sparse matrix as an edge, including explicit zeros; zeros are only lost if
    the matrix is densified, passed through ``eliminate_zeros``, or given to Floyd-Warshall
    (scipy issues #10609, #11103). The matrix is built from ``(data, indices, indptr)``
    directly, so no zero is dropped and no duplicate is summed (coo->csr would sum them).

    Parameters
    ----------
    n_places : int
        Number of places P >= 0.
    link_from, link_to : array_like of int, shape (n_links,)
        End places of each link, in ``[0, P)``; links are undirected.
    link_mode : array_like of int, shape (n_links,)
        Mode index of each link, in ``[0, n_modes)``.
    link_cost : array_like of float64, shape (n_links,)
        Generalized cost :math:`c_l` of each link (see :func:`link_generalized_cost`), CNY
        per tonne or per trip, >= 0, finite; zero is a valid (free) link.
    terminal_cost : array_like of float64, shape (n_modes,)
        Terminal cost :math:`F_m` of each mode (loading + unloading, or station access and
        egress), same units, >= 0, finite.

    Returns
    -------
    graph : scipy.sparse.csr_array, float64, shape (n_nodes, n_nodes)
        Symmetric weighted adjacency matrix with sorted int32 indices and no duplicate
        entries; use with ``dijkstra(graph, directed=True)`` (storing both directions makes
        the ``directed=False`` caveats of scipy irrelevant).
    n_nodes : int
        P plus the number of layer nodes.

    Raises
    ------
    ValueError
        On negative or non-finite costs, out-of-range place or mode indices, bad shapes.

    References
    ----------
    .. [1] Sheffi, Y. (1985). Urban Transportation Networks. Prentice-Hall, ch. 2 (network
       representation, including transfer links).
    .. [2] Southworth, F. & Peterson, B. E. (2000). Intermodal and international freight
       network modeling. Transportation Research Part C 8(1-6), 147-166.
    """
    args = _validate_network(n_places, link_from, link_to, link_mode, link_cost, terminal_cost)
    u, v, w, n_nodes = _layered_edges(*args)
    return _symmetric_min_csr(u, v, w, n_nodes), int(n_nodes)


def _reduce_graph(graph, n_places):
    """Shrink the layered graph without changing any place-to-place shortest cost.

    Exact reductions on the symmetric graph (entries sorted by row, no duplicates):

    1. A place whose access node has a single neighbour ``x`` (one mode only) is *anchored*
       at ``x`` with offset ``w(p, x)``; its access node is dropped (a leaf is never an
       intermediate node of a shortest path).
    2. Repeatedly: drop non-anchor nodes of degree <= 1 (dead ends), and contract an
       independent set of non-anchor nodes of degree 2 (edges ``a-x``, ``x-b`` become one
       edge ``a-b`` of weight ``w(a, x) + w(x, b)``, parallel edges keep the minimum).

    Returns the reduced CSR, each place's anchor node in it and the offsets, so that for
    ``p != q``: ``C[p, q] = offset[p] + d(anchor[p], anchor[q]) + offset[q]``.
    """
    n = graph.shape[0]
    rows = np.repeat(np.arange(n, dtype=INDEX), np.diff(graph.indptr))
    cols = graph.indices.astype(INDEX)
    data = graph.data
    deg = np.bincount(rows, minlength=n)
    anchor = np.arange(n_places, dtype=INDEX)
    offset = np.zeros(n_places, dtype=FLOAT)
    leaf = np.flatnonzero(deg[:n_places] == 1)
    if leaf.size:
        edge = graph.indptr[leaf]  # the single entry of each leaf access row
        anchor[leaf] = cols[edge]
        offset[leaf] = data[edge]
        drop = np.zeros(n, dtype=bool)
        drop[leaf] = True
        keep_edge = ~(drop[rows] | drop[cols])
        rows, cols, data = rows[keep_edge], cols[keep_edge], data[keep_edge]
    protected = np.zeros(n, dtype=bool)
    protected[anchor] = True
    while rows.size:
        deg = np.bincount(rows, minlength=n)
        dead = ~protected & (deg == 1)
        if dead.any():
            keep_edge = ~(dead[rows] | dead[cols])
            rows, cols, data = rows[keep_edge], cols[keep_edge], data[keep_edge]
            continue
        cand = ~protected & (deg == 2)
        if not cand.any():
            break
        # independent set: a candidate with a lower-numbered candidate neighbour waits
        clash = cand[rows] & cand[cols] & (cols < rows)
        sel = cand & (np.bincount(rows[clash], minlength=n) == 0)
        edge = np.flatnonzero(sel[rows])  # two consecutive entries per selected node
        a, b = cols[edge[0::2]], cols[edge[1::2]]
        w = data[edge[0::2]] + data[edge[1::2]]
        keep_edge = ~(sel[rows] | sel[cols])
        rows, cols, data = _dedupe_min(
            np.concatenate([rows[keep_edge], a, b]),
            np.concatenate([cols[keep_edge], b, a]),
            np.concatenate([data[keep_edge], w, w]),
            n,
        )
    alive = protected.copy()
    alive[rows] = True
    new_id = np.cumsum(alive, dtype=INDEX) - 1  # monotone: keeps entries sorted
    n_alive = int(alive.sum())
    reduced = _csr_from_sorted(new_id[rows], new_id[cols], data, n_alive)
    return reduced, new_id[anchor], offset


class ShortestPathPlan(NamedTuple):
    """The reduced graph of :func:`shortest_path_costs` and, on large networks, its hierarchy.

    Made by :func:`shortest_path_plan`; :func:`plan_costs` turns it into the cost matrix.
    """

    n_places: int
    reduced: object  # scipy.sparse.csr_array of the reduced graph
    anchor: np.ndarray  # (P,) node of each place in it
    offset: np.ndarray  # (P,) cost from each place to its anchor
    hierarchy: object  # sim.kernels.paths.Hierarchy, or None (Dijkstra by scipy)


def _plan(graph, n_places):
    if n_places == 0:
        return ShortestPathPlan(0, None, np.zeros(0, INDEX), np.zeros(0), None)
    reduced, anchor, offset = _reduce_graph(graph, n_places)
    hierarchy = None
    if _paths.uses_compiled(n_places, reduced.shape[0]):
        hierarchy = _paths.prepared_hierarchy(reduced.indptr, reduced.indices, reduced.data)
    return ShortestPathPlan(n_places, reduced, anchor, offset, hierarchy)


def plan_costs(plan):
    """The (P, P) least costs of a :class:`ShortestPathPlan` (see :func:`shortest_path_costs`).

    Parameters
    ----------
    plan : ShortestPathPlan
        From :func:`shortest_path_plan`.

    Returns
    -------
    ndarray of float64, shape (P, P)
        As :func:`shortest_path_costs` returns.
    """
    n_places = plan.n_places
    out = np.empty((n_places, n_places), dtype=FLOAT)
    if n_places == 0:
        return out
    reduced, anchor, offset = plan.reduced, plan.anchor, plan.offset
    n_nodes = reduced.shape[0]
    block = max(1, min(n_places, _DIJKSTRA_BLOCK_ENTRIES // max(n_nodes, 1)))
    if plan.hierarchy is not None:
        # contraction hierarchy + PHAST (equal to Dijkstra's costs to rounding)
        _paths.hierarchy_costs(plan.hierarchy, anchor, anchor, out=out)
    else:
        for start in range(0, n_places, block):  # a few blocks of sources, bounded memory
            stop = min(start + block, n_places)
            dist = dijkstra(reduced, directed=True, indices=anchor[start:stop])
            out[start:stop] = dist[:, anchor]
    out += offset[:, None]
    out += offset[None, :]
    # the true cost is symmetric; the two directions can differ by rounding of the path sum
    _symmetric_min_inplace(out, block)
    np.fill_diagonal(out, 0.0)
    return out


def _symmetric_min_inplace(a, block):
    """``a = minimum(a, a.T)`` in place, by blocks of rows: no (P, P) temporary.

    ``np.minimum(a, a.T, out=a)`` would copy the whole transpose (the operands overlap); here
    each block of rows ``lo:hi`` and the matching block of columns are done together, with
    temporaries of ``block x P`` entries. Strip ``lo:hi`` reads and writes only entries with
    a row or column in ``lo:hi`` and the other index ``>= lo``, so strips are independent: from
    ``dense.MIN_PLACES`` places they are split among the threads (same values, the minimum is
    exact).
    """
    n = a.shape[0]
    starts = _dense.balanced_order(range(0, n, block))

    def strips(u0, u1):
        for lo in starts[u0:u1]:
            hi = min(lo + block, n)
            m = np.minimum(a[lo:hi, lo:], a[lo:, lo:hi].T)
            a[lo:hi, lo:] = m
            a[lo:, lo:hi] = m.T

    if n >= _dense.MIN_PLACES:  # the strips touch disjoint entries: on the threads
        _dense.spread(strips, (), len(starts))
    else:
        strips(0, len(starts))


def shortest_path_costs(n_places, link_from, link_to, link_mode, link_cost, terminal_cost):
    r"""Least generalized cost between every pair of places on the multimodal network.

    .. math:: C_{nm} = \min_{\text{paths } n \to m} \sum_{e \in \text{path}} w_e,
              \qquad C_{nn} = 0

    on the layered graph of :func:`multimodal_graph` (link costs plus terminal and
    transshipment costs), from and to the places' access nodes. The graph is first shrunk
    by exact reductions (single-mode places anchored at their layer node, dead ends dropped,
    degree-2 pass-through nodes contracted), which cuts the Dijkstra time by about a third
    on 4-nearest-neighbour networks; results agree with the unreduced graph to rounding.
    Then the least costs between the P anchors: by Dijkstra with
    ``scipy.sparse.csgraph.dijkstra`` (in blocks of sources, to bound memory) on small
    networks, and from ``P x nodes >=`` :data:`sim.kernels.paths.MIN_SOURCES_X_NODES` (about
    2,750 places) by the compiled :func:`sim.kernels.paths.many_source_costs`: a contraction
    hierarchy of the reduced graph (Geisberger et al. 2008) and PHAST from every anchor
    (Delling et al. 2013), batches of sources in parallel. The two agree to rounding, not bit
    for bit (a shortcut's cost is a precomputed sum, so path costs are summed in another
    order): relative differences below 1e-12 (tested; at most 1.6e-15 measured).

    Unreachable pairs are ``np.inf``: callers must handle them (:func:`trade_costs` keeps
    them ``inf``, :func:`trade_freeness` maps them to 0, :func:`reachable` masks them). With
    no links at all the result is ``inf`` off the diagonal.

    Parameters
    ----------
    n_places : int
        Number of places P >= 0.
    link_from, link_to : array_like of int, shape (n_links,)
        End places of each (undirected) link, in ``[0, P)``.
    link_mode : array_like of int, shape (n_links,)
        Mode index of each link, in ``[0, n_modes)``.
    link_cost : array_like of float64, shape (n_links,)
        Link generalized cost, CNY per tonne (freight) or per trip (passengers), >= 0.
    terminal_cost : array_like of float64, shape (n_modes,)
        Terminal cost per mode, same units, >= 0.

    Returns
    -------
    ndarray of float64, shape (P, P)
        :math:`C_{nm}` in the units of the costs; symmetric (the elementwise minimum of the
        two directions, which differ at most by rounding), exactly 0 on the diagonal,
        ``inf`` where unreachable.

    Raises
    ------
    ValueError
        See :func:`multimodal_graph`.

    References
    ----------
    .. [1] Dijkstra, E. W. (1959). A note on two problems in connexion with graphs.
       Numerische Mathematik 1, 269-271.
    .. [2] Allen, T. & Arkolakis, C. (2014). Trade and the topography of the spatial
       economy. QJE 129(3), 1085-1140 (least-cost routes as bilateral trade costs).
    .. [3] Geisberger, R., Sanders, P., Schultes, D. & Delling, D. (2008). Contraction
       hierarchies: faster and simpler hierarchical routing in road networks. WEA 2008,
       LNCS 5038, 319-333.
    .. [4] Delling, D., Goldberg, A. V., Nowatzyk, A. & Werneck, R. F. (2013). PHAST:
       Hardware-accelerated shortest path trees. J. Parallel Distrib. Comput. 73(7), 940-952.
    """
    return plan_costs(shortest_path_plan(n_places, link_from, link_to, link_mode, link_cost,
                                         terminal_cost))


def shortest_path_plan(n_places, link_from, link_to, link_mode, link_cost, terminal_cost):
    """The first half of :func:`shortest_path_costs`: the reduced graph and its hierarchy.

    The multimodal graph, its exact reductions and, from ``P x nodes >=``
    :data:`sim.kernels.paths.MIN_SOURCES_X_NODES`, its contraction hierarchy (the part of the
    work that runs on one core, without the GIL); :func:`plan_costs` does the rest (PHAST from
    every place on all threads, or Dijkstra). ``plan_costs(shortest_path_plan(...))`` is
    ``shortest_path_costs(...)``, bit for bit. Two plans can be built at once on two threads.

    Parameters
    ----------
    n_places, link_from, link_to, link_mode, link_cost, terminal_cost
        As for :func:`shortest_path_costs`.

    Returns
    -------
    ShortestPathPlan

    Raises
    ------
    ValueError
        See :func:`multimodal_graph`.
    """
    graph, _ = multimodal_graph(n_places, link_from, link_to, link_mode, link_cost, terminal_cost)
    return _plan(graph, _check_n_places(n_places))


# ----------------------------------------------------------------------------- trade costs


def _float_nd(name, x):
    a = np.asarray(x, dtype=FLOAT)
    if np.any(np.isnan(a)):
        raise ValueError(f"{name} must not contain NaN")
    return a


def _check_scalar(name, x):
    x = float(x)
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return x


def _trade_cost_args(gc, name, slope, c0):
    """Validated (gc, slope, c0) of a trade-cost function: gc >= 0, slope >= 0, c0 > 0."""
    gc = np.asarray(gc, dtype=FLOAT)
    if not np.all(gc >= 0.0):  # one pass; also False for NaN
        raise ValueError("gc must be non-negative (inf allowed) and not NaN")
    slope = _check_scalar(name, slope)
    c0 = _check_scalar("c0", c0)
    if slope < 0:
        raise ValueError(f"{name} must be >= 0, got {slope}")
    if c0 <= 0:
        raise ValueError(f"c0 must be > 0, got {c0}")
    return gc, slope, c0


def trade_costs(gc, *, psi, c0):
    r"""Iceberg trade costs from generalized transport costs.

    .. math:: \tau_{nm} = \Big(1 + \frac{C_{nm}}{c_0}\Big)^{\psi}

    so :math:`\tau_{nm} \ge 1`, :math:`\tau = 1` where :math:`C = 0` (the diagonal) and
    :math:`\tau = \infty` where :math:`C = \infty` (unreachable, also for ``psi = 0``). The
    elasticity of :math:`\tau` with respect to the cost is

    .. math:: \frac{\partial \ln \tau}{\partial \ln C} = \psi \frac{C / c_0}{1 + C / c_0}
              \;\to\; \psi \quad (C \gg c_0),

    i.e. for costs well above :math:`c_0` this is the usual power law
    :math:`\tau \propto C^{\psi}` with distance elasticity :math:`\psi`, while the ``1 +``
    keeps :math:`\tau` finite and equal to 1 at zero cost. The engine's default is
    :math:`\psi = 0.33` (Redding 2016); estimates range over 0.33-0.43 (Monte, Redding &
    Rossi-Hansberg 2018).

    Parameters
    ----------
    gc : array_like of float64, any shape (typically (P, P))
        Generalized cost :math:`C_{nm}` >= 0 (``inf`` allowed: unreachable), CNY per tonne.
    psi : float
        Distance elasticity :math:`\psi` >= 0.
    c0 : float
        Cost scale :math:`c_0` > 0, same units as ``gc``.

    Returns
    -------
    ndarray of float64, same shape as ``gc``
        :math:`\tau_{nm}` in ``[1, inf]``, non-decreasing in ``gc``.

    Raises
    ------
    ValueError
        If ``gc`` has NaN or negative entries, ``psi < 0`` or ``c0 <= 0`` (or either is not
        finite).

    References
    ----------
    .. [1] Redding, S. J. (2016). Goods trade, factor mobility and welfare. Journal of
       International Economics 101, 148-167.
    .. [2] Monte, F., Redding, S. J. & Rossi-Hansberg, E. (2018). Commuting, migration, and
       local employment elasticities. American Economic Review 108(12), 3855-3890.
    """
    gc, psi, c0 = _trade_cost_args(gc, "psi", psi, c0)
    return _trade_costs(gc, psi, c0)


def _trade_costs(gc, psi, c0):
    tau = np.array(gc, dtype=FLOAT)  # a copy, also for 0-d input
    tau /= c0
    tau += 1.0
    np.power(tau, psi, out=tau)  # inf ** psi = inf for psi > 0
    if psi == 0.0:
        tau[np.isinf(gc)] = np.inf  # inf ** 0 = 1: keep unreachable pairs unreachable
    return tau


def exponential_trade_costs(gc, *, rate, c0):
    r"""Iceberg trade costs exponential in generalized cost.

    .. math:: \tau_{nm} = \exp\Big(a \, \frac{C_{nm}}{c_0}\Big)

    so :math:`\tau_{nm} \ge 1`, :math:`\tau = 1` where :math:`C = 0` (the diagonal) and
    :math:`\tau = \infty` where :math:`C = \infty` (unreachable, also for ``rate = 0``).
    Trade freeness is then :math:`\tau^{1-\sigma} = \exp(-(\sigma-1) a C / c_0)`: it decays
    geometrically along a path, so on a line or circle of equally spaced places the spatial
    discounting matrix has entries :math:`r^{m}` with :math:`r = \exp(-(\sigma-1) a c_l / c_0)`
    for places :math:`m` links apart (:math:`c_l` the cost of one link). This is the form of the
    racetrack-economy literature, where the eigenvalues of that matrix have closed forms.
    With :math:`c_0` the cost unit, :math:`a` is the semi-elasticity of :math:`\tau` per
    :math:`c_0` of cost; at zero cost the slope :math:`a / c_0` equals that of the power form
    :math:`(1 + C/c_0)^{\psi}` when :math:`a = \psi`.

    Parameters
    ----------
    gc : array_like of float64, any shape (typically (P, P))
        Generalized costs :math:`C_{nm}` from :func:`shortest_path_costs`, CNY per tonne, >= 0
        (``inf`` = unreachable).
    rate : float
        :math:`a` >= 0, dimensionless (per :math:`c_0` of generalized cost).
    c0 : float
        Cost unit :math:`c_0` > 0, same units as ``gc``.

    Returns
    -------
    ndarray of float64, same shape as ``gc``
        :math:`\tau_{nm}` in ``[1, inf]``, non-decreasing in ``gc`` (``inf`` where the
        exponential overflows, i.e. :math:`a C / c_0 > 709`: no trade, as for unreachable
        pairs).

    Raises
    ------
    ValueError
        If ``gc`` has NaN or negative entries, ``rate < 0`` or ``c0 <= 0`` (or either is not
        finite).

    References
    ----------
    .. [1] Akamatsu, T., Takayama, Y. & Ikeda, K. (2012). Spatial discounting, Fourier, and
       racetrack economy: a recipe for the analysis of spatial agglomeration models. Journal
       of Economic Dynamics and Control 36(11), 1729-1759.
    .. [2] Krugman, P. (1993). On the number and location of cities. European Economic Review
       37(2-3), 293-298 (iceberg costs exponential in distance on a circle).
    """
    gc, rate, c0 = _trade_cost_args(gc, "rate", rate, c0)
    return _exponential_trade_costs(gc, rate, c0)


def _exponential_trade_costs(gc, rate, c0):
    tau = np.array(gc, dtype=FLOAT)  # a copy, also for 0-d input
    inf = np.isinf(tau)
    tau[inf] = 0.0  # 0 * inf would be NaN for rate 0
    tau *= rate / c0
    with np.errstate(over="ignore"):
        np.exp(tau, out=tau)
    tau[inf] = np.inf
    return tau


def trade_freeness(tau, sigma, *, out=None):
    r"""Freeness of trade (phi-ness) from iceberg trade costs.

    .. math:: T_{nm} = \tau_{nm}^{\,1-\sigma} \in [0, 1]

    with :math:`T_{nm} = 0` exactly where :math:`\tau_{nm} = \infty` (unreachable: no trade).
    The output never contains NaN or inf (a finite but astronomically large :math:`\tau` may
    underflow to 0, silently).

    Parameters
    ----------
    tau : array_like of float64, any shape (typically (P, P))
        Iceberg trade costs :math:`\tau_{nm} \ge 1` (``inf`` allowed), dimensionless.
    sigma : float
        Elasticity of substitution between varieties :math:`\sigma > 1`.
    out : ndarray, same shape as ``tau``, float64 or float32, optional
        Where to write :math:`T_{nm}` (computed in float64 and rounded to nearest on storing
        into float32, the values of ``trade_freeness(tau, sigma).astype(np.float32)``), instead
        of a new array.

    Returns
    -------
    ndarray, same shape as ``tau``
        :math:`T_{nm}` in ``[0, 1]``, 1 where :math:`\tau = 1` (float64, or ``out``).

    Raises
    ------
    ValueError
        If ``tau`` has NaN or entries below 1, or ``sigma <= 1`` or is not finite.

    References
    ----------
    .. [1] Baldwin, R., Forslid, R., Martin, P., Ottaviano, G. & Robert-Nicoud, F. (2003).
       Economic Geography and Public Policy. Princeton University Press, ch. 2 ("phi-ness").
    .. [2] Fujita, M., Krugman, P. & Venables, A. J. (1999). The Spatial Economy. MIT Press.
    """
    tau = np.asarray(tau, dtype=FLOAT)
    if not np.all(tau >= 1.0):  # one pass; also False for NaN
        raise ValueError("tau must be >= 1 (iceberg costs; inf allowed) and not NaN")
    sigma = _check_scalar("sigma", sigma)
    if sigma <= 1.0:
        raise ValueError(f"sigma must be > 1, got {sigma}")
    return _trade_freeness(tau, sigma, out)


def _trade_freeness(tau, sigma, out=None):
    with np.errstate(under="ignore"):
        # IEEE pow: inf ** (1 - sigma) = +0.0 exactly for sigma > 1 (no NaN, no warning)
        return np.power(tau, 1.0 - sigma, out=out)


def reachable(gc):
    r"""Mask of reachable pairs: :math:`C_{nm} < \infty`.

    Parameters
    ----------
    gc : array_like of float64, any shape (typically (P, P))
        Generalized costs from :func:`shortest_path_costs` (``inf`` = unreachable).

    Returns
    -------
    ndarray of bool, same shape as ``gc``
        True where the cost is finite.

    Raises
    ------
    ValueError
        If ``gc`` contains NaN (neither reachable nor unreachable).

    References
    ----------
    .. [1] Ahuja, R. K., Magnanti, T. L. & Orlin, J. B. (1993). Network Flows. Prentice
       Hall, ch. 4 (shortest paths; unreachable nodes at infinite distance).
    """
    gc = _float_nd("gc", gc)
    return np.isfinite(gc)


def link_volumes(n_places, link_from, link_to, link_mode, link_cost, terminal_cost, od):
    r"""Assign origin-destination flows to links along shortest paths (all-or-nothing).

    .. math:: v_l = \sum_{(o,d):\ l \in \text{path}(o,d)} f_{od}

    Each flow ``od[o, d]`` (o != d) follows the least-cost path of the layered multimodal graph
    (:func:`multimodal_graph`); every link edge on the path (between two layer nodes) gets the
    flow. Parallel links carry the flow on the cheapest one (the one the path uses).
    Unreachable pairs carry nothing.

    Parameters
    ----------
    n_places : int
    link_from, link_to, link_mode, link_cost, terminal_cost
        As in :func:`multimodal_graph`.
    od : ndarray, shape (n_places, n_places) or (R, n_places, n_places)
        Flows (e.g. value of goods a year), >= 0; R stacked flow matrices are assigned on the
        same paths in one walk.

    Returns
    -------
    ndarray, shape (n_links,) or (R, n_links)
        Volume on each link (for each flow matrix).

    Notes
    -----
    Vectorized over the shortest-path trees of all sources: each target's flow is put on its
    node and pushed up the tree level by level (deepest first), so a tree edge carries the flow
    of its subtree; O(sources x nodes x tree depth) array work, no Python loop over paths.
    ``tests/kernels/test_network.py`` checks it against a path-walking oracle. The trees
    depend on the network only: :func:`link_paths` computes them and :func:`assign_flows` puts
    flows on them (what this function does in one call), so a caller can keep the trees.

    References
    ----------
    .. [1] Sheffi, Y. (1985). Urban Transportation Networks, ch. 5 (all-or-nothing assignment).
    """
    od = np.asarray(od, dtype=float)
    any_flow = (od if od.ndim == 2 else od.sum(axis=0)).sum(axis=1) > 0
    paths = link_paths(n_places, link_from, link_to, link_mode, link_cost, terminal_cost,
                       sources=np.flatnonzero(any_flow))
    return assign_flows(paths, od)


@dataclass(frozen=True)
class LinkPaths:
    """Shortest-path trees of a multimodal network, ready to carry flows (:func:`link_paths`).

    Attributes
    ----------
    n_places, n_links, n_nodes : int
    sources : ndarray of int, shape (S,)
        Source places of the trees.
    finite : ndarray of bool, shape (S, n_nodes)
        Nodes reachable from each source.
    levels : tuple of (children, parents)
        Tree edges grouped by depth, deepest first, as flat indices ``row * n_nodes + node``
        of the child and parent node.
    edge_rows, edge_nodes, edge_links : ndarray of int
        Tree edges that are links: tree row, child node and link index.
    """

    n_places: int
    n_links: int
    n_nodes: int
    sources: np.ndarray
    finite: np.ndarray
    levels: tuple
    edge_rows: np.ndarray
    edge_nodes: np.ndarray
    edge_links: np.ndarray


def link_paths(n_places, link_from, link_to, link_mode, link_cost, terminal_cost, *,
               sources=None):
    r"""Shortest-path trees of the layered multimodal graph from each source place.

    The network part of :func:`link_volumes` (which see): Dijkstra from every source, the hop
    depth of every node in its tree and the link that each tree edge between two layer nodes
    uses (the cheapest of parallel links).

    Parameters
    ----------
    n_places : int
    link_from, link_to, link_mode, link_cost, terminal_cost
        As in :func:`multimodal_graph`.
    sources : array_like of int, optional
        Source places (default: all).

    Returns
    -------
    LinkPaths
        For :func:`assign_flows`; flows from places that are not sources are not assigned.

    References
    ----------
    .. [1] Sheffi, Y. (1985). Urban Transportation Networks, ch. 5 (all-or-nothing assignment).
    """
    args = _validate_network(n_places, link_from, link_to, link_mode, link_cost, terminal_cost)
    P, lf, lt, lm, lc, tc = args
    n_links = lf.shape[0]
    sources = np.arange(P) if sources is None else np.asarray(sources, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if n_links == 0 or P == 0 or len(sources) == 0:
        return LinkPaths(P, n_links, P, empty, np.zeros((0, P), bool), (), empty, empty, empty)
    graph, _ = multimodal_graph(*args)
    n_modes = tc.shape[0]
    keys = np.concatenate([lf * n_modes + lm, lt * n_modes + lm])
    layer_keys = np.unique(keys[np.concatenate([lf != lt, lf != lt])])
    node_of = {int(k): P + i for i, k in enumerate(layer_keys)}
    best: dict[tuple[int, int], int] = {}
    for link in range(n_links):
        if lf[link] == lt[link]:
            continue
        a = node_of[int(lf[link] * n_modes + lm[link])]
        b = node_of[int(lt[link] * n_modes + lm[link])]
        key = (min(a, b), max(a, b))
        if key not in best or lc[link] < lc[best[key]]:
            best[key] = link
    dist, pred = dijkstra(graph, directed=True, indices=sources, return_predecessors=True)
    S, n_nodes = pred.shape
    rows = np.arange(S)
    # hop depth of every node in its source's tree (pointer doubling over the tree levels)
    reach = pred >= 0
    depth = np.where(reach, -1, 0)
    depth[~reach & ~np.isfinite(dist)] = -1  # unreachable
    while True:
        parent_depth = np.where(reach, depth[rows[:, None], np.where(reach, pred, 0)], -1)
        new = np.where(reach & (depth < 0) & (parent_depth >= 0), parent_depth + 1, depth)
        if np.array_equal(new, depth):
            break
        depth = new
    # tree edges by level, deepest first (a tree edge carries its subtree's flow)
    r_all, v_all = np.nonzero(depth > 0)
    d_all = depth[r_all, v_all]
    order = np.argsort(-d_all, kind="stable")
    r_all, v_all, d_all = r_all[order], v_all[order], d_all[order]
    bounds = np.flatnonzero(np.diff(d_all)) + 1
    levels = tuple((r_lvl * n_nodes + v_lvl, r_lvl * n_nodes + pred[r_lvl, v_lvl])
                   for r_lvl, v_lvl in zip(np.split(r_all, bounds), np.split(v_all, bounds),
                                           strict=True))
    # tree edges between two layer nodes are links: the cheapest of parallel links
    p_all = pred[r_all, v_all]
    on_link = (p_all >= P) & (v_all >= P)
    a, b = np.minimum(p_all, v_all)[on_link], np.maximum(p_all, v_all)[on_link]
    keys = np.array(sorted(best), dtype=np.int64).reshape(-1, 2)
    key_code = keys[:, 0] * n_nodes + keys[:, 1]
    link_of = np.array([best[tuple(k)] for k in keys.tolist()], dtype=np.int64)
    sorter = np.argsort(key_code)
    code = a * n_nodes + b
    pos = sorter[np.minimum(np.searchsorted(key_code, code, sorter=sorter), len(sorter) - 1)]
    if not np.array_equal(key_code[pos], code):  # every layer-to-layer edge is a link
        raise AssertionError("link_volumes: a tree edge between layer nodes is not a link")
    return LinkPaths(P, n_links, n_nodes, sources, np.isfinite(dist), levels,
                     r_all[on_link], v_all[on_link], link_of[pos])


def assign_flows(paths, od):
    r"""Volumes on links of origin-destination flows along the trees of :func:`link_paths`.

    .. math:: v_l = \sum_{(o,d):\ l \in \text{path}(o,d)} f_{od}

    Parameters
    ----------
    paths : LinkPaths
    od : ndarray, shape (n_places, n_places) or (R, n_places, n_places)
        Flows, >= 0; flows from places that are not sources of ``paths`` are not assigned.

    Returns
    -------
    ndarray, shape (n_links,) or (R, n_links)
        Volume on each link (for each flow matrix).

    References
    ----------
    .. [1] Sheffi, Y. (1985). Urban Transportation Networks, ch. 5 (all-or-nothing assignment).
    """
    od = np.asarray(od, dtype=float)
    stacked = od.ndim == 3
    od = od if stacked else od[None]
    vol = np.zeros((od.shape[0], paths.n_links))
    S = len(paths.sources)
    if S == 0:
        return vol if stacked else vol[0]
    P = paths.n_places
    rows = np.arange(S)
    # flow to each target place, on the shortest-path tree of each source
    acc = np.zeros((od.shape[0], S, paths.n_nodes))
    acc[:, :, :P] = od[:, paths.sources, :]
    acc[:, rows, paths.sources] = 0.0
    acc[:, ~paths.finite] = 0.0
    # push the flows up the trees, deepest level first (all flow matrices at once)
    flat = acc.reshape(acc.shape[0], -1)
    for child, parent in paths.levels:
        np.add.at(flat, (slice(None), parent), flat[:, child])
    for k in range(acc.shape[0]):
        vol[k] += np.bincount(paths.edge_links,
                              weights=acc[k][paths.edge_rows, paths.edge_nodes],
                              minlength=paths.n_links)
    return vol if stacked else vol[0]


def bpr_hours(hours, volume, capacity, *, alpha=0.15, beta=4.0):
    r"""Congested travel time by the BPR function :math:`t = t_0 (1 + \alpha (v/c)^\beta)`.

    Parameters
    ----------
    hours : ndarray, shape (n_links,)
        Free-flow time t_0.
    volume, capacity : ndarray, shape (n_links,)
        Volume and capacity in the same units; ``capacity = inf`` means uncongested.

    Returns
    -------
    ndarray, shape (n_links,)

    References
    ----------
    .. [1] Bureau of Public Roads (1964). Traffic Assignment Manual. US Department of
       Commerce.
    """
    ratio = np.divide(volume, capacity, out=np.zeros_like(np.asarray(volume, float)),
                      where=np.isfinite(capacity) & (capacity > 0))
    return np.asarray(hours, float) * (1.0 + alpha * ratio**beta)
