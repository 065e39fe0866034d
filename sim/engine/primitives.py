"""Year-dependent primitives: exogenous trends plus the policies active in a year.

Primitives for a year are a pure function of the static data, the policy list and the year
(``year_primitives``), so a policy that changes nothing reproduces the baseline bit for bit,
and policies with an ``end`` year revert cleanly. Transport-network matrices are derived from
the active link set and cached by :class:`NetworkCache`, recomputed only when the set changes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

import numpy as np

from sim.engine.build import StaticData
from sim.kernels import dense as _dense
from sim.kernels import network as netk
from sim.kernels.migration import logit_kernel, migration_costs
from sim.scenario.schema import (
    AmenityPolicy,
    ClusterPolicy,
    CounterpartPolicy,
    EnergyBasePolicy,
    EntryCostPolicy,
    ExternalDemandPolicy,
    FirmSubsidyPolicy,
    InnovationPolicy,
    IntegrationPolicy,
    LinkPolicy,
    OpenZonePolicy,
    Parameters,
    Policy,
    ProductivityPolicy,
    TourismPolicy,
)


@dataclass(frozen=True)
class LinkSet:
    """Active links of one year (arrays of equal length)."""

    from_: np.ndarray
    to: np.ndarray
    mode: np.ndarray
    km: np.ndarray
    hours: np.ndarray
    fixed: np.ndarray
    capacity: np.ndarray

    def key(self) -> bytes:
        """A hashable fingerprint: equal link sets give equal keys."""
        parts = (self.from_, self.to, self.mode, self.km, self.hours, self.fixed, self.capacity)
        return b"|".join(np.ascontiguousarray(p).tobytes() for p in parts)


@dataclass(frozen=True)
class YearPrimitives:
    """Exogenous primitives of one year (arrays over all places)."""

    year: int
    productivity: np.ndarray  # (N, K) A-bar_nk(t)
    amenity: np.ndarray  # (N,) B-bar_n(t)
    ext_income: np.ndarray  # (N,) Y_j(t)
    ext_wage: np.ndarray  # (N,) w_j(t)
    links: LinkSet
    subsidy: np.ndarray  # (N, K) share of firms' fixed cost paid by subsidies
    entry_cost: np.ndarray  # (N, K) multiplier of the entry cost
    extra_demand: np.ndarray  # (N, K) visitors' spending (tourism policies)
    visitors: np.ndarray  # (N,) visitor trips attributed to each stop (tourism policies)
    extra_entrants: np.ndarray  # (N, K) firms relocating in (counterpart policies)
    energy_cut: np.ndarray  # (N,) power price cut at energy bases
    energy_capacity: np.ndarray  # (N,) capacity of the cheaper power (bn CNY), inf: no limit
    innovation: tuple  # (place index, sector mask, log effect, spillover, halflife) per policy
    integration: tuple  # (i, j, trade factor, migration factor, pooling) per active pair


def phase(policy: Policy, year: int) -> float:
    """Fraction of a policy in force in ``year``: 0 outside [start, end), ramps over phase_in."""
    if year < policy.start or (policy.end is not None and year >= policy.end):
        return 0.0
    n = getattr(policy, "phase_in", 0)
    if n <= 0:
        return 1.0
    return min(1.0, (year - policy.start + 1) / n)


STRENGTH_FIELDS = {
    "productivity": (("factor", "factor"),),
    "amenity": (("factor", "factor"),),
    "external_demand": (("factor", "factor"),),
    "firm_subsidy": (("rate", "share"),),
    "entry_cost": (("factor", "factor"),),
    "cluster": (("factor", "factor"), ("entry_cost_factor", "factor")),
    "innovation": (("growth", "growth"),),
    "energy_base": (("price_cut", "share"),),
    "integration": (("trade_cost_factor", "factor"), ("migration_cost_factor", "factor"),
                    ("pooling", "share")),
    "tourism": (("visitors", "level"), ("amenity_factor", "factor")),
    "open_zone": (("border_cost_factor", "factor"), ("demand_factor", "factor")),
    "counterpart": (("firms_per_year", "level"),),
}
"""Fields that carry a lever's strength and how spending scales them [P9]: ``factor`` x → x**s,
``level`` x → s x, ``share`` x → min(s x, 0.99), ``growth`` g → (1 + g)**s − 1."""


def spending_scale(cost, reference, elasticity) -> float:
    r"""Strength of a lever at spending ``cost`` relative to its stated magnitude [P9].

    .. math:: s = (C / C_{ref})^{\eta}, \qquad 0 \le \eta \le 1

    concave in C (diminishing returns), 1 at the reference spending, 0 without spending.

    Parameters
    ----------
    cost, reference : float
        Spending C and reference spending C_ref (bn CNY, > 0).
    elasticity : float
        η.

    Returns
    -------
    float
    """
    if cost <= 0:
        return 0.0
    return float((cost / reference) ** elasticity)


def effective_policy(pol: Policy) -> Policy:
    """``pol`` with its strength fields scaled by its spending [P9] (unchanged at the reference).

    A policy without ``reference_cost_cny`` (the default), or with ``spending_elasticity`` 0,
    or of a type without strength fields (links), is returned as is.
    """
    ref = getattr(pol, "reference_cost_cny", None)
    fields = STRENGTH_FIELDS.get(pol.type)
    if ref is None or not fields or pol.spending_elasticity == 0 or pol.cost_cny == ref:
        return pol
    s = spending_scale(pol.cost_cny, ref, pol.spending_elasticity)
    new = {}
    for name, kind in fields:
        v = getattr(pol, name)
        if kind == "factor":
            new[name] = float(v) ** s if v > 0 else float(v)
        elif kind == "level":
            new[name] = s * v
        elif kind == "share":
            new[name] = min(s * v, 0.99)
        else:
            new[name] = float(np.expm1(s * np.log1p(v)))
    return dataclasses.replace(pol, **new)


def provincial_spending(policies, year: int) -> float:
    """Spending in ``year`` paid by the province [P10], bn CNY.

    Each policy spends ``cost_cny`` in equal instalments over its phase-in years from its start
    year (all in the start year without phase-in; as indicator I17), of which the share
    ``1 - central_share`` falls on the province.
    """
    total = 0.0
    for p in policies:
        cost = float(p.cost_cny or 0.0)
        share = 1.0 - float(getattr(p, "central_share", 1.0))
        if cost == 0.0 or share <= 0.0:
            continue
        n = max(1, int(getattr(p, "phase_in", 0) or 0))
        if p.start <= year < p.start + n:
            total += share * cost / n
    return total


def _place_mask(static: StaticData, ids, *, internal_only: bool) -> np.ndarray:
    if ids:
        m = np.zeros(static.n_places, dtype=bool)
        m[[static.place_index[p] for p in ids]] = True
        return m
    return static.internal.copy() if internal_only else ~static.internal


def _sector_mask(static: StaticData, ids) -> np.ndarray:
    if ids:
        m = np.zeros(static.n_sectors, dtype=bool)
        m[[static.sector_index[s] for s in ids]] = True
        return m
    return np.ones(static.n_sectors, dtype=bool)


def active_links(static: StaticData, policies, year: int) -> LinkSet:
    """Links operating in ``year``: base links by their opened/closed years, then link policies."""
    on = (static.link_opened <= year) & (year < static.link_closed)
    cols = {
        "from_": list(static.link_from[on]), "to": list(static.link_to[on]),
        "mode": list(static.link_mode[on]), "km": list(static.link_km[on]),
        "hours": list(static.link_hours[on]), "fixed": list(static.link_fixed[on]),
        "capacity": list(static.link_capacity[on]),
    }
    for pol in policies:
        if not isinstance(pol, LinkPolicy) or phase(pol, year) == 0.0:
            continue
        a, b = static.place_index[pol.from_], static.place_index[pol.to]
        m = static.mode_index[pol.mode]
        if pol.action == "open":
            cols["from_"].append(a)
            cols["to"].append(b)
            cols["mode"].append(m)
            cols["km"].append(pol.km)
            cols["hours"].append(pol.hours)
            cols["fixed"].append(pol.fixed_cost or 0.0)
            cols["capacity"].append(np.inf if pol.capacity is None else pol.capacity)
            continue
        hit = [i for i in range(len(cols["mode"]))
               if cols["mode"][i] == m and {cols["from_"][i], cols["to"][i]} == {a, b}]
        for i in reversed(hit):
            if pol.action == "close":
                for v in cols.values():
                    del v[i]
            else:  # upgrade
                if pol.km is not None:
                    cols["km"][i] = pol.km
                if pol.hours is not None:
                    cols["hours"][i] = pol.hours
                if pol.fixed_cost is not None:
                    cols["fixed"][i] = pol.fixed_cost
                if pol.capacity is not None:
                    cols["capacity"][i] = pol.capacity
                if pol.new_mode is not None:
                    cols["mode"][i] = static.mode_index[pol.new_mode]
    border_modes = [static.mode_index[m] for m in ("border_crossing", "sea")
                     if m in static.mode_index]
    for pol in policies:
        f = phase(pol, year)
        if not isinstance(pol, OpenZonePolicy) or f == 0.0 or not pol.places:
            continue
        zone = {static.place_index[p] for p in pol.places}
        for i in range(len(cols["mode"])):
            if cols["mode"][i] in border_modes and (cols["from_"][i] in zone
                                                    or cols["to"][i] in zone):
                cols["fixed"][i] = cols["fixed"][i] * pol.border_cost_factor ** f
    ints = ("from_", "to", "mode")
    return LinkSet(**{k: np.asarray(v, dtype=np.int64 if k in ints else float)
                      for k, v in cols.items()})


def drift_years(t, rule: str = "persist", halflife: float = 10.0):
    r"""Years of drift accumulated ``t`` years after the base year [D5].

    .. math:: D(t) = t \ (\text{persist}), \qquad
              D(t) = \frac{h}{\ln 2}\,(1 - 2^{-t/h}) \ (\text{decay}), \qquad
              D(t) = 0 \ (\text{stop})

    so that a fundamental with drift g is scaled by ``exp(g D(t))``: the drift persists, decays
    with half-life h (its yearly rate halves every h years), or stops at the base year.
    """
    t = np.asarray(t, dtype=float)
    if rule == "persist":
        return t
    if rule == "decay":
        return halflife / np.log(2.0) * (1.0 - 2.0 ** (-t / halflife))
    if rule == "stop":
        return np.zeros_like(t)
    raise ValueError(f"unknown drift rule {rule!r}")


def year_primitives(static: StaticData, policies, year: int, start_year: int, *,
                    drift: str = "persist", drift_halflife: float = 10.0) -> YearPrimitives:
    """Exogenous primitives of ``year``.

    * productivity: A-bar_nk (1 + g_k)^(t - t0) exp(g^A_n D(t)), times every active productivity
      policy's factor**phase (on its places x sectors);
    * amenity: B-bar_n exp(g^B_n D(t)) times amenity policies' factors (drifts [D5]);
    * external income and wage: Y_j (1 + g_j)^(t - t0), income times external-demand policies;
    * firm subsidies (share of fixed cost, phased in linearly, capped below 1) and entry-cost
      factors on their places x sectors.
    """
    policies = [effective_policy(p) for p in policies]  # spending -> strength       [P9]
    dt = year - start_year
    prod = static.productivity * ((1.0 + static.tfp_growth) ** dt)[None, :]
    amen = static.amenity.copy()
    if static.productivity_drift.any() or static.amenity_drift.any():
        d = float(drift_years(dt, drift, drift_halflife))
        prod = prod * np.exp(static.productivity_drift * d)[:, None]
        amen = amen * np.exp(static.amenity_drift * d)
    growth = (1.0 + static.gdp_growth) ** dt
    ext_income = static.ext_income * growth
    ext_wage = np.where(static.internal, static.ext_wage, static.ext_wage * growth)
    subsidy = np.zeros_like(prod)
    entry = np.ones_like(prod)
    extra = np.zeros_like(prod)
    visitors = np.zeros(static.n_places)
    inflow = np.zeros_like(prod)
    N = static.n_places
    cut = np.zeros(N)
    cap = np.full(N, np.inf)
    innovation, integration = [], []
    for pol in policies:
        if isinstance(pol, InnovationPolicy):
            if year >= pol.start:  # growth accumulates while active, then persists
                end = year + 1 if pol.end is None else min(year + 1, pol.end)
                innovation.append((static.place_index[pol.place],
                                   _sector_mask(static, pol.sectors),
                                   (end - pol.start) * np.log1p(pol.growth), pol.spillover,
                                   pol.halflife_hours))
            continue
        f = phase(pol, year)
        if f == 0.0:
            continue
        if isinstance(pol, ProductivityPolicy):
            mult = pol.factor ** f
            pm = _place_mask(static, pol.places, internal_only=True)
            sm = _sector_mask(static, pol.sectors)
            prod = prod * np.where(pm[:, None] & sm[None, :], mult, 1.0)
        elif isinstance(pol, AmenityPolicy):
            amen = amen * np.where(_place_mask(static, pol.places, internal_only=True),
                                   pol.factor ** f, 1.0)
        elif isinstance(pol, ExternalDemandPolicy):
            ext_income = ext_income * np.where(
                _place_mask(static, pol.places, internal_only=False), pol.factor ** f, 1.0)
        elif isinstance(pol, FirmSubsidyPolicy | EntryCostPolicy):
            pm = _place_mask(static, pol.places, internal_only=True)
            cell = pm[:, None] & _sector_mask(static, pol.sectors)[None, :]
            if isinstance(pol, FirmSubsidyPolicy):
                subsidy = np.minimum(subsidy + np.where(cell, pol.rate * f, 0.0), 0.99)
            else:
                entry = entry * np.where(cell, pol.factor ** f, 1.0)
        elif isinstance(pol, ClusterPolicy):
            sm = _sector_mask(static, pol.sectors)[None, :]
            pm = _place_mask(static, pol.places, internal_only=True)[:, None]
            cm = np.zeros(N, dtype=bool)
            cm[[static.place_index[p] for p in pol.corridor]] = True
            cm = cm[:, None] & ~pm
            prod = prod * np.where(pm & sm, pol.factor ** f, 1.0) \
                * np.where(cm & sm, pol.factor ** (f * pol.spillover), 1.0)
            entry = entry * np.where(pm & sm, pol.entry_cost_factor ** f, 1.0)
        elif isinstance(pol, TourismPolicy):
            idx = [static.place_index[p] for p in pol.places]
            w = np.asarray(pol.weights if pol.weights else [1.0] * len(idx), dtype=float)
            w = w / w.sum() if w.sum() > 0 else w
            k = static.sector_index[pol.sector]
            np.add.at(extra[:, k], idx, f * pol.visitors * pol.spend_per_visitor * w)
            np.add.at(visitors, idx, f * pol.visitors * w)
            am = np.zeros(N, dtype=bool)
            am[idx] = True
            amen = amen * np.where(am, pol.amenity_factor ** f, 1.0)
        elif isinstance(pol, OpenZonePolicy):
            if pol.partners:
                ext_income = ext_income * np.where(
                    _place_mask(static, pol.partners, internal_only=False),
                    pol.demand_factor ** f, 1.0)
        elif isinstance(pol, CounterpartPolicy):
            pm = _place_mask(static, pol.places, internal_only=True)[:, None]
            cell = pm & _sector_mask(static, pol.sectors)[None, :]
            inflow = inflow + np.where(cell, f * pol.firms_per_year / max(cell.sum(), 1), 0.0)
        elif isinstance(pol, EnergyBasePolicy):
            i = static.place_index[pol.place]
            cut[i] = 1.0 - (1.0 - cut[i]) * (1.0 - pol.price_cut * f)
            if pol.capacity is not None:
                cap[i] = min(cap[i], pol.capacity) if np.isfinite(cap[i]) else pol.capacity
        elif isinstance(pol, IntegrationPolicy):
            a, b = (static.place_index[p] for p in pol.between)
            integration.append((a, b, pol.trade_cost_factor ** f,
                                pol.migration_cost_factor ** f, pol.pooling * f))
    return YearPrimitives(year=year, productivity=prod, amenity=amen, ext_income=ext_income,
                          ext_wage=ext_wage, links=active_links(static, policies, year),
                          subsidy=subsidy, entry_cost=entry, extra_demand=extra, visitors=visitors,
                          extra_entrants=inflow, energy_cut=cut, energy_capacity=cap,
                          innovation=tuple(innovation), integration=tuple(integration))


@dataclass(frozen=True)
class NetworkMatrices:
    """Matrices derived from one active link set.

    Which (N, N) matrices are kept is chosen by the caller (:func:`network_matrices`): a model
    run keeps only what its rules read — the trade freeness per trade-cost group, and the
    migration kernel (aggregate logit) or the migration costs (agents, calibration) — so that
    at 10,000 places (800 MB per float64 matrix) the generalized-cost matrices are not held.
    Fields not kept are None.
    """

    freeness: np.ndarray  # (G, N, N) tau^(1-sigma), one matrix per trade-cost group
    group: np.ndarray  # (K,) group per sector, -1 non-traded
    migration_cost: np.ndarray | None = None  # (N, N) kappa, log-utility units
    migration_kernel: np.ndarray | None = None  # (N, N) exp(-kappa), 0 where blocked
    freight_cost: np.ndarray | None = None  # (N, N) CNY/t, inf where unreachable
    passenger_cost: np.ndarray | None = None  # (N, N) CNY/trip, inf where unreachable
    passenger_rows: dict | None = None  # {place index: (N,) CNY/trip} for innovation bases
    # every T_g, and the migration kernel, equal to its transpose (checked from
    # dense.MIN_PLACES places, where the compiled products then need only the row kernel)
    freeness_symmetric: bool = False
    kernel_symmetric: bool = False

    def passenger_row(self, i: int) -> np.ndarray:
        """Passenger generalized costs from place ``i`` to every place (CNY/trip)."""
        if self.passenger_rows is not None and i in self.passenger_rows:
            return self.passenger_rows[i]
        if self.passenger_cost is None:
            raise KeyError(f"passenger costs from place {i} were not kept")
        return self.passenger_cost[i]


def mode_link_costs(static: StaticData, links: LinkSet, par: Parameters, kind: str):
    """Links carrying ``kind`` ("freight" or "passenger") and their generalized costs [N1].

    Returns
    -------
    sel : ndarray of bool, shape (n_links,)
        Links whose mode carries ``kind``.
    cost : ndarray, shape (sel.sum(),)
        Their generalized costs.
    terminal : ndarray, shape (n_modes,)
        Terminal costs of each mode for ``kind``.
    """
    freight = kind == "freight"
    carries = static.mode_freight if freight else static.mode_passenger
    cpk = static.mode_cpk_freight if freight else static.mode_cpk_passenger
    term = static.mode_terminal_freight if freight else static.mode_terminal_passenger
    vot = par.value_of_time_freight if freight else par.value_of_time_passenger
    sel = carries[links.mode]
    cost = netk.link_generalized_cost(links.km[sel], links.hours[sel], links.fixed[sel],
                                      cpk[links.mode[sel]], vot)
    return sel, cost, term


def congested(links: LinkSet, volume: dict) -> LinkSet:
    """Link set with BPR travel times [N4] from last year's freight volumes by link."""
    if not np.isfinite(links.capacity).any() or not volume:
        return links
    v = np.array([volume.get((int(a), int(b), int(m)), 0.0)
                  for a, b, m in zip(links.from_, links.to, links.mode, strict=True)])
    return dataclasses.replace(links, hours=netk.bpr_hours(links.hours, v, links.capacity))


