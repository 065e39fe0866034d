"""Static spatial general equilibrium: wages, price indices, incomes (the hot kernel).

Multi-region, multi-sector Krugman (1991) / Helpman (1998) / Redding (2016) economy with CES
varieties (elasticity ``sigma_k``), iceberg trade costs, free entry, an immobile agricultural
sector producing the freely traded numeraire, housing in fixed supply, and a logit sector choice
of mobile workers within each place. The equations are written out in ``docs/model.md``
(section "Static equilibrium"); numbers in brackets below refer to it.

Notation (shapes): N places (internal and external), K differentiated sectors, G trade-cost
groups (sectors sharing sigma and trade-cost scale share one matrix ``T = tau**(1-sigma)``).
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field

import numpy as np

from sim._types import FLOAT
from sim.errors import ConvergenceError
from sim.kernels import dense as _dense
from sim.kernels.dense import thin_product

__all__ = [
    "partner_trade",
    "EquilibriumInputs",
    "EquilibriumResult",
    "solve_equilibrium",
    "cold_start_wages",
    "price_index_power",
    "market_access",
    "trade_flows",
    "trade_matrix",
    "sector_choice",
]


@dataclass(frozen=True)
class EquilibriumInputs:
    """Arrays that define one static equilibrium problem (no config objects).

    Attributes
    ----------
    internal : ndarray of bool, shape (N,)
        True for simulated places; False for external (exogenous) markets.
    mobile : ndarray, shape (N,)
        Mobile workers L_n (millions). For external places: their worker pool.
    ag_workers : ndarray, shape (N,)
        Immobile agricultural workers L^A_n (internal places; 0 for external).
    ag_wage : ndarray, shape (N,)
        Agricultural wage w^A_n = agricultural productivity (numeraire price 1).
    productivity : ndarray, shape (N, K)
        A_nk, already including agglomeration and policy shifters.
    sigma, fixed_cost, beta : ndarray, shape (K,)
        CES elasticity sigma_k > 1, fixed labour requirement F_k > 0, expenditure share beta_k.
    housing_share : float
        beta_h, share of income spent on housing (land rents redistributed locally).
    sector_elasticity : float
        kappa > 0, logit elasticity of the within-place sector choice of mobile workers.
    freeness : ndarray, shape (G, N, N)
        T_gnm = tau_nm**(1 - sigma_g) for each trade-cost group (0 where unreachable).
    group : ndarray of int, shape (K,)
        Trade-cost group of each sector; -1 marks a non-traded sector (T = identity).
    ext_wage : ndarray, shape (N,)
        Exogenous wage of external places (ignored for internal ones).
    ext_income : ndarray, shape (N,)
        Exogenous income Y_j of external places (ignored for internal ones).
    ext_supply_share : ndarray, shape (N, K)
        Share of an external place's workers producing in sector k (ignored for internal).
    land : ndarray, shape (N,)
        Housing/land supply H_n > 0.
    firm_count : ndarray, shape (N, K), optional
        Short-run firm mode (firm dynamics ``entry_exit``): the mass of firms M_nk in internal
        places is given (not free entry). None: free entry, M_nk = L_nk / (sigma_k F_k).
    firm_index : ndarray, shape (N, K), optional
        With ``firm_count``: productivity-weighted mass sum_i z_i**(sigma_k-1) of the firms.
    extra_demand : ndarray, shape (N, K), optional
        Exogenous spending in market (n, k) by non-residents (e.g. tourists), added to E_nk.
    freeness_symmetric : bool
        Every T_g equals its transpose (checked by the caller): the compiled products of
        large regions then compute T_g^T S as T_g S, with the row kernel only (default False).
    """

    internal: np.ndarray
    mobile: np.ndarray
    ag_workers: np.ndarray
    ag_wage: np.ndarray
    productivity: np.ndarray
    sigma: np.ndarray
    fixed_cost: np.ndarray
    beta: np.ndarray
    housing_share: float
    sector_elasticity: float
    freeness: np.ndarray
    group: np.ndarray
    ext_wage: np.ndarray
    ext_income: np.ndarray
    ext_supply_share: np.ndarray
    land: np.ndarray
    firm_count: np.ndarray | None = None
    firm_index: np.ndarray | None = None
    extra_demand: np.ndarray | None = None
    freeness_symmetric: bool = False


@dataclass(frozen=True)
class EquilibriumResult:
    """Solution of the static equilibrium (all arrays over all N places).

    Attributes
    ----------
    wage : ndarray, shape (N, K)
        Sector wage w_nk (internal: solved; external: exogenous).
    wage_index : ndarray, shape (N,)
        Inclusive wage W_n = (sum_k w_nk**kappa)**(1/kappa) (internal) or the external wage.
    mean_wage : ndarray, shape (N,)
        Average earnings of mobile workers, sum_k pi_nk w_nk.
    employment : ndarray, shape (N, K)
        L_nk, mobile workers by sector.
    firms : ndarray, shape (N, K)
        Mass of firms M_nk = L_nk / (sigma_k F_k).
    revenue : ndarray, shape (N, K)
        R_nk = sum_m X_nmk (= w_nk L_nk for internal places: zero profits).
    price_index : ndarray, shape (N, K)
        Sector price index P_nk (np.inf where no variety reaches the place).
    income : ndarray, shape (N,)
        Y_n: labour income plus land rents (internal); exogenous income (external).
    expenditure : ndarray, shape (N, K)
        E_nk = beta_k Y_n.
    rent : ndarray, shape (N,)
        r_n = beta_h Y_n / H_n.
    consumer_price : ndarray, shape (N,)
        P_n = prod_k P_nk**beta_k * r_n**beta_h (agricultural price 1).
    real_income : ndarray, shape (N,)
        V_n = W_n / ((1 - beta_h) P_n): real income of a mobile worker (0 where P_n is inf).
    market_access : ndarray, shape (N, K)
        MA_nk [E5].
    operating_profit : ndarray, shape (N, K)
        Operating profit of a firm with z**(sigma-1) = 1, (w/(rho A))**(1-sigma) MA / sigma.
    iterations : int
    residual : float
        Final max |ln w_new - ln w| over internal place-sectors.
    gravity : tuple, optional
        ``(weak reference to the inputs, S, P^(1-sigma))`` of the evaluation that produced the
        result (free entry): the seller terms and price-index powers the trade flows of the
        same inputs reuse instead of another pass over every T_g (:func:`trade_matrix`,
        :func:`external_trade`, :func:`partner_trade`).
    """

    wage: np.ndarray
    wage_index: np.ndarray
    mean_wage: np.ndarray
    employment: np.ndarray
    firms: np.ndarray
    revenue: np.ndarray
    price_index: np.ndarray
    income: np.ndarray
    expenditure: np.ndarray
    rent: np.ndarray
    consumer_price: np.ndarray
    real_income: np.ndarray
    market_access: np.ndarray
    operating_profit: np.ndarray
    iterations: int
    residual: float
    gravity: tuple | None = field(default=None, repr=False, compare=False)

    def __getstate__(self):
        """Pickled without ``gravity`` (a weak reference does not pickle; it is only a cache)."""
        return dict(self.__dict__, gravity=None)


def sector_choice(wage, kappa):
    r"""Logit choice of sector by mobile workers within each place.

    .. math:: \pi_{nk} = w_{nk}^{\kappa} / \sum_j w_{nj}^{\kappa}, \qquad
              W_n = \Big(\sum_k w_{nk}^{\kappa}\Big)^{1/\kappa}

    Workers draw i.i.d. Gumbel tastes for sectors with log-utility ``kappa ln w_nk + e_ik``
    (McFadden 1974); ``W_n`` is the inclusive value (expected utility in wage units, up to a
    constant), used as the place's wage in migration decisions.

    Parameters
    ----------
    wage : ndarray, shape (N, K)
        Sector wages, >= 0.
    kappa : float
        Logit elasticity, > 0.

    Returns
    -------
    shares : ndarray, shape (N, K)
        pi_nk, rows sum to 1.
    inclusive : ndarray, shape (N,)
        W_n.

    Notes
    -----
    Computed in logs with a max shift (log-sum-exp) so that large kappa does not overflow.

    References
    ----------
    .. [1] McFadden, D. (1974). Conditional logit analysis of qualitative choice behavior.
    .. [2] Galle, S., Rodriguez-Clare, A. & Yi, M. (2023). Slicing the pie: quantifying the
       aggregate and distributional effects of trade. REStud 90(1).
    """
    with np.errstate(divide="ignore"):
        x = kappa * np.log(wage)
    xmax = np.max(x, axis=1, keepdims=True)
    xmax = np.where(np.isfinite(xmax), xmax, 0.0)
    ex = np.exp(x - xmax)
    tot = ex.sum(axis=1, keepdims=True)
    ok = tot > 0
    shares = np.divide(ex, tot, out=np.zeros_like(ex), where=ok)
    with np.errstate(divide="ignore"):
        inclusive = np.where(ok[:, 0], np.exp((np.log(tot[:, 0]) + xmax[:, 0]) / kappa), 0.0)
    return shares, inclusive


def price_index_power(supply, freeness, group, symmetric=False):
    r"""Price-index power :math:`P_{mk}^{1-\sigma_k} = \sum_n S_{nk} T_{nm}^{(g_k)}`.

    Parameters
    ----------
    supply : ndarray, shape (N, K)
        S_nk = M_nk p_nk**(1-sigma_k): firm mass times mill price to the power 1 - sigma.
    freeness : ndarray, shape (G, N, N), float64 or float32
        T_g = tau**(1-sigma) per trade-cost group (float32: half the bytes to stream, summed
        in float64; see docs/performance.md).
    group : ndarray of int, shape (K,)
        Group of each sector; -1 for non-traded (T = identity).
    symmetric : bool
        Every T_g equals its transpose: computed as T_g S (the same sums, added by rows).

    Returns
    -------
    ndarray, shape (N, K)

    References
    ----------
    .. [1] Krugman, P. (1991). Increasing returns and economic geography. JPE 99(3).
    """
    return _apply_freeness(supply, freeness, group, transpose=not symmetric)


def market_access(demand, freeness, group):
    r"""Firm market access :math:`MA_{nk} = \sum_m T_{nm}^{(g_k)} P_{mk}^{\sigma_k-1} E_{mk}`.

    Parameters
    ----------
    demand : ndarray, shape (N, K)
        P_mk**(sigma_k-1) E_mk (0 where the market has no supplier).
    freeness : ndarray, shape (G, N, N)
    group : ndarray of int, shape (K,)

    Returns
    -------
    ndarray, shape (N, K)

    References
    ----------
    .. [1] Redding, S. & Venables, A. (2004). Economic geography and international inequality.
       JIE 62(1). (market access)
    """
    return _apply_freeness(demand, freeness, group, transpose=False)


@functools.lru_cache(maxsize=64)
def _group_columns(key: bytes) -> tuple:
    """(group, sector indices) pairs of a group vector (cached: loop-invariant in a solve)."""
    group = np.frombuffer(key, dtype=np.int64)
    return tuple((int(g), np.flatnonzero(group == g)) for g in np.unique(group))


def _apply_freeness(x, freeness, group, *, transpose):
    """T_g^T x (price indices) or T_g x (market access) per trade-cost group; -1: identity.

    All sectors of a group in one pass over T_g (:func:`sim.kernels.dense.thin_product`:
    compiled from ``dense.MIN_PLACES`` places for groups of two or more sectors or float32
    T_g, numpy/BLAS otherwise); float64 sums either way.
    """
    out = np.empty_like(x)
    for g, ks in _group_columns(np.asarray(group, dtype=np.int64).tobytes()):
        if g < 0:
            out[:, ks] = x[:, ks]
        else:
            out[:, ks] = thin_product(freeness[g], x[:, ks], transpose=transpose)
    return out


def _price_term(wage, inp):
    """p_nk^(1-sigma) for a firm with z^(sigma-1) = 1: p = w / (rho A) [E1]."""
    rho = (inp.sigma - 1.0) / inp.sigma
    with np.errstate(divide="ignore", over="ignore"):
        return (wage / (rho * inp.productivity)) ** (1.0 - inp.sigma)


MIN_VARIABLE_SHARE = 0.1  # firms can use at most 90% of a place-sector's workers as fixed labour


def _operating_share(inp, ext, emp):
    """Share of firms that can operate: M_op = min(M, (1 - 0.1) L_nk / F) [E12]."""
    cap = (1.0 - MIN_VARIABLE_SHARE) * emp / inp.fixed_cost
    M = inp.firm_count
    share = np.divide(np.minimum(M, cap), M, out=np.ones_like(M), where=M > 0)
    return np.where(ext[:, None], 1.0, share)


def _supply_terms(inp, ext, wage, emp, op=None):
    """S_nk = M_nk p_nk^(1-sigma) [E4].

    Free entry: M = L/(sigma F) [E2]; otherwise the operating productivity-weighted mass of
    the firm populations [E12] (``op``: :func:`_operating_share` of ``emp`` if computed).
    """
    unit = _price_term(wage, inp)
    supply = emp / (inp.sigma * inp.fixed_cost) * unit
    if inp.firm_count is None:
        return supply
    if op is None:
        op = _operating_share(inp, ext, emp)
    return np.where(ext[:, None], supply, op * inp.firm_index * unit)


def _demand_term(ppow, expenditure, sigma):
    # P^(sigma-1) E, with markets that no variety reaches (P^(1-sigma) = 0) set to 0
    served = ppow > 0.0
    safe = np.where(served, ppow, 1.0)
    return np.where(served, expenditure / safe, 0.0)


def _evaluate(x, inp, ext, kappa):
    """One pass of the equilibrium map at log-wages ``x`` (internal rows only are free)."""
    wage = np.exp(x)
    wage[ext] = inp.ext_wage[ext, None]
    firm_mode = inp.firm_count is not None
    if firm_mode:  # sectors without firms hire nobody
        active = ext[:, None] | (inp.firm_count > 0)
        shares, W = sector_choice(np.where(active, wage, 0.0), kappa)
    else:
        shares, W = sector_choice(wage, kappa)
    W = np.where(ext, inp.ext_wage, W)
    emp = np.where(ext[:, None], inp.mobile[:, None] * inp.ext_supply_share,
                   inp.mobile[:, None] * shares)
    rho = (inp.sigma - 1.0) / inp.sigma
    if firm_mode:
        # revenue = wage bill / rho: variable labour (L - F M) earns rho of revenue   [E11]
        op = _operating_share(inp, ext, emp)
        variable = emp - inp.fixed_cost * np.where(ext[:, None], 0.0, op * inp.firm_count)
        labour_income = (np.where(ext[:, None], 0.0, wage * variable / rho)
                         ).sum(axis=1) + inp.ag_wage * inp.ag_workers
    else:
        labour_income = (wage * emp).sum(axis=1) + inp.ag_wage * inp.ag_workers
    income = np.where(ext, inp.ext_income, labour_income / (1.0 - inp.housing_share))
    expenditure = income[:, None] * inp.beta[None, :]
    if inp.extra_demand is not None:
        expenditure = expenditure + inp.extra_demand                       # [E5]
    supply = _supply_terms(inp, ext, wage, emp, op if firm_mode else None)
    ppow = price_index_power(supply, inp.freeness, inp.group, inp.freeness_symmetric)
    ma = market_access(_demand_term(ppow, expenditure, inp.sigma), inp.freeness, inp.group)
    with np.errstate(divide="ignore", invalid="ignore"):
        if firm_mode:
            # labour market: rho R / w + F M_op = L_nk, R = Z_op (w/(rho A))^(1-sigma) MA [E11]
            x_new = ((inp.sigma - 1.0) * np.log(rho * inp.productivity) + np.log(ma)
                     + np.log(rho * op * inp.firm_index) - np.log(variable)) / inp.sigma
            x_new = np.where(active, x_new, x)
        else:
            # w^sigma = (rho A)^(sigma-1) MA / (sigma F)                                [E6]
            x_new = ((inp.sigma - 1.0) * np.log(rho * inp.productivity) + np.log(ma)
                     - np.log(inp.sigma * inp.fixed_cost)) / inp.sigma
    return wage, shares, W, emp, income, expenditure, supply, ppow, ma, x_new


_max_reduce, _sum_reduce, _all_reduce = np.maximum.reduce, np.add.reduce, np.logical_and.reduce


class _Map:
    """The map Phi of :func:`solve_equilibrium`'s fixed point, prepared once per solve.

    The same equations as :func:`_evaluate` ([E1]-[E6], [E11], [E12]), returning only the new
    log wages: everything that does not change between iterations (log(rho A), 1/(sigma F),
    agricultural income, and the external places' employment, supply and expenditure, which
    are exogenous) is computed here once, and sectors are reordered by trade-cost group, so
    that each group's freeness matrix multiplies a contiguous block of columns. It maps the
    free unknowns only: the log wages of internal places in that sector order, flattened
    (:meth:`pack`, :meth:`unpack`). Equal to :func:`_evaluate` up to rounding (tested).
    """

    def __init__(self, inp, ext, kappa):
        group = np.asarray(inp.group, dtype=np.int64)
        order = np.argsort(group, kind="stable")
        self.order, self.back = order, np.argsort(order)
        g = group[order]
        cuts = np.flatnonzero(np.diff(g)) + 1
        bounds = [0, *cuts.tolist(), len(g)]
        self.blocks = [(int(g[a]), slice(a, b))
                       for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        self.freeness = inp.freeness
        self.large = inp.freeness.shape[-1] >= _dense.MIN_PLACES
        # symmetric T_g: T_g^T S = T_g S, by the row kernel (large regions only)
        self.transpose = not inp.freeness_symmetric
        rows = self.rows = np.flatnonzero(~ext)
        sigma = np.asarray(inp.sigma, FLOAT)[order]
        fixed = np.asarray(inp.fixed_cost, FLOAT)[order]
        self.sigma, self.fixed = sigma, fixed
        self.rho = rho = (sigma - 1.0) / sigma
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_rho_a = np.log(rho * inp.productivity[:, order])
            self.log_rho_a = log_rho_a[rows]
            self.c_wage = (sigma - 1.0) * self.log_rho_a
            self.one_minus_sigma = 1.0 - sigma
            self.inv_sigma_f = 1.0 / (sigma * fixed)
            self.kappa = kappa
            self.mobile = np.asarray(inp.mobile, FLOAT)[rows, None]
            self.ag_income = (inp.ag_wage * inp.ag_workers)[rows]
            self.keep = 1.0 - inp.housing_share
            self.beta = np.asarray(inp.beta, FLOAT)[order][None, :]
            extra = None if inp.extra_demand is None else inp.extra_demand[:, order]
            self.extra = None if extra is None else extra[rows]
            # external places: exogenous wages, so fixed employment, supply and expenditure
            N, K = inp.productivity.shape
            ext_emp = np.asarray(inp.mobile, FLOAT)[ext, None] * inp.ext_supply_share[ext][:, order]
            log_ext_wage = np.log(inp.ext_wage[ext])[:, None]
            ext_unit = np.exp(self.one_minus_sigma * (log_ext_wage - log_rho_a[ext]))
            self.supply0 = np.zeros((N, K))
            self.supply0[ext] = ext_emp * self.inv_sigma_f * ext_unit
            self.expenditure0 = np.zeros((N, K))
            self.expenditure0[ext] = inp.ext_income[ext, None] * self.beta
            if extra is not None:
                self.expenditure0[ext] = self.expenditure0[ext] + extra[ext]
        # the products of each sector block, prepared once: T_g^T for price indices, the rows
        # of T_g of internal places for market access (None: a block without trade costs)
        # From dense.MIN_PLACES places: T_g itself for both, multiplied by the compiled thin
        # products over all rows (no copy of the internal rows: 0.8 GB per group at 10,000
        # places; the few external rows of market access are computed and dropped)
        if self.large:
            self.t_blocks = [(sl, None if g < 0 else self.freeness[g]) for g, sl in self.blocks]
            self.m_blocks = self.t_blocks
        else:
            self.t_blocks = [(sl, None if g < 0 else self.freeness[g].T)
                             for g, sl in self.blocks]
            self.m_blocks = [(sl, None if g < 0 else self.freeness[g][rows])
                             for g, sl in self.blocks]
        # internal rows as a slice when contiguous (cheaper than an index array)
        self.row_sel = rows
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
            self.row_sel = slice(int(rows[0]), int(rows[-1]) + 1)
        # supply and expenditure of every place: external rows fixed, internal rows rewritten
        # by each evaluation
        self.supply = self.supply0.copy()
        self.expenditure = self.expenditure0.copy()
        self.firm_mode = inp.firm_count is not None
        if self.firm_mode:
            M = inp.firm_count[rows][:, order]
            self.M, self.M_pos = M, M > 0
            self.M_none = ~self.M_pos
            self.Z = inp.firm_index[rows][:, order]
            self.rho_z = rho * self.Z
            self.cap_factor = (1.0 - MIN_VARIABLE_SHARE) / fixed
        else:
            self.log_sigma_f = np.log(sigma * fixed)

    def pack(self, x):
        """The free unknowns of log wages ``x`` (N, K): internal rows, group order, flat."""
        return x[self.rows][:, self.order].ravel()

    def unpack(self, z, x):
        """``x`` (N, K) with its internal rows replaced by the unknowns ``z``."""
        x = x.copy()
        x[self.rows] = z.reshape(len(self.rows), -1)[:, self.back]
        return x

    def __call__(self, z):
        """Phi(z): new log wages of internal places (packed) for log wages ``z`` (packed)."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self.evaluate(z)

    def evaluate(self, z):
        """:meth:`__call__` without setting numpy's error state.

        The caller ignores divide, invalid and overflow, as :func:`solve_equilibrium` does
        around its whole loop. Per evaluation: the sector choice, incomes, supply and
        expenditure of internal places, then by sector block ``T_g^T S`` (price indices) and
        ``T_g D`` for internal rows (market access), with the per-solve constants, each
        block's matrices (``t_blocks``, ``m_blocks``) and the supply and expenditure buffers
        prepared in ``__init__``.
        """
        lw = z.reshape(len(self.rows), -1)
        wage = np.exp(lw)
        # logit sector choice [E7] (in logs: kappa ln w); sectors without firms: no one
        xs = self.kappa * lw
        if self.firm_mode:
            xs[self.M_none] = -np.inf
        # reductions by the ufuncs' reduce (what ndarray.max and .sum call, without their
        # Python-level wrappers)
        xmax = _max_reduce(xs, axis=1, keepdims=True)
        xmax = np.where(np.isfinite(xmax), xmax, 0.0)
        ex = np.exp(xs - xmax)
        tot = _sum_reduce(ex, axis=1, keepdims=True)
        emp = self.mobile * np.divide(ex, tot, out=np.zeros(ex.shape), where=tot > 0)
        unit = np.exp(self.one_minus_sigma * (lw - self.log_rho_a))
        if self.firm_mode:  # [E11], [E12]
            op = np.divide(np.minimum(self.M, emp * self.cap_factor), self.M,
                           out=np.ones(emp.shape), where=self.M_pos)
            variable = emp - self.fixed * (op * self.M)
            labour = _sum_reduce(wage * variable / self.rho, axis=1)
            supply_int = op * self.Z * unit
        else:
            labour = _sum_reduce(wage * emp, axis=1)
            supply_int = emp * self.inv_sigma_f * unit
        income = (labour + self.ag_income) / self.keep
        rs = self.row_sel
        supply, expenditure = self.supply, self.expenditure
        supply[rs] = supply_int
        expenditure[rs] = income[:, None] * self.beta if self.extra is None else \
            income[:, None] * self.beta + self.extra
        ppow = np.empty_like(supply)  # P^(1-sigma) = T_g^T S by block
        for sl, Tt in self.t_blocks:
            if Tt is None:
                ppow[:, sl] = supply[:, sl]
            elif self.large:
                ppow[:, sl] = thin_product(Tt, supply[:, sl], transpose=self.transpose)
            else:
                ppow[:, sl] = Tt @ supply[:, sl]
        served = ppow > 0.0
        demand = np.where(served, expenditure / np.where(served, ppow, 1.0), 0.0)
        ma = np.empty_like(supply_int)  # market access of internal places: T_g D by block
        for sl, Tr in self.m_blocks:
            if Tr is None:
                ma[:, sl] = demand[rs, sl]
            elif self.large:
                ma[:, sl] = thin_product(Tr, demand[:, sl])[rs]
            else:
                ma[:, sl] = Tr @ demand[:, sl]
        if self.firm_mode:
            x_new = (self.c_wage + np.log(ma) + np.log(self.rho_z * op)
                     - np.log(variable)) / self.sigma
            x_new = np.where(self.M_pos, x_new, lw)
        else:
            x_new = (self.c_wage + np.log(ma) - self.log_sigma_f) / self.sigma
        return x_new.ravel()


