"""Indicators researchers compare, computed from results tables only (never imports the model).

Every formula is written down in ``docs/indicators.md`` with its units; the names below follow
that document. Functions take :class:`sim.results.Results` (or plain arrays for the inequality
and convergence measures) and return numbers or tidy pandas tables.

Two entry points:

- :func:`indicators` — the yearly indicators of one run: tidy (year, indicator, unit, value).
- :func:`effects` — the whole-horizon effects of a policy run against its baseline: welfare
  equivalent variation, cumulative and discounted GDP gains, policy cost and cost-effectiveness.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GATEWAY_MODES = ("border_crossing", "sea")
"""Link modes counted as border or port trade when a run has no ``foreign`` group (I11)."""

DISCOUNT_RATE = 0.08
"""Social discount rate (real, per year) of China's project appraisal rules (NDRC & MoC 2006)."""


# -- inequality and convergence ----------------------------------------------------------------
def _weights(y, w):
    y = np.asarray(y, float)
    w = np.ones_like(y) if w is None else np.asarray(w, float)
    if y.shape != w.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError("values and weights must be non-empty 1-d arrays of equal length")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return y, w / w.sum()


def theil(y, w=None):
    r"""Theil T index of per-capita values, weighted by population [I13].

    .. math:: T = \sum_n s_n \frac{y_n}{\bar y} \ln \frac{y_n}{\bar y},
              \qquad \bar y = \sum_n s_n y_n, \quad s_n = w_n / \sum_m w_m

    Parameters
    ----------
    y : array_like, shape (n,)
        Per-capita values (> 0), e.g. GDP per capita of places.
    w : array_like, shape (n,), optional
        Weights (population); equal weights if omitted.

    Returns
    -------
    float
        0 for perfect equality; ``ln(1/s_n)`` when place n has everything.

    References
    ----------
    .. [1] Theil, H. (1967). Economics and Information Theory. North-Holland.
    """
    y, s = _weights(y, w)
    r = y / (s * y).sum()
    return float((s * r * np.log(np.where(r > 0, r, 1.0))).sum())


def weighted_cv(y, w=None):
    r"""Population-weighted coefficient of variation [I15].

    .. math:: CV = \sqrt{\textstyle\sum_n s_n (y_n - \bar y)^2} / \bar y

    Williamson's (1965) regional inequality index when y is GDP per capita and s population
    shares.

    Parameters
    ----------
    y : array_like, shape (n,)
    w : array_like, shape (n,), optional

    Returns
    -------
    float
    """
    y, s = _weights(y, w)
    mu = (s * y).sum()
    return float(np.sqrt((s * (y - mu) ** 2).sum()) / mu)


def gini(y, w=None):
    r"""Population-weighted Gini coefficient [I14].

    .. math:: G = \frac{\sum_n \sum_m s_n s_m |y_n - y_m|}{2 \bar y}

    Parameters
    ----------
    y : array_like, shape (n,)
    w : array_like, shape (n,), optional

    Returns
    -------
    float
        In [0, 1 - min s); 0 for equality.

    Notes
    -----
    Computed in O(n log n) from the sorted values: with cumulative population shares S and
    cumulative value shares, G = 1 - Σ s_n (C_n + C_{n-1}), C the Lorenz curve.

    References
    ----------
    .. [1] Gini, C. (1912). Variabilità e mutabilità; the weighted form as in
       Lerman, R. & Yitzhaki, S. (1984). Economics Letters 15.
    """
    y, s = _weights(y, w)
    order = np.argsort(y, kind="stable")
    y, s = y[order], s[order]
    c = np.cumsum(s * y) / (s * y).sum()
    c_prev = np.concatenate([[0.0], c[:-1]])
    return float(1.0 - (s * (c + c_prev)).sum())


