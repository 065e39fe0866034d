"""Shapley decomposition of a policy effect into components (pure table arithmetic).

A *game* is the value ``v(S)`` of every coalition ``S`` of components (pillars, policies or
economic channels), here the effect on an indicator of running the baseline plus the policies
(or channels) in ``S``. Coalitions are integer bit masks: component ``i`` is in ``S`` when bit
``i`` of ``S`` is set; ``v`` maps masks to arrays of indicator values (one entry per indicator).

* :func:`shapley_exact` — Shapley values from all ``2^n`` coalitions [S1];
* :func:`shapley_interactions` — pairwise Shapley interaction indices [S2];
* :func:`permutation_coalitions` and :func:`shapley_sampled` — Shapley values estimated from
  random orderings with their standard errors [S3];
* :func:`decomposition_table` — the tidy table written by ``sim decompose``.

Formulas and sources: ``docs/indicators.md``, section "Decomposition". No model import.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["shapley_exact", "shapley_interactions", "permutation_coalitions",
           "shapley_sampled", "decomposition_table", "all_coalitions"]


def all_coalitions(n: int) -> list[int]:
    """Every coalition of ``n`` components as a bit mask, ``0 .. 2^n - 1``."""
    return list(range(1 << n))


def _arr(v, mask):
    try:
        return np.asarray(v[mask], dtype=float)
    except KeyError:
        raise KeyError(f"the game has no value for coalition {mask:#b}") from None


def shapley_exact(v: dict, n: int) -> np.ndarray:
    r"""Exact Shapley values [S1].

    .. math:: \phi_i = \sum_{S \subseteq N \setminus \{i\}}
              \frac{|S|!\,(n - |S| - 1)!}{n!}\,\bigl(v(S \cup \{i\}) - v(S)\bigr)

    They sum to :math:`v(N) - v(\emptyset)` (efficiency), give a component that never changes
    the value zero, and split an interaction between two components equally (Shapley 1953).

    Parameters
    ----------
    v : dict of int -> array_like, shape (m,)
        Value of every coalition (bit mask) for m indicators.
    n : int
        Number of components (``v`` must hold all ``2^n`` masks).

    Returns
    -------
    numpy.ndarray, shape (n, m)
    """
    m = np.atleast_1d(_arr(v, 0)).shape
    phi = np.zeros((n, *m))
    fact = [math.factorial(k) for k in range(n + 1)]
    for S in range(1 << n):
        k = S.bit_count()
        vS = _arr(v, S)
        for i in range(n):
            if S >> i & 1:
                continue
            w = fact[k] * fact[n - k - 1] / fact[n]
            phi[i] += w * (_arr(v, S | 1 << i) - vS)
    return phi


def shapley_interactions(v: dict, n: int) -> np.ndarray:
    r"""Pairwise Shapley interaction indices [S2] (Grabisch & Roubens 1999).

    .. math:: I_{ij} = \sum_{S \subseteq N \setminus \{i, j\}}
              \frac{|S|!\,(n - |S| - 2)!}{(n - 1)!}\,
              \bigl(v(S \cup \{i, j\}) - v(S \cup \{i\}) - v(S \cup \{j\}) + v(S)\bigr)

    With two components :math:`I_{12} = v(\{1,2\}) - v(\{1\}) - v(\{2\}) + v(\emptyset)`: the
    effect of both together minus the sum of their stand-alone effects (zero when additive).

    Returns
    -------
    numpy.ndarray, shape (n, n, m)
        Symmetric; the diagonal is zero.
    """
    m = np.atleast_1d(_arr(v, 0)).shape
    out = np.zeros((n, n, *m))
    if n < 2:
        return out
    fact = [math.factorial(k) for k in range(n + 1)]
    for i in range(n):
        for j in range(i + 1, n):
            acc = np.zeros(m)
            pair = (1 << i) | (1 << j)
            for S in range(1 << n):
                if S & pair:
                    continue
                k = S.bit_count()
                w = fact[k] * fact[n - k - 2] / fact[n - 1]
                acc += w * (_arr(v, S | pair) - _arr(v, S | 1 << i) - _arr(v, S | 1 << j)
                            + _arr(v, S))
            out[i, j] = out[j, i] = acc
    return out


def permutation_coalitions(n: int, samples: int, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """Random orderings of the components for sampled Shapley values [S3].

    Orderings come in antithetic pairs (an ordering and its reverse; Mitchell et al. 2022),
    drawn from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    n : int
        Components.
    samples : int
        Orderings (rounded up to an even number).
    seed : int

    Returns
    -------
    orders : numpy.ndarray of int, shape (samples, n)
    masks : list of int
        Every coalition the orderings visit (their prefixes), sorted: the runs needed.
    """
    rng = np.random.default_rng(seed)
    half = (samples + 1) // 2
    first = np.array([rng.permutation(n) for _ in range(half)], dtype=np.int64)
    orders = np.concatenate([first, first[:, ::-1]]) if half else np.zeros((0, n), np.int64)
    masks = {0}
    for o in orders:
        S = 0
        for i in o:
            S |= 1 << int(i)
            masks.add(S)
    return orders, sorted(masks)


def shapley_sampled(v: dict, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Shapley values estimated from orderings [S3] (Castro, Gómez & Tejada 2009).

    Each ordering gives every component its marginal contribution when it joins the
    components before it; the estimate is the mean over orderings, so (each ordering's
    marginals telescoping to :math:`v(N) - v(\emptyset)`) the estimates still sum exactly to
    the total. The standard error is the standard deviation of the antithetic pair means over
    the square root of the number of pairs.

    Returns
    -------
    phi : numpy.ndarray, shape (n, m)
    se : numpy.ndarray, shape (n, m)
    """
    orders = np.asarray(orders)
    r, n = orders.shape
    m = np.atleast_1d(_arr(v, 0)).shape
    marg = np.zeros((r, n, *m))
    for t, o in enumerate(orders):
        S = 0
        prev = _arr(v, 0)
        for i in o:
            S |= 1 << int(i)
            cur = _arr(v, S)
            marg[t, int(i)] = cur - prev
            prev = cur
    phi = marg.mean(axis=0)
    half = r // 2
    if half >= 2 and r % 2 == 0:
        pairs = 0.5 * (marg[:half] + marg[half:])
        se = pairs.std(axis=0, ddof=1) / np.sqrt(half)
    elif r >= 2:
        se = marg.std(axis=0, ddof=1) / np.sqrt(r)
    else:
        se = np.full_like(phi, np.nan)
    return phi, se