def cold_start_wages(inp):
    r"""Start of a solve without an earlier solution: every sector pays the farm wage.

    .. math:: w^{(0)}_{nk} = w^A_n \quad (n \text{ internal}), \qquad
              w^{(0)}_{jk} = w_j \quad (j \text{ external})

    Agriculture produces the freely traded numeraire at the price 1, so the farm wage
    :math:`w^A_n` (its productivity) fixes the level of nominal wages at each place [E7]; the
    sector wages solve [E6] around it (in the test economies within a factor e^1.5 of it, against
    a factor of about 100 for the default start ``w = 1``). Internal places without a positive,
    finite farm wage take the mean of the others' (1 where none has one: an economy without
    agriculture, normalised to mean earnings 1, or whose external wages set the level).
    Only a starting point: :func:`solve_equilibrium` converges to its tolerance from it, in
    fewer iterations (float32 freeness, Anderson 10: 18 instead of 38 on a 2,000-place
    synthetic country, 19 instead of 27 at 5,000, 17 instead of 30 at 10,000;
    docs/performance.md).

    Parameters
    ----------
    inp : EquilibriumInputs

    Returns
    -------
    ndarray, shape (N, K)
        Sector wages (model units, as ``ag_wage`` and ``ext_wage``), positive and finite.

    References
    ----------
    .. [1] Fujita, M., Krugman, P. & Venables, A. (1999). The Spatial Economy, ch. 4-5.
       (agriculture as the numeraire that pins nominal wages)
    """
    intern = np.asarray(inp.internal, dtype=bool)
    N, K = inp.productivity.shape
    ag = np.asarray(inp.ag_wage, FLOAT)
    ok = intern & np.isfinite(ag) & (ag > 0)
    fill = float(ag[ok].mean()) if ok.any() else 1.0
    level = np.where(ok, ag, fill)
    ext_w = np.asarray(inp.ext_wage, FLOAT)
    ext_ok = ~intern & np.isfinite(ext_w) & (ext_w > 0)
    level = np.where(ext_ok, ext_w, level)
    return np.repeat(level[:, None], K, axis=1)


