"""Frozen, typed scenario objects.

A scenario file (YAML) is validated into a :class:`Scenario`: an immutable tree of dataclasses.
Every structural parameter has a documented default and source (see ``docs/model.md``,
table "Parameters"); the scenario keeps uncertain structural assumptions (``parameters``)
apart from policy levers (``policies``).

Units
-----
Populations in millions of persons; GDP and expenditure in billion CNY (or any consistent
money unit: the engine's numeraire is the agricultural good, whose price is 1); km, hours;
generalized freight costs in CNY per tonne; passenger costs in CNY per trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

SCHEMA_VERSION = 1

MIGRATION_RULES = ("logit", "replicator", "none")
RESOLUTIONS = ("aggregate", "agents")
FIRM_DYNAMICS = ("free_entry", "entry_exit")


@dataclass(frozen=True)
class Place:
    """A place: an internal (simulated) place or an external (exogenous) market.

    Attributes
    ----------
    id : str
        Unique identifier used everywhere in scenario files.
    name : str
        Human-readable name (optional; empty if not given).
    parent : str or None
        Id of the administrative unit a split-out place belongs to (documentation and
        reporting; e.g. Gongzhuling -> changchun). Must name another place.
    external : bool
        True for exogenous markets (neighbouring provinces, ports, foreign regions): their
        wage, population and expenditure are given, not solved.
    lat, lon : float
        WGS84 coordinates, decimal degrees.
    mobile_pop : float
        Mobile (urban) workers, millions, base year. For external places: the size of the
        migration pool and of their supply side.
    ag_pop : float
        Immobile agricultural workers, millions, base year (internal places only).
    productivity : float
        Exogenous productivity fundamental (A-bar), all differentiated sectors, > 0.
    amenity : float
        Exogenous amenity fundamental (B-bar), > 0.
    ag_productivity : float
        Output per agricultural worker (= agricultural wage, the numeraire good's price is 1).
    land : float
        Housing/land supply H (congestion force), > 0.
    wage : float
        External places only: exogenous wage of their workers (model money units).
    gdp : float or None
        External places: exogenous income Y_j (expenditure on goods). Internal places:
        observed base-year GDP (used by calibration; not by the engine core).
    natural_growth : float
        Natural population growth rate per year (births minus deaths), applied to both
        worker types of an internal place.
    gdp_growth : float
        External places only: growth rate per year of their income Y_j.
    """

    id: str
    lat: float
    lon: float
    name: str = ""
    parent: str | None = None
    external: bool = False
    mobile_pop: float = 0.0
    ag_pop: float = 0.0
    productivity: float = 1.0
    amenity: float = 1.0
    ag_productivity: float = 1.0
    land: float = 1.0
    wage: float = 1.0
    gdp: float | None = None
    natural_growth: float = 0.0
    gdp_growth: float = 0.0


@dataclass(frozen=True)
class Sector:
    """A differentiated (CES, monopolistic competition) sector.

    Attributes
    ----------
    id : str
    name : str
    sigma : float
        Elasticity of substitution between varieties, > 1. Default 5 (Redding 2016).
    expenditure_share : float
        Cobb-Douglas share beta_k of income spent on the sector's CES composite.
    fixed_cost : float
        Fixed labour requirement F_k of a firm (sets the units of firm counts only).
    tradable : bool
        False for non-traded local services (tau_nm = inf for n != m).
    trade_cost_scale : float
        Multiplies the distance elasticity of trade costs for this sector (default 1).
    agglomeration : float or None
        Sector-specific productivity agglomeration elasticity; None takes the scenario's
        ``parameters.agglomeration``.
    tfp_growth : float
        Exogenous TFP growth per year.
    energy_share : float
        Share e_k of energy in unit cost (energy-base policies act through it), in [0, 1).
    """

    id: str
    expenditure_share: float
    name: str = ""
    sigma: float = 5.0
    fixed_cost: float = 1.0
    tradable: bool = True
    trade_cost_scale: float = 1.0
    agglomeration: float | None = None
    tfp_growth: float = 0.0
    energy_share: float = 0.0


@dataclass(frozen=True)
class PlaceSector:
    """Place-by-sector detail (optional rows; missing pairs take the defaults).

    Attributes
    ----------
    place, sector : str
    productivity : float
        Multiplies the place's productivity for this sector (> 0, default 1).
    supply_share : float or None
        External places: share of their workers producing in this sector. None: the
        sector's expenditure share, renormalised over differentiated sectors.
    """

    place: str
    sector: str
    productivity: float = 1.0
    supply_share: float | None = None


@dataclass(frozen=True)
class Link:
    """An undirected transport link.

    Attributes
    ----------
    from_, to : str
        Place ids (``from`` in files).
    mode : str
        A mode id defined in the mode table.
    km, hours : float
        Length and travel time, >= 0.
    fixed_cost : float
        Extra fixed cost per tonne (freight) and per trip (passengers), e.g. a border
        crossing's customs and waiting costs, >= 0.
    opened : int or None
        First year the link operates (None: before the simulation start).
    closed : int or None
        First year the link no longer operates (None: never).
    capacity : float or None
        Freight capacity, bn CNY of goods a year (None: uncongested). Above it, travel time
        rises by the BPR function with last year's freight volume (docs/model.md [N4]).
    """

    from_: str
    to: str
    mode: str
    km: float
    hours: float
    fixed_cost: float = 0.0
    opened: int | None = None
    closed: int | None = None
    capacity: float | None = None


@dataclass(frozen=True)
class Mode:
    """A transport mode and its cost parameters.

    Attributes
    ----------
    id : str
    freight, passenger : bool
        Whether the mode carries goods (enters trade costs) and people (enters migration
        costs).
    cost_per_km_freight : float
        CNY per tonne-km.
    cost_per_km_passenger : float
        CNY per passenger-km.
    terminal_cost_freight : float
        CNY per tonne to enter or leave the mode at a place (loading/transshipment); paid half
        on entering and half on leaving.
    terminal_cost_passenger : float
        CNY per trip, same convention.
    """

    id: str
    freight: bool = True
    passenger: bool = True
    cost_per_km_freight: float = 0.35
    cost_per_km_passenger: float = 0.5
    terminal_cost_freight: float = 0.0
    terminal_cost_passenger: float = 0.0


@dataclass(frozen=True)
class Region:
    """Places, sectors, links and modes of a region."""

    places: tuple[Place, ...]
    sectors: tuple[Sector, ...]
    links: tuple[Link, ...] = ()
    modes: tuple[Mode, ...] = ()
    place_sectors: tuple[PlaceSector, ...] = ()


@dataclass(frozen=True)
class Parameters:
    """Uncertain structural assumptions (not policy levers). Defaults and sources: docs/model.md."""

    agriculture_share: float = 0.10
    housing_share: float = 0.25
    distance_elasticity: float = 0.33
    reference_cost: float = 100.0
    value_of_time_freight: float = 5.0
    value_of_time_passenger: float = 30.0
    agglomeration: float = 0.05
    amenity_elasticity: float = 0.0
    sector_elasticity: float = 2.0
    migration_rule: str = "logit"
    migration_elasticity: float = 1.5
    reconsider_share: float = 0.10
    migration_cost_fixed: float = 2.0
    migration_cost_per_hour: float = 0.05
    migration_cost_external: float = 4.0
    replicator_speed: float = 0.5
    hukou_cost: float = 0.0
    hukou_share: float = 1.0
    hukou_conversion: float = 0.10
    firm_dynamics: str = "free_entry"
    firm_exit_rate: float = 0.05
    firm_loss_exit: float = 0.5
    firm_profit_noise: float = 0.25
    firm_entry_rate: float = 0.08
    firm_entry_logit: float = 2.0
    firm_entry_cost: float = 0.5
    firm_relocation_share: float = 0.02
    firm_moving_cost: float = 1.0
    productivity_persistence: float = 0.9
    productivity_dispersion: float = 0.5
    productivity_levels: int = 7
    firm_spinup_max: int = 300


@dataclass(frozen=True)
class Solver:
    """Numerical settings of the equilibrium fixed point."""

    tol: float = 1e-10
    max_iter: int = 10_000
    damping: float = 0.5
    anderson: int = 5


@dataclass(frozen=True)
class Agents:
    """Agent counts at ``resolution: agents`` (base year).

    Attributes
    ----------
    households : int
        Household agents; each represents (base-year internal population) / households workers.
    firms : int
        Firm agents; each represents (base-year firm mass) / firms firms.
    """

    households: int = 100_000
    firms: int = 100_000


@dataclass(frozen=True)
class TimeSpan:
    """Simulated years ``start..end`` inclusive, annual steps."""

    start: int = 2020
    end: int = 2035


@dataclass(frozen=True)
class Policy:
    """Base of every policy lever: active in years ``start <= year < end``.

    Attributes
    ----------
    start : int
        First year in which the policy acts.
    end : int or None
        First year in which it no longer acts (None: permanent).
    label : str
        Free text shown in reports (e.g. the plan clause it models).
    cost_cny : float
        Public cost in billion CNY (total over the policy's life), >= 0.
    """

    start: int
    end: int | None = None
    label: str = ""
    cost_cny: float = 0.0

    type = "policy"


@dataclass(frozen=True)
class LinkPolicy(Policy):
    """Open, upgrade or close a transport link.

    ``action: open`` adds a link; ``upgrade`` replaces km/hours/fixed_cost/capacity (and
    optionally the mode, via ``new_mode``) of an existing link ``from-to-mode``; ``close``
    removes it.
    """

    action: str = "open"
    from_: str = ""
    to: str = ""
    mode: str = ""
    km: float | None = None
    hours: float | None = None
    fixed_cost: float | None = None
    new_mode: str | None = None
    capacity: float | None = None

    type = "link"


@dataclass(frozen=True)
class ProductivityPolicy(Policy):
    """Multiply the productivity fundamental of named sectors in named places.

    The log of ``factor`` is phased in linearly over ``phase_in`` years (0: at once).
    ``places``/``sectors`` of ``()`` mean all internal places / all sectors.
    """

    places: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    factor: float = 1.0
    phase_in: int = 0

    type = "productivity"


@dataclass(frozen=True)
class AmenityPolicy(Policy):
    """Multiply the amenity fundamental of named places (phased in like productivity)."""

    places: tuple[str, ...] = ()
    factor: float = 1.0
    phase_in: int = 0

    type = "amenity"


@dataclass(frozen=True)
class ExternalDemandPolicy(Policy):
    """Multiply the exogenous income (expenditure) of named external places."""

    places: tuple[str, ...] = ()
    factor: float = 1.0
    phase_in: int = 0

    type = "external_demand"


@dataclass(frozen=True)
class FirmSubsidyPolicy(Policy):
    """Pay a share ``rate`` of the fixed cost of firms in named places and sectors.

    Acts on firm decisions (exit, entry, relocation: [F1]) under ``firm_dynamics: entry_exit``.
    """

    places: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    rate: float = 0.0
    phase_in: int = 0

    type = "firm_subsidy"


@dataclass(frozen=True)
class EntryCostPolicy(Policy):
    """Multiply the entry cost of firms entering named places and sectors ([F5])."""

    places: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    factor: float = 1.0
    phase_in: int = 0

    type = "entry_cost"


@dataclass(frozen=True)
class ClusterPolicy(Policy):
    """Cluster or corridor investment in named sectors and places.

    Productivity (``factor``) and entry costs (``entry_cost_factor``) of the named sectors in
    the named places change, with spillovers to the other places of the ``corridor`` (their
    productivity factor is ``factor ** spillover``). ``None`` sectors: all.
    """

    places: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    factor: float = 1.0
    entry_cost_factor: float = 1.0
    corridor: tuple[str, ...] = ()
    spillover: float = 0.0
    phase_in: int = 0

    type = "cluster"


@dataclass(frozen=True)
class InnovationPolicy(Policy):
    """Innovation base: productivity growth of knowledge sectors, with spillovers.

    Productivity of the ``sectors`` at ``place`` grows by ``growth`` a year while active; other
    places get ``spillover * exp(-ln 2 * t / halflife_hours)`` of the log effect, t the
    passenger travel time from the base in hour-equivalents.
    """

    place: str = ""
    sectors: tuple[str, ...] = ()
    growth: float = 0.0
    spillover: float = 1.0
    halflife_hours: float = 12.0

    type = "innovation"


@dataclass(frozen=True)
class EnergyBasePolicy(Policy):
    """Energy base: cheaper renewable power at one place, up to a capacity.

    Power at ``place`` is cheaper by ``price_cut`` (share) for all sectors up to
    ``capacity`` (bn CNY of power a year at the old price); acts through sectors' energy
    shares.
    """

    place: str = ""
    price_cut: float = 0.0
    capacity: float | None = None
    phase_in: int = 0

    type = "energy_base"


@dataclass(frozen=True)
class IntegrationPolicy(Policy):
    """Integration of two places (trade, migration, labour-market pooling).

    Trade costs and migration costs between them are multiplied by factors; ``pooling`` adds
    that share of the partner's residents to each one's agglomeration density (labour-market
    pooling).
    """

    between: tuple[str, ...] = ()
    trade_cost_factor: float = 1.0
    migration_cost_factor: float = 1.0
    pooling: float = 0.0
    phase_in: int = 0

    type = "integration"


@dataclass(frozen=True)
class TourismPolicy(Policy):
    """Tourism loop: visitors' multi-stop trips and spending along a route.

    ``visitors`` (millions a year) make multi-stop trips along ``places`` and
    spend ``spend_per_visitor`` (thousand CNY) on ``sector`` at each stop in proportion to
    ``weights`` (default equal); destinations' amenity rises by ``amenity_factor``.
    """

    places: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    visitors: float = 0.0
    spend_per_visitor: float = 0.0
    sector: str = "tourism"
    amenity_factor: float = 1.0
    phase_in: int = 0

    type = "tourism"


@dataclass(frozen=True)
class OpenZonePolicy(Policy):
    """Open-economy zone: lower border and port frictions, growing partner markets.

    Fixed costs of border-crossing and sea links touching ``places`` are
    multiplied by ``border_cost_factor``; income of the ``partners`` (external places)
    multiplied by ``demand_factor`` (market growth, e.g. bonded and border-trade zones).
    """

    places: tuple[str, ...] = ()
    border_cost_factor: float = 1.0
    partners: tuple[str, ...] = ()
    demand_factor: float = 1.0
    phase_in: int = 0

    type = "open_zone"


@dataclass(frozen=True)
class CounterpartPolicy(Policy):
    """Counterpart cooperation: firms relocating into the region from an external place.

    ``firms_per_year`` firms (mass units) relocate from an external
    ``origin`` into ``places`` x ``sectors`` (split equally) each year (entry_exit only).
    """

    origin: str = ""
    places: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    firms_per_year: float = 0.0

    type = "counterpart"


POLICY_TYPES: dict[str, type[Policy]] = {
    cls.type: cls for cls in (LinkPolicy, ProductivityPolicy, AmenityPolicy, ExternalDemandPolicy,
                              FirmSubsidyPolicy, EntryCostPolicy, ClusterPolicy,
                              InnovationPolicy, EnergyBasePolicy, IntegrationPolicy,
                              TourismPolicy, OpenZonePolicy, CounterpartPolicy)
}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: region data, assumptions, policies, time span and seed."""

    name: str
    region: Region
    description: str = ""
    seed: int = 0
    resolution: str = "aggregate"
    agents: Agents = field(default_factory=Agents)
    time: TimeSpan = field(default_factory=TimeSpan)
    parameters: Parameters = field(default_factory=Parameters)
    solver: Solver = field(default_factory=Solver)
    policies: tuple[Policy, ...] = ()
    calibrate: bool = False
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    schema_version: int = SCHEMA_VERSION
    source: str | None = field(default=None, compare=False)


def field_names(cls) -> tuple[str, ...]:
    """Names of a dataclass's fields, in declaration order."""
    return tuple(f.name for f in fields(cls))
