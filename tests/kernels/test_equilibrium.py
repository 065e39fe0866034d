"""Invariants and literature checks of the static equilibrium kernel."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.kernels.equilibrium import (
    EquilibriumInputs,
    cold_start_wages,
    external_trade,
    sector_choice,
    solve_equilibrium,
    trade_flows,
)


def random_inputs(seed, N, K, n_ext, housing, nontraded):
    rng = np.random.default_rng(seed)
    internal = np.ones(N, bool)
    internal[N - n_ext:] = False
    xy = rng.random((N, 2))
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    sigma = rng.uniform(3, 8, K)
    sigma[0] = sigma[-1]  # two sectors share a trade-cost group
    beta_ag = 0.1
    beta = rng.dirichlet(np.ones(K)) * (1 - beta_ag - housing)
    group = np.arange(K)
    if nontraded and K > 1:
        group[1] = -1
    group[-1] = group[0] if group[0] >= 0 else group[-1]
    G = K
    freeness = np.stack([(1 + d / 0.3) ** (0.5 * (1 - sigma[min(g, K - 1)])) for g in range(G)])
    # use each sector's own sigma for its group
    for k in range(K):
        if group[k] >= 0:
            freeness[group[k]] = (1 + d / 0.3) ** (0.5 * (1 - sigma[k]))
    return EquilibriumInputs(
        internal=internal, mobile=rng.uniform(0.1, 5, N),
        ag_workers=rng.uniform(0, 2, N) * internal,
        ag_wage=rng.uniform(0.5, 1.5, N), productivity=rng.uniform(0.5, 2, (N, K)), sigma=sigma,
        fixed_cost=rng.uniform(0.5, 2, K), beta=beta, housing_share=housing,
        sector_elasticity=rng.uniform(1, 4), freeness=freeness, group=group,
        ext_wage=rng.uniform(0.5, 3, N), ext_income=rng.uniform(1, 20, N) * ~internal,
        ext_supply_share=rng.dirichlet(np.ones(K), N), land=rng.uniform(0.5, 2, N),
    )


@given(seed=st.integers(0, 2**31), N=st.integers(2, 7), K=st.integers(1, 3),
       n_ext=st.integers(0, 2), housing=st.sampled_from([0.0, 0.25]),
       nontraded=st.booleans())
def test_invariants_random_regions(seed, N, K, n_ext, housing, nontraded):
    n_ext = min(n_ext, N - 1)
    inp = random_inputs(seed, N, K, n_ext, housing, nontraded)
    r = solve_equilibrium(inp, tol=1e-12, max_iter=50_000)
    intern = inp.internal
    # labour market clears: sector employment sums to mobile workers
    np.testing.assert_allclose(r.employment[intern].sum(1), inp.mobile[intern], rtol=1e-12)
    # zero profits: revenue = wage bill (internal places)
    np.testing.assert_allclose(r.revenue[intern], (r.wage * r.employment)[intern], rtol=1e-8)
    # trade flows: columns sum to expenditure, rows to revenue
    X = trade_flows(r, inp)
    np.testing.assert_allclose(X.sum(axis=0), r.expenditure, rtol=1e-10)
    np.testing.assert_allclose(X.sum(axis=1), r.revenue, rtol=1e-10)
    # external trade [O1] equals the dense flows summed over external partners (oracle)
    ex, im = external_trade(r, inp)
    ext = ~intern
    traded = inp.group >= 0
    Xt = X[:, :, traded]
    np.testing.assert_allclose(ex[intern], Xt[intern][:, ext].sum(axis=(1, 2)), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(im[intern], Xt[ext][:, intern].sum(axis=(0, 2)), rtol=1e-10,
                               atol=1e-12)
    # GDP = value added (wages + farm income + land rents) = income
    va = (r.wage * r.employment).sum(1) + inp.ag_wage * inp.ag_workers + r.rent * inp.land
    np.testing.assert_allclose(va[intern], r.income[intern], rtol=1e-12)
    # expenditure shares
    np.testing.assert_allclose(r.expenditure, r.income[:, None] * inp.beta[None], rtol=1e-12)
    for a in (r.wage, r.employment, r.firms, r.revenue, r.price_index, r.income,
              r.consumer_price, r.real_income, r.rent):
        assert np.all(np.isfinite(a)) and np.all(a >= 0)
    assert r.residual < 1e-12


def cp_inputs(sig, mu, phi, lam):
    """The two-region FKV economy in FKV's units (F = mu / sigma), share lam in region 1."""
    return EquilibriumInputs(
        internal=np.array([True, True]), mobile=np.array([mu * lam, mu * (1 - lam)]),
        ag_workers=np.full(2, (1 - mu) / 2), ag_wage=np.ones(2), productivity=np.ones((2, 1)),
        sigma=np.array([sig]), fixed_cost=np.array([mu / sig]), beta=np.array([mu]),
        housing_share=0.0, sector_elasticity=2.0,
        freeness=np.array([[[1, phi], [phi, 1]]]), group=np.array([0]),
        ext_wage=np.ones(2), ext_income=np.zeros(2), ext_supply_share=np.ones((2, 1)),
        land=np.ones(2))


