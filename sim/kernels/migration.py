"""Migration rules of mobile workers between places (pure array kernels).

Two rules, documented in ``docs/model.md`` (section "Dynamics"):

* ``replicator_step``: FKV's core-periphery dynamics generalised to N places, exactly nesting
  dλ/dt = λ(1-λ)(ω1-ω2) for two places (up to a positive speed factor).
* ``logit_flows``: a share of workers reconsiders each year and picks a destination by logit
  over utility net of bilateral migration costs (Artuc, Chaudhuri & McLaren 2010; Tombe & Zhu
  2019 for China).
"""

from __future__ import annotations

import numpy as np

from sim.kernels.dense import thin_product, uses_compiled

__all__ = ["replicator_step", "logit_flows", "logit_probabilities", "migration_costs",
           "size_weights", "utility", "logit_kernel", "logit_weights", "logit_flow_totals",
           "migration_table"]


def replicator_step(mobile, real_income, *, speed, internal):
    r"""One annual step of replicator dynamics among internal places.

    .. math:: L'_n = L_n \Big(1 + \gamma \frac{\omega_n - \bar\omega}{\bar\omega}\Big),
              \qquad \bar\omega = \frac{\sum_m L_m \omega_m}{\sum_m L_m}

    For two places with :math:`L_1=\mu\lambda`, :math:`\dot\lambda\propto
    \lambda(1-\lambda)(\omega_1-\omega_2)`: the FKV (1999, eq. 5.6) law of motion, with the
    same stationary points and stability. Total mobile labour is conserved (to rounding) and
    stays non-negative for ``0 < speed <= 1``.

    Parameters
    ----------
    mobile : ndarray, shape (N,)
        L_n (external entries are returned unchanged).
    real_income : ndarray, shape (N,)
        omega_n >= 0.
    speed : float
        gamma in (0, 1].
    internal : ndarray of bool, shape (N,)

    Returns
    -------
    ndarray, shape (N,)

    References
    ----------
    .. [1] Fujita, M., Krugman, P. & Venables, A. (1999). The Spatial Economy, eq. (5.6).
    """
    if not 0.0 < speed <= 1.0:
        raise ValueError(f"speed must be in (0, 1], got {speed}")
    L = np.asarray(mobile, dtype=float)
    out = L.copy()
    Li = L[internal]
    tot = Li.sum()
    if tot <= 0:
        return out
    om = np.asarray(real_income, dtype=float)[internal]
    mean = (Li * om).sum() / tot
    if mean <= 0:
        return out
    out[internal] = Li * (1.0 + speed * (om - mean) / mean)
    return out


def utility(real_income, amenity, mobile, *, amenity_elasticity):
    r"""Indirect utility :math:`U_n = \bar B_n L_n^{\beta} V_n` of a mobile worker.

    Parameters
    ----------
    real_income : ndarray, shape (N,)
        V_n.
    amenity : ndarray, shape (N,)
        Amenity fundamental B-bar_n > 0.
    mobile : ndarray, shape (N,)
        L_n.
    amenity_elasticity : float
        beta: amenity spillover (beta < 0: congestion). Allen & Arkolakis (2014) use -0.3.

    Returns
    -------
    ndarray, shape (N,)

    References
    ----------
    .. [1] Allen, T. & Arkolakis, C. (2014). Trade and the topography of the spatial economy.
       QJE 129(3).
    """
    if amenity_elasticity == 0.0:
        return amenity * real_income
    with np.errstate(divide="ignore"):
        return amenity * np.where(mobile > 0, mobile, 0.0) ** amenity_elasticity * real_income


