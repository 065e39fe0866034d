r"""Compiled many-source shortest paths: Dijkstra with an 8-ary heap on CSR arrays.

:func:`sim.kernels.network.shortest_path_costs` needs the least cost between every pair of
places of a sparse graph (tens of thousands of nodes at country scale). ``scipy.sparse.csgraph``'s
Dijkstra runs one source after the other on one core with a Fibonacci heap and returns every
node's distance; this module runs the same algorithm (Dijkstra 1959) with an indexed 8-ary heap
(a d-heap, Johnson 1975: shallower than a binary heap, so fewer moves per decrease-key; measured
faster than 2 and 4 children) in numba-compiled code, sources in parallel over numba's thread
pool (each source is independent, so the result does not depend on the number of threads), and
stops a source's search as soon as every target node is settled.

The distances are those of scipy's implementation: a node's distance is the smallest
``dist[u] + w(u, v)`` over its settled neighbours ``u`` (the relaxation ``dist[u] + w <
dist[v]`` in the same float64 arithmetic), so both give the same sums along the same least-cost
paths; ties between paths of equal cost give the same value either way.

numba compiles the kernel on the first call of a process (no on-disk cache: nothing is written
at run time), 3.0-3.3 s of CPU time measured on the shared machine (importing numba included);
:data:`MIN_SOURCES_X_NODES` keeps smaller graphs (Jilin, the China pack, 2,000 places) on scipy,
where compiling would cost more than it saves.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MIN_SOURCES_X_NODES", "CHUNK", "many_source_costs", "uses_compiled"]

MIN_SOURCES_X_NODES = 20_000_000
"""Problems with at least ``n_sources * n_nodes`` of this size use the compiled kernel."""

CHUNK = 16
"""Sources per parallel task (a fixed split: results do not depend on the thread count)."""

_KERNELS: dict = {}


def uses_compiled(n_sources: int, n_nodes: int) -> bool:
    """Whether :func:`sim.kernels.network.shortest_path_costs` uses this module's kernel."""
    return n_sources * n_nodes >= MIN_SOURCES_X_NODES


def _compile():
    """Build the numba kernel (once per process; no on-disk cache)."""
    if _KERNELS:
        return _KERNELS
    import numba as nb

    @nb.njit(nogil=True, cache=False)
    def one_source(indptr, indices, data, src, is_target, n_targets, dist, hkey, hnode, pos):
        # dist: +inf; pos: -1 (never in the heap), >= 0 (heap slot), -2 (settled).
        # The heap (8 children per entry) holds (key, node) pairs side by side: sifting reads
        # no dist[] entries.
        n = dist.shape[0]
        for i in range(n):
            dist[i] = np.inf
            pos[i] = -1
        dist[src] = 0.0
        hkey[0] = 0.0
        hnode[0] = src
        pos[src] = 0
        size = 1
        left = n_targets
        while size > 0:
            u = hnode[0]
            du = hkey[0]
            size -= 1
            pos[u] = -2
            if size > 0:  # move the last entry to the root and sift it down
                kx = hkey[size]
                x = hnode[size]
                i = 0
                while True:
                    c0 = 8 * i + 1
                    if c0 >= size:
                        break
                    c = c0
                    kc = hkey[c0]
                    for j in range(c0 + 1, min(c0 + 8, size)):
                        if hkey[j] < kc:
                            c = j
                            kc = hkey[j]
                    if kc < kx:
                        hkey[i] = kc
                        hnode[i] = hnode[c]
                        pos[hnode[i]] = i
                        i = c
                    else:
                        break
                hkey[i] = kx
                hnode[i] = x
                pos[x] = i
            if is_target[u]:
                left -= 1
                if left == 0:
                    break
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                pv = pos[v]
                if pv == -2:
                    continue
                nd = du + data[e]
                if nd < dist[v]:
                    dist[v] = nd
                    i = pv
                    if i < 0:  # a new heap entry at the end
                        i = size
                        size += 1
                    while i > 0:  # sift up
                        p = (i - 1) >> 3
                        kp = hkey[p]
                        if kp > nd:
                            hkey[i] = kp
                            hnode[i] = hnode[p]
                            pos[hnode[i]] = i
                            i = p
                        else:
                            break
                    hkey[i] = nd
                    hnode[i] = v
                    pos[v] = i

    @nb.njit(parallel=True, nogil=True, cache=False)
    def many(indptr, indices, data, sources, targets, chunk, out):
        n = indptr.shape[0] - 1
        n_src = sources.shape[0]
        is_target = np.zeros(n, dtype=np.bool_)
        for t in range(targets.shape[0]):
            is_target[targets[t]] = True
        n_targets = 0
        for i in range(n):
            if is_target[i]:
                n_targets += 1
        n_chunks = (n_src + chunk - 1) // chunk
        for b in nb.prange(n_chunks):
            dist = np.empty(n)
            hkey = np.empty(n)
            hnode = np.empty(n, dtype=np.int32)
            pos = np.empty(n, dtype=np.int32)
            for s in range(b * chunk, min(n_src, (b + 1) * chunk)):
                one_source(indptr, indices, data, sources[s], is_target, n_targets, dist, hkey,
                           hnode, pos)
                for t in range(targets.shape[0]):
                    out[s, t] = dist[targets[t]]

    _KERNELS["many"] = many
    return _KERNELS