def test_fkv_two_region_equations():
    """The engine's equilibrium solves FKV's (1999) eqs. (5.1)-(5.4) for two regions."""
    sig, mu, phi, lam = 5.0, 0.4, 0.2, 0.63
    inp = cp_inputs(sig, mu, phi, lam)
    r = solve_equilibrium(inp, tol=1e-14, max_iter=50_000)
    w = r.wage[:, 0]
    lam_v = np.array([lam, 1 - lam])
    Y = mu * lam_v * w + (1 - mu) / 2  # FKV (5.1)
    T = np.array([[1, phi], [phi, 1]])
    G = (T.T @ (lam_v * w ** (1 - sig))) ** (1 / (1 - sig))  # (5.2)
    rhs = (T @ (Y * G ** (sig - 1))) ** (1 / sig)  # (5.3)
    np.testing.assert_allclose(w, rhs, rtol=1e-12)
    omega = w * G ** (-mu)  # (5.4)
    # the engine's real income is FKV's omega up to a unit constant common to both regions
    ratio = r.real_income / omega
    np.testing.assert_allclose(ratio[0], ratio[1], rtol=1e-12)


def test_symmetric_two_region_closed_form():
    """Symmetric CP equilibrium: w = 1 in FKV units (FKV 1999, section 5.2)."""
    sig, mu, phi = 6.0, 0.3, 0.3
    inp = cp_inputs(sig, mu, phi, 0.5)
    r = solve_equilibrium(inp, wage0=np.full((2, 1), 0.7), tol=1e-14)
    np.testing.assert_allclose(r.wage, 1.0, rtol=1e-12)
    # G^(1-sigma) = (mu/2)(1+phi)/mu ... in FKV units G = ((1+phi)/2)^(1/(1-sigma)) times
    # the engine's constant; check the symmetric real incomes are equal instead
    assert r.real_income[0] == pytest.approx(r.real_income[1], rel=1e-14)


def test_sector_choice_properties():
    w = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0], [1e-3, 1e3, 1.0]])
    for kappa in (0.5, 2.0, 50.0):
        s, W = sector_choice(w, kappa)
        np.testing.assert_allclose(s.sum(1), 1.0, rtol=1e-14)
        np.testing.assert_allclose(s, w**kappa / (w**kappa).sum(1, keepdims=True), rtol=1e-10)
        np.testing.assert_allclose(W, ((w**kappa).sum(1)) ** (1 / kappa), rtol=1e-10)
    s, W = sector_choice(np.array([[4.0]]), 2.0)
    assert s[0, 0] == 1.0 and W[0] == pytest.approx(4.0)


def test_no_anchor_normalises_mean_earnings():
    sig = 4.0
    inp = EquilibriumInputs(
        internal=np.array([True, True, True]), mobile=np.array([1.0, 2.0, 3.0]),
        ag_workers=np.zeros(3), ag_wage=np.ones(3), productivity=np.array([[1.0], [1.2], [0.9]]),
        sigma=np.array([sig]), fixed_cost=np.array([1.0]), beta=np.array([0.75]),
        housing_share=0.25, sector_elasticity=2.0,
        freeness=np.array([np.full((3, 3), 0.3) + 0.7 * np.eye(3)]), group=np.array([0]),
        ext_wage=np.ones(3), ext_income=np.zeros(3), ext_supply_share=np.ones((3, 1)),
        land=np.ones(3))
    r = solve_equilibrium(inp, tol=1e-12)
    mean = (r.wage[:, 0] * inp.mobile).sum() / inp.mobile.sum()
    assert mean == pytest.approx(1.0, rel=1e-10)


