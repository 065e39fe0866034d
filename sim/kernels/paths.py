r"""Compiled many-source shortest paths: contraction hierarchy + PHAST on CSR arrays.

:func:`sim.kernels.network.shortest_path_costs` needs the least cost between every pair of
places of a sparse undirected graph (about 27,000 nodes and 130,000 directed edges at 10,000
places). ``scipy.sparse.csgraph``'s Dijkstra runs one source after the other on one core and
touches the whole graph through a heap for each. This module, numba-compiled:

1. orders the nodes by **contracting** them one by one (Geisberger, Sanders, Schultes &
   Delling 2008): a node ``v`` is removed and, for each pair of its remaining neighbours
   ``u, w`` whose cost ``w(u, v) + w(v, w)`` through it has no *witness* path of at most that
   cost around it, a shortcut edge ``u - w`` of that cost is added. The next node is the one
   of least priority ``2 x edge difference (shortcuts added minus edges removed) + contracted
   neighbours + level``, with lazy updates (a node's priority is recomputed when it reaches
   the top of the queue; its neighbours' keys follow each contraction); ties go to the lower
   node id, so the hierarchy is the same on every run and machine. Witness searches stop after
   :data:`WITNESS_SETTLED` settled nodes (:data:`SIMULATION_SETTLED` when a contraction is
   only simulated for its priority): a missed witness only adds a redundant shortcut, the
   hierarchy stays exact;
2. answers the sources with **PHAST** (Delling, Goldberg, Nowatzyk & Werneck 2013): a Dijkstra
   from the source over *upward* edges only (towards nodes contracted later), then one sweep
   over all nodes in decreasing level, each taking the least ``d[u] + w(u, v)`` over its
   upward neighbours ``u``. Nodes are renumbered in sweep order, so the sweep reads its edges
   and its own distances sequentially; :data:`LANES` sources are swept together (a
   ``[node, lane]`` distance array, the lanes of a node held in registers while its edges are
   read). The sweep covers only the nodes the sources and targets can need (their upward
   closure: RPHAST, Delling, Goldberg & Werneck 2011). Batches of sources run in parallel on
   numba's number of threads in fixed chunks; each batch is independent, so the result does
   not depend on the number of threads.

The costs are exact least path costs but summed in another order than Dijkstra's (a shortcut's
weight is a precomputed sum), so they agree with scipy's to rounding, not bit for bit: relative
differences at most 1.6e-15 measured on the synthetic country's networks, 1e-12 tested.

numba compiles the kernels on the first call of a process (no on-disk cache: nothing is written
at run time); :data:`MIN_SOURCES_X_NODES` keeps smaller graphs (Jilin, the China pack) on
scipy, where compiling would cost more than it saves. The sweep is compiled in a second thread
while the first contraction runs (numba compiles holding the GIL; the contraction runs without
it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_SOURCES_X_NODES", "LANES", "CHUNK", "WITNESS_SETTLED", "SIMULATION_SETTLED",
           "PRIORITY_WEIGHTS", "Hierarchy",
           "contraction_hierarchy", "hierarchy_costs", "many_source_costs",
           "prepared_hierarchy", "uses_compiled"]

MIN_SOURCES_X_NODES = 20_000_000
"""Problems with at least ``n_sources * n_nodes`` of this size use the compiled kernels."""

LANES = 8
"""Sources swept together by PHAST (a batch; the sweep kernel is written out for 8)."""

WITNESS_SETTLED = 100
"""Nodes a witness search may settle before it gives up (then a shortcut is added)."""

SIMULATION_SETTLED = 10
"""The same bound when a contraction is only simulated to rank the nodes (cheaper)."""

CHUNK = 8
"""Batches per parallel task (a fixed split: results do not depend on the thread count)."""

PRIORITY_WEIGHTS = (2, 1, 1)
"""Weights of edge difference, contracted neighbours and level in a node's priority."""

_KERNELS: dict = {}
_WARM_STARTED: list = []  # the thread compiling the sweep, once started
_WARM_LOCK = threading.Lock()


def uses_compiled(n_sources: int, n_nodes: int) -> bool:
    """Whether :func:`sim.kernels.network.shortest_path_costs` uses this module's kernels."""
    return n_sources * n_nodes >= MIN_SOURCES_X_NODES


