"""Worker households: migration with registration (hukou) status, conversion, natural growth.

Types are (place, registration status). A reconsidering mobile household at n chooses a
destination with the logit probabilities of its status (registered households lose their
registration when they leave, which costs kappa_H on top of kappa_nm); movers arrive
unregistered and convert to local registration at rate h per year. External places are pools of
registered households (their size is exogenous). ``continuum_step`` moves masses (aggregate
resolution); ``agents_step`` samples the same probabilities per household agent, so in
expectation the agent flows equal the continuum's. Equations [H1]-[H3] in docs/model.md.
"""

from __future__ import annotations

import numpy as np

from sim.kernels.choice import cdf_rows, sample_categorical
from sim.kernels.migration import logit_probabilities

__all__ = ["status_probabilities", "continuum_step", "agents_step", "grow_agents"]


def status_probabilities(utility_, kappa, *, elasticity, hukou_cost, return_inclusive=False):
    """Destination probabilities [D1] of registered and unregistered households.

    Registered households pay ``hukou_cost`` on top of kappa_nm to leave (n != m).

    Parameters
    ----------
    utility_ : ndarray, shape (N,)
    kappa : ndarray, shape (N, N)
    elasticity, hukou_cost : float
    return_inclusive : bool
        Also return each status's inclusive value (expected utility [W1]) by origin.

    Returns
    -------
    P_reg, P_unreg : ndarray, shape (N, N)
        The same array twice when ``hukou_cost`` is 0.
    W_reg, W_unreg : ndarray, shape (N,)
        Only with ``return_inclusive``.
    """
    out_u = logit_probabilities(utility_, kappa, elasticity=elasticity,
                                return_inclusive=return_inclusive)
    if hukou_cost <= 0:
        out_r = out_u
    else:
        kappa_r = kappa + hukou_cost * (1.0 - np.eye(kappa.shape[0]))
        out_r = logit_probabilities(utility_, kappa_r, elasticity=elasticity,
                                    return_inclusive=return_inclusive)
    if not return_inclusive:
        return out_r, out_u
    return out_r[0], out_u[0], out_r[1], out_u[1]


def continuum_step(reg, unreg, P_reg, P_unreg, *, reconsider_share, conversion, internal):
    r"""One year of migration and registration for household masses.

    .. math::
        F^r_{nm} &= s L^r_n P^r_{nm}\ (n \ne m), \quad r \in \{R, U\}          && [H1]\\
        L^{R\prime}_m &= L^R_m - \textstyle\sum_j F^R_{mj},\quad
        L^{U\prime}_m = L^U_m - \textstyle\sum_j F^U_{mj} + \sum_n (F^R_{nm} + F^U_{nm}) && [H2]\\
        L^{R\prime\prime} &= L^{R\prime} + h L^{U\prime}, \quad
        L^{U\prime\prime} = (1 - h) L^{U\prime}                                 && [H3]

    Parameters
    ----------
    reg, unreg : ndarray, shape (N,)
        Registered and unregistered mobile workers (external entries: exogenous pools).
    P_reg, P_unreg : ndarray, shape (N, N)
        Destination probabilities by status (rows sum to 1, staying included).
    reconsider_share : float
        s.
    conversion : float
        h, annual conversion of unregistered to registered.
    internal : ndarray of bool, shape (N,)

    Returns
    -------
    reg_new, unreg_new : ndarray, shape (N,)
        External entries unchanged.
    flows : ndarray, shape (N, N)
        Movers n -> m this year (diagonal 0).
    """
    FR = (reconsider_share * reg)[:, None] * P_reg
    FU = (reconsider_share * unreg)[:, None] * P_unreg
    np.fill_diagonal(FR, 0.0)
    np.fill_diagonal(FU, 0.0)
    flows = FR + FU
    r = reg - FR.sum(axis=1)
    u = unreg - FU.sum(axis=1) + flows.sum(axis=0)
    conv = conversion * u
    reg_new = np.where(internal, r + conv, reg)
    unreg_new = np.where(internal, u - conv, unreg)
    return reg_new, unreg_new, flows


def agents_step(rng, place, mobile, registered, P_reg, P_unreg, pool_reg, *, reconsider_share,
                conversion, internal, scale):
    """Sample one year of [H1]-[H3] for household agents.

    Parameters
    ----------
    rng : numpy.random.Generator
    place : ndarray of int, shape (H,)
    mobile, registered : ndarray of bool, shape (H,)
    P_reg, P_unreg : ndarray, shape (N, N)
    pool_reg : ndarray, shape (N,)
        Registered pools of external places (mass units; 0 for internal places).
    reconsider_share, conversion : float
    internal : ndarray of bool, shape (N,)
    scale : float
        Workers represented by one household agent.

    Returns
    -------
    keep : ndarray of int
        Indices of households still in the region.
    new_place, new_registered : ndarray, shape (len(keep),)
    arrivals : ndarray of int
        Places of new (unregistered, mobile) households arriving from external places.
    moves : ndarray of int64, shape (n_moves, 2)
        (origin, destination) of every household move this year, arrivals included.
    """
    N = len(internal)
    H = len(place)
    u = rng.random(H)
    cand = np.flatnonzero(mobile & (u < reconsider_share))
    cdf = cdf_rows(np.vstack([P_reg, P_unreg]))
    rows = place[cand] + N * (~registered[cand])
    dest = sample_categorical(cdf, rows, rng.random(len(cand)))
    moved = dest != place[cand]
    movers, dest = cand[moved], dest[moved]
    new_place = place.copy()
    new_reg = registered.copy()
    new_place[movers] = dest
    new_reg[movers] = False
    conv = (~new_reg) & mobile & (rng.random(H) < conversion)
    new_reg[conv] = True
    keep = np.flatnonzero(internal[new_place])
    # arrivals from external pools: Poisson(s L_j P_jm / scale) per internal destination
    expected = (reconsider_share * pool_reg)[:, None] * P_reg
    expected[:, ~internal] = 0.0
    expected[internal, :] = 0.0
    n_arr = rng.poisson(expected / scale)
    cell = np.repeat(np.arange(N * N), n_arr.reshape(-1))
    arr_orig, arr_dest = cell // N, cell % N
    moves = np.column_stack([np.concatenate([place[movers], arr_orig]),
                             np.concatenate([dest, arr_dest])]).astype(np.int64)
    return keep, new_place[keep], new_reg[keep], arr_dest, moves


def grow_agents(rng, place, growth):
    """Natural growth of agents: births clone a household w.p. g, deaths remove it w.p. -g.

    Parameters
    ----------
    rng : numpy.random.Generator
    place : ndarray of int, shape (H,)
    growth : ndarray, shape (N,)
        Natural growth rate per place, in (-1, 1).

    Returns
    -------
    keep : ndarray of int
        Surviving households (indices).
    clones : ndarray of int
        Households that have a birth (indices; the newborn household copies its attributes).
    """
    g = growth[place]
    u = rng.random(len(place))
    keep = np.flatnonzero(~((g < 0) & (u < -g)))
    clones = np.flatnonzero((g > 0) & (u < g))
    return keep, clones