def migration_costs(travel_cost, *, fixed, per_hour, value_of_time, external, external_cost,
                    distance_elasticity=0.0, allowed=None, origins=None):
    r"""Bilateral migration costs in log-utility units [D2].

    .. math:: \kappa_{nm} = \mathbb 1[n\ne m]\,\big(\kappa_0 + \kappa_1\, t_{nm}
              + \delta \ln(1 + t_{nm})
              + \kappa_X\,\mathbb 1[\text{n or m external}]\big), \qquad
              t_{nm} = c^P_{nm}/v

    where :math:`c^P` is the passenger generalized cost (CNY per trip) and :math:`v` the
    passengers' value of time (CNY/h), so :math:`t` is travel time in hour-equivalents. With
    logit choice :math:`P_{nm} \propto e^{-\kappa_{nm}}`, the log term gives flows
    :math:`\propto (1 + t_{nm})^{-\delta}`: a distance elasticity of migration of -delta for
    trips of more than a few hours, the form gravity estimates of migration use (Poncet 2006;
    Fan 2005 for China). Unreachable pairs, and pairs with a place that takes no part in
    migration (``allowed`` False), get :math:`+\infty` (no flow).

    Parameters
    ----------
    travel_cost : ndarray, shape (N, N)
        Passenger generalized cost, ``inf`` where unreachable.
    fixed, per_hour, external_cost : float
        kappa_0 (moving cost, incl. hukou), kappa_1 (per hour-equivalent of travel),
        kappa_X (extra cost of crossing the region's boundary).
    value_of_time : float
        CNY per hour; if 0, hour-equivalents are 0.
    external : ndarray of bool, shape (N,)
    distance_elasticity : float
        delta >= 0, the elasticity of migration flows with respect to (1 + travel time).
    allowed : ndarray of bool, shape (N,), optional
        Places that take part in migration (default: all).
    origins : slice, optional
        ``travel_cost`` holds only these rows (origins) of the full (N, N) matrix, so that the
        costs can be built by blocks of rows without an (N, N) temporary; the result holds the
        same rows of :math:`\kappa`, equal to the corresponding rows of the full result.

    Returns
    -------
    ndarray, shape (N, N) (or (rows of ``origins``, N))

    References
    ----------
    .. [1] Tombe, T. & Zhu, X. (2019). Trade, migration, and productivity: a quantitative
       analysis of China. AER 109(5).
    .. [2] Poncet, S. (2006). Provincial migration dynamics in China: borders, costs and
       economic motivations. Regional Science and Urban Economics 36(3), 385-398.
    """
    c = np.asarray(travel_cost, dtype=float)
    rows = slice(0, c.shape[0]) if origins is None else origins
    hours = c / value_of_time if value_of_time > 0 else np.where(np.isfinite(c), 0.0, np.inf)
    ext = np.asarray(external, dtype=bool)
    # unreachable pairs stay +inf whatever kappa_1 is (0 * inf would be nan)
    kappa = per_hour * hours if per_hour else np.where(np.isfinite(hours), 0.0, np.inf)
    # kappa_0 + kappa_1 t + kappa_X 1[cross], in place (the same sums: adding 0 for the pairs
    # that do not cross is exact)
    kappa += fixed
    if np.isfinite(external_cost):
        if external_cost:
            kappa[ext[rows]] += external_cost  # external origins: the whole row crosses
            kappa[np.ix_(~ext[rows], ext)] += external_cost  # internal origins: external columns
    else:  # kappa_X infinite: 0 * inf would be nan, as in the plain formula
        kappa = kappa + external_cost * (ext[rows, None] | ext[None, :]).astype(float)
    if distance_elasticity:
        log_t = np.log1p(hours)
        log_t *= distance_elasticity
        kappa += log_t
    if allowed is not None:
        ok = np.asarray(allowed, dtype=bool)
        if not ok.all():
            kappa[~(ok[rows, None] & ok[None, :])] = np.inf
    n = kappa.shape[0]
    kappa[np.arange(n), np.arange(rows.start, rows.start + n)] = 0.0  # the diagonal
    return kappa


def size_weights(size, *, size_elasticity, elasticity):
    r"""Destination-size multiplier of utility in the migration choice [D1].

    A place of :math:`S_m` residents is treated as :math:`S_m` identical elementary
    destinations, so its logit weight is :math:`S_m^{\zeta} U_m^{\epsilon}` with
    :math:`\zeta = 1` (the size variables of aggregated alternatives: McFadden 1978;
    Ben-Akiva & Lerman 1985, ch. 9). Returned as the factor :math:`S_m^{\zeta/\epsilon}` that
    multiplies :math:`U_m` before the logit, so that every logit kernel applies it unchanged.

    Parameters
    ----------
    size : ndarray, shape (N,)
        S_m > 0 (base-year residents, millions); 0: never chosen.
    size_elasticity : float
        zeta >= 0 (0: no size term).
    elasticity : float
        epsilon > 0.

    Returns
    -------
    ndarray, shape (N,)

    References
    ----------
    .. [1] Ben-Akiva, M. & Lerman, S. (1985). Discrete Choice Analysis, ch. 9 (aggregation of
       elemental alternatives). MIT Press.
    """
    s = np.asarray(size, dtype=float)
    if size_elasticity == 0.0:
        return np.ones_like(s)
    with np.errstate(divide="ignore"):
        return np.where(s > 0, s, 0.0) ** (size_elasticity / elasticity)