@dataclass(frozen=True)
class Hierarchy:
    """A contraction hierarchy of an undirected graph, nodes renumbered in PHAST sweep order.

    ``new_id[v]`` is node ``v``'s number in the hierarchy: by decreasing level, then by ``v``;
    row ``i`` of the CSR (``indptr``, ``indices``, ``data``) lists the upward edges of node
    ``i`` (to nodes contracted after it, all numbered ``j < i``) and their weights, shortcuts
    included. ``n_shortcuts``: shortcuts added (pairs; an existing edge lowered counts too).
    """

    new_id: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_shortcuts: int

    @property
    def n_nodes(self) -> int:
        """Number of nodes V."""
        return self.indptr.shape[0] - 1


def _compile():
    """Build the numba kernels (once per process; no on-disk cache)."""
    if _KERNELS:
        return _KERNELS
    import numba as nb

    inf = np.inf
    K = LANES
    PA, PB, PC = PRIORITY_WEIGHTS
    if K != 8:
        raise ValueError("the sweep is written out for LANES = 8")
    # unsigned offsets in the sweep: numba adds no negative-index wraparound to them
    u0, u1, u2, u3, u4, u5, u6, u7, u8 = (np.uint64(i) for i in range(9))

    @nb.njit(nogil=True, cache=False)
    def heap_push(hk, hn, size, key, node):
        # binary min-heap of keys hk with payloads hn (a heap of keys only passes hk as hn)
        i = size
        while i > 0:
            p = (i - 1) >> 1
            if hk[p] > key:
                hk[i] = hk[p]
                hn[i] = hn[p]
                i = p
            else:
                break
        hk[i] = key
        hn[i] = node
        return size + 1

    @nb.njit(nogil=True, cache=False)
    def heap_pop(hk, hn, size):
        # removes the root (read it before); returns the new size
        size -= 1
        if size > 0:
            kx = hk[size]
            x = hn[size]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and hk[c + 1] < hk[c]:
                    c += 1
                if hk[c] < kx:
                    hk[i] = hk[c]
                    hn[i] = hn[c]
                    i = c
                else:
                    break
            hk[i] = kx
            hn[i] = x
        return size

    @nb.njit(nogil=True, cache=False)
    def witness(start, cnt, nbr, wt, u, skip, max_cost, max_settled, n_tgt, stamp, tag, dist,
                touched, hk, hn):
        # Dijkstra from u avoiding `skip`, bounded by cost and settled nodes, stopped once the
        # n_tgt nodes with stamp == tag are settled; dist is set on the touched nodes (returns
        # how many; the caller resets them to inf)
        dist[u] = 0.0
        touched[0] = u
        nt = 1
        hk[0] = 0.0
        hn[0] = u
        size = np.int64(1)
        settled = 0
        while size > 0:
            du = hk[0]
            x = hn[0]
            size = heap_pop(hk, hn, size)
            if du > dist[x]:
                continue
            if settled >= max_settled:
                break
            if stamp[x] == tag:
                n_tgt -= 1
                if n_tgt == 0:
                    break
            settled += 1
            for e in range(start[x], start[x] + cnt[x]):
                y = nbr[e]
                if y == skip:
                    continue
                nd = du + wt[e]
                if nd < dist[y] and nd <= max_cost:
                    if dist[y] == inf:
                        touched[nt] = y
                        nt += 1
                    dist[y] = nd
                    size = heap_push(hk, hn, size, nd, y)
        return nt

    @nb.njit(nogil=True, cache=False)
    def add_edge(start, cnt, cap, nbr, wt, used, u, w, c):
        # edge u -> w of cost c (the cheaper one if it exists); a full list moves to the end of
        # the pool with twice the room. Returns the pool's used size, -1 when it is full.
        for e in range(start[u], start[u] + cnt[u]):
            if nbr[e] == w:
                if c < wt[e]:
                    wt[e] = c
                return used
        if cnt[u] == cap[u]:
            new_cap = 2 * cap[u] + 2
            if used + new_cap > nbr.shape[0]:
                return -1
            for i in range(cnt[u]):
                nbr[used + i] = nbr[start[u] + i]
                wt[used + i] = wt[start[u] + i]
            start[u] = used
            cap[u] = new_cap
            used += new_cap
        nbr[start[u] + cnt[u]] = w
        wt[start[u] + cnt[u]] = c
        cnt[u] += 1
        return used

    @nb.njit(nogil=True, cache=False)
    def count_shortcuts(start, cnt, nbr, wt, v, max_settled, stamp, dist, touched, hk, hn):
        # shortcuts the contraction of v would add now
        deg = cnt[v]
        s = start[v]
        shortcuts = 0
        for a in range(deg - 1):
            wmax = 0.0
            for b in range(a + 1, deg):
                wmax = max(wmax, wt[s + b])
                stamp[nbr[s + b]] = stamp[-1]
            nt = witness(start, cnt, nbr, wt, np.int64(nbr[s + a]), v, wt[s + a] + wmax,
                         max_settled, deg - 1 - a, stamp, stamp[-1], dist, touched, hk, hn)
            stamp[-1] += 1
            for b in range(a + 1, deg):
                if dist[nbr[s + b]] > wt[s + a] + wt[s + b]:
                    shortcuts += 1
            for i in range(nt):
                dist[touched[i]] = inf
        return shortcuts

    @nb.njit(nogil=True, cache=False)
    def contract(indptr, indices, data, max_settled, sim_settled, pool):
        n = indptr.shape[0] - 1
        start = np.empty(n, dtype=np.int64)
        cnt = np.zeros(n, dtype=np.int64)
        cap = np.empty(n, dtype=np.int64)
        used = np.int64(0)  # not a literal: one compiled version of the callees
        for v in range(n):
            start[v] = used
            cap[v] = indptr[v + 1] - indptr[v] + 2
            used += cap[v]
        nbr = np.empty(pool, dtype=np.int32)
        wt = np.empty(pool)
        for v in range(n):
            for e in range(indptr[v], indptr[v + 1]):
                if indices[e] != v:  # self-loops never lie on a least-cost path
                    nbr[start[v] + cnt[v]] = indices[e]
                    wt[start[v] + cnt[v]] = data[e]
                    cnt[v] += 1
        dist = np.full(n, inf)
        stamp = np.zeros(n + 1, dtype=np.int64)  # stamp[n]: the tag of the next search
        stamp[n] = 1
        touched = np.empty(n, dtype=np.int64)
        hk = np.empty(nbr.shape[0] + 1)
        hn = np.empty(nbr.shape[0] + 1, dtype=np.int64)
        nv = np.empty(n, dtype=np.int64)
        wv = np.empty(n)
        done = np.zeros(n, dtype=np.bool_)
        dn = np.zeros(n, dtype=np.int64)  # contracted neighbours
        lev = np.zeros(n, dtype=np.int64)  # level: above every node contracted before it
        cur = np.empty(n, dtype=np.int64)  # the current queue key of each node
        # the contraction queue: keys only (each key is its own payload in the shared heap)
        qk = np.empty(n + 2 * pool + 16, dtype=np.int64)
        qsize = np.int64(0)
        up_t = np.empty(pool, dtype=np.int64)
        up_h = np.empty(pool, dtype=np.int64)
        up_w = np.empty(pool)
        n_up = 0
        n_short = 0
        off = 1 << 30  # priorities are > -off: keys (priority + off) * n + node are >= 0
        sc = np.zeros(n, dtype=np.int64)  # shortcuts of each node's last evaluation
        dirty = np.zeros(n, dtype=np.bool_)
        for v in range(n):
            sc[v] = count_shortcuts(start, cnt, nbr, wt, v, sim_settled, stamp, dist, touched,
                                    hk, hn)
            key = (PA * (sc[v] - cnt[v]) + off) * n + v
            cur[v] = key
            qsize = heap_push(qk, qk, qsize, key, key)
        while qsize > 0:
            key = qk[0]
            qsize = heap_pop(qk, qk, qsize)
            v = key % n
            if done[v] or cur[v] != key:
                continue  # a stale entry
            deg = cnt[v]
            if dirty[v]:  # its neighbourhood changed since its last evaluation
                dirty[v] = False
                sc[v] = count_shortcuts(start, cnt, nbr, wt, v, sim_settled, stamp, dist,
                                        touched, hk, hn)
                key = (PA * (sc[v] - deg) + PB * dn[v] + PC * lev[v] + off) * n + v
                if qsize > 0 and key > qk[0]:  # lazy update: no longer the least
                    cur[v] = key
                    qsize = heap_push(qk, qk, qsize, key, key)
                    continue
            # contract v: its edges (all to uncontracted nodes) are its upward edges
            for a in range(deg):
                nv[a] = nbr[start[v] + a]
                wv[a] = wt[start[v] + a]
            done[v] = True
            cnt[v] = 0
            for a in range(deg):
                up_t[n_up] = v
                up_h[n_up] = nv[a]
                up_w[n_up] = wv[a]
                n_up += 1
                u = nv[a]
                for e in range(start[u], start[u] + cnt[u]):
                    if nbr[e] == v:
                        last = start[u] + cnt[u] - 1
                        nbr[e] = nbr[last]
                        wt[e] = wt[last]
                        cnt[u] -= 1
                        break
                dn[u] += 1
                lev[u] = max(lev[u], lev[v] + 1)
            for a in range(deg - 1):
                u = nv[a]
                wmax = 0.0
                for b in range(a + 1, deg):
                    wmax = max(wmax, wv[b])
                    stamp[nv[b]] = stamp[-1]
                nt = witness(start, cnt, nbr, wt, u, v, wv[a] + wmax, max_settled, deg - 1 - a,
                             stamp, stamp[-1], dist, touched, hk, hn)
                stamp[-1] += 1
                for b in range(a + 1, deg):
                    c = wv[a] + wv[b]
                    w = nv[b]
                    if dist[w] > c:
                        n_short += 1
                        used = add_edge(start, cnt, cap, nbr, wt, used, u, w, c)
                        if used >= 0:
                            used = add_edge(start, cnt, cap, nbr, wt, used, w, u, c)
                        if used < 0:  # the pool is full: the caller retries with more
                            return lev, up_t[:0], up_h[:0], up_w[:0], -1
                for i in range(nt):
                    dist[touched[i]] = inf
            # the neighbours' priorities change: their keys follow the new degree and
            # contracted neighbours with the shortcut count of their last evaluation (exact
            # counts are taken when popped: lazy updates)
            for a in range(deg):
                u = nv[a]
                dirty[u] = True
                key = (PA * (sc[u] - cnt[u]) + PB * dn[u] + PC * lev[u] + off) * n + u
                if key != cur[u]:
                    cur[u] = key
                    qsize = heap_push(qk, qk, qsize, key, key)
        return lev, up_t[:n_up], up_h[:n_up], up_w[:n_up], n_short

    @nb.njit(nogil=True, cache=False)
    def closure(indptr, indices, seeds):
        # nodes whose distance a seed can need: seeds and, from the lowest level (highest
        # number) up, the upward neighbours of needed nodes
        n = indptr.shape[0] - 1
        need = np.zeros(n, dtype=np.bool_)
        for s in range(seeds.shape[0]):
            need[seeds[s]] = True
        for i in range(n - 1, -1, -1):
            if need[i]:
                for e in range(indptr[i], indptr[i + 1]):
                    need[indices[e]] = True
        return need

    @nb.njit(nogil=True, cache=False)
    def phast(indptr, indices, data, sources, targets, b_lo, b_hi, out):
        n = indptr.shape[0] - 1
        m = indices.shape[0]
        n_src = sources.shape[0]
        n_tgt = targets.shape[0]
        for b in range(b_lo, b_hi):
            d = np.full(n * K, inf)
            hk = np.empty(m + 1)
            hn = np.empty(m + 1, dtype=np.int64)
            s0 = b * K
            ns = min(K, n_src - s0)
            for k in range(ns):  # upward Dijkstra of lane k
                s = sources[s0 + k]
                d[s * K + k] = 0.0
                hk[0] = 0.0
                hn[0] = s
                size = np.int64(1)
                while size > 0:
                    du = hk[0]
                    u = hn[0]
                    size = heap_pop(hk, hn, size)
                    if du > d[u * K + k]:
                        continue
                    for e in range(indptr[u], indptr[u + 1]):
                        v = indices[e]
                        nd = du + data[e]
                        if nd < d[v * K + k]:
                            d[v * K + k] = nd
                            size = heap_push(hk, hn, size, nd, v)
            for i in range(n):  # the downward sweep: 8 lanes at once, in registers
                bi = np.uint64(i) * u8
                a0, a1, a2, a3 = d[bi + u0], d[bi + u1], d[bi + u2], d[bi + u3]
                a4, a5, a6, a7 = d[bi + u4], d[bi + u5], d[bi + u6], d[bi + u7]
                for e in range(indptr[i], indptr[i + 1]):
                    bj = np.uint64(indices[e]) * u8
                    w = data[e]
                    x0 = d[bj + u0] + w
                    a0 = x0 if x0 < a0 else a0
                    x1 = d[bj + u1] + w
                    a1 = x1 if x1 < a1 else a1
                    x2 = d[bj + u2] + w
                    a2 = x2 if x2 < a2 else a2
                    x3 = d[bj + u3] + w
                    a3 = x3 if x3 < a3 else a3
                    x4 = d[bj + u4] + w
                    a4 = x4 if x4 < a4 else a4
                    x5 = d[bj + u5] + w
                    a5 = x5 if x5 < a5 else a5
                    x6 = d[bj + u6] + w
                    a6 = x6 if x6 < a6 else a6
                    x7 = d[bj + u7] + w
                    a7 = x7 if x7 < a7 else a7
                d[bi + u0], d[bi + u1], d[bi + u2], d[bi + u3] = a0, a1, a2, a3
                d[bi + u4], d[bi + u5], d[bi + u6], d[bi + u7] = a4, a5, a6, a7
            for k in range(ns):
                for t in range(n_tgt):
                    out[s0 + k, t] = d[targets[t] * K + k]

    _KERNELS.update(contract=contract, closure=closure, phast=phast)
    return _KERNELS