def test_nonconvergence_raises_with_diagnostics():
    from sim.errors import ConvergenceError

    inp = random_inputs(3, 4, 2, 1, 0.25, False)
    with pytest.raises(ConvergenceError) as e:
        solve_equilibrium(inp, tol=1e-15, max_iter=3)
    assert e.value.iterations == 3 and e.value.residual > 1e-15
    assert "iterations=3" in str(e.value)


@given(seed=st.integers(0, 2**31), N=st.integers(2, 6), K=st.integers(1, 3),
       n_ext=st.integers(0, 2))
def test_firm_mode_at_free_entry_mass_reproduces_free_entry(seed, N, K, n_ext):
    """Short-run labour clearing [E11] with M = L/(sigma F) is the free-entry equilibrium [E6]."""
    import dataclasses

    n_ext = min(n_ext, N - 1)
    inp = random_inputs(seed, N, K, n_ext, 0.25, False)
    free = solve_equilibrium(inp, tol=1e-13, max_iter=50_000)
    M = free.employment / (inp.sigma * inp.fixed_cost)
    fixed = dataclasses.replace(inp, firm_count=M, firm_index=M)
    r = solve_equilibrium(fixed, wage0=np.ones_like(free.wage), tol=1e-13, max_iter=50_000)
    intern = inp.internal
    np.testing.assert_allclose(r.wage[intern], free.wage[intern], rtol=1e-9)
    np.testing.assert_allclose(r.income, free.income, rtol=1e-9)
    np.testing.assert_allclose(r.price_index, free.price_index, rtol=1e-9)
    # zero profits at the free-entry mass: operating profit of the average firm = w F
    np.testing.assert_allclose(r.operating_profit[intern], (r.wage * inp.fixed_cost)[intern],
                               rtol=1e-8)


@given(seed=st.integers(0, 2**31), N=st.integers(2, 6), K=st.integers(1, 3))
def test_firm_mode_accounting(seed, N, K):
    """Given firm masses: labour clears with fixed costs, GDP = revenue + farm income + rent."""
    import dataclasses

    inp = random_inputs(seed, N, K, 1 if N > 2 else 0, 0.25, False)
    rng = np.random.default_rng(seed)
    free = solve_equilibrium(inp, tol=1e-12, max_iter=50_000)
    M = free.employment / (inp.sigma * inp.fixed_cost) * rng.uniform(0.5, 1.5, (N, K))
    Z = M * rng.uniform(0.7, 1.3, (N, K))
    r = solve_equilibrium(dataclasses.replace(inp, firm_count=M, firm_index=Z), tol=1e-12,
                          max_iter=50_000)
    intern = inp.internal
    rho = (inp.sigma - 1) / inp.sigma
    labour = rho * r.revenue / r.wage + inp.fixed_cost * M
    np.testing.assert_allclose(labour[intern], r.employment[intern], rtol=1e-8)
    va = r.revenue.sum(1) + inp.ag_wage * inp.ag_workers + r.rent * inp.land
    np.testing.assert_allclose(va[intern], r.income[intern], rtol=1e-8)
    X = trade_flows(r, dataclasses.replace(inp, firm_count=M, firm_index=Z))
    np.testing.assert_allclose(X.sum(axis=0), r.expenditure, rtol=1e-10)
    np.testing.assert_allclose(X.sum(axis=1)[intern], r.revenue[intern], rtol=1e-10)


@given(seed=st.integers(0, 2**31), N=st.integers(2, 7), K=st.integers(1, 4),
       n_ext=st.integers(0, 2), firms=st.booleans(), extra=st.booleans())
def test_prepared_map_equals_evaluate(seed, N, K, n_ext, firms, extra):
    """The solver's prepared map (internal unknowns, sectors in group order) is [E1]-[E12]."""
    from dataclasses import replace

    from sim.kernels.equilibrium import _evaluate, _Map

    n_ext = min(n_ext, N - 1)
    inp = random_inputs(seed, N, K, n_ext, 0.25, nontraded=True)
    rng = np.random.default_rng(seed + 1)
    if firms:
        M = rng.uniform(0.0, 1.0, (N, K)) * (rng.random((N, K)) < 0.8)
        inp = replace(inp, firm_count=M, firm_index=M * rng.uniform(0.5, 2.0, (N, K)))
    if extra:
        inp = replace(inp, extra_demand=rng.uniform(0.0, 0.5, (N, K)))
    ext = ~inp.internal
    kappa = float(inp.sector_elasticity)
    x = rng.normal(0.0, 0.3, (N, K))
    phi = _Map(inp, ext, kappa)
    z = phi.pack(x)
    np.testing.assert_array_equal(phi.unpack(z, x), x)
    expected = _evaluate(x, inp, ext, kappa)[-1]
    got = phi.unpack(phi(z), x)
    np.testing.assert_allclose(got[~ext], expected[~ext], rtol=1e-12, atol=1e-12)