def solve_equilibrium(inp, *, wage0=None, tol=1e-10, max_iter=10_000, damping=0.5,
                      anderson=5, year=None):
    r"""Solve wages and price indices of the static equilibrium by a damped fixed point.

    Iterates on log sector wages :math:`x_{nk} = \ln w_{nk}` of internal places:

    .. math::
        P_{mk}^{1-\sigma_k} = \sum_n \frac{L_{nk}}{\sigma_k F_k}
              \Big(\frac{w_{nk}}{\rho_k A_{nk}}\Big)^{1-\sigma_k} T_{nmk}, \qquad
        w_{nk}^{\sigma_k} = \frac{(\rho_k A_{nk})^{\sigma_k-1}}{\sigma_k F_k}
              \sum_m T_{nmk} P_{mk}^{\sigma_k-1} E_{mk},

    with :math:`\rho_k=(\sigma_k-1)/\sigma_k`, :math:`L_{nk}=\pi_{nk}L_n` from the logit
    sector choice, :math:`E_{mk}=\beta_k Y_m` and
    :math:`Y_n=(\sum_k w_{nk}L_{nk}+w^A_nL^A_n)/(1-\beta_h)`. Update
    :math:`x \leftarrow x + d\,(\Phi(x)-x)`, accelerated by Anderson mixing over the last
    ``anderson`` iterates (Walker & Ni 2011; ``anderson=0`` gives the plain damped
    iteration). Stops when
    :math:`\max|\Phi(x)-x| <` ``tol``.

    If the economy has no nominal anchor (no agricultural income and no external place), wages
    are normalised each iteration so that mean earnings of mobile workers are 1.

    Parameters
    ----------
    inp : EquilibriumInputs
    wage0 : ndarray, shape (N, K), optional
        Warm start (e.g. last year's wages). Default: ones.
    tol : float
        Convergence tolerance on the max absolute change of log wages.
    max_iter : int
    damping : float
        d in (0, 1].
    anderson : int
        Depth m of Anderson acceleration (0: none). The history restarts whenever the residual
        exceeds ten times the best so far; acceleration is switched off (plain damped steps)
        once the best residual has not improved for 2m + 10 iterations.
    year : int, optional
        Only used in error messages.

    Returns
    -------
    EquilibriumResult

    Raises
    ------
    ConvergenceError
        If the residual is not below ``tol`` after ``max_iter`` iterations, or becomes NaN.

    References
    ----------
    .. [1] Fujita, M., Krugman, P. & Venables, A. (1999). The Spatial Economy, ch. 4-5.
    .. [2] Redding, S. (2016). Goods trade, factor mobility and welfare. JIE 101.
    .. [3] Allen, T. & Arkolakis, C. (2025). Quantitative regional economics. Handbook of
       Regional and Urban Economics, vol. 6.
    .. [4] Walker, H. & Ni, P. (2011). Anderson acceleration for fixed-point iterations.
       SIAM J. Numer. Anal. 49(4).
    """
    ext = ~np.asarray(inp.internal, dtype=bool)
    N, K = inp.productivity.shape
    if wage0 is None:
        x = np.zeros((N, K), dtype=FLOAT)
    else:
        w0 = np.asarray(wage0, FLOAT)
        x = np.log(np.where(np.isfinite(w0) & (w0 > 0), w0, 1.0))
    anchored = bool(ext.any()) or float((inp.ag_wage * inp.ag_workers).sum()) > 0.0
    kappa = float(inp.sector_elasticity)
    residual = np.inf
    it = 0
    phi = _Map(inp, ext, kappa)
    z = phi.pack(x)  # the unknowns: internal log wages (sectors in trade-group order)
    # Anderson history: the last ``anderson`` differences of iterates and residuals, as the
    # columns of a ring buffer (their order does not matter to the least-squares weights)
    m = max(int(anderson), 1)
    dX = np.empty((m, z.size))  # rows: differences of iterates and residuals
    dF = np.empty((m, z.size))
    n_hist = slot = 0
    last = None  # (z, f) of the last iterate in the history
    best = np.inf
    stall = 0
    z_best = z
    use_aa = anderson > 0
    # one error state for the whole loop (the map's overflows and logs of 0 are handled;
    # setting it once per evaluation cost 5% of a solve)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for it in range(1, max_iter + 1):
            z_new = phi.evaluate(z)
            if not anchored:  # no external place: every row is internal
                z_new = z_new - _log_mean_earnings(z_new.reshape(N, K), inp, ext, kappa)
            f = z_new - z
            residual = float(_max_reduce(np.abs(f))) if f.size else 0.0
            if not np.isfinite(residual):
                if last is not None:  # an accelerated step overshot: back to the last good iterate
                    z = last[0] + damping * last[1]
                    n_hist, slot, last = 0, 0, None
                    continue
                raise ConvergenceError("non-finite wages (check for places with no market)",
                                       iterations=it, residual=residual, tol=tol, year=year)
            if residual < tol:
                z = z_new
                break
            step = damping * f
            if residual < best:
                best, stall, z_best = residual, 0, z
            else:
                stall += 1
            if use_aa and stall > 2 * anderson + 10:  # safeguard: acceleration stagnates:
                use_aa = False  # back to the best iterate, plain damped steps from there
                n_hist, slot, last = 0, 0, None
                z = z_best
                continue
            if use_aa:
                if residual > 10.0 * best:  # safeguard: restart the history on divergence
                    n_hist, slot, last = 0, 0, None
                if last is not None:
                    np.subtract(z, last[0], out=dX[slot])
                    np.subtract(f, last[1], out=dF[slot])
                    slot = (slot + 1) % anderson
                    n_hist = min(n_hist + 1, anderson)
                last = (z, f)
                if n_hist:
                    gamma = _least_squares(dF[:n_hist], f)
                    step = step - gamma @ (dX[:n_hist] + damping * dF[:n_hist])
                    big = float(_max_reduce(np.abs(step)))
                    if big > 1.0:  # cap an accelerated step at a factor e in any wage
                        step = step / big
            z = z + step
        else:
            raise ConvergenceError("max_iter reached", iterations=it, residual=residual, tol=tol,
                                   year=year)
    x = phi.unpack(z, x)
    wage, shares, W, emp, income, expenditure, supply, ppow, ma, _ = _evaluate(x, inp, ext, kappa)
    return _assemble(inp, ext, wage, shares, W, emp, income, expenditure, supply, ppow, ma,
                     it, residual)