def sigma_convergence(y):
    r"""Sigma convergence [I16]: standard deviation of log per-capita values across places.

    .. math:: \sigma_t = \operatorname{sd}_n(\ln y_{nt}) \quad (\text{unweighted, ddof} = 0)

    Falling sigma over time is sigma convergence (Barro & Sala-i-Martin 1992).

    Parameters
    ----------
    y : array_like, shape (n,)
        Per-capita values (> 0) of one year.

    Returns
    -------
    float
    """
    ly = np.log(np.asarray(y, float))
    return float(np.sqrt(((ly - ly.mean()) ** 2).mean()))


def beta_convergence(y0, y1, years):
    r"""Beta convergence [I22]: cross-section regression of growth on the initial level.

    .. math::
        \frac{1}{T}\ln\frac{y_{n,T}}{y_{n,0}} = a + b \ln y_{n,0} + e_n, \qquad
        \beta = -\frac{\ln(1 + bT)}{T}

    b < 0 (beta > 0) is beta convergence; beta is the implied annual speed of convergence
    (Barro & Sala-i-Martin 1992, eq. 12), defined when 1 + bT > 0.

    Parameters
    ----------
    y0, y1 : array_like, shape (n,)
        Per-capita values of the places in the first and last year (> 0).
    years : float
        T, years between them (> 0).

    Returns
    -------
    dict
        ``slope`` (b), ``speed`` (beta; NaN if 1 + bT <= 0), ``intercept`` (a).

    References
    ----------
    .. [1] Barro, R. & Sala-i-Martin, X. (1992). Convergence. JPE 100(2), 223-251.
    """
    x = np.log(np.asarray(y0, float))
    g = np.log(np.asarray(y1, float) / np.asarray(y0, float)) / years
    xc = x - x.mean()
    den = (xc**2).sum()
    b = float((xc * (g - g.mean())).sum() / den) if den > 0 else np.nan
    a = float(g.mean() - b * x.mean())
    speed = -np.log1p(b * years) / years if 1 + b * years > 0 else np.nan
    return {"slope": b, "speed": float(speed), "intercept": a}


# -- policy cost ---------------------------------------------------------------------------------
def policy_spending(policies, years) -> pd.Series:
    r"""Annual spending of a scenario's policies [I17] (bn CNY by year).

    A policy's ``cost_cny`` C is spent in equal instalments over its phase-in years,
    starting in its start year: :math:`C / \max(1, \text{phase\_in})` a year (all in the
    start year without a phase-in). Instalments falling outside ``years`` are dropped.

    Parameters
    ----------
    policies : sequence of dict
        Resolved policies (``manifest["scenario"]["policies"]``).
    years : sequence of int

    Returns
    -------
    pandas.Series
        Indexed by year.
    """
    years = list(years)
    out = pd.Series(0.0, index=pd.Index(years, name="year"))
    for p in policies:
        cost = float(p.get("cost_cny", 0.0) or 0.0)
        if cost == 0.0:
            continue
        n = max(1, int(p.get("phase_in", 0) or 0))
        for y in range(int(p["start"]), int(p["start"]) + n):
            if y in out.index:
                out[y] += cost / n
    return out


def discount_factors(years, rate=DISCOUNT_RATE, base_year=None) -> np.ndarray:
    r"""Discount factors :math:`(1 + r)^{-(t - t_0)}` [I19b], t_0 the first year by default."""
    years = np.asarray(list(years), float)
    t0 = years.min() if base_year is None else base_year
    return (1.0 + rate) ** -(years - t0)


# -- yearly indicators of one run ---------------------------------------------------------------
def _groups(res, groups):
    if groups is None:
        groups = res.manifest.get("scenario", {}).get("groups", {}) or {}
    return {k: list(v) for k, v in groups.items()}


def _policies(res):
    return res.manifest.get("scenario", {}).get("policies", []) or []