@given(seed=st.integers(0, 2**31), N=st.integers(2, 6), K=st.integers(1, 4),
       n_ext=st.integers(0, 2))
def test_trade_matrix_is_dense_flows_summed(seed, N, K, n_ext):
    """trade_matrix (one product per trade-cost group) = trade_flows summed over sectors."""
    from sim.kernels.equilibrium import trade_matrix

    n_ext = min(n_ext, N - 1)
    inp = random_inputs(seed, N, K, n_ext, 0.25, nontraded=True)
    r = solve_equilibrium(inp, tol=1e-10, max_iter=50_000)
    X = trade_flows(r, inp)
    sel = np.random.default_rng(seed).random(K) < 0.7
    np.testing.assert_allclose(trade_matrix(r, inp, sel), X[:, :, sel].sum(axis=2),
                               rtol=1e-12, atol=1e-12 * X.max())
    np.testing.assert_allclose(trade_matrix(r, inp), X.sum(axis=2), rtol=1e-12,
                               atol=1e-12 * X.max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cold_start_is_the_farm_wage_and_reaches_the_same_equilibrium(seed):
    """The start of a first solve: each internal place's farm wage (its mean over the places
    with one where it is missing), the external wages; the solve from it converges to the
    equilibrium it reaches from w = 1, to the tolerance."""
    inp = random_inputs(seed, N=12, K=3, n_ext=2, housing=0.25, nontraded=True)
    ag = inp.ag_wage.copy()
    ag[3] = 0.0
    inp = dataclasses.replace(inp, ag_wage=ag)
    w0 = cold_start_wages(inp)
    intern = inp.internal
    assert w0.shape == (12, 3) and np.all(w0 == w0[:, :1])
    np.testing.assert_array_equal(w0[~intern, 0], inp.ext_wage[~intern])
    others = intern.copy()
    others[3] = False
    np.testing.assert_array_equal(w0[others, 0], ag[others])
    assert w0[3, 0] == ag[others].mean()
    ref = solve_equilibrium(inp)
    got = solve_equilibrium(inp, wage0=w0)
    assert got.residual < 1e-10
    np.testing.assert_allclose(np.log(got.wage), np.log(ref.wage), rtol=0, atol=1e-9)
    # no farm wage anywhere: 1 (the default start)
    none = dataclasses.replace(inp, ag_wage=np.zeros(12), internal=np.ones(12, bool))
    np.testing.assert_array_equal(cold_start_wages(none), 1.0)


@pytest.mark.parametrize("seed", [0, 4])
def test_trade_reuses_the_solves_gravity_terms_bit_for_bit(seed):
    """Free entry: the flows of a solved equilibrium reuse the seller terms and price-index
    powers of its last evaluation (no further pass over T_g), the same numbers as computing
    them again; other inputs (even equal ones in another object) compute their own."""
    from sim.kernels.equilibrium import partner_trade, trade_matrix

    inp = random_inputs(seed, N=9, K=3, n_ext=2, housing=0.25, nontraded=True)
    res = solve_equilibrium(inp)
    assert res.gravity is not None and res.gravity[0]() is inp
    plain = dataclasses.replace(res, gravity=None)
    for f in (external_trade, partner_trade):
        for a, b in zip(f(res, inp), f(plain, inp), strict=True):
            assert np.array_equal(a, b)
    assert np.array_equal(trade_matrix(res, inp), trade_matrix(plain, inp))
    other = dataclasses.replace(inp, productivity=inp.productivity * 1.5)
    assert not np.array_equal(trade_matrix(res, other), trade_matrix(res, inp))
    assert np.array_equal(trade_matrix(res, other), trade_matrix(plain, other))
    import pickle

    back = pickle.loads(pickle.dumps(res))
    assert back.gravity is None and np.array_equal(back.wage, res.wage)