try:  # the gufunc behind np.linalg.solve(a, b) for a vector b
    from numpy.linalg._umath_linalg import solve1 as _solve1
except ImportError:  # pragma: no cover - a numpy without it: np.linalg.solve
    _solve1 = None


def _least_squares(dF, f):
    """Anderson mixing weights: the gamma minimising |dF^T gamma - f| (rows of dF: history).

    By the normal equations (a few unknowns: far cheaper than an SVD); by ``lstsq`` when they
    are singular or give a non-finite answer. The normal equations go straight to the gufunc
    that ``np.linalg.solve`` calls (the same LAPACK ``gesv``, so the same numbers), without its
    argument checks and error-state setup, which took half the time of a 5 x 5 solve: a
    singular matrix then gives NaN (under the caller's ``invalid="ignore"``) instead of
    ``LinAlgError``, and either way ``lstsq`` takes over.
    """
    try:
        if _solve1 is not None:
            gamma = _solve1(dF @ dF.T, dF @ f, signature="dd->d")
        else:
            gamma = np.linalg.solve(dF @ dF.T, dF @ f)
        if _all_reduce(np.isfinite(gamma)):
            return gamma
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(dF.T, f, rcond=None)[0]


def _log_mean_earnings(x, inp, ext, kappa):
    wage = np.exp(x)
    shares, _ = sector_choice(wage, kappa)
    L = inp.mobile * (~ext)
    tot = L.sum()
    if tot <= 0:
        return 0.0
    return float(np.log((wage * shares * L[:, None]).sum() / tot))


