import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.kernels.migration import logit_flows, migration_costs, replicator_step, utility


@given(seed=st.integers(0, 2**31), N=st.integers(2, 12), speed=st.floats(0.01, 1.0))
def test_replicator_conserves_and_nonnegative(seed, N, speed):
    rng = np.random.default_rng(seed)
    L = rng.uniform(0, 3, N)
    om = rng.uniform(0, 2, N)
    internal = rng.random(N) < 0.8
    internal[0] = True
    new = replicator_step(L, om, speed=speed, internal=internal)
    assert new[internal].sum() == np.float64(L[internal].sum()) or np.isclose(
        new[internal].sum(), L[internal].sum(), rtol=1e-13)
    assert np.all(new >= 0)
    np.testing.assert_array_equal(new[~internal], L[~internal])


def test_replicator_matches_fkv_two_regions():
    """FKV (1999) eq. (5.6): d lambda ~ lambda (1 - lambda)(omega1 - omega2)."""
    mu, lam, om = 0.4, 0.3, np.array([1.1, 1.0])
    L = np.array([mu * lam, mu * (1 - lam)])
    new = replicator_step(L, om, speed=0.5, internal=np.array([True, True]))
    dlam = new[0] / new.sum() - lam
    mean = lam * om[0] + (1 - lam) * om[1]
    assert np.isclose(dlam, 0.5 * lam * (1 - lam) * (om[0] - om[1]) / mean, rtol=1e-12)


@given(seed=st.integers(0, 2**31), N=st.integers(2, 10), s=st.floats(0, 1))
def test_logit_conserves_population_closed_region(seed, N, s):
    rng = np.random.default_rng(seed)
    L = rng.uniform(0, 3, N)
    U = rng.uniform(0.1, 2, N)
    kappa = rng.uniform(0, 3, (N, N))
    kappa[rng.random((N, N)) < 0.2] = np.inf
    np.fill_diagonal(kappa, 0)
    internal = np.ones(N, bool)
    new, F = logit_flows(L, U, kappa, elasticity=1.5, reconsider_share=s, internal=internal)
    assert np.isclose(new.sum(), L.sum(), rtol=1e-12)
    assert np.all(new >= -1e-15) and np.all(F >= 0) and np.all(np.isfinite(F))
    assert np.all(F[np.isinf(kappa)] == 0)


def test_logit_accounts_external_flows():
    rng = np.random.default_rng(1)
    N = 6
    L, U = rng.uniform(1, 2, N), rng.uniform(0.5, 1.5, N)
    internal = np.array([1, 1, 1, 1, 0, 0], bool)
    kappa = migration_costs(rng.uniform(10, 100, (N, N)), fixed=1.0, per_hour=0.05,
                            value_of_time=30.0, external=~internal, external_cost=2.0)
    new, F = logit_flows(L, U, kappa, elasticity=1.5, reconsider_share=0.2, internal=internal)
    net_ext = F[~internal][:, internal].sum() - F[internal][:, ~internal].sum()
    assert np.isclose(new[internal].sum(), L[internal].sum() + net_ext, rtol=1e-12)
    np.testing.assert_array_equal(new[~internal], L[~internal])


def test_logit_frictionless_full_reconsideration_is_frechet_share():
    """With kappa = 0 and s = 1, L'_m = L U_m^eps / sum U^eps (Redding 2016, eq. 9)."""
    L = np.array([1.0, 2.0, 3.0])
    U = np.array([1.0, 1.5, 0.7])
    eps = 3.0
    new, _ = logit_flows(L, U, np.zeros((3, 3)), elasticity=eps, reconsider_share=1.0,
                         internal=np.ones(3, bool))
    np.testing.assert_allclose(new, L.sum() * U**eps / (U**eps).sum(), rtol=1e-12)


def test_migration_costs_form():
    c = np.array([[0.0, 60.0, np.inf], [60.0, 0.0, 30.0], [np.inf, 30.0, 0.0]])
    k = migration_costs(c, fixed=2.0, per_hour=0.1, value_of_time=30.0,
                        external=np.array([False, False, True]), external_cost=1.0)
    assert k[0, 1] == 2.0 + 0.1 * 2.0
    assert k[1, 2] == 2.0 + 0.1 * 1.0 + 1.0
    assert np.isinf(k[0, 2]) and np.all(np.diag(k) == 0)


def test_utility_congestion():
    u = utility(np.array([1.0, 1.0]), np.array([1.0, 2.0]), np.array([1.0, 4.0]),
                amenity_elasticity=-0.5)
    np.testing.assert_allclose(u, [1.0, 1.0])


