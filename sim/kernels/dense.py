r"""Dense (N, N) matrix times thin (N, k) block at streaming bandwidth.

The equilibrium's trade products (:func:`sim.kernels.equilibrium.price_index_power`,
:func:`sim.kernels.equilibrium.market_access`) and the migration year
(:func:`sim.kernels.migration.logit_flow_totals`) multiply one large dense matrix — trade
freeness :math:`T_g` or the migration kernel :math:`E = e^{-\kappa}` — by a few right-hand
columns (the sectors of a trade-cost group; a weight vector and its external part). Such
products read every matrix entry once and do k multiply-adds with it, so their cost is the time
to stream the matrix from memory. OpenBLAS handles k = 1 (a matrix-vector product) at streaming
speed but k = 2..10 (a thin matrix-matrix product) several times slower, so above
:data:`MIN_PLACES` places the products use the compiled kernels of this module (numba, compiled
on first use without an on-disk cache): one pass over the matrix for all k columns, blocks of
eight rows by four (two, one) columns held in registers, float64 accumulation for float64 or
float32 matrices (a float32 matrix is read as it is, never copied to float64).

Below :data:`MIN_PLACES` (the Jilin region has about 70 places) the products stay with numpy's
BLAS: the matrix fits in cache, and compiling would cost more than it saves.

Threads: the compiled kernels are serial loops that release the GIL, each over a range of
row blocks (or parts); :func:`thin_product` splits the work into ``numba.get_num_threads()``
ranges (by default one per core) and runs them on the calling thread and a small pool of
Python threads. Serial kernels compile in about a third of the time numba's ``parallel=True``
needs for the same loops (docs/performance.md). Sweep workers pin the count to one thread, as
they pin BLAS. Results do not depend on the number of threads: each output row is one block's
sum whatever thread computes it, and the transposed product's rows are split into a fixed
number of parts whose partial sums are added in a fixed order.

A symmetric matrix (:func:`is_symmetric`; trade freeness and the migration kernel from
symmetric least-cost routes) needs only the row kernel: its callers then ask for ``A X``
instead of ``A^T X``.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["MIN_PLACES", "PARTS", "balanced_order", "is_symmetric", "spread", "thin_product",
           "threads", "uses_compiled"]

MIN_PLACES = 1000
"""Matrices with at least this many rows use the compiled kernels (below: numpy/BLAS)."""

PARTS = 4
"""Fixed number of row parts of the transposed product (independent of the thread count)."""

_KERNELS: dict = {}


def _compile():
    """Build the two numba kernels (once per process; no on-disk cache)."""
    if _KERNELS:
        return _KERNELS
    import numba as nb

    opts = dict(nogil=True, cache=False, fastmath={"reassoc", "contract"})

    @nb.njit(**opts)
    def rows(T, Xt, out, b0, b1):  # out[i, c] = sum_j T[i, j] Xt[c, j], blocks b0..b1-1
        n, m = T.shape
        k = Xt.shape[0]
        for b in range(b0, b1):
            i0 = b * 8
            if i0 + 8 > n:  # the last n % 8 rows: one at a time
                for i in range(i0, n):
                    ti = T[i]
                    for c in range(k):
                        xa = Xt[c]
                        s = 0.0
                        for j in range(m):
                            s += np.float64(ti[j]) * xa[j]
                        out[i, c] = s
                continue
            t0, t1, t2, t3 = T[i0], T[i0 + 1], T[i0 + 2], T[i0 + 3]
            t4, t5, t6, t7 = T[i0 + 4], T[i0 + 5], T[i0 + 6], T[i0 + 7]
            c = 0
            while c + 4 <= k:  # eight rows by four columns in registers
                xa, xb, xc, xd = Xt[c], Xt[c + 1], Xt[c + 2], Xt[c + 3]
                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
                b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = 0.0
                c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = 0.0
                d0 = d1 = d2 = d3 = d4 = d5 = d6 = d7 = 0.0
                for j in range(m):
                    x, y, z, w = xa[j], xb[j], xc[j], xd[j]
                    v = np.float64(t0[j])
                    a0 += v * x
                    b0 += v * y
                    c0 += v * z
                    d0 += v * w
                    v = np.float64(t1[j])
                    a1 += v * x
                    b1 += v * y
                    c1 += v * z
                    d1 += v * w
                    v = np.float64(t2[j])
                    a2 += v * x
                    b2 += v * y
                    c2 += v * z
                    d2 += v * w
                    v = np.float64(t3[j])
                    a3 += v * x
                    b3 += v * y
                    c3 += v * z
                    d3 += v * w
                    v = np.float64(t4[j])
                    a4 += v * x
                    b4 += v * y
                    c4 += v * z
                    d4 += v * w
                    v = np.float64(t5[j])
                    a5 += v * x
                    b5 += v * y
                    c5 += v * z
                    d5 += v * w
                    v = np.float64(t6[j])
                    a6 += v * x
                    b6 += v * y
                    c6 += v * z
                    d6 += v * w
                    v = np.float64(t7[j])
                    a7 += v * x
                    b7 += v * y
                    c7 += v * z
                    d7 += v * w
                out[i0, c], out[i0, c + 1] = a0, b0
                out[i0, c + 2], out[i0, c + 3] = c0, d0
                out[i0 + 1, c], out[i0 + 1, c + 1] = a1, b1
                out[i0 + 1, c + 2], out[i0 + 1, c + 3] = c1, d1
                out[i0 + 2, c], out[i0 + 2, c + 1] = a2, b2
                out[i0 + 2, c + 2], out[i0 + 2, c + 3] = c2, d2
                out[i0 + 3, c], out[i0 + 3, c + 1] = a3, b3
                out[i0 + 3, c + 2], out[i0 + 3, c + 3] = c3, d3
                out[i0 + 4, c], out[i0 + 4, c + 1] = a4, b4
                out[i0 + 4, c + 2], out[i0 + 4, c + 3] = c4, d4
                out[i0 + 5, c], out[i0 + 5, c + 1] = a5, b5
                out[i0 + 5, c + 2], out[i0 + 5, c + 3] = c5, d5
                out[i0 + 6, c], out[i0 + 6, c + 1] = a6, b6
                out[i0 + 6, c + 2], out[i0 + 6, c + 3] = c6, d6
                out[i0 + 7, c], out[i0 + 7, c + 1] = a7, b7
                out[i0 + 7, c + 2], out[i0 + 7, c + 3] = c7, d7
                c += 4
            if c + 2 <= k:  # eight rows by two columns
                xa = Xt[c]
                xb = Xt[c + 1]
                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
                b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = 0.0
                for j in range(m):
                    x = xa[j]
                    y = xb[j]
                    v = np.float64(t0[j])
                    a0 += v * x
                    b0 += v * y
                    v = np.float64(t1[j])
                    a1 += v * x
                    b1 += v * y
                    v = np.float64(t2[j])
                    a2 += v * x
                    b2 += v * y
                    v = np.float64(t3[j])
                    a3 += v * x
                    b3 += v * y
                    v = np.float64(t4[j])
                    a4 += v * x
                    b4 += v * y
                    v = np.float64(t5[j])
                    a5 += v * x
                    b5 += v * y
                    v = np.float64(t6[j])
                    a6 += v * x
                    b6 += v * y
                    v = np.float64(t7[j])
                    a7 += v * x
                    b7 += v * y
                out[i0, c], out[i0, c + 1] = a0, b0
                out[i0 + 1, c], out[i0 + 1, c + 1] = a1, b1
                out[i0 + 2, c], out[i0 + 2, c + 1] = a2, b2
                out[i0 + 3, c], out[i0 + 3, c + 1] = a3, b3
                out[i0 + 4, c], out[i0 + 4, c + 1] = a4, b4
                out[i0 + 5, c], out[i0 + 5, c + 1] = a5, b5
                out[i0 + 6, c], out[i0 + 6, c + 1] = a6, b6
                out[i0 + 7, c], out[i0 + 7, c + 1] = a7, b7
                c += 2
            if c < k:  # last column of an odd k
                c = k - 1
                xa = Xt[c]
                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
                for j in range(m):
                    x = xa[j]
                    a0 += np.float64(t0[j]) * x
                    a1 += np.float64(t1[j]) * x
                    a2 += np.float64(t2[j]) * x
                    a3 += np.float64(t3[j]) * x
                    a4 += np.float64(t4[j]) * x
                    a5 += np.float64(t5[j]) * x
                    a6 += np.float64(t6[j]) * x
                    a7 += np.float64(t7[j]) * x
                out[i0, c], out[i0 + 1, c], out[i0 + 2, c], out[i0 + 3, c] = a0, a1, a2, a3
                out[i0 + 4, c], out[i0 + 5, c], out[i0 + 6, c], out[i0 + 7, c] = a4, a5, a6, a7

    @nb.njit(**opts)
    def cols(T, X, part, p0, p1):  # part[p, c, j] = sum_{i in part p} T[i, j] X[i, c]
        n, m = T.shape
        k = X.shape[1]
        P = part.shape[0]
        for p in range(p0, p1):
            lo = p * n // P
            hi = (p + 1) * n // P
            acc = part[p]
            acc[:] = 0.0
            i = lo
            while i + 8 <= hi:  # eight rows at a time, by four (two, one) columns
                t0, t1, t2, t3 = T[i], T[i + 1], T[i + 2], T[i + 3]
                t4, t5, t6, t7 = T[i + 4], T[i + 5], T[i + 6], T[i + 7]
                c = 0
                while c + 4 <= k:  # eight rows by four columns
                    x0, x1, x2, x3 = X[i, c], X[i + 1, c], X[i + 2, c], X[i + 3, c]
                    x4, x5, x6, x7 = X[i + 4, c], X[i + 5, c], X[i + 6, c], X[i + 7, c]
                    y0, y1, y2, y3 = X[i, c + 1], X[i + 1, c + 1], X[i + 2, c + 1], X[i + 3, c + 1]
                    y4, y5 = X[i + 4, c + 1], X[i + 5, c + 1]
                    y6, y7 = X[i + 6, c + 1], X[i + 7, c + 1]
                    z0, z1, z2, z3 = X[i, c + 2], X[i + 1, c + 2], X[i + 2, c + 2], X[i + 3, c + 2]
                    z4, z5 = X[i + 4, c + 2], X[i + 5, c + 2]
                    z6, z7 = X[i + 6, c + 2], X[i + 7, c + 2]
                    w0, w1, w2, w3 = X[i, c + 3], X[i + 1, c + 3], X[i + 2, c + 3], X[i + 3, c + 3]
                    w4, w5 = X[i + 4, c + 3], X[i + 5, c + 3]
                    w6, w7 = X[i + 6, c + 3], X[i + 7, c + 3]
                    oa, ob, oc, od = acc[c], acc[c + 1], acc[c + 2], acc[c + 3]
                    for j in range(m):
                        v0 = np.float64(t0[j])
                        v1 = np.float64(t1[j])
                        v2 = np.float64(t2[j])
                        v3 = np.float64(t3[j])
                        v4 = np.float64(t4[j])
                        v5 = np.float64(t5[j])
                        v6 = np.float64(t6[j])
                        v7 = np.float64(t7[j])
                        oa[j] += (v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3
                                  + v4 * x4 + v5 * x5 + v6 * x6 + v7 * x7)
                        ob[j] += (v0 * y0 + v1 * y1 + v2 * y2 + v3 * y3
                                  + v4 * y4 + v5 * y5 + v6 * y6 + v7 * y7)
                        oc[j] += (v0 * z0 + v1 * z1 + v2 * z2 + v3 * z3
                                  + v4 * z4 + v5 * z5 + v6 * z6 + v7 * z7)
                        od[j] += (v0 * w0 + v1 * w1 + v2 * w2 + v3 * w3
                                  + v4 * w4 + v5 * w5 + v6 * w6 + v7 * w7)
                    c += 4
                if c + 2 <= k:
                    x0, x1, x2, x3 = X[i, c], X[i + 1, c], X[i + 2, c], X[i + 3, c]
                    x4, x5, x6, x7 = X[i + 4, c], X[i + 5, c], X[i + 6, c], X[i + 7, c]
                    d = c + 1
                    y0, y1, y2, y3 = X[i, d], X[i + 1, d], X[i + 2, d], X[i + 3, d]
                    y4, y5, y6, y7 = X[i + 4, d], X[i + 5, d], X[i + 6, d], X[i + 7, d]
                    oa = acc[c]
                    ob = acc[d]
                    for j in range(m):
                        v0 = np.float64(t0[j])
                        v1 = np.float64(t1[j])
                        v2 = np.float64(t2[j])
                        v3 = np.float64(t3[j])
                        v4 = np.float64(t4[j])
                        v5 = np.float64(t5[j])
                        v6 = np.float64(t6[j])
                        v7 = np.float64(t7[j])
                        oa[j] += (v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3
                                  + v4 * x4 + v5 * x5 + v6 * x6 + v7 * x7)
                        ob[j] += (v0 * y0 + v1 * y1 + v2 * y2 + v3 * y3
                                  + v4 * y4 + v5 * y5 + v6 * y6 + v7 * y7)
                    c += 2
                if c < k:
                    c = k - 1
                    x0, x1, x2, x3 = X[i, c], X[i + 1, c], X[i + 2, c], X[i + 3, c]
                    x4, x5, x6, x7 = X[i + 4, c], X[i + 5, c], X[i + 6, c], X[i + 7, c]
                    oa = acc[c]
                    for j in range(m):
                        oa[j] += (np.float64(t0[j]) * x0 + np.float64(t1[j]) * x1
                                  + np.float64(t2[j]) * x2 + np.float64(t3[j]) * x3
                                  + np.float64(t4[j]) * x4 + np.float64(t5[j]) * x5
                                  + np.float64(t6[j]) * x6 + np.float64(t7[j]) * x7)
                i += 8
            while i < hi:  # the part's last rows (fewer than eight): one at a time
                ti = T[i]
                for c in range(k):
                    x0 = X[i, c]
                    oa = acc[c]
                    for j in range(m):
                        oa[j] += np.float64(ti[j]) * x0
                i += 1

    _KERNELS.update(rows=rows, cols=cols)
    return _KERNELS


def is_symmetric(matrix, *, block=256) -> bool:
    r"""True if a square matrix equals its transpose exactly: :math:`A_{ij} = A_{ji}`.

    Then :math:`A^\top X = A X`, so :func:`thin_product` can take the row kernel for both
    products (the trade freeness and the migration kernel are symmetric whenever the
    generalized costs are: least-cost routes over undirected links, symmetric by
    construction). By square tiles of ``block`` x ``block`` entries above the diagonal
    against the matching tiles below it, each pair in cache while it is compared (one pass
    over the matrix; three times faster than strips of rows against columns at 10,000 places);
    from :data:`MIN_PLACES` rows the strips of tiles are split among the threads
    (:func:`spread`).

    Parameters
    ----------
    matrix : ndarray, shape (N, N)
        Any dtype; unitless here (compared bit for bit, NaN never equal).
    block : int
        Side of a tile.

    Returns
    -------
    bool

    References
    ----------
    .. [1] Golub, G. H. & Van Loan, C. F. (2013). Matrix Computations, 4th ed., ch. 1
       (blocked access to a matrix and its transpose).
    """
    A = np.asarray(matrix)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        return False
    n = A.shape[0]
    starts = balanced_order(range(0, n, block))
    differs = []

    def strips(u0, u1):
        for lo in starts[u0:u1]:
            hi = min(lo + block, n)
            for lo2 in range(lo, n, block):
                if differs:
                    return
                hi2 = min(lo2 + block, n)
                if not np.array_equal(A[lo:hi, lo2:hi2], A[lo2:hi2, lo:hi].T):
                    differs.append(lo)
                    return

    if n >= MIN_PLACES:  # strips of tiles on the threads (numpy compares without the GIL)
        spread(strips, (), len(starts))
    else:
        strips(0, len(starts))
    return not differs


def balanced_order(starts):
    """The strips of an upper triangle in an order whose contiguous shares have equal work.

    First, last, second, second last, ...: strip ``i`` of ``k`` covers ``k - i`` tiles, so
    each pair of consecutive entries covers ``k + 1``.

    Parameters
    ----------
    starts : sequence of int
        First rows of the strips, in increasing order.

    Returns
    -------
    list of int
    """
    s = list(starts)
    out = []
    i, j = 0, len(s) - 1
    while i <= j:
        out.append(s[i])
        if i != j:
            out.append(s[j])
        i, j = i + 1, j - 1
    return out


def uses_compiled(matrix, columns=2) -> bool:
    """True if :func:`thin_product` takes the compiled path for this matrix and block width.

    Compiled: C-contiguous float64 or float32 matrices of at least :data:`MIN_PLACES` rows,
    for two or more columns (BLAS streams a float64 matrix-vector product at full speed; a
    float32 matrix goes compiled for one column too, which avoids BLAS's float64 copy).
    """
    return (matrix.ndim == 2 and matrix.shape[0] >= MIN_PLACES and matrix.flags.c_contiguous
            and (matrix.dtype == np.float32 or (matrix.dtype == np.float64 and columns >= 2)))


def thin_product(matrix, x, *, transpose=False, compiled=None):
    r"""Product of a dense square matrix with a thin block: :math:`A X` or :math:`A^\top X`.

    .. math:: Y_{ic} = \sum_j A_{ij} X_{jc} \quad\text{or}\quad
              Y_{jc} = \sum_i A_{ij} X_{ic}, \qquad c = 1..k

    One pass over A for all k columns, at the memory bandwidth of the machine for k up to
    about 4 (module notes). The sum is accumulated in float64 whatever the dtype of A.

    Parameters
    ----------
    matrix : ndarray, shape (N, N), float64 or float32
        A (trade freeness of one trade-cost group, or the migration kernel); unitless.
        Not copied on the compiled path (:func:`uses_compiled`).
    x : ndarray, shape (N,) or (N, k)
        Right-hand columns, any units; float64.
    transpose : bool
        False: A X (market access, origin normalisers); True: A^T X (price indices,
        destination totals).
    compiled : bool, optional
        Force the compiled (True) or the numpy/BLAS (False) path; default: compiled when
        :func:`uses_compiled` says so (N >= MIN_PLACES and k >= 2, or a float32 matrix).

    Returns
    -------
    ndarray, shape of ``x``, float64
        In the units of ``x``.

    Notes
    -----
    The compiled path adds in a different order from BLAS (blocks of eight rows, vectorized
    partial sums): results agree with ``A @ X`` to rounding (about 1e-15 relative for
    positive entries), and are the same for any number of threads.

    References
    ----------
    .. [1] McCalpin, J. D. (1995). Memory bandwidth and machine balance in current high
       performance computers. IEEE TCCA Newsletter. (streaming bandwidth as the bound of
       kernels that read each matrix entry once)
    """
    A = matrix
    X = np.asarray(x, dtype=np.float64)
    vec = X.ndim == 1
    X2 = X[:, None] if vec else X
    use = uses_compiled(A, X2.shape[1]) if compiled is None else bool(compiled)
    if not use:
        if A.dtype != np.float64:
            A = A.astype(np.float64)
        return (A.T if transpose else A) @ X
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] != X2.shape[0]:
        raise ValueError(f"thin_product: matrix {A.shape} and columns {X.shape} do not match")
    A = np.ascontiguousarray(A)
    kern = _compile()
    n, k = X2.shape
    if transpose:
        part = np.empty((PARTS, k, n))
        spread(kern["cols"], (A, np.ascontiguousarray(X2), part), PARTS)
        out = part[0]
        for p in range(1, PARTS):
            out += part[p]
        out = np.ascontiguousarray(out.T)
    else:
        out = np.empty((n, k))
        spread(kern["rows"], (A, np.ascontiguousarray(X2.T), out), (n + 7) // 8)
    return out[:, 0] if vec else out


_POOL: list = []
"""The helper threads of :func:`spread`: ``[(process id, ThreadPoolExecutor)]``, created on
first need (and again in a forked child, which does not inherit the threads)."""


def threads() -> int:
    """Threads the compiled kernels may use: ``numba.get_num_threads()``.

    One in sweep workers, which pin it; ``NUMBA_NUM_THREADS`` sets it for a process.
    """
    import numba as nb

    return int(nb.get_num_threads())


def spread(kernel, args, count):
    """Run ``kernel(*args, lo, hi)`` over ``[0, count)`` split among the threads.

    ``numba.get_num_threads()`` contiguous ranges (so ``NUMBA_NUM_THREADS`` and
    ``numba.set_num_threads`` pin it, as sweep workers do), the first in the calling thread,
    the others in helper threads: the kernels release the GIL (the compiled products here;
    also Python functions whose work is in numpy's loops, such as the blocks of rows of the
    network's matrices in :func:`sim.engine.primitives.network_matrices`). Each unit of work
    (a block of eight rows, a part of the transposed product) is computed by the same code
    whichever thread runs it, so results do not depend on the number of threads.
    """
    t = max(1, min(threads(), count))
    if t == 1:
        kernel(*args, 0, count)
        return
    pid = os.getpid()
    if not _POOL or _POOL[0][0] != pid or _POOL[0][1]._max_workers < t - 1:
        from concurrent.futures import ThreadPoolExecutor

        if _POOL:
            old_pid, old = _POOL.pop()
            if old_pid == pid:
                old.shutdown(wait=False)
        _POOL.append((pid, ThreadPoolExecutor(max_workers=t - 1,
                                              thread_name_prefix="sim-dense")))
    pool = _POOL[0][1]
    cuts = [i * count // t for i in range(t + 1)]
    futures = [pool.submit(kernel, *args, cuts[i], cuts[i + 1]) for i in range(1, t)]
    kernel(*args, cuts[0], cuts[1])
    for f in futures:
        f.result()