def _assemble(inp, ext, wage, shares, W, emp, income, expenditure, supply, ppow, ma, it, res):
    sigma = inp.sigma
    if inp.firm_count is None:
        firms = emp / (sigma * inp.fixed_cost)
    else:
        firms = np.where(ext[:, None], emp / (sigma * inp.fixed_cost), inp.firm_count)
    # revenue R_nk = M p^(1-sigma) MA = S_nk MA_nk                                        [E5]
    revenue = supply * ma
    with np.errstate(divide="ignore"):
        price_index = np.where(ppow > 0, ppow, 0.0) ** (1.0 / (1.0 - sigma))
    rent = inp.housing_share * income / inp.land
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = (inp.beta[None, :] * np.log(price_index)).sum(axis=1)
        if inp.housing_share > 0:
            log_p = log_p + inp.housing_share * np.log(rent)
    consumer_price = np.exp(log_p)
    with np.errstate(divide="ignore", invalid="ignore"):
        real = np.where(np.isfinite(consumer_price) & (consumer_price > 0),
                        W / ((1.0 - inp.housing_share) * consumer_price), 0.0)
    mean_wage = np.where(ext, inp.ext_wage, (shares * wage).sum(axis=1))
    operating_share = 1.0
    if inp.firm_count is not None:
        # sectors without firms: report (and price entry at) the place's mean wage
        idle = (~ext[:, None]) & (inp.firm_count <= 0)
        reservation = np.where(mean_wage > 0, mean_wage, inp.ag_wage)
        wage = np.where(idle, reservation[:, None], wage)
        # expected operating profit of a firm: only the operating share sells     [E12]
        operating_share = _operating_share(inp, ext, emp)
    operating_profit = _price_term(wage, inp) * ma / sigma * operating_share
    return EquilibriumResult(
        wage=wage, wage_index=W, mean_wage=mean_wage, employment=emp, firms=firms,
        revenue=revenue, price_index=price_index, income=income, expenditure=expenditure,
        rent=rent, consumer_price=consumer_price, real_income=real, market_access=ma,
        operating_profit=operating_profit, iterations=it, residual=res,
        # free entry: the reported wages are these, so the trade flows reuse S and P^(1-sigma)
        gravity=(weakref.ref(inp), supply, ppow) if inp.firm_count is None else None,
    )