def test_expected_utility_closed_forms_and_homogeneity():
    """[W1]: Redding (2016) welfare without moving costs; degree-one homogeneity in U."""
    from sim.kernels.migration import expected_utility

    U = np.array([1.0, 2.0, 0.5, 3.0])
    eps = 3.0
    W = expected_utility(U, np.zeros((4, 4)), elasticity=eps)
    np.testing.assert_allclose(W, np.full(4, (U**eps).sum() ** (1 / eps)), rtol=1e-13)
    kappa = np.array([[0.0, 1.0, 2.0, np.inf]] * 4)
    np.fill_diagonal(kappa, 0.0)
    W = expected_utility(U, kappa, elasticity=eps)
    np.testing.assert_allclose(expected_utility(1.07 * U, kappa, elasticity=eps), 1.07 * W,
                               rtol=1e-13)
    # a row with every destination blocked has welfare 0; staying only: W = U_n
    blocked = np.full((2, 2), np.inf)
    np.testing.assert_array_equal(expected_utility(U[:2], blocked, elasticity=eps), 0.0)
    stay = np.where(np.eye(3) > 0, 0.0, np.inf)
    np.testing.assert_allclose(expected_utility(U[:3], stay, elasticity=eps), U[:3])
    # moving costs lower welfare; more options raise it
    assert np.all(W <= expected_utility(U, np.zeros((4, 4)), elasticity=eps) + 1e-15)


def test_expected_utility_is_the_expected_maximum_of_gumbel_utilities():
    """McFadden (1978): E max_m (eps ln U_m - kappa_nm + g_m) = ln sum exp(.) + Euler's gamma."""
    from sim.kernels.migration import expected_utility

    rng = np.random.default_rng(7)
    U = np.array([1.0, 1.6, 0.7])
    kappa = np.array([[0.0, 0.8, 1.5], [0.8, 0.0, 0.4], [1.5, 0.4, 0.0]])
    eps = 2.0
    draws = rng.gumbel(size=(400_000, 3))
    for n in range(3):
        v = eps * np.log(U) - kappa[n] + draws
        mc = v.max(axis=1).mean()
        W = expected_utility(U, kappa, elasticity=eps)[n]
        # standard error of the mean of a max of Gumbels ~ 1.28 / sqrt(4e5) = 0.002
        assert abs(mc - (eps * np.log(W) + np.euler_gamma)) < 0.01


def test_flow_totals_from_the_kernel_equal_the_dense_flows():
    """Oracle: two matrix-vector products reproduce continuum_step's sums (with hukou)."""
    from sim.kernels.households import continuum_step, status_probabilities
    from sim.kernels.migration import (
        logit_flow_totals,
        logit_kernel,
        logit_weights,
        migration_table,
        size_weights,
    )

    rng = np.random.default_rng(7)
    N = 40
    c = rng.uniform(10, 400, (N, N))
    c = (c + c.T) / 2
    c[rng.random((N, N)) < 0.05] = np.inf
    np.fill_diagonal(c, 0.0)
    ext = np.zeros(N, bool)
    ext[-4:] = True
    allowed = np.ones(N, bool)
    allowed[-1] = False
    kappa = migration_costs(c, fixed=1.0, per_hour=0.01, value_of_time=30.0, external=ext,
                            external_cost=2.0, distance_elasticity=1.0, allowed=allowed)
    U = rng.uniform(0.5, 3.0, N)
    S = rng.uniform(0.01, 50.0, N)
    reg, unreg = rng.uniform(0.1, 2.0, N), rng.uniform(0.0, 1.0, N)
    eps, hukou, s = 2.5, 0.7, 0.1
    Uc = U * size_weights(S, size_elasticity=1.0, elasticity=eps)
    PR, PU = status_probabilities(Uc, kappa, elasticity=eps, hukou_cost=hukou)
    r_new, u_new, F = continuum_step(reg, unreg, PR, PU, reconsider_share=s, conversion=0.0,
                                     internal=~ext)
    E = logit_kernel(kappa)
    u, _ = logit_weights(U, size_weights(S, size_elasticity=1.0, elasticity=eps), elasticity=eps)
    tot = logit_flow_totals(E, u, reg, unreg, reconsider_share=s,
                            hukou_factor=np.exp(-hukou), external=ext)
    assert np.allclose(tot["inflow"], F.sum(axis=0), rtol=1e-12, atol=1e-14)
    assert np.allclose(tot["out_reg"] + tot["out_unreg"], F.sum(axis=1), rtol=1e-12, atol=1e-14)
    ext_net = F[ext][:, ~ext].sum(axis=0) - F[~ext][:, ext].sum(axis=1)
    assert np.allclose(tot["ext_net"][~ext], ext_net, rtol=1e-12, atol=1e-14)
    o, d, v = migration_table(E, u, tot["a"], dense_max=1000)
    dense = np.zeros((N, N))
    dense[o, d] = v
    big = F >= 1e-6
    assert np.allclose(dense[big], F[big], rtol=1e-12)
    # top-k table: each origin's k largest flows, no N x N array
    o, d, v = migration_table(E, u, tot["a"], dense_max=10, top_k=3, block=7)
    for n in range(N):
        mine = v[o == n]
        assert len(mine) <= 3
        if len(mine):
            assert np.isclose(mine.max(), F[n].max(), rtol=1e-12)