def trade_groups(sigma, scale, tradable):
    """Group sectors that share (sigma, trade-cost scale); non-traded sectors get -1."""
    keys: dict[tuple[float, float], int] = {}
    group = np.full(len(sigma), -1, dtype=np.int64)
    for k in range(len(sigma)):
        if tradable[k]:
            group[k] = keys.setdefault((float(sigma[k]), float(scale[k])), len(keys))
    return group, list(keys)


#: Rows per block when trade freeness and migration costs are built from the cost matrices
#: (temporaries of ``_ROW_BLOCK x N`` float64 entries, 20 MB at N = 10,000; about six are alive
#: at once while kappa is built). Measured at 5,000 places x 10 sectors: peak RSS of building
#: the network 1.02 GB with 256 rows, 1.22 GB with 1,024, the same CPU time.
_ROW_BLOCK = 256


@contextlib.contextmanager
def _on_a_side_thread(enabled: bool):
    """Yield ``later``: ``later(f, *args)`` starts ``f(*args)`` on a second thread.

    It returns a function that waits for the result. With ``enabled`` False that function
    calls ``f(*args)`` itself, when it is called. The thread is joined when the block ends,
    also on an error.
    """
    if not enabled:
        yield lambda f, *args: (lambda: f(*args))
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="sim-network") as pool:
        yield lambda f, *args: pool.submit(f, *args).result