def logit_flows(mobile, utility_, kappa, *, elasticity, reconsider_share, internal):
    r"""Migration flows by logit destination choice of reconsidering workers.

    A share :math:`s` of the workers of each place reconsiders; a worker in n picks m with

    .. math:: P_{nm} = \frac{U_m^{\epsilon} e^{-\kappa_{nm}}}{\sum_j U_j^{\epsilon}
              e^{-\kappa_{nj}}}, \qquad F_{nm} = s L_n P_{nm}\ (n\neq m).

    Internal places then hold :math:`L'_m = L_m - \sum_{j\ne m}F_{mj} + \sum_{n\ne m}F_{nm}`.
    External places are exogenous pools (their L is not changed): flows from and to them are
    the region's external migration. With no migration costs the stationary distribution is
    :math:`L_m \propto U_m^{\epsilon}` (Frechet location preferences, Redding 2016).

    Parameters
    ----------
    mobile : ndarray, shape (N,)
    utility_ : ndarray, shape (N,)
        U_n >= 0 (0: never chosen).
    kappa : ndarray, shape (N, N)
        Migration costs (log units), ``inf`` blocks a pair; diagonal 0.
    elasticity : float
        epsilon > 0.
    reconsider_share : float
        s in [0, 1].
    internal : ndarray of bool, shape (N,)

    Returns
    -------
    new_mobile : ndarray, shape (N,)
    flows : ndarray, shape (N, N)
        F_nm, workers moving from n to m this year (diagonal 0).

    References
    ----------
    .. [1] Artuc, E., Chaudhuri, S. & McLaren, J. (2010). Trade shocks and labor adjustment:
       a structural empirical approach. AER 100(3).
    .. [2] Redding, S. (2016). Goods trade, factor mobility and welfare. JIE 101.
    """
    L = np.asarray(mobile, dtype=float)
    P = logit_probabilities(utility_, kappa, elasticity=elasticity)
    F = (reconsider_share * L)[:, None] * P
    np.fill_diagonal(F, 0.0)
    new = L.copy()
    inflow = F.sum(axis=0)
    outflow = F.sum(axis=1)
    intern = np.asarray(internal, dtype=bool)
    new[intern] = L[intern] - outflow[intern] + inflow[intern]
    return new, F


def logit_probabilities(utility_, kappa, *, elasticity, return_inclusive=False):
    r"""Destination probabilities :math:`P_{nm} \propto U_m^{\epsilon} e^{-\kappa_{nm}}` [D1].

    Parameters
    ----------
    utility_ : ndarray, shape (N,)
        U_n >= 0 (0: never chosen).
    kappa : ndarray, shape (N, N)
        Migration costs (log units); ``inf`` blocks a pair.
    elasticity : float
    return_inclusive : bool
        Also return the inclusive value W_n of each origin ([W1], :func:`expected_utility`),
        from the same normalizer.

    Returns
    -------
    P : ndarray, shape (N, N)
        Rows sum to 1 (staying included) unless every destination is blocked (row of zeros).
    W : ndarray, shape (N,)
        Only with ``return_inclusive``:
        :math:`(\sum_m U_m^{\epsilon} e^{-\kappa_{nm}})^{1/\epsilon}` (0 where every
        destination is blocked).
    """
    U = np.asarray(utility_, dtype=float)
    with np.errstate(divide="ignore"):
        logu = np.where(U > 0, elasticity * np.log(np.where(U > 0, U, 1.0)), -np.inf)
    v = logu[None, :] - kappa
    vmax = np.max(v, axis=1, keepdims=True)
    ok = np.isfinite(vmax)
    v = np.where(ok, v - np.where(ok, vmax, 0.0), -np.inf)
    ex = np.exp(v)
    tot = ex.sum(axis=1, keepdims=True)
    P = np.divide(ex, tot, out=np.zeros_like(ex), where=tot > 0)
    if not return_inclusive:
        return P
    okr = ok[:, 0] & (tot[:, 0] > 0)
    lse = np.where(okr, vmax[:, 0], 0.0) + np.log(np.where(okr, tot[:, 0], 1.0))
    return P, np.where(okr, np.exp(lse / elasticity), 0.0)