def gdp_deflator(gdp, price):
    r"""Chain-linked GDP-weighted price index of the region, 1 in the first year [I1b].

    .. math:: D_{t_0} = 1, \qquad D_t = D_{t-1} \sum_n s_{n,t-1}\,\frac{P_{n,t}}{P_{n,t-1}},
              \qquad s_{n,t-1} = \frac{Y_{n,t-1}}{\sum_m Y_{m,t-1}}

    a Laspeyres chain of the places' price indices weighted by last year's nominal GDP shares
    (the chain-linking of national accounts, e.g. Eurostat/IMF 2004 CPI manual ch. 15; SNA 2008
    §15.44). The model's place price index is the consumer price index of [E7] (CES goods
    composite, farm good and housing), so the deflator is consumer-price based.

    Parameters
    ----------
    gdp, price : pandas.DataFrame
        Year x place nominal GDP and price index (internal places).

    Returns
    -------
    pandas.Series
        D_t by year.
    """
    gdp, price = gdp.sort_index(), price.sort_index()
    share = gdp.div(gdp.sum(axis=1), axis=0)
    rel = price / price.shift(1)
    link = (share.shift(1) * rel).sum(axis=1, min_count=1)
    link.iloc[0] = 1.0
    return link.cumprod()


def wide(places: pd.DataFrame, value: str) -> pd.DataFrame:
    """Year x place table of one column of a places table (``DataFrame.pivot``, faster).

    Equal to ``places.pivot(index="year", columns="place", values=value)``: years ascending,
    places sorted by name. A results table lists every place once in every year, years
    ascending and places in the same order each year; such a table is reshaped (no hashing of
    labels: a pivot costs about 4 ms, a third of the headline), any other goes to ``pivot``.
    """
    y = places["year"].to_numpy()
    n = len(y)
    k = int(np.searchsorted(y, y[0], side="right")) if n else 0
    if k and n % k == 0 and np.all(y[1:] >= y[:-1]):
        Y = y.reshape(-1, k)
        P = places["place"].to_numpy(object).reshape(-1, k)
        if (np.all(Y == Y[:, :1]) and np.all(Y[1:, 0] > Y[:-1, 0]) and np.all(P == P[:1])
                and len(set(P[0])) == k):
            order = np.argsort(P[0], kind="stable")
            vals = np.ascontiguousarray(places[value].to_numpy().reshape(-1, k)[:, order])
            # not copied: laid out as pivot lays it out, so row sums add in the same order
            return pd.DataFrame(vals, index=pd.Index(Y[:, 0], name="year"),
                                columns=pd.Index(P[0][order], name="place"), copy=False)
    return places.pivot(index="year", columns="place", values=value)


def real_gdp(res) -> pd.Series:
    """Regional GDP at constant base-year prices: nominal GDP over :func:`gdp_deflator` [I1b]."""
    p = res.places
    gdp, price = wide(p, "gdp"), wide(p, "price_index")
    return gdp.sum(axis=1) / gdp_deflator(gdp, price)


