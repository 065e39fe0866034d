"""Build layer: a validated Scenario becomes arrays (the only place ids become indices).

``build_static(scenario)`` returns :class:`StaticData`: per-place, per-sector and per-link
arrays plus the id<->index maps. Kernels and the model see only these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim._types import FLOAT, INDEX
from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class StaticData:
    """Arrays built once from a scenario (never mutated during a run).

    Attributes
    ----------
    place_ids, sector_ids, mode_ids : tuple of str
        Index -> id maps (index i is the i-th entry).
    place_index, sector_index, mode_index : dict
        id -> index maps.
    internal : ndarray of bool, shape (N,)
    lat, lon : ndarray, shape (N,)
    mobile0, ag0 : ndarray, shape (N,)
        Base-year mobile and agricultural workers (millions).
    productivity : ndarray, shape (N, K)
        Base-year productivity fundamentals A-bar_nk (place x place-sector multipliers).
    amenity, ag_productivity, land, ext_wage, ext_income, natural_growth, gdp_growth
        ndarray, shape (N,).
    ext_supply_share : ndarray, shape (N, K)
    sigma, fixed_cost, beta, trade_cost_scale, agglomeration, tfp_growth, energy_share
        ndarray, shape (K,)
    tradable : ndarray of bool, shape (K,)
    link_from, link_to, link_mode : ndarray of int, shape (n_links,)
    link_km, link_hours, link_fixed : ndarray, shape (n_links,)
    link_capacity : ndarray, shape (n_links,)
        Freight capacity (bn CNY of goods a year); inf: uncongested.
    link_opened, link_closed : ndarray of int, shape (n_links,)
        First operating year / first closed year; -inf-like and +inf-like sentinels as
        ``INT_MIN``/``INT_MAX`` when absent.
    migration_allowed : ndarray of bool, shape (N,)
        Whether a place takes part in residential migration (``Place.migration``; default: every
        place except external places in the reserved group ``foreign``).
    size : ndarray, shape (N,)
        Base-year residents (millions): the size variable of the migration choice [D1].
    amenity_drift, productivity_drift : ndarray, shape (N,)
        Calibrated drifts of the fundamentals, log points a year (internal places; 0 elsewhere).
    mode_freight, mode_passenger : ndarray of bool, shape (n_modes,)
    mode_cpk_freight, mode_cpk_passenger, mode_terminal_freight, mode_terminal_passenger
        ndarray, shape (n_modes,).
    """

    place_ids: tuple
    sector_ids: tuple
    mode_ids: tuple
    place_index: dict
    sector_index: dict
    mode_index: dict
    internal: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    mobile0: np.ndarray
    ag0: np.ndarray
    productivity: np.ndarray
    amenity: np.ndarray
    ag_productivity: np.ndarray
    land: np.ndarray
    ext_wage: np.ndarray
    ext_income: np.ndarray
    natural_growth: np.ndarray
    gdp_growth: np.ndarray
    ext_supply_share: np.ndarray
    sigma: np.ndarray
    fixed_cost: np.ndarray
    beta: np.ndarray
    trade_cost_scale: np.ndarray
    agglomeration: np.ndarray
    tfp_growth: np.ndarray
    energy_share: np.ndarray
    tradable: np.ndarray
    link_from: np.ndarray
    link_to: np.ndarray
    link_mode: np.ndarray
    link_km: np.ndarray
    link_hours: np.ndarray
    link_fixed: np.ndarray
    link_opened: np.ndarray
    link_closed: np.ndarray
    link_capacity: np.ndarray
    migration_allowed: np.ndarray
    size: np.ndarray
    amenity_drift: np.ndarray
    productivity_drift: np.ndarray
    mode_freight: np.ndarray
    mode_passenger: np.ndarray
    mode_cpk_freight: np.ndarray
    mode_cpk_passenger: np.ndarray
    mode_terminal_freight: np.ndarray
    mode_terminal_passenger: np.ndarray

    @property
    def n_places(self) -> int:
        """Number of places N (internal and external)."""
        return len(self.place_ids)

    @property
    def n_sectors(self) -> int:
        """Number of differentiated sectors K."""
        return len(self.sector_ids)


INT_MIN = np.iinfo(INDEX).min
INT_MAX = np.iinfo(INDEX).max


def build_static(scenario: Scenario) -> StaticData:
    """Turn a validated scenario into arrays (see :class:`StaticData`)."""
    reg = scenario.region
    par = scenario.parameters
    places, sectors, modes = reg.places, reg.sectors, reg.modes
    pidx = {p.id: i for i, p in enumerate(places)}
    sidx = {s.id: k for k, s in enumerate(sectors)}
    midx = {m.id: i for i, m in enumerate(modes)}
    N, K = len(places), len(sectors)

    def col(attr, objs=places):
        return np.array([getattr(o, attr) for o in objs], dtype=FLOAT)

    internal = np.array([not p.external for p in places], dtype=bool)
    prod = np.repeat(col("productivity")[:, None], K, axis=1)
    beta = col("expenditure_share", sectors)
    bsum = beta.sum()
    default_share = beta / bsum if bsum > 0 else np.full(K, 1.0 / K)
    supply = np.repeat(default_share[None, :], N, axis=0)
    explicit = np.zeros((N, K), dtype=bool)
    for ps in reg.place_sectors:
        i, k = pidx[ps.place], sidx[ps.sector]
        prod[i, k] *= ps.productivity
        if ps.supply_share is not None:
            supply[i, k] = ps.supply_share
            explicit[i, k] = True
    # rows with explicit shares are renormalised to sum to one
    rows = explicit.any(axis=1)
    if rows.any():
        s = supply[rows].sum(axis=1, keepdims=True)
        supply[rows] = np.divide(supply[rows], s, out=np.zeros_like(supply[rows]), where=s > 0)
    gdp = np.array([p.gdp if p.gdp is not None else 0.0 for p in places], dtype=FLOAT)

    links = reg.links
    foreign = set(dict(scenario.groups).get("foreign", ()))
    migration_allowed = np.array(
        [p.migration if p.migration is not None else (not p.external or p.id not in foreign)
         for p in places], dtype=bool)
    size = col("mobile_pop") + np.where(internal, col("ag_pop"), 0.0)

    def year(v, default):
        return default if v is None else int(v)

    return StaticData(
        place_ids=tuple(pidx), sector_ids=tuple(sidx), mode_ids=tuple(midx),
        place_index=pidx, sector_index=sidx, mode_index=midx,
        internal=internal, lat=col("lat"), lon=col("lon"),
        mobile0=col("mobile_pop"), ag0=np.where(internal, col("ag_pop"), 0.0),
        productivity=prod, amenity=col("amenity"), ag_productivity=col("ag_productivity"),
        land=col("land"), ext_wage=col("wage"), ext_income=np.where(internal, 0.0, gdp),
        natural_growth=np.where(internal, col("natural_growth"), 0.0),
        gdp_growth=np.where(internal, 0.0, col("gdp_growth")),
        ext_supply_share=supply,
        sigma=col("sigma", sectors), fixed_cost=col("fixed_cost", sectors), beta=beta,
        trade_cost_scale=col("trade_cost_scale", sectors),
        agglomeration=np.array([par.agglomeration if s.agglomeration is None else s.agglomeration
                                for s in sectors], dtype=FLOAT),
        tfp_growth=col("tfp_growth", sectors),
        energy_share=col("energy_share", sectors),
        tradable=np.array([s.tradable for s in sectors], dtype=bool),
        link_from=np.array([pidx[lk.from_] for lk in links], dtype=INDEX),
        link_to=np.array([pidx[lk.to] for lk in links], dtype=INDEX),
        link_mode=np.array([midx[lk.mode] for lk in links], dtype=INDEX),
        link_km=col("km", links), link_hours=col("hours", links),
        link_fixed=col("fixed_cost", links),
        link_opened=np.array([year(lk.opened, INT_MIN) for lk in links], dtype=INDEX),
        link_closed=np.array([year(lk.closed, INT_MAX) for lk in links], dtype=INDEX),
        link_capacity=np.array([np.inf if lk.capacity is None else lk.capacity
                                for lk in links], dtype=FLOAT),
        migration_allowed=migration_allowed, size=size,
        amenity_drift=np.where(internal, col("amenity_drift"), 0.0),
        productivity_drift=np.where(internal, col("productivity_drift"), 0.0),
        mode_freight=np.array([m.freight for m in modes], dtype=bool),
        mode_passenger=np.array([m.passenger for m in modes], dtype=bool),
        mode_cpk_freight=col("cost_per_km_freight", modes),
        mode_cpk_passenger=col("cost_per_km_passenger", modes),
        mode_terminal_freight=col("terminal_cost_freight", modes),
        mode_terminal_passenger=col("terminal_cost_passenger", modes),
    )