def expected_utility(utility_, kappa, *, elasticity):
    r"""Expected utility of a worker who chooses where to live [D1]: the logit inclusive value.

    .. math::
        W_n = \Big(\sum_m U_m^{\epsilon} e^{-\kappa_{nm}}\Big)^{1/\epsilon}

    With type-I extreme value (Gumbel) taste shocks of scale :math:`1/\epsilon` on log
    utility, :math:`\ln W_n` is the expected maximum of :math:`\ln U_m - \kappa_{nm}/\epsilon`
    plus shocks, up to Euler's constant over epsilon (McFadden 1978). :math:`W_n` is homogeneous
    of degree one in the :math:`U_m`, so scaling every real income by (1 + x) scales every
    :math:`W_n` by (1 + x): percentage changes of W are equivalent variations in real income.
    Without moving costs it is the Fréchet welfare :math:`(\sum_m U_m^{\epsilon})^{1/\epsilon}`
    of Redding (2016).

    Parameters
    ----------
    utility_ : ndarray, shape (N,)
        U_m >= 0 ([E10]; 0: never chosen).
    kappa : ndarray, shape (N, N)
        Migration costs in log-utility units (``inf``: blocked); kappa_nn = 0.
    elasticity : float
        epsilon > 0.

    Returns
    -------
    ndarray, shape (N,)
        W_n in the units of U (0 where every destination is blocked).

    References
    ----------
    .. [1] McFadden, D. (1978). Modelling the choice of residential location. In Spatial
       Interaction Theory and Planning Models, 75-96.
    .. [2] Redding, S. (2016). Goods trade, factor mobility and welfare. JIE 101, 148-167.
    """
    return logit_probabilities(utility_, np.asarray(kappa, dtype=float), elasticity=elasticity,
                               return_inclusive=True)[1]


def logit_kernel(kappa):
    """E = exp(-kappa), the migration kernel of [D1] (0 where kappa is inf; diagonal 1).

    Cached per transport network by the model: with it, a year of logit migration takes two
    matrix-vector products (:func:`logit_flow_totals`) instead of several N x N temporaries.
    """
    with np.errstate(over="ignore"):
        return np.exp(-np.asarray(kappa, dtype=float))


def logit_weights(utility_, size_factor, *, elasticity):
    r"""Logit weights :math:`u_m = (S_m^{\zeta/\epsilon} U_m)^{\epsilon} e^{-c}` and the scale c.

    ``c`` is the largest log weight, so that ``u <= 1`` (no overflow); it cancels from every
    probability and is added back to inclusive values.
    """
    Uc = np.asarray(utility_, dtype=float) * size_factor
    with np.errstate(divide="ignore", invalid="ignore"):
        lu = np.where(Uc > 0, elasticity * np.log(np.where(Uc > 0, Uc, 1.0)), -np.inf)
    fin = np.isfinite(lu)
    c = float(lu[fin].max()) if fin.any() else 0.0
    return np.where(fin, np.exp(lu - c), 0.0), c