def network_matrices(static: StaticData, links: LinkSet, par: Parameters, *, costs: bool = True,
                     kappa: bool = True, kernel: bool = False,
                     passenger_sources=(), freeness_dtype=np.float64) -> NetworkMatrices:
    """Generalized costs by shortest paths, trade freeness per group and migration costs.

    Parameters
    ----------
    static, links, par
        The region's arrays, the year's active links and the parameters.
    costs : bool
        Keep the (N, N) freight and passenger generalized costs.
    kappa : bool
        Keep the (N, N) migration costs kappa [D2].
    kernel : bool
        Keep the (N, N) migration kernel exp(-kappa) [D1] (aggregate logit migration).
    passenger_sources : sequence of int
        Places whose rows of passenger costs are kept (innovation bases [P6]).
    freeness_dtype : numpy dtype
        Storage of the trade freeness (``solver.freeness_precision``): float64, or float32
        (each entry rounded to nearest from the float64 value; half the memory and bytes).

    Notes
    -----
    Built with one (N, N) cost matrix alive at a time: the freight costs become the freeness of
    every group by blocks of rows and are dropped (unless ``costs``), then the passenger costs
    become kappa or exp(-kappa) by blocks of rows, in place when the costs are not kept. The
    values are those of the whole-matrix expressions (element-wise, same operations). From
    ``dense.MIN_PLACES`` places the blocks of rows are split among ``numba.get_num_threads()``
    threads (numpy releases the GIL in its loops; each block writes only its own rows), with
    the same values for any number of threads.
    """
    N = static.n_places

    def plan(kind):
        sel, cost, term = mode_link_costs(static, links, par, kind)
        return netk.shortest_path_plan(N, links.from_[sel], links.to[sel], links.mode[sel],
                                       cost, term)

    large = N >= _dense.MIN_PLACES
    n_blocks = (N + _ROW_BLOCK - 1) // _ROW_BLOCK

    def by_blocks(fill):
        """``fill(lo, hi)`` for every block of rows, on the threads from MIN_PLACES places.

        Numpy releases the GIL in its loops, and each block writes only its own rows, so the
        values do not depend on the number of threads.
        """

        def blocks(b0, b1):
            for b in range(b0, b1):
                fill(b * _ROW_BLOCK, min((b + 1) * _ROW_BLOCK, N))

        if large:
            _dense.spread(blocks, (), n_blocks)
        else:
            blocks(0, n_blocks)

    # the two shortest-path plans at once when threads are allowed (their contraction
    # hierarchies run on one core each, without the GIL); their costs (PHAST on every
    # thread) one after the other, so that one (N, N) cost matrix is alive at a time
    with _on_a_side_thread(large and _dense.threads() > 1) as later:
        passenger_plan = later(plan, "passenger")
        fc = netk.plan_costs(plan("freight"))
        group, keys = trade_groups(static.sigma, static.trade_cost_scale, static.tradable)
        freeness = np.empty((len(keys), N, N), dtype=freeness_dtype)

        def fill_freeness(lo, hi):
            taus = {}  # tau of each trade-cost scale: groups differ by sigma alone share it
            for g, (sig, scale) in enumerate(keys):
                tau = taus.get(scale)
                if tau is None and par.trade_cost_form == "exponential":              # [N3e]
                    tau = netk.exponential_trade_costs(fc[lo:hi], rate=par.trade_cost_rate * scale,
                                                       c0=par.reference_cost)
                elif tau is None:                                                     # [N3]
                    tau = netk.trade_costs(fc[lo:hi], psi=par.distance_elasticity * scale,
                                           c0=par.reference_cost)
                taus[scale] = tau
                # written in place (rounded to float32 on storing if so kept): no temporary
                netk.trade_freeness(tau, sig, out=freeness[g, lo:hi])

        by_blocks(fill_freeness)
        if not costs:
            del fc
            fc = None
        passenger_plan = passenger_plan()
    pc = netk.plan_costs(passenger_plan)
    del passenger_plan
    rows = {int(i): pc[int(i)].copy() for i in passenger_sources}
    K = pc if not costs else np.empty((N, N))  # kappa, in place of the costs if not kept
    E = None
    if kernel:
        E = K if not kappa else np.empty((N, N))

    def fill_kappa(lo, hi):
        k = migration_costs(pc[lo:hi], fixed=par.migration_cost_fixed,
                            per_hour=par.migration_cost_per_hour,
                            value_of_time=par.value_of_time_passenger,
                            external=~static.internal,
                            external_cost=par.migration_cost_external,
                            distance_elasticity=par.migration_distance_elasticity,
                            allowed=static.migration_allowed, origins=slice(lo, hi))
        if kappa:
            K[lo:hi] = k
        if kernel:
            E[lo:hi] = logit_kernel(k)

    if kappa or kernel:
        by_blocks(fill_kappa)
    # least-cost routes over undirected links are symmetric, and so are T_g and E, which the
    # compiled products then read by rows only (one kernel fewer to compile per dtype)
    sym_t = large and all(_dense.is_symmetric(t) for t in freeness)
    sym_e = large and E is not None and _dense.is_symmetric(E)
    return NetworkMatrices(freeness=freeness, group=group,
                           migration_cost=K if kappa else None, migration_kernel=E,
                           freight_cost=fc, passenger_cost=pc if costs else None,
                           passenger_rows=rows, freeness_symmetric=sym_t, kernel_symmetric=sym_e)