def decomposition_table(v: dict, names: list[str], indicators: list[str], *,
                        orders: np.ndarray | None = None) -> dict[str, pd.DataFrame]:
    """The tables of a decomposition: contributions and pairwise interactions.

    Parameters
    ----------
    v : dict of int -> array_like, shape (m,)
        Values of the coalitions (effects against the baseline: ``v[0]`` is zero).
    names : list of str
        Component names (n).
    indicators : list of str
        Indicator names (m).
    orders : numpy.ndarray, optional
        Sampled orderings (then Shapley values are estimated and interactions are not given);
        None: exact over all ``2^n`` coalitions.

    Returns
    -------
    dict
        ``contributions``: tidy rows (indicator, component, shapley, se, alone, last_in,
        share) plus per indicator a ``total`` row (the full coalition's effect) and a
        ``sum of components`` check; ``interactions``: (indicator, component_a,
        component_b, interaction) for exact decompositions.
    """
    n, full = len(names), (1 << len(names)) - 1
    if orders is None:
        phi = shapley_exact(v, n)
        se = np.zeros_like(phi)
        inter = shapley_interactions(v, n)
    else:
        phi, se = shapley_sampled(v, orders)
        inter = None
    total = _arr(v, full) - _arr(v, 0)
    rows = []
    for j, ind in enumerate(indicators):
        for i, c in enumerate(names):
            alone = (_arr(v, 1 << i) - _arr(v, 0))[j] if (1 << i) in v else np.nan
            rest = full & ~(1 << i)
            last = (total + _arr(v, 0) - _arr(v, rest))[j] if rest in v else np.nan
            share = 100.0 * phi[i, j] / total[j] if total[j] != 0 else np.nan
            rows.append((ind, c, float(phi[i, j]), float(se[i, j]), float(alone),
                         float(last), float(share)))
        rows.append((ind, "sum of components", float(phi[:, j].sum()), np.nan, np.nan, np.nan,
                     np.nan))
        rows.append((ind, "total", float(total[j]), np.nan, np.nan, np.nan, 100.0))
    contrib = pd.DataFrame(rows, columns=["indicator", "component", "shapley", "se", "alone",
                                          "last_in", "share_pct"])
    irows = []
    if inter is not None:
        for j, ind in enumerate(indicators):
            for a in range(n):
                for b in range(a + 1, n):
                    irows.append((ind, names[a], names[b], float(inter[a, b, j])))
    inter_df = pd.DataFrame(irows, columns=["indicator", "component_a", "component_b",
                                            "interaction"])
    return {"contributions": contrib, "interactions": inter_df}


DECOMPOSED_SKIP = ("beta convergence speed (baseline)",)
"""Effect rows left out of decompositions (properties of the baseline alone)."""

KEY_INDICATORS = ("GDP", "real GDP", "population", "welfare",
                  "welfare: equivalent variation", "discounted real GDP gain",
                  "Theil index of GDP per capita")
"""Indicator name prefixes shown first in decomposition summaries and the waterfall."""


def effect_values(policy, baseline, *, baseline_indicators=None) -> pd.Series:
    """The effects that decompositions split: one number per indicator.

    The final-year difference (policy minus baseline) of every yearly indicator of
    :func:`sim.analysis.indicators.indicators`, labelled ``<indicator> <year> (<unit>)``, then
    the whole-horizon effects of :func:`sim.analysis.indicators.effects` (already against the
    baseline), except the rows in :data:`DECOMPOSED_SKIP` and ratios (GDP gain per CNY: a
    ratio of two decomposed effects is not itself a sum of contributions). Each is a difference
    against the same baseline, so a coalition's values are its effects and the empty
    coalition's are zero.

    Parameters
    ----------
    policy, baseline : sim.results.Results
    baseline_indicators : pandas.DataFrame, optional
        ``indicators(baseline)``, when already computed (many coalitions, one baseline).

    Returns
    -------
    pandas.Series
        Indexed by indicator label.
    """
    from sim.analysis.indicators import effects, indicators

    groups = baseline.manifest.get("scenario", {}).get("groups", {}) or {}
    ib = indicators(baseline, groups=groups) if baseline_indicators is None \
        else baseline_indicators
    ip = indicators(policy, groups=groups)
    y1 = int(ib["year"].max())
    fb = ib[ib["year"] == y1].set_index("indicator")
    fp = ip[ip["year"] == y1].set_index("indicator")
    common = [i for i in fb.index if i in fp.index]
    out = {f"{i} {y1} ({fb.loc[i, 'unit']})": float(fp.loc[i, "value"] - fb.loc[i, "value"])
           for i in common}
    eff = effects(policy, baseline)
    for i, row in eff.iterrows():
        if i in DECOMPOSED_SKIP or row["unit"] == "CNY/CNY":  # ratios do not add up
            continue
        out[f"{i} ({row['unit']})"] = float(row["value"])
    return pd.Series(out, dtype=float)