def _gravity_terms(result, inp):
    """Seller terms S_nk and buyer terms P_mk^(sigma_k-1) E_mk of the flows X_nmk [E4]-[E6]."""
    g = result.gravity
    if g is not None and g[0]() is inp:  # the solve's own evaluation: the same numbers
        supply, ppow = g[1], g[2]
    else:
        ext = ~np.asarray(inp.internal, dtype=bool)
        supply = _supply_terms(inp, ext, result.wage, result.employment)
        ppow = price_index_power(supply, inp.freeness, inp.group, inp.freeness_symmetric)
    return supply, _demand_term(ppow, result.expenditure, inp.sigma)


def trade_flows(result, inp):
    r"""Bilateral trade flows :math:`X_{nmk} = S_{nk} T_{nmk} P_{mk}^{\sigma_k-1} E_{mk}`.

    Dense (N, N, K): meant for tests and diagnostics on small regions, not the step loop.

    Parameters
    ----------
    result : EquilibriumResult
    inp : EquilibriumInputs

    Returns
    -------
    ndarray, shape (N, N, K)
        Value of sales from n to m in sector k. Columns sum to E_mk (served markets); rows of
        internal places sum to w_nk L_nk.
    """
    supply, dem = _gravity_terms(result, inp)
    N, K = supply.shape
    X = np.empty((N, N, K))
    for k in range(K):
        g = inp.group[k]
        T = np.eye(N) if g < 0 else inp.freeness[g]
        X[:, :, k] = supply[:, k, None] * T * dem[None, :, k]
    return X