def _run_batches(phast, args, out):
    """Batches of :data:`LANES` sources on numba's number of threads, in fixed chunks.

    The kernel releases the GIL; each batch is independent of the others, so the result does
    not depend on the number of threads or on which thread runs which chunk.
    """
    import numba

    n_batches = -(-out.shape[0] // LANES)
    chunks = [(lo, min(lo + CHUNK, n_batches)) for lo in range(0, n_batches, CHUNK)]
    threads = min(numba.get_num_threads(), len(chunks))
    if threads <= 1:
        for lo, hi in chunks:
            phast(*args, lo, hi, out)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(phast, *args, lo, hi, out) for lo, hi in chunks]:
            f.result()


def _check_csr(indptr, indices, data):
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    if indices.size >= 2**31 or indptr.size > 2**31:
        raise ValueError("graphs of more than 2**31 - 1 nodes or edges are not supported")
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int64)
    data = np.ascontiguousarray(data, dtype=np.float64)
    for name, a in (("indptr", indptr), ("indices", indices), ("data", data)):
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    n = indptr.shape[0] - 1
    if n < 0 or indptr[0] != 0 or indptr[-1] != indices.shape[0] or np.any(np.diff(indptr) < 0):
        raise ValueError("indptr must start at 0, not decrease and end at len(indices)")
    if data.shape != indices.shape:
        raise ValueError(f"data has {data.shape[0]} entries, indices {indices.shape[0]}")
    if not np.all(np.isfinite(data)) or np.any(data < 0):
        raise ValueError("data (edge weights) must be finite and non-negative")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError(f"indices must be node indices in [0, {n})")
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    fwd = np.lexsort((data, indices, rows))
    bwd = np.lexsort((data, rows, indices))
    if not (np.array_equal(rows[fwd], indices[bwd]) and np.array_equal(indices[fwd], rows[bwd])
            and np.array_equal(data[fwd], data[bwd])):
        raise ValueError("the graph must be undirected: edge (u, v, w) stored with (v, u, w)")
    return indptr, indices, data