def welfare_decomposition(policy, baseline, year=None) -> pd.Series:
    r"""Welfare change of ``policy`` against ``baseline`` split into three parts [W2].

    With :math:`W_n` the expected utility of a worker living in n ([W1], the inclusive value of
    the migration choice), :math:`U_n = B_n L_n^\beta V_n` the utility of staying ([E10]) and
    :math:`V_n` real income,

    .. math:: \ln W_n = \underbrace{\ln V_n}_{\text{real income}}
              + \underbrace{\ln (U_n / V_n)}_{\text{amenities}}
              + \underbrace{\ln (W_n / U_n)}_{\text{mobility option value}}

    and the population-weighted change :math:`\sum_n \omega_n \Delta \ln W_n` (weights: the
    baseline's mobile workers in ``year``) splits exactly into the three weighted parts. Without
    registration costs :math:`\ln(W_n/U_n) = -\tfrac{1}{\epsilon}\ln P_{nn}`: the value of
    the option to move, which falls as the stay probability rises (the migration analogue of
    Arkolakis, Costinot & Rodríguez-Clare 2012; Caliendo, Dvorkin & Parro 2019, eq. for
    welfare in changes).

    Returns
    -------
    pandas.Series
        ``total``, ``real income``, ``amenities``, ``mobility option value`` in log points x 100
        (parts sum to the total), and ``equivalent variation (%)`` = 100 (exp(total/100) - 1).
    """
    P, B = policy.places, baseline.places
    y = int(B["year"].max()) if year is None else int(year)
    fp = P[P["year"] == y].set_index("place")
    fb = B[B["year"] == y].set_index("place")
    fp = fp.reindex(fb.index)
    w = fb["mobile"] / fb["mobile"].sum()

    def lg(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a.to_numpy(float) / b.to_numpy(float))

    parts = {
        "real income": lg(fp["real_wage"], fb["real_wage"]),
        "amenities": lg(fp["utility"] / fp["real_wage"], fb["utility"] / fb["real_wage"]),
        "mobility option value": lg(fp["welfare"] / fp["utility"],
                                    fb["welfare"] / fb["utility"]),
    }
    ok = np.all([np.isfinite(v) for v in parts.values()], axis=0) & (w.to_numpy() > 0)
    ww = w.to_numpy()[ok] / w.to_numpy()[ok].sum()
    out = {k: 100.0 * float((v[ok] * ww).sum()) for k, v in parts.items()}
    total = sum(out.values())
    return pd.Series({"total": total, **out, "equivalent variation (%)":
                      100.0 * (np.exp(total / 100.0) - 1.0)})


def indicators(res, *, groups=None, gateway_modes=GATEWAY_MODES) -> pd.DataFrame:
    """Yearly indicators of one run (docs/indicators.md, I1-I17).

    Parameters
    ----------
    res : sim.results.Results
    groups : dict of str -> list of str, optional
        Place groups (default: the run's scenario ``groups``). Group ``core`` (its first
        place) gives the primacy shares, group ``circle`` the radiation indicators, group
        ``foreign`` (external places abroad) the border-crossing links; every other group gets
        its GDP share.
    gateway_modes : sequence of str
        Link modes counted as border/port trade when there is no ``foreign`` group.

    Returns
    -------
    pandas.DataFrame
        Tidy: ``year``, ``indicator``, ``unit``, ``value``. Indicators whose inputs a run does
        not have (no links table, no tourism sector, no ``core`` group) are left out.
    """
    groups = _groups(res, groups)
    p = res.places
    years = np.sort(p["year"].unique())
    rows: list[tuple] = []

    def add(name, unit, series):
        s = pd.Series(series, index=years) if not isinstance(series, pd.Series) else series
        rows.extend((int(y), name, unit, float(v)) for y, v in s.items())

    by = p.groupby("year")
    gdp, pop = by["gdp"].sum(), by["population"].sum()
    add("GDP", "bn CNY, nominal", gdp)
    if "price_index" in p.columns:
        real = real_gdp(res)
        add("real GDP", f"bn CNY, {int(years[0])} prices", real)
        add("real GDP growth", "% a year", 100 * real.pct_change())
    add("GDP growth", "% a year", 100 * gdp.pct_change())
    add("population", "m", pop)
    add("GDP per capita", "k CNY", gdp / pop)
    mob = by["mobile"].sum()
    if "welfare" in p.columns:
        add("welfare", "index", (p["welfare"] * p["mobile"]).groupby(p["year"]).sum() / mob)
    add("real wage", "index", (p["real_wage"] * p["mobile"]).groupby(p["year"]).sum() / mob)

    gdp_np, pop_np = wide(p, "gdp"), wide(p, "population")
    if groups.get("core"):
        c = groups["core"][0]
        add(f"{c} share of GDP", "%", 100 * gdp_np[c] / gdp)
        add(f"{c} share of population", "%", 100 * pop_np[c] / pop)
    if groups.get("circle"):
        circ = groups["circle"]
        excl = set(circ) | set(groups.get("core", []))
        rest = [x for x in gdp_np.columns if x not in excl]
        for var, tab in (("GDP", gdp_np), ("population", pop_np)):
            g_c = tab[circ].sum(axis=1) / tab[circ].sum(axis=1).iloc[0] - 1
            g_r = tab[rest].sum(axis=1) / tab[rest].sum(axis=1).iloc[0] - 1
            add(f"radiation: circle {var} growth minus rest", "pp", 100 * (g_c - g_r))
    col = {c: i for i, c in enumerate(gdp_np.columns)}  # columns by position: no label look-ups
    for g, members in groups.items():
        if g in ("core", "foreign"):
            continue
        sel = [col[m] for m in members] if all(m in col for m in members) else None
        part = gdp_np[members] if sel is None else gdp_np.iloc[:, sel]  # (the error if absent)
        add(f"{g} share of GDP", "%", 100 * part.sum(axis=1) / gdp)

    if "exports_external" in p.columns:
        add("external trade", "bn CNY",
            by["exports_external"].sum() + by["imports_external"].sum())
    if res.links is not None:  # (only the two columns summed are filtered)
        gw = _gateway_mask(res.links, groups, gateway_modes)
        lk = res.links
        add("border and port trade", "bn CNY",
            lk["freight_regional"][gw].groupby(lk["year"][gw]).sum().reindex(years,
                                                                            fill_value=0.0))
    if "visitors" in p.columns:
        add("tourism visitors (policy)", "m trips", by["visitors"].sum())
        add("tourism visitor spending", "bn CNY", by["visitor_spending"].sum())
    s = res.sectors
    tour = (s["sector"] == "tourism").to_numpy(bool)
    if tour.any():
        add("tourism output", "bn CNY", s["output"][tour].groupby(s["year"][tour]).sum())

    ypc = (gdp_np / pop_np).loc[years].to_numpy(float)  # rows: years
    pw = pop_np.loc[years].to_numpy(float)
    add("Theil index of GDP per capita", "index",
        [theil(a, w) for a, w in zip(ypc, pw, strict=True)])
    add("Gini of GDP per capita", "index", [gini(a, w) for a, w in zip(ypc, pw, strict=True)])
    add("CV of GDP per capita", "index",
        [weighted_cv(a, w) for a, w in zip(ypc, pw, strict=True)])
    add("sigma: sd of log GDP per capita", "index", [sigma_convergence(a) for a in ypc])
    add("policy spending", "bn CNY", policy_spending(_policies(res), years))
    return pd.DataFrame(rows, columns=["year", "indicator", "unit", "value"])


