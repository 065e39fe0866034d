"""Discrete-choice and sampling kernels shared by the agent populations (pure numpy).

Agents of one type (same origin, sector, status, productivity level) face the same choice
probabilities, so probabilities are computed once per type and all agents are sampled from
them by inverse CDF (``sample_categorical``): O(types x alternatives + agents x log
alternatives) instead of a utility per agent and alternative.
"""

from __future__ import annotations

import numpy as np

__all__ = ["logit_rows", "cdf_rows", "sample_categorical", "rouwenhorst", "stationary"]


def logit_rows(values, *, outside=None):
    r"""Row-wise logit probabilities :math:`p_{ij} = e^{v_{ij}} / (e^{o_i} + \sum_j e^{v_{ij}})`.

    Parameters
    ----------
    values : ndarray, shape (T, C)
        Systematic utilities (log weights); ``-inf`` removes an alternative.
    outside : ndarray, shape (T,), optional
        Utility of an outside option per row (e.g. not entering). None: no outside option.

    Returns
    -------
    probs : ndarray, shape (T, C)
    p_outside : ndarray, shape (T,)
        Probability of the outside option (zeros if ``outside`` is None). Rows where every
        alternative is ``-inf`` and there is no outside option get all-zero probabilities.

    References
    ----------
    .. [1] McFadden, D. (1974). Conditional logit analysis of qualitative choice behavior.
    """
    v = np.asarray(values, dtype=float)
    vmax = np.max(v, axis=1)
    if outside is not None:
        vmax = np.maximum(vmax, outside)
    vmax = np.where(np.isfinite(vmax), vmax, 0.0)
    ex = np.exp(v - vmax[:, None])
    tot = ex.sum(axis=1)
    eo = np.exp(np.asarray(outside, dtype=float) - vmax) if outside is not None else 0.0
    den = tot + eo
    ok = den > 0
    probs = np.divide(ex, den[:, None], out=np.zeros_like(ex), where=ok[:, None])
    p_out = np.divide(eo, den, out=np.zeros_like(den), where=ok) if outside is not None \
        else np.zeros(v.shape[0])
    return probs, p_out


def cdf_rows(probs):
    """Row-wise cumulative probabilities, last column forced to exactly 1 (0 for empty rows)."""
    c = np.cumsum(probs, axis=1)
    tot = c[:, -1:].copy()
    ok = tot[:, 0] > 0
    c = np.divide(c, tot, out=np.zeros_like(c), where=ok[:, None])
    c[ok, -1] = 1.0
    return c


def sample_categorical(cdf, rows, u):
    """Inverse-CDF draws for many agents from per-type categorical distributions.

    Parameters
    ----------
    cdf : ndarray, shape (T, C)
        Row-wise CDFs (see :func:`cdf_rows`); rows must be non-empty for sampled agents.
    rows : ndarray of int, shape (A,)
        Type (row of ``cdf``) of each agent.
    u : ndarray, shape (A,)
        Uniform draws in [0, 1).

    Returns
    -------
    ndarray of int64, shape (A,)
        Chosen column per agent: the first j with ``u < cdf[row, j]``.

    Notes
    -----
    One ``searchsorted`` over the flattened CDF shifted by the row index
    (``cdf[t] + t`` is increasing across rows), so the cost is O(A log(T C)) with no Python
    loop over agents or types.
    """
    T, C = cdf.shape
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    shifted = (cdf + np.arange(T, dtype=float)[:, None]).ravel()
    r = np.asarray(rows, dtype=np.int64)
    idx = np.searchsorted(shifted, r + np.asarray(u, dtype=float), side="right") - r * C
    return np.clip(idx, 0, C - 1)


def rouwenhorst(n, rho, sigma_eps):
    r"""Rouwenhorst discretization of :math:`y' = \rho y + \varepsilon`, sd(eps) = sigma_eps.

    Parameters
    ----------
    n : int
        Number of grid points (>= 2).
    rho : float
        Persistence in (-1, 1).
    sigma_eps : float
        Innovation standard deviation (>= 0).

    Returns
    -------
    grid : ndarray, shape (n,)
        Symmetric grid with stationary standard deviation sigma_eps / sqrt(1 - rho^2).
    P : ndarray, shape (n, n)
        Transition matrix (rows sum to 1).

    References
    ----------
    .. [1] Kopecky, K. & Suen, R. (2010). Finite state Markov-chain approximations to highly
       persistent processes. Review of Economic Dynamics 13(3).
    """
    p = (1.0 + rho) / 2.0
    P = np.array([[p, 1 - p], [1 - p, p]])
    for m in range(3, n + 1):
        Q = np.zeros((m, m))
        Q[:-1, :-1] += p * P
        Q[:-1, 1:] += (1 - p) * P
        Q[1:, :-1] += (1 - p) * P
        Q[1:, 1:] += p * P
        Q[1:-1] /= 2.0
        P = Q
    sd = sigma_eps / np.sqrt(1.0 - rho**2)
    psi = sd * np.sqrt(n - 1.0)
    return np.linspace(-psi, psi, n), P


def stationary(P):
    """Stationary distribution of a transition matrix (left unit eigenvector, normalised)."""
    w, v = np.linalg.eig(P.T)
    i = int(np.argmin(np.abs(w - 1.0)))
    pi = np.abs(np.real(v[:, i]))
    return pi / pi.sum()