def contraction_hierarchy(indptr, indices, data, *, witness_settled=None):
    r"""Contraction hierarchy of an undirected weighted graph (Geisberger et al. 2008).

    Nodes are contracted one by one in order of least priority

    .. math:: p(v) = 2\,\text{ED}(v) + \text{CN}(v) + L(v)

    (:data:`PRIORITY_WEIGHTS`; edge difference ED: shortcuts the contraction would add minus
    the edges it removes, by a witness search bounded at :data:`SIMULATION_SETTLED` nodes;
    CN: neighbours contracted so far; level L: one more than the highest level among them),
    recomputed when a node reaches the top of the queue (lazy updates); ties go to the lower
    node id (deterministic).
    Contracting ``v`` adds for neighbours ``u, w`` the shortcut

    .. math:: w(u, w) \leftarrow \min\big(w(u, w),\; w(u, v) + w(v, w)\big)

    unless a witness search (Dijkstra from ``u`` avoiding ``v``, at most ``witness_settled``
    settled nodes) finds a path of at most that cost. Least path costs between any two nodes
    are then those of an up-down path: upward edges only, then downward edges only.

    Parameters
    ----------
    indptr : ndarray of int, shape (V + 1,)
    indices : ndarray of int, shape (E,)
        Head node of each edge, row by row, in ``[0, V)``; both directions of every edge.
    data : ndarray of float64, shape (E,)
        Edge weights >= 0, finite, the same in both directions (any unit).
    witness_settled : int, optional
        Nodes a witness search may settle; default :data:`WITNESS_SETTLED`.

    Returns
    -------
    Hierarchy
        Nodes renumbered by decreasing level, upward edges in CSR, the number of shortcuts.

    Raises
    ------
    ValueError
        On shapes that do not fit, indices out of range, negative or non-finite weights, or a
        graph that is not undirected.

    References
    ----------
    .. [1] Geisberger, R., Sanders, P., Schultes, D. & Delling, D. (2008). Contraction
       hierarchies: faster and simpler hierarchical routing in road networks. WEA 2008,
       LNCS 5038, 319-333.
    """
    indptr, indices, data = _check_csr(indptr, indices, data)
    n = indptr.shape[0] - 1
    limit = WITNESS_SETTLED if witness_settled is None else int(witness_settled)
    if n == 0:
        return Hierarchy(np.zeros(0, np.int64), np.zeros(1, np.int32), np.zeros(0, np.int32),
                         np.zeros(0), 0)
    contract = _compile()["contract"]
    pool = 4 * (indices.shape[0] + 2 * n) + 64
    while True:  # the adjacency pool is fixed in the kernel: retry with more room if full
        lev, t, h, w, n_short = contract(indptr, indices, data, limit, SIMULATION_SETTLED, pool)
        if n_short >= 0:
            break
        pool *= 2
    # by decreasing level (every upward edge leads to a higher level), then node id: the sweep
    # order of PHAST, which keeps the nodes of a level in their input order (locality)
    order = np.lexsort((np.arange(n), -lev))
    new_id = np.empty(n, dtype=np.int64)
    new_id[order] = np.arange(n)
    t, h = new_id[t], new_id[h]
    order = np.lexsort((h, t))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(t, minlength=n), out=ptr[1:])
    return Hierarchy(new_id, ptr.astype(np.int32), h[order].astype(np.int32),
                     np.ascontiguousarray(w[order]), int(n_short))