def trade_matrix(result, inp, sectors=None):
    r"""Bilateral trade summed over sectors, :math:`X_{nm} = \sum_{k \in S} X_{nmk}`.

    .. math:: X_{nm} = \sum_g T^{(g)}_{nm} \sum_{k \in S,\, g_k = g} S_{nk} P_{mk}^{\sigma_k-1}
              E_{mk}

    The flows of :func:`trade_flows` ([E4]-[E6] of docs/model.md) summed over the sectors in
    ``sectors``, by one (N x |S_g|) @ (|S_g| x N) product per trade-cost group instead of the
    dense (N, N, K) array (non-traded sectors sell only at home: the diagonal).

    Parameters
    ----------
    result : EquilibriumResult
    inp : EquilibriumInputs
    sectors : ndarray of bool, shape (K,), optional
        Sectors to sum over (default: all).

    Returns
    -------
    ndarray, shape (N, N)
        Value of sales from n to m (same units as expenditure).

    References
    ----------
    .. [1] Redding, S. (2016). Goods trade, factor mobility and welfare. JIE 101. (gravity
       flows of the CES model)
    """
    supply, dem = _gravity_terms(result, inp)
    N, K = supply.shape
    sel = np.ones(K, bool) if sectors is None else np.asarray(sectors, bool)
    group = np.asarray(inp.group)
    out = np.zeros((N, N))
    for g in np.unique(group[sel]):
        ks = np.flatnonzero(sel & (group == g))
        if g < 0:
            out[np.diag_indices(N)] += (supply[:, ks] * dem[:, ks]).sum(axis=1)
        else:
            out += inp.freeness[g] * (supply[:, ks] @ dem[:, ks].T)
    return out