def test_migration_costs_by_blocks_of_origins_equal_the_whole_matrix():
    """Rows built by ``origins`` blocks equal the rows of the whole-matrix costs exactly."""
    rng = np.random.default_rng(3)
    N = 17
    c = rng.uniform(10, 400, (N, N))
    c[rng.random((N, N)) < 0.1] = np.inf
    np.fill_diagonal(c, 0.0)
    ext = rng.random(N) < 0.2
    allowed = rng.random(N) < 0.9
    kw = dict(fixed=1.0, per_hour=0.01, value_of_time=30.0, external=ext, external_cost=2.0,
              distance_elasticity=1.0, allowed=allowed)
    whole = migration_costs(c, **kw)
    rows = np.vstack([migration_costs(c[lo:lo + 5], origins=slice(lo, min(lo + 5, N)), **kw)
                      for lo in range(0, N, 5)])
    assert np.array_equal(rows, whole)
    assert np.all(np.diag(rows) == 0.0)


def test_top_k_table_equals_a_full_partition_of_every_row():
    """Oracle: the bounded top-k search keeps the same flows as partitioning whole rows."""
    from sim._testing import naive_migration_table
    from sim.kernels.migration import migration_table

    rng = np.random.default_rng(11)
    N = 300
    xy = rng.uniform(0, 2000, (N, 2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    E = np.exp(-1.0 - np.log1p(d / 50.0))
    E[rng.random((N, N)) < 0.02] = 0.0  # blocked pairs
    u = rng.pareto(1.0, N) / 10.0
    u[:5] = 0.0  # never chosen
    a = rng.uniform(0.0, 0.05, N)
    a[5:8] = 0.0  # nobody moving out
    for k, block in ((20, 64), (3, 7), (150, 300)):
        o, dd, v = migration_table(E, u, a, dense_max=10, top_k=k, block=block)
        order = np.lexsort((dd, o))
        want = naive_migration_table(E, u, a, top_k=k)
        assert np.array_equal(o[order], want[0]) and np.array_equal(dd[order], want[1])
        assert np.allclose(v[order], want[2], rtol=1e-15, atol=0)
        assert o.dtype == np.int32 and dd.dtype == np.int32


def test_migration_costs_equal_the_plain_formula_bit_for_bit():
    """[D2] is built in place (fewer passes over each block of rows); the values are those of
    the whole-matrix expression, for any mix of options, blocks of rows included."""
    rng = np.random.default_rng(4)
    n = 40
    for _ in range(60):
        c = rng.uniform(0.0, 500.0, (n, n))
        c[rng.random((n, n)) < 0.1] = np.inf
        np.fill_diagonal(c, 0.0)
        ext = rng.random(n) < rng.choice([0.0, 0.1, 0.5])
        ok = None if rng.random() < 0.3 else rng.random(n) < rng.choice([0.8, 1.0])
        lo = int(rng.integers(0, n - 1))
        hi = int(rng.integers(lo + 1, n + 1))
        fixed, per_hour, vot, x_cost, delta = (float(rng.choice(v)) for v in (
            [0.0, 1.3], [0.0, 0.37], [0.0, 51.3], [0.0, 2.5, 1e-3], [0.0, 0.77]))
        got = migration_costs(c[lo:hi], fixed=fixed, per_hour=per_hour, value_of_time=vot,
                              external=ext, external_cost=x_cost, distance_elasticity=delta,
                              allowed=ok, origins=slice(lo, hi))
        hours = c / vot if vot > 0 else np.where(np.isfinite(c), 0.0, np.inf)
        cross = (ext[:, None] | ext[None, :]).astype(float)
        time_cost = per_hour * hours if per_hour else np.where(np.isfinite(hours), 0.0, np.inf)
        ref = fixed + time_cost + x_cost * cross
        if delta:
            ref = ref + delta * np.log1p(hours)
        if ok is not None:
            ref = np.where(ok[:, None] & ok[None, :], ref, np.inf)
        np.fill_diagonal(ref, 0.0)
        assert np.array_equal(got, ref[lo:hi])
