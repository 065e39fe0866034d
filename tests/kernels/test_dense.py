"""Compiled thin products (sim.kernels.dense) against plain numpy, and their users.

Oracles: ``A @ X`` / ``A.T @ X`` in float64 (to 1e-12); the equilibrium's trade products and
the migration year on the compiled path against the numpy/BLAS path; the equilibrium solved
with float32 freeness against float64. Matrices are small (the compiled path is forced with
``compiled=True`` or a lowered ``MIN_PLACES``), so the cost is numba's compilation (a few
seconds, once per test process).
"""

import dataclasses
import tracemalloc

import numpy as np
import pytest

from sim.kernels import dense
from sim.kernels.equilibrium import market_access, price_index_power, solve_equilibrium
from tests.kernels.test_equilibrium import random_inputs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [37, 64])
def test_thin_product_equals_numpy(n, dtype):
    rng = np.random.default_rng(n)
    A = rng.uniform(0.0, 1.0, (n, n)).astype(dtype)
    A[rng.random((n, n)) < 0.1] = 0.0
    A64 = A.astype(np.float64)  # float32 entries are exact in float64: same sums
    # k = 1..7 covers every register block (four, two and one columns) and their remainders
    for k in range(1, 8):
        X = rng.uniform(-1.0, 2.0, (n, k))
        for transpose in (False, True):
            ref = (A64.T if transpose else A64) @ X
            got = dense.thin_product(A, X, transpose=transpose, compiled=True)
            assert got.dtype == np.float64 and got.shape == (n, k)
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    x = rng.uniform(size=n)
    np.testing.assert_allclose(dense.thin_product(A, x, compiled=True), A64 @ x, rtol=1e-12)
    np.testing.assert_allclose(dense.thin_product(A, x, transpose=True, compiled=True),
                               A64.T @ x, rtol=1e-12)


def test_thin_product_path_choice_and_shape_errors():
    n = dense.MIN_PLACES
    assert not dense.uses_compiled(np.ones((n - 1, n - 1)))
    assert not dense.uses_compiled(np.ones((n, n)).T)  # not C-contiguous: numpy path
    assert dense.uses_compiled(np.ones((n, n)), 2)
    assert not dense.uses_compiled(np.ones((n, n)), 1)  # a mat-vec: BLAS streams it
    assert dense.uses_compiled(np.ones((n, n), dtype=np.float32), 1)  # no float64 copy
    with pytest.raises(ValueError, match="do not match"):
        dense.thin_product(np.ones((5, 5)), np.ones((4, 2)), compiled=True)


def test_thin_product_same_bits_for_any_thread_count():
    numba = pytest.importorskip("numba")
    rng = np.random.default_rng(3)
    A = rng.uniform(size=(203, 203))
    X = rng.uniform(size=(203, 3))
    before = numba.get_num_threads()
    try:
        outs = []
        for t in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(t)
            outs.append((dense.thin_product(A, X, compiled=True),
                         dense.thin_product(A, X, transpose=True, compiled=True)))
    finally:
        numba.set_num_threads(before)
    for a, b in outs[1:]:
        assert np.array_equal(a, outs[0][0]) and np.array_equal(b, outs[0][1])