def hierarchy_costs(hierarchy, sources, targets, out=None):
    r"""Least path costs from each source to each target by PHAST over a hierarchy.

    .. math:: d(s, v) = \min\Big(d^\uparrow(s, v),\;
              \min_{u \in \text{up}(v)} d(s, u) + w(v, u)\Big)

    for all nodes ``v`` in decreasing rank, where :math:`d^\uparrow` is Dijkstra from ``s`` over
    upward edges only (Delling et al. 2013). :data:`LANES` sources are swept at once; the
    sweep covers only the nodes the sources and targets can need (RPHAST); batches run in
    parallel on numba's threads (the result does not depend on their number).

    Parameters
    ----------
    hierarchy : Hierarchy
        From :func:`contraction_hierarchy`.
    sources, targets : ndarray of int, shape (S,), (T,)
        Nodes of the original graph.
    out : ndarray of float64, shape (S, T), C-contiguous, optional
        Where to write the result.

    Returns
    -------
    ndarray of float64, shape (S, T)
        Least path costs (unit of the weights), ``inf`` where unreachable.

    References
    ----------
    .. [1] Delling, D., Goldberg, A. V., Nowatzyk, A. & Werneck, R. F. (2013). PHAST:
       Hardware-accelerated shortest path trees. J. Parallel Distrib. Comput. 73(7), 940-952.
    .. [2] Delling, D., Goldberg, A. V. & Werneck, R. F. (2011). Faster batched shortest
       paths in road networks. ATMOS 2011, OASIcs 20, 52-63 (RPHAST).
    """
    sources = np.ascontiguousarray(sources, dtype=np.int64)
    targets = np.ascontiguousarray(targets, dtype=np.int64)
    n = hierarchy.n_nodes
    for name, a in (("sources", sources), ("targets", targets)):
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
        if a.size and (a.min() < 0 or a.max() >= n):
            raise ValueError(f"{name} must be node indices in [0, {n})")
    shape = (sources.shape[0], targets.shape[0])
    if out is None:
        out = np.empty(shape)
    elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float64 array of shape {shape}")
    if not out.size:
        return out
    kernels = _compile()
    src, tgt = hierarchy.new_id[sources], hierarchy.new_id[targets]
    ptr, ind, w = hierarchy.indptr, hierarchy.indices, hierarchy.data
    need = kernels["closure"](ptr, ind, np.concatenate([src, tgt]))
    if not need.all():  # keep the needed nodes, in the same order (RPHAST)
        sub = np.cumsum(need) - 1
        rows = np.repeat(need, np.diff(ptr))
        counts = np.diff(ptr)[need]
        ptr = np.zeros(counts.shape[0] + 1, dtype=np.int32)
        np.cumsum(counts, out=ptr[1:])
        ind = sub[ind[rows]].astype(np.int32)
        w = np.ascontiguousarray(w[rows])
        src, tgt = sub[src], sub[tgt]
    _run_batches(kernels["phast"], (ptr, ind, w, src, tgt), out)
    return out