def external_trade(result, inp):
    r"""Each place's exports to and imports from external places (value a year).

    .. math::
        EX_n = \sum_k \sum_{m \in \mathcal{X}} X_{nmk}, \qquad
        IM_n = \sum_k \sum_{j \in \mathcal{X}} X_{jnk},
        \qquad X_{nmk} = S_{nk} T_{nm}^{(g_k)} P_{mk}^{\sigma_k-1} E_{mk}

    with :math:`\mathcal{X}` the external places ([E4]-[E6] of docs/model.md). Computed with
    (N x N_ext) products per sector, never the dense (N, N, K) flows of :func:`trade_flows`.

    Parameters
    ----------
    result : EquilibriumResult
    inp : EquilibriumInputs

    Returns
    -------
    exports, imports : ndarray, shape (N,)
        Same units as expenditure (bn CNY a year in the region packs). Only the entries of
        internal places are meaningful (an external place's entry includes its own market).

    References
    ----------
    .. [1] Redding, S. (2016). Goods trade, factor mobility and welfare. JIE 101. (gravity
       flows of the CES model)
    """
    return _external_sums(result, inp, per_partner=False)[:2]


def partner_trade(result, inp):
    r"""The region's exports to and imports from each external place (value a year) [O1b].

    .. math::
        EX^{R}_j = \sum_k \sum_{n \in \mathcal{I}} X_{njk}, \qquad
        IM^{R}_j = \sum_k \sum_{n \in \mathcal{I}} X_{jnk},
        \qquad X_{nmk} = S_{nk} T_{nm}^{(g_k)} P_{mk}^{\sigma_k-1} E_{mk}

    with :math:`\mathcal{I}` the internal places: the bilateral trade of the region with each
    partner that customs statistics report (gravity flows of the CES model, Redding 2016).
    Computed with (N_int x N) products per sector, never the dense flows.

    Parameters
    ----------
    result : EquilibriumResult
    inp : EquilibriumInputs

    Returns
    -------
    exports, imports : ndarray, shape (N,)
        Entries of external places: the region's exports to / imports from them; internal
        entries are 0.
    """
    return _external_sums(result, inp, per_place=False)[2:]


def _external_sums(result, inp, *, per_place=True, per_partner=True):
    """Per-place trade with external places and per-partner trade of the region, one pass.

    Each part costs its own products; the step loop asks only for ``per_place``.

    Returns ``exports, imports`` of each place with all external places ([O1]) and the
    region's ``exports, imports`` with each external place ([O1b]; internal entries 0).
    """
    ext = ~np.asarray(inp.internal, dtype=bool)
    intern = ~ext
    supply, dem = _gravity_terms(result, inp)
    N, K = supply.shape
    ex_n, im_n, ex_j, im_j = np.zeros(N), np.zeros(N), np.zeros(N), np.zeros(N)
    for k in range(K):
        g = inp.group[k]
        if g < 0:  # non-traded: every sale stays in its own place
            continue
        T = inp.freeness[g]
        if per_place:
            ex_n += supply[:, k] * (T[:, ext] @ dem[ext, k])
            im_n += dem[:, k] * (supply[ext, k] @ T[ext, :])
        if per_partner:
            ex_j += (supply[intern, k] @ T[intern, :]) * dem[:, k]
            im_j += supply[:, k] * (T[:, intern] @ dem[intern, k])
    ex_j[intern] = 0.0
    im_j[intern] = 0.0
    return ex_n, im_n, ex_j, im_j