def _gateway_links(links: pd.DataFrame, groups: dict, gateway_modes) -> pd.DataFrame:
    """Links that cross the national border [I11].

    With a ``foreign`` group (external places abroad): every link with exactly one end in it
    (a border crossing, a port's sea route abroad, an international rail service). Without
    one: every link of the ``gateway_modes``.
    """
    return links[_gateway_mask(links, groups, gateway_modes)]


def _gateway_mask(links: pd.DataFrame, groups: dict, gateway_modes) -> np.ndarray:
    """Boolean mask of the rows of :func:`_gateway_links`."""
    foreign = set(groups.get("foreign", []))
    if foreign:
        return (links["from"].isin(foreign) ^ links["to"].isin(foreign)).to_numpy(bool)
    return links["mode"].isin(list(gateway_modes)).to_numpy(bool)


def gateway_trade(res, gateway_modes=GATEWAY_MODES, groups=None) -> pd.DataFrame | None:
    """Regional freight through each border crossing and port link by year [I11].

    Parameters
    ----------
    res : sim.results.Results
    gateway_modes : sequence of str
        Used only without a ``foreign`` group.
    groups : dict, optional
        Default: the run's scenario groups.

    Returns
    -------
    pandas.DataFrame or None
        ``year``, ``gateway`` ("from-to (mode)"), ``freight_regional`` (bn CNY); None when the
        run has no links table.
    """
    if res.links is None:
        return None
    L = _gateway_links(res.links, _groups(res, groups), gateway_modes)
    return pd.DataFrame({
        "year": L["year"].to_numpy(),
        "gateway": (L["from"] + "-" + L["to"] + " (" + L["mode"] + ")").to_numpy(),
        "freight_regional": L["freight_regional"].to_numpy(),
    })


