"""Firm demography: exit, relocation, productivity shocks and entry (pure numpy).

One model, two resolutions. Firms have a type (place n, sector k, productivity level q on a
Rouwenhorst grid). Every decision probability is a function of the type only, computed here
once per type; then

* ``continuum_step`` moves the masses M_nkq deterministically (aggregate resolution), and
* ``agents_step`` samples the same probabilities for each firm agent (agent resolution),

so the agent population is a Monte Carlo realisation of the continuum and converges to it at
rate 1/sqrt(agents). Equations [F1]-[F6] are in docs/model.md, section "Firm dynamics".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.kernels.choice import cdf_rows, logit_rows, sample_categorical

__all__ = ["FirmRules", "firm_values", "decision_probabilities", "continuum_step",
           "agents_step", "Decisions"]


@dataclass(frozen=True)
class FirmRules:
    """Parameters of firm demography (see docs/model.md section "Firm dynamics").

    Attributes
    ----------
    exit_rate : float
        delta, exogenous exit hazard per year.
    loss_exit : float
        chi, exit hazard per year of a loss-making firm (on top of delta).
    entry_logit : float
        lambda, logit scale of location choices (per unit of profit in fixed-cost units).
    relocation_share : float
        Share of firms reconsidering their location each year.
    moving_cost : float
        Cost of relocating, in units of a year's fixed cost.
    profit_noise : float
        b, scale of a transitory logistic profit shock: a firm of value v makes a loss with
        probability 1 / (1 + exp(v / b)) (b = 0: exactly when v < 0).
    transition : ndarray, shape (Q, Q)
        Productivity transition matrix.
    entry_dist : ndarray, shape (Q,)
        Productivity distribution of entrants (stationary distribution of ``transition``).
    """

    exit_rate: float
    loss_exit: float
    entry_logit: float
    relocation_share: float
    moving_cost: float
    transition: np.ndarray
    entry_dist: np.ndarray
    profit_noise: float = 0.0


def firm_values(operating_profit, wage, fixed_cost, zeta, subsidy):
    r"""Profit of a firm of each type in units of its fixed cost.

    .. math:: v_{nkq} = \frac{\zeta_{kq}\, o_{nk}}{w_{nk} F_k} - (1 - s_{nk})  \qquad [F1]

    with :math:`o_{nk} = (w_{nk}/(\rho_k A_{nk}))^{1-\sigma_k} MA_{nk}/\sigma_k` the operating
    profit of a firm with :math:`z^{\sigma-1}=1`, :math:`\zeta_{kq} = z_q^{\sigma_k-1}` and
    :math:`s_{nk}` the share of the fixed cost paid by a subsidy.

    Parameters
    ----------
    operating_profit, wage : ndarray, shape (N, K)
    fixed_cost : ndarray, shape (K,)
    zeta : ndarray, shape (K, Q)
    subsidy : ndarray, shape (N, K)

    Returns
    -------
    ndarray, shape (N, K, Q)

    References
    ----------
    .. [1] Melitz, M. (2003). The impact of trade on intra-industry reallocations and aggregate
       industry productivity. Econometrica 71(6).
    """
    ratio = operating_profit / (wage * fixed_cost[None, :])
    return ratio[:, :, None] * zeta[None, :, :] - (1.0 - subsidy)[:, :, None]


@dataclass(frozen=True)
class Decisions:
    """Per-type decision probabilities of one year.

    Attributes
    ----------
    exit : ndarray, shape (N, K, Q)
        Exit probability [F2].
    move : ndarray, shape (N, K, Q)
        Probability of relocating (to any other place) [F3].
    dest_weight : ndarray, shape (N, K, Q)
        Destination weights a_mkq = exp(lambda v_mkq - max); a mover from n goes to m != n
        with probability a_m / (sum_j a_j - a_n).
    dest_cdf : ndarray, shape (K * Q, N)
        Row-wise CDFs of the destination weights (row k * Q + q).
    entry : ndarray, shape (N, K)
        Probability that a potential entrant of sector k enters at place n [F5].
    """

    exit: np.ndarray
    move: np.ndarray
    dest_weight: np.ndarray
    dest_cdf: np.ndarray
    entry: np.ndarray


def decision_probabilities(v, rules: FirmRules, eligible, entry_cost, size=None):
    r"""Exit, relocation and entry probabilities per firm type.

    .. math::
        e_{nkq} &= \delta + (1-\delta)\,\chi\,\Pr[v_{nkq} + b\,\varepsilon < 0]  && [F2]\\
        m_{nkq} &= \varrho\,\frac{e^{-\lambda c}(A_{kq} - a_{nkq})}
                   {a_{nkq}(1-e^{-\lambda c}) + e^{-\lambda c} A_{kq}},
                   \quad a_{nkq} = H_n e^{\lambda v_{nkq}},\ A_{kq} = \sum_m a_{mkq}  && [F3]\\
        P^{e}_{nk} &= \frac{H_n e^{\lambda \bar v_{nk}}}{\sum_m H_m + \sum_m H_m
                   e^{\lambda \bar v_{mk}}},
                   \quad \bar v_{nk} = \sum_q \pi_q v_{nkq} - f^e_{nk}            && [F5]

    with a standard logistic transitory shock epsilon (b = 0: the indicator of v < 0).
    [F3] is the logit choice among staying (no cost) and moving to any other place (cost c in
    fixed-cost units) of a reconsidering firm; [F5] the logit choice of a potential entrant
    among places and not entering (value 0, weight sum_m H_mk), with expected profit over the
    entrants' productivity distribution pi and entry cost f^e. H_n is a size variable (number
    of sites; the engine uses the sector's workers at the place plus 1% of the place's
    workers), so that choices scale with local size (McFadden 1978).

    Parameters
    ----------
    v : ndarray, shape (N, K, Q)
        Firm values [F1].
    rules : FirmRules
    eligible : ndarray of bool, shape (N,)
        Places where firms can be (internal places).
    entry_cost : ndarray, shape (N, K)
        f^e in fixed-cost units.
    size : ndarray, shape (N,) or (N, K), optional
        Size variable H_n (or H_nk) > 0 of eligible places (default: 1 everywhere).

    Returns
    -------
    Decisions

    References
    ----------
    .. [1] McFadden, D. (1974). Conditional logit analysis of qualitative choice behavior.
    .. [2] Hopenhayn, H. (1992). Entry, exit, and firm dynamics in long run equilibrium.
       Econometrica 60(5).
    .. [3] McFadden, D. (1978). Modelling the choice of residential location. In Spatial
       Interaction Theory and Planning Models.
    """
    N, K, Q = v.shape
    lam, c = rules.entry_logit, rules.moving_cost
    if rules.profit_noise > 0:
        loss = 0.5 * (1.0 - np.tanh(v / (2.0 * rules.profit_noise)))  # logistic cdf at -v/b
    else:
        loss = (v < 0.0).astype(float)
    ex = rules.exit_rate + (1.0 - rules.exit_rate) * rules.loss_exit * loss
    H = np.ones((N, K)) if size is None else np.asarray(size, dtype=float)
    H = np.broadcast_to(H[:, None] if H.ndim == 1 else H, (N, K))
    okk = eligible[:, None] & (H > 0)
    logH = np.log(np.where(okk, H, 1.0))
    lv = np.where(okk[:, :, None], lam * v + logH[:, :, None], -np.inf)
    shift = np.max(lv, axis=0, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    a = np.exp(lv - shift)
    A = a.sum(axis=0, keepdims=True)
    ec = np.exp(-lam * c)
    D = a * (1.0 - ec) + ec * A
    move = np.divide(rules.relocation_share * ec * (A - a), D, out=np.zeros_like(a),
                     where=(D > 0) & okk[:, :, None])
    dest_cdf = cdf_rows(a.reshape(N, K * Q).T)
    vbar = np.einsum("nkq,q->nk", v, rules.entry_dist) - entry_cost
    vals = np.where(okk.T, lam * vbar.T + logH.T, -np.inf)
    entry, _ = logit_rows(vals, outside=np.log(np.where(okk, H, 0.0).sum(axis=0)))
    return Decisions(exit=ex, move=move, dest_weight=a, dest_cdf=dest_cdf, entry=entry.T)


def continuum_step(M, dec: Decisions, rules: FirmRules, pool, *, extra=None):
    r"""Move the firm masses one year (aggregate resolution).

    .. math::
        S &= M (1 - e)                                    && \text{exit [F2]}\\
        S'_{m} &= S_m (1 - m_m) + a_m \sum_{n \ne m} \frac{S_n m_n}{A - a_n}
                                                          && \text{relocation [F3]}\\
        M^{+}_{nk\cdot} &= S'_{nk\cdot}\,\Pi + E_k P^e_{nk}\,\pi
                                                          && \text{shocks, entry [F4, F5]}

    Parameters
    ----------
    M : ndarray, shape (N, K, Q)
        Firm masses this year.
    dec : Decisions
    rules : FirmRules
    pool : ndarray, shape (K,)
        E_k, potential entrants per sector this year.
    extra : ndarray, shape (N, K), optional
        Additional entrants placed directly (counterpart cooperation), productivity from pi.

    Returns
    -------
    M_next : ndarray, shape (N, K, Q)
    stats : dict of ndarray, shape (N, K)
        ``entries``, ``exits``, ``moved_out``, ``moved_in`` (masses).
    """
    exits = M * dec.exit
    S = M - exits
    a = dec.dest_weight
    move = dec.move
    moved_out = S * move
    # movers from n go to m != n with prob a_m / (A - a_n); total out of n is S_n m_n
    A = a.sum(axis=0, keepdims=True)
    denom = A - a
    rate = np.divide(moved_out, denom, out=np.zeros_like(S), where=denom > 0)
    moved_in = a * (rate.sum(axis=0, keepdims=True) - rate)
    S2 = S - moved_out + moved_in
    entries = pool[None, :] * dec.entry
    if extra is not None:
        entries = entries + extra
    M_next = S2 @ rules.transition + entries[:, :, None] * rules.entry_dist[None, None, :]
    stats = {"entries": entries, "exits": exits.sum(2), "moved_out": moved_out.sum(2),
             "moved_in": moved_in.sum(2)}
    return M_next, stats


def agents_step(rng, place, sector, q, dec: Decisions, rules: FirmRules, pool, scale,
                *, extra=None, max_redraws=50):
    """Sample one year of firm demography for firm agents (agent resolution).

    Each agent is one type-(n, k, q) draw of the continuum step: exit with probability e,
    relocate with probability m to m != n drawn from a_m / (A - a_n) (inverse CDF with
    redraws of the origin), a productivity transition drawn from row q of the transition
    matrix, and Poisson(E_k P^e_nk / scale) entrants per (n, k) with productivity from the
    entrants' distribution. Every draw is vectorized; no loop over agents.

    Parameters
    ----------
    rng : numpy.random.Generator
    place, sector, q : ndarray of int, shape (F,)
        Live firm agents.
    dec : Decisions
    rules : FirmRules
    pool : ndarray, shape (K,)
        Potential entrants per sector (mass units).
    scale : float
        Firms represented by one agent.
    extra : ndarray, shape (N, K), optional
        Additional entrants placed directly (mass units): Poisson(extra / scale) agents.
    max_redraws : int
        Redraws of a destination equal to the origin before the mover stays put.

    Returns
    -------
    survivors : ndarray of int, shape (S,)
        Indices of surviving agents (into the input arrays).
    new_place, new_q : ndarray of int, shape (S,)
        Their place and productivity level next year.
    entrants : tuple of ndarray (place, sector, q)
        New agents.
    counts : dict of ndarray, shape (N, K)
        ``exits``, ``moved_out``, ``moved_in``, ``entries`` (agent counts).
    """
    N, K, Q = dec.exit.shape
    F = len(place)
    t = (place * K + sector) * Q + q
    u = rng.random(F)
    alive = u >= dec.exit.reshape(-1)[t]
    surv = np.flatnonzero(alive)
    p_s, k_s, q_s = place[surv], sector[surv], q[surv]
    t_s = t[surv]
    u2 = rng.random(len(surv))
    movers = np.flatnonzero(u2 < dec.move.reshape(-1)[t_s])
    new_place = p_s.copy()
    rows = k_s[movers] * Q + q_s[movers]
    dest = sample_categorical(dec.dest_cdf, rows, rng.random(len(movers)))
    same = np.flatnonzero(dest == p_s[movers])
    for _ in range(max_redraws):
        if len(same) == 0:
            break
        dest[same] = sample_categorical(dec.dest_cdf, rows[same], rng.random(len(same)))
        same = same[dest[same] == p_s[movers][same]]
    ok = dest != p_s[movers]
    new_place[movers[ok]] = dest[ok]
    trans_cdf = cdf_rows(rules.transition)
    new_q = sample_categorical(trans_cdf, q_s, rng.random(len(surv)))
    lam = (pool[None, :] * dec.entry + (0.0 if extra is None else extra)) / scale
    n_new = rng.poisson(lam)
    e_cell = np.repeat(np.arange(N * K), n_new.reshape(-1))
    e_place, e_sector = e_cell // K, e_cell % K
    e_q = sample_categorical(cdf_rows(rules.entry_dist[None, :]),
                             np.zeros(len(e_cell), dtype=np.int64), rng.random(len(e_cell)))
    dead = np.flatnonzero(~alive)
    mv = movers[ok]
    counts = {
        "exits": np.bincount(place[dead] * K + sector[dead], minlength=N * K).reshape(N, K),
        "moved_out": np.bincount(p_s[mv] * K + k_s[mv], minlength=N * K).reshape(N, K),
        "moved_in": np.bincount(new_place[mv] * K + k_s[mv], minlength=N * K).reshape(N, K),
        "entries": n_new,
    }
    return surv, new_place, new_q, (e_place, e_sector, e_q), counts