def many_source_costs(indptr, indices, data, sources, targets, out=None):
    r"""Least path costs from each source node to each target node of a weighted graph.

    .. math:: D_{st} = \min_{\text{paths } s \to t} \sum_{e \in \text{path}} w_e,
              \qquad D_{ss} = 0

    by Dijkstra's algorithm from every source (Dijkstra 1959) with an indexed 8-ary heap
    (Johnson 1975; decrease-key by sifting up), on a directed graph in compressed sparse row
    form; every stored entry is an edge, zero weights included. Sources run in parallel on
    numba's threads in fixed chunks of :data:`CHUNK`; each source's search stops once all
    targets are settled. Cost: O(S (E + V) log V) for S sources, E edges, V nodes.

    Parameters
    ----------
    indptr : ndarray of int, shape (V + 1,)
    indices : ndarray of int, shape (E,)
        Column (head node) of each edge, row by row, in ``[0, V)``.
    data : ndarray of float64, shape (E,)
        Edge weights :math:`w_e` >= 0, finite (any unit; the result has the same unit).
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
        On shapes that do not fit, node indices out of range, negative or non-finite weights.

    References
    ----------
    .. [1] Dijkstra, E. W. (1959). A note on two problems in connexion with graphs.
       Numerische Mathematik 1, 269-271.
    .. [2] Johnson, D. B. (1975). Priority queues with update and finding minimum spanning
       trees. Information Processing Letters 4(3), 53-57 (d-heaps).
    .. [3] Cormen, T. H., Leiserson, C. E., Rivest, R. L. & Stein, C. (2009). Introduction to
       Algorithms, 3rd ed., MIT Press, sections 6.5 (priority queues) and 24.3 (Dijkstra).
    """
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    if indices.size >= 2**31 or indptr.size > 2**31:
        raise ValueError("graphs of more than 2**31 - 1 nodes or edges are not supported")
    indptr = np.ascontiguousarray(indptr, dtype=np.int32)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    data = np.ascontiguousarray(data, dtype=np.float64)
    sources = np.ascontiguousarray(sources, dtype=np.int64)
    targets = np.ascontiguousarray(targets, dtype=np.int64)
    for name, a in (("indptr", indptr), ("indices", indices), ("data", data),
                    ("sources", sources), ("targets", targets)):
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    n = indptr.shape[0] - 1
    if n < 0 or indptr[0] != 0 or indptr[-1] != indices.shape[0] or np.any(np.diff(indptr) < 0):
        raise ValueError("indptr must start at 0, not decrease and end at len(indices)")
    if data.shape != indices.shape:
        raise ValueError(f"data has {data.shape[0]} entries, indices {indices.shape[0]}")
    if not np.all(np.isfinite(data)) or np.any(data < 0):
        raise ValueError("data (edge weights) must be finite and non-negative")
    for name, a in (("indices", indices), ("sources", sources), ("targets", targets)):
        if a.size and (a.min() < 0 or a.max() >= n):
            raise ValueError(f"{name} must be node indices in [0, {n})")
    shape = (sources.shape[0], targets.shape[0])
    if out is None:
        out = np.empty(shape)
    elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float64 array of shape {shape}")
    if out.size:
        _compile()["many"](indptr, indices, data, sources, targets, CHUNK, out)
    return out