#: Fields of :class:`StaticData` that :func:`network_matrices` reads (with the links and the
#: parameters, everything the matrices depend on; :func:`_network_key` digests them).
_NETWORK_STATIC = ("n_places", "sigma", "trade_cost_scale", "tradable", "internal",
                   "migration_allowed", "mode_freight", "mode_passenger", "mode_cpk_freight",
                   "mode_cpk_passenger", "mode_terminal_freight", "mode_terminal_passenger")

_HANDOFF: dict = {}
"""At most one set of network matrices offered by a base-year calibration to the run that
follows it (:class:`NetworkCache` with ``share=True``), by :func:`_network_key`."""


def _network_key(static: StaticData, links: LinkSet, par: Parameters) -> str:
    """Digest of every input of :func:`network_matrices` (firm dynamics do not enter)."""
    import hashlib

    h = hashlib.sha256(links.key())
    for name in _NETWORK_STATIC:
        v = np.asarray(getattr(static, name))
        h.update(name.encode() + str(v.dtype).encode() + str(v.shape).encode())
        h.update(np.ascontiguousarray(v).tobytes())
    h.update(repr(dataclasses.replace(par, firm_dynamics="free_entry")).encode())
    return h.hexdigest()


class NetworkCache:
    """Recompute network matrices only when the active link set changes.

    ``share=True`` (the calibration's base-year models) also offers the matrices it builds to
    the next cache of the process that needs the same ones (the calibrated run: a calibration
    changes productivities and amenities, never the network), which takes them instead of
    building them again; at most one set is on offer, taking it removes it, and the next
    build of another network drops it (two sets are never held for it). The matrices
    are the same either way (same inputs, same function), so results are bit-identical.
    """

    def __init__(self, static: StaticData, par: Parameters, *, costs: bool = True,
                 kappa: bool = True, kernel: bool = False, passenger_sources=(),
                 share: bool = False, freeness_dtype=np.float64):
        self.static = static
        self.par = par
        self.keep = {"costs": costs, "kappa": kappa, "kernel": kernel,
                     "passenger_sources": tuple(passenger_sources),
                     "freeness_dtype": np.dtype(freeness_dtype)}
        self.share = share
        self._key: bytes | None = None
        self._value: NetworkMatrices | None = None
        self.recomputations = 0
        self.shared = 0  # matrices taken from a calibration instead of built

    def _take_offered(self, links: LinkSet) -> NetworkMatrices | None:
        """The offered matrices if they are this cache's (then no longer on offer)."""
        if not _HANDOFF:
            return None
        key = _network_key(self.static, links, self.par)
        offered_key, value = next(iter(_HANDOFF.items()))
        keep = self.keep
        if (offered_key != key or value.freeness.dtype != keep["freeness_dtype"]
                or (keep["costs"] and value.freight_cost is None)
                or (keep["kappa"] and value.migration_cost is None)
                or (keep["kernel"] and value.migration_kernel is None)
                or not set(keep["passenger_sources"]) <= set(value.passenger_rows or {})):
            return None
        _HANDOFF.clear()
        return dataclasses.replace(
            value, migration_cost=value.migration_cost if keep["kappa"] else None,
            migration_kernel=value.migration_kernel if keep["kernel"] else None,
            freight_cost=value.freight_cost if keep["costs"] else None,
            passenger_cost=value.passenger_cost if keep["costs"] else None,
            passenger_rows={i: value.passenger_rows[i] for i in keep["passenger_sources"]})

    def get(self, links: LinkSet) -> NetworkMatrices:
        """Matrices for ``links`` (cached)."""
        key = links.key()
        if key != self._key:
            self._value = None  # the old matrices go before the new ones are built
            value = self._take_offered(links)
            if value is None:
                _HANDOFF.clear()  # an offer the next build does not take is dropped (memory)
                value = network_matrices(self.static, links, self.par, **self.keep)
            else:
                self.shared += 1
            self.recomputations += 1  # networks of the run, built or taken
            self._value = value
            self._key = key
            if self.share:
                _HANDOFF.clear()
                _HANDOFF[_network_key(self.static, links, self.par)] = value
        return self._value

    def clear(self) -> None:
        """Release the cached matrices."""
        self._key = None
        self._value = None