def logit_flow_totals(E, u, reg, unreg, *, reconsider_share, hukou_factor, external,
                      symmetric=False):
    r"""Logit migration [D1], [H1] by origin and destination totals, from the kernel E.

    With :math:`E_{nm} = e^{-\kappa_{nm}}` (diagonal 1) and weights u (:func:`logit_weights`),
    the normalisers are :math:`D^U_n = (Eu)_n` for unregistered and
    :math:`D^R_n = h((Eu)_n - u_n) + u_n` for registered households (:math:`h = e^{-\kappa_H}`,
    the registration cost on leaving), and with
    :math:`a_n = s L^U_n / D^U_n + s L^R_n h / D^R_n` the flows are
    :math:`F_{nm} = a_n E_{nm} u_m` (n ≠ m), so

    .. math:: \text{out}^r_n = s L^r_n (1 - u_n / D^r_n), \qquad
              \text{in}_m = u_m\big((E^\top a)_m - a_m\big)

    exactly the row and column sums of :func:`logit_flows` /
    :func:`sim.kernels.households.continuum_step` (tested against them), at the cost of two
    matrix-vector products and no N x N temporaries. From ``dense.MIN_PLACES`` places on (with
    external places), each product also carries the external column (u and a restricted to
    external places) in the same pass over E (:func:`sim.kernels.dense.thin_product`), so a
    year reads E exactly twice.

    Parameters
    ----------
    E : ndarray, shape (N, N), float64 (or float32)
        Migration kernel (:func:`logit_kernel`).
    u : ndarray, shape (N,)
        Logit weights.
    reg, unreg : ndarray, shape (N,)
        Registered and unregistered mobile workers.
    reconsider_share : float
        s.
    hukou_factor : float
        h = exp(-kappa_H) in (0, 1].
    external : ndarray of bool, shape (N,)
    symmetric : bool
        E equals its transpose (checked by the caller): on the fused path :math:`E^\top a`
        is computed as :math:`E a`, by the compiled row kernel (the same sums, added by rows).

    Returns
    -------
    dict
        ``out_reg``, ``out_unreg``, ``inflow``, ``ext_net`` (inflow from external places minus
        outflow to them, meaningful for internal places), ``D_reg``, ``D_unreg`` (normalisers,
        for inclusive values) and ``a`` (origin factors, for flow tables).
    """
    s = reconsider_share
    ext = np.asarray(external, dtype=bool)
    if ext.any() and uses_compiled(E, 2):
        return _flow_totals_fused(E, u, reg, unreg, s, hukou_factor, ext, symmetric)
    DU, DR, out_U, out_R, a = _origin_factors(thin_product(E, u), u, reg, unreg, s,
                                               hukou_factor)
    inflow = u * (thin_product(E, a, transpose=True) - a)
    if ext.any():
        ext_in, ext_out = u * (a[ext] @ E[ext]), a * (E[:, ext] @ u[ext])
    else:
        ext_in = ext_out = np.zeros(u.shape, u.dtype)
    return {"out_reg": out_R, "out_unreg": out_U, "inflow": inflow,
            "ext_net": ext_in - ext_out, "D_reg": DR, "D_unreg": DU, "a": a}


def _origin_factors(Eu, u, reg, unreg, s, h):
    """Normalisers, outflows and origin factors of [D1], [H1] from E u (elementwise)."""
    DU = Eu
    DR = h * (Eu - u) + u
    okU, okR = DU > 0, DR > 0

    def zeros():  # np.zeros_like(DU) without its Python-level dispatch (called ~1,600 times
        return np.zeros(DU.shape, DU.dtype)  # a calibration)

    aU = np.divide(s * unreg, DU, out=zeros(), where=okU)
    aR = np.divide(s * reg * h, DR, out=zeros(), where=okR)
    out_U = np.where(okU, s * unreg * (1.0 - np.divide(u, DU, out=zeros(), where=okU)), 0.0)
    out_R = np.where(okR, s * reg * (1.0 - np.divide(u, DR, out=zeros(), where=okR)), 0.0)
    return DU, DR, out_U, out_R, aU + aR


def _flow_totals_fused(E, u, reg, unreg, s, h, ext, symmetric=False):
    """:func:`logit_flow_totals` in two passes over E (large N with external places).

    Pass 1 reads E once for ``E u`` and the external part ``E[:, ext] u[ext]`` (columns u and
    u 1[ext]); pass 2 reads it once for ``E^T a`` and ``E[ext]^T a[ext]``. No (N, n_ext)
    copies of E and no other N x N temporaries.
    """
    u = np.asarray(u, dtype=float)
    mask = ext.astype(float)
    P = thin_product(E, np.stack([u, u * mask], axis=1))
    DU, DR, out_U, out_R, a = _origin_factors(P[:, 0], u, reg, unreg, s, h)
    Q = thin_product(E, np.stack([a, a * mask], axis=1), transpose=not symmetric)
    inflow = u * (Q[:, 0] - a)
    ext_in = u * Q[:, 1]
    ext_out = a * P[:, 1]
    return {"out_reg": out_R, "out_unreg": out_U, "inflow": inflow,
            "ext_net": ext_in - ext_out, "D_reg": DR, "D_unreg": DU, "a": a}