def many_source_costs(indptr, indices, data, sources, targets, out=None):
    r"""Least path costs from each source node to each target node of an undirected graph.

    .. math:: D_{st} = \min_{\text{paths } s \to t} \sum_{e \in \text{path}} w_e,
              \qquad D_{ss} = 0

    by a contraction hierarchy (:func:`contraction_hierarchy`) and PHAST from every source
    (:func:`hierarchy_costs`). Equal to Dijkstra's costs to rounding (another summation order).

    Parameters
    ----------
    indptr : ndarray of int, shape (V + 1,)
    indices : ndarray of int, shape (E,)
        Head node of each edge, row by row, in ``[0, V)``; both directions of every edge.
    data : ndarray of float64, shape (E,)
        Edge weights :math:`w_e` >= 0, finite, equal in both directions (any unit; the result
        has the same unit). Every stored entry is an edge, zero weights included.
    sources : ndarray of int, shape (S,)
        Source nodes.
    targets : ndarray of int, shape (T,)
        Target nodes.
    out : ndarray of float64, shape (S, T), C-contiguous, optional
        Where to write the result (no other (S, T) array is allocated).

    Returns
    -------
    ndarray of float64, shape (S, T)
        :math:`D_{st}`, ``inf`` where ``t`` cannot be reached from ``s``.

    Raises
    ------
    ValueError
        On shapes that do not fit, node indices out of range, negative or non-finite weights,
        a graph that is not undirected.

    References
    ----------
    .. [1] Geisberger, R., Sanders, P., Schultes, D. & Delling, D. (2008). Contraction
       hierarchies: faster and simpler hierarchical routing in road networks. WEA 2008,
       LNCS 5038, 319-333.
    .. [2] Delling, D., Goldberg, A. V., Nowatzyk, A. & Werneck, R. F. (2013). PHAST:
       Hardware-accelerated shortest path trees. J. Parallel Distrib. Comput. 73(7), 940-952.
    """
    sources = np.ascontiguousarray(sources, dtype=np.int64)
    targets = np.ascontiguousarray(targets, dtype=np.int64)
    n = np.asarray(indptr).shape[0] - 1
    for name, a in (("sources", sources), ("targets", targets)):
        if a.ndim == 1 and a.size and (a.min() < 0 or a.max() >= n):
            raise ValueError(f"{name} must be node indices in [0, {n})")
    return hierarchy_costs(prepared_hierarchy(indptr, indices, data), sources, targets, out)


def prepared_hierarchy(indptr, indices, data):
    """:func:`contraction_hierarchy`, with the PHAST sweep compiled meanwhile if it is not yet.

    The first call of a process compiles :func:`hierarchy_costs`'s sweep in a second thread
    while the contraction runs (numba compiles holding the GIL, the contraction runs without
    it), so that the costs can follow at once. Arguments and result as
    :func:`contraction_hierarchy`.
    """
    warm = None
    with _WARM_LOCK:  # one compiling thread even if two hierarchies are built at once
        if not _WARM_STARTED and ("phast" not in _KERNELS or not _KERNELS["phast"].signatures):
            warm = threading.Thread(target=_compile_sweep, daemon=True)
            _compile()
            warm.start()
            _WARM_STARTED.append(warm)
    try:
        return contraction_hierarchy(indptr, indices, data)
    finally:
        if warm is not None:
            warm.join()


def _compile_sweep():
    """Compile the sweep for the argument types :func:`hierarchy_costs` passes (tiny input)."""
    tiny = Hierarchy(np.arange(2, dtype=np.int64)[::-1].copy(), np.array([0, 0, 1], np.int32),
                     np.array([0], np.int32), np.array([1.0]), 0)
    hierarchy_costs(tiny, [0], [1])