# -- whole-horizon effects of a policy run against its baseline ---------------------------------
def effects(policy, baseline, *, rate=DISCOUNT_RATE) -> pd.DataFrame:
    """Whole-horizon effects of ``policy`` against ``baseline`` (docs/indicators.md, I18-I22).

    Parameters
    ----------
    policy, baseline : sim.results.Results
        Runs over the same years and places.
    rate : float
        Real social discount rate per year (default 8%: NDRC & MoC 2006).

    Returns
    -------
    pandas.DataFrame
        Index ``indicator``; columns ``unit`` and ``value``: final-year welfare equivalent
        variation (%), cumulative and discounted GDP gains, policy spending (undiscounted and
        discounted), and GDP gain per CNY spent (undiscounted and discounted; NaN without
        spending), beta convergence of both runs.
    """
    P, B = policy.places, baseline.places
    years = np.sort(P["year"].unique())
    gp, gb = P.groupby("year")["gdp"].sum(), B.groupby("year")["gdp"].sum()
    if not gp.index.equals(gb.index):
        raise ValueError("policy and baseline runs cover different years")
    gain = gp - gb
    d = discount_factors(years, rate)
    spend = policy_spending(_policies(policy), years) - policy_spending(_policies(baseline),
                                                                       years)
    rows = []
    if {"welfare", "utility", "real_wage"} <= set(P.columns):
        wd = welfare_decomposition(policy, baseline)
        rows.append(("welfare: equivalent variation", "%", wd["equivalent variation (%)"]))
        for k in ("total", "real income", "amenities", "mobility option value"):
            rows.append((f"welfare change: {k}", "log points x 100", wd[k]))
    elif "welfare" in P.columns:  # results without utilities: the mean-welfare ratio
        y1 = years[-1]

        def w(df):
            f = df[df["year"] == y1]
            return (f["welfare"] * f["mobile"]).sum() / f["mobile"].sum()

        rows.append(("welfare: equivalent variation", "%", 100 * (w(P) / w(B) - 1)))
    if "price_index" in P.columns:
        rgain = real_gdp(policy) - real_gdp(baseline)
        rows.append((f"cumulative real GDP gain ({int(years[0])} prices)", "bn CNY",
                     float(rgain.sum())))
        rows.append((f"discounted real GDP gain ({100 * rate:g}%)", "bn CNY",
                     float((rgain.to_numpy() * d).sum())))
    cum, dgain = float(gain.sum()), float((gain.to_numpy() * d).sum())
    cost, dcost = float(spend.sum()), float((spend.to_numpy() * d).sum())
    r = f"{100 * rate:g}%"
    rows += [
        ("cumulative GDP gain", "bn CNY", cum),
        (f"discounted GDP gain ({r})", "bn CNY", dgain),
        ("policy spending", "bn CNY", cost),
        (f"discounted policy spending ({r})", "bn CNY", dcost),
        ("GDP gain per CNY spent", "CNY/CNY", cum / cost if cost else np.nan),
        (f"discounted GDP gain per CNY spent ({r})", "CNY/CNY", dgain / dcost if dcost else np.nan),
    ]
    for lab, res in (("baseline", baseline), ("policy", policy)):
        t = res.places
        y0, y1 = t["year"].min(), t["year"].max()
        a, b = t[t["year"] == y0].set_index("place"), t[t["year"] == y1].set_index("place")
        if y1 > y0:
            bc = beta_convergence(a["gdp"] / a["population"],
                                  (b["gdp"] / b["population"]).reindex(a.index), y1 - y0)
            rows.append((f"beta convergence speed ({lab})", "% a year", 100 * bc["speed"]))
    return pd.DataFrame(rows, columns=["indicator", "unit", "value"]).set_index("indicator")