def migration_table(E, u, a, *, dense_max=500, top_k=20, min_flow=1e-6, block=256):
    r"""Origin-destination flows :math:`F_{nm} = a_n E_{nm} u_m` (n ≠ m) as a sparse table.

    Up to ``dense_max`` places every flow of at least ``min_flow`` (one worker, in millions) is
    kept; above it, only the ``top_k`` largest destinations of each origin (flows of at least
    ``min_flow``), computed in blocks of ``block`` origins so that no N x N array is formed.

    The top-k search does not sort or partition whole rows: the k-th largest flow of a row
    among a fixed set of candidate destinations (the ``8 top_k`` largest weights u) is a lower
    bound of the row's k-th largest flow, so only the flows at or above it (and above
    ``min_flow``) are ranked. The result is the same set as a full partition of each row (up
    to the order of exact ties at the k-th flow).

    Returns
    -------
    origin, destination : ndarray of int32
    movers : ndarray of float64
    """
    N = len(u)
    origins, dests, vals = [], [], []
    k = N - 1 if N <= dense_max else min(top_k, N - 1)
    cand = np.argsort(-u, kind="stable")[:min(N, 8 * k)] if k < N - 1 else None
    for lo in range(0, N, block if N > dense_max else N):
        hi = min(N, lo + (block if N > dense_max else N))
        if k < N - 1:  # rank E_nm u_m (a_n > 0 scales a row), then scale the k kept
            G = E[lo:hi] * u[None, :]
            G[np.arange(hi - lo), np.arange(lo, hi)] = 0.0
            ah = a[lo:hi]
            with np.errstate(divide="ignore"):
                floor = np.where(ah > 0, min_flow / np.where(ah > 0, ah, 1.0), np.inf)
            rows, cols, v = _top_k_rows(G, k, cand, floor)
            v = ah[rows] * v
            rows = rows + lo
        else:
            F = a[lo:hi, None] * E[lo:hi] * u[None, :]
            F[np.arange(hi - lo), np.arange(lo, hi)] = 0.0
            r, cols = np.nonzero(F >= min_flow)
            rows, v = r + lo, F[r, cols]
        keep = v >= min_flow
        origins.append(rows[keep].astype(np.int32))
        dests.append(cols[keep].astype(np.int32))
        vals.append(v[keep])
    if not origins:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
    return np.concatenate(origins), np.concatenate(dests), np.concatenate(vals)


def _top_k_rows(F, k, cand, floor):
    """The k largest entries of each row of F at least ``floor`` (by row), see above."""
    R, N = F.shape
    Fc = F[:, cand]
    bound = np.partition(Fc, -k, axis=1)[:, -k] if Fc.shape[1] > k else np.zeros(R)
    bound = np.maximum(bound, floor)
    flat = np.flatnonzero(F >= bound[:, None])  # row-major: rows ascending
    r, c = flat // N, flat % N
    v = F.ravel()[flat]
    count = np.bincount(r, minlength=R)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    width = int(count.max()) if len(count) else 0
    if width <= k:  # every survivor is among its row's k largest
        return r, c, v
    # rank the few survivors of each row in a small padded (R, width) array
    pos = np.arange(len(r)) - start[r]
    V = np.full((R, width), -np.inf)
    V[r, pos] = v
    C = np.zeros((R, width), dtype=c.dtype)
    C[r, pos] = c
    top = np.argpartition(V, -k, axis=1)[:, -k:]
    v = np.take_along_axis(V, top, axis=1).ravel()
    c = np.take_along_axis(C, top, axis=1).ravel()
    r = np.repeat(np.arange(R), k)
    ok = v > -np.inf
    return r[ok], c[ok], v[ok]