def test_float32_matrix_is_not_copied():
    rng = np.random.default_rng(4)
    n = 600
    A = rng.uniform(size=(n, n)).astype(np.float32)
    X = rng.uniform(size=(n, 2))
    dense.thin_product(A, X, compiled=True)  # compiled already: measure the call only
    tracemalloc.start()
    try:
        dense.thin_product(A, X, compiled=True)
        dense.thin_product(A, X, transpose=True, compiled=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < A.nbytes / 4  # an upcast copy would take 2 * A.nbytes
    tracemalloc.start()
    try:
        dense.thin_product(A, X, compiled=False)
        peak_numpy = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak_numpy >= 2 * A.nbytes  # the check can fail: numpy's path does upcast


@pytest.fixture
def compiled_everywhere(monkeypatch):
    monkeypatch.setattr(dense, "MIN_PLACES", 1)


def test_trade_products_compiled_equal_numpy(compiled_everywhere):
    inp = random_inputs(11, N=45, K=5, n_ext=3, housing=0.25, nontraded=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 2.0, (45, 5))
    assert dense.uses_compiled(inp.freeness[0])
    got_p = price_index_power(x, inp.freeness, inp.group)
    got_m = market_access(x, inp.freeness, inp.group)
    for k in range(5):
        g = inp.group[k]
        T = np.eye(45) if g < 0 else inp.freeness[g]
        np.testing.assert_allclose(got_p[:, k], T.T @ x[:, k], rtol=1e-12)
        np.testing.assert_allclose(got_m[:, k], T @ x[:, k], rtol=1e-12)


def test_equilibrium_with_float32_freeness_matches_float64(monkeypatch):
    """float32 freeness storage: the solved wages stay within 1e-6 in logs of float64's.

    Rounding T to float32 perturbs each entry by at most 6e-8 relative; the equilibrium moves
    by less (measured here: max |d ln w| = 2.8e-9, incomes 2.5e-9 relative), far below the
    economic precision of any output, but above the solver's 1e-10 tolerance.
    """
    inp = random_inputs(5, N=30, K=3, n_ext=2, housing=0.25, nontraded=False)
    ref = solve_equilibrium(inp)
    monkeypatch.setattr(dense, "MIN_PLACES", 1)
    inp32 = dataclasses.replace(inp, freeness=inp.freeness.astype(np.float32))
    assert dense.uses_compiled(inp32.freeness[0])
    same = solve_equilibrium(inp)  # compiled float64 path: the same equilibrium
    res = solve_equilibrium(inp32)
    assert res.residual < 1e-10
    d64 = np.max(np.abs(np.log(same.wage) - np.log(ref.wage)))
    d32 = np.max(np.abs(np.log(res.wage) - np.log(ref.wage)))
    assert d64 < 1e-9
    assert 0.0 < d32 < 1e-6
    np.testing.assert_allclose(res.income, ref.income, rtol=1e-6)


def test_migration_year_compiled_equals_numpy(compiled_everywhere):
    from sim.kernels.migration import logit_flow_totals, logit_kernel, migration_costs

    rng = np.random.default_rng(9)
    N = 41
    c = rng.uniform(10, 400, (N, N))
    c[rng.random((N, N)) < 0.05] = np.inf  # asymmetric, some pairs blocked
    np.fill_diagonal(c, 0.0)
    u = rng.uniform(0.0, 1.0, N)
    reg, unreg = rng.uniform(0.1, 2.0, N), rng.uniform(0.0, 1.0, N)
    ext = np.zeros(N, bool)
    ext[[3, 17, 40]] = True
    kappa = migration_costs(c, fixed=1.0, per_hour=0.01, value_of_time=30.0, external=ext,
                            external_cost=2.0, distance_elasticity=1.0)
    E = logit_kernel(kappa)
    kw = dict(reconsider_share=0.1, hukou_factor=0.6, external=ext)
    got = logit_flow_totals(E, u, reg, unreg, **kw)
    got32 = logit_flow_totals(E.astype(np.float32), u, reg, unreg, **kw)
    dense.MIN_PLACES = 10**9
    ref = logit_flow_totals(E, u, reg, unreg, **kw)
    dense.MIN_PLACES = 1
    assert got.keys() == ref.keys() == got32.keys()
    assert np.abs(ref["ext_net"]).max() > 0
    for key in ref:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-12, atol=1e-15, err_msg=key)
        np.testing.assert_allclose(got32[key], ref[key], rtol=1e-6, atol=1e-9, err_msg=key)


@pytest.mark.parametrize("firms", [False, True])
def test_prepared_map_compiled_equals_numpy(compiled_everywhere, monkeypatch, firms):
    """The solver's map from MIN_PLACES on (compiled products over all rows of T_g, no copy
    of its internal rows) is the small-region map (numpy/BLAS products) to rounding."""
    from sim.kernels.equilibrium import _Map

    inp = random_inputs(7, N=40, K=6, n_ext=3, housing=0.25, nontraded=True)
    rng = np.random.default_rng(3)
    if firms:
        M = rng.uniform(0.0, 1.0, (40, 6)) * (rng.random((40, 6)) < 0.8)
        inp = dataclasses.replace(inp, firm_count=M, firm_index=M * rng.uniform(0.5, 2.0, M.shape),
                                  extra_demand=rng.uniform(0.0, 0.5, M.shape))
    ext = ~inp.internal
    big = _Map(inp, ext, float(inp.sector_elasticity))
    monkeypatch.setattr(dense, "MIN_PLACES", 10**9)
    small = _Map(inp, ext, float(inp.sector_elasticity))
    assert big.large and not small.large
    z = big.pack(rng.normal(0.0, 0.3, (40, 6)))
    np.testing.assert_allclose(big(z), small(z), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_is_symmetric_exact(dtype, threaded, monkeypatch):
    """Exact comparison, also with the strips of tiles on the threads (dense.MIN_PLACES)."""
    if threaded:
        monkeypatch.setattr(dense, "MIN_PLACES", 2)
    rng = np.random.default_rng(2)
    a = rng.random((37, 37))
    s = np.minimum(a, a.T).astype(dtype)
    assert dense.is_symmetric(s, block=8) and dense.is_symmetric(s)
    t = s.copy()
    t[30, 2] = np.nextafter(t[30, 2], dtype(2))  # one entry off by one unit in the last place
    assert not dense.is_symmetric(t, block=8)
    s[5, 9] = s[9, 5] = np.nan  # NaN is never equal to itself
    assert not dense.is_symmetric(s)
    assert not dense.is_symmetric(np.zeros((3, 4)))


def test_symmetric_products_by_rows(compiled_everywhere):
    """A symmetric T: T^T X computed as T X (the row kernel only), equal to rounding, in the
    price indices and in the migration year."""
    from sim.kernels.migration import logit_flow_totals

    inp = random_inputs(11, N=45, K=5, n_ext=3, housing=0.25, nontraded=True)
    assert all(dense.is_symmetric(t) for t in inp.freeness)
    x = np.random.default_rng(0).uniform(0.1, 2.0, (45, 5))
    np.testing.assert_allclose(price_index_power(x, inp.freeness, inp.group, symmetric=True),
                               price_index_power(x, inp.freeness, inp.group), rtol=1e-13)
    sym = dataclasses.replace(inp, freeness_symmetric=True)
    ref = solve_equilibrium(inp)
    got = solve_equilibrium(sym)
    np.testing.assert_allclose(np.log(got.wage), np.log(ref.wage), rtol=0, atol=1e-9)
    E = np.exp(-inp.freeness[0])
    rng = np.random.default_rng(1)
    u, reg, unreg = rng.uniform(0.0, 1.0, 45), rng.uniform(0.1, 2.0, 45), rng.uniform(0, 1, 45)
    kw = dict(reconsider_share=0.1, hukou_factor=0.6, external=~inp.internal)
    a = logit_flow_totals(E, u, reg, unreg, symmetric=True, **kw)
    b = logit_flow_totals(E, u, reg, unreg, **kw)
    for key in b:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-15, err_msg=key)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_products_in_a_forked_child(compiled_everywhere):
    """A child forked after the helper threads started gets its own (it does not inherit
    threads): its products finish, with the parent's bits."""
    import os
    import time

    import numba

    if numba.get_num_threads() < 2:
        pytest.skip("one thread: no helper threads")
    rng = np.random.default_rng(5)
    A, X = rng.random((64, 64)), rng.random((64, 3))
    ref = dense.thin_product(A, X)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os._exit(0 if np.array_equal(dense.thin_product(A, X), ref) else 3)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's product did not finish")
    assert os.waitstatus_to_exitcode(status) == 0
