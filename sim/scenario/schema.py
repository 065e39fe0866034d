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

from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

SCHEMA_VERSION = 1

MIGRATION_RULES = ("logit", "replicator", "none")
RESOLUTIONS = ("aggregate", "agents")
FIRM_DYNAMICS = ("free_entry", "entry_exit")
DRIFT_RULES = ("persist", "decay", "stop")
TRADE_COST_FORMS = ("power", "exponential")
FREENESS_PRECISIONS = ("float64", "float32")


def _f(default: Any = MISSING, unit: str = "", doc: str = "",
       choices: tuple[str, ...] | None = None, **kw: Any) -> Any:
    """A dataclass field carrying its documentation as metadata.

    The metadata (``unit``: unit of the value, empty for ids, flags and pure numbers; ``doc``:
    meaning; ``choices``: the allowed values of a string field, if fixed) is the single source
    of the key reference in ``docs/scenarios.md`` and of the descriptions and enumerations in
    the JSON Schema (:mod:`sim.scenario.jsonschema`). It does not change the field's default,
    type or behaviour.

    Parameters
    ----------
    default : object, optional
        The field's default (omitted: the field is required).
    unit : str
        Unit of the value as written in scenario files.
    doc : str
        Meaning of the key (one or two sentences, Markdown).
    choices : tuple of str, optional
        The values the loader accepts (an enumeration).
    **kw
        Further arguments of :func:`dataclasses.field` (``default_factory``, ``compare``).

    Returns
    -------
    dataclasses.Field
        The field.
    """
    md: dict[str, Any] = {"unit": unit, "doc": doc}
    if choices is not None:
        md["choices"] = tuple(choices)
    if default is MISSING:
        return field(metadata=md, **kw)
    return field(default=default, metadata=md, **kw)


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

    id: str = _f(
        unit="",
        doc="Unique place id, used everywhere in scenario files (no surrounding spaces).")
    lat: float = _f(unit="degrees", doc="Latitude, WGS84 decimal degrees, in [-90, 90].")
    lon: float = _f(unit="degrees", doc="Longitude, WGS84 decimal degrees, in [-180, 180].")
    name: str = _f("", "", "Human-readable name (optional).")
    name_zh: str = _f("", "",
                      "Chinese name (optional; figures, report and dashboard with `--lang zh`).")
    parent: str | None = _f(
        None, "",
        "Id of the administrative unit a split-out place belongs to (documentation and reporting, "
        "e.g. Gongzhuling -> changchun); must name another place.")
    external: bool = _f(
        False, "",
        "True for exogenous markets (neighbouring provinces, ports, foreign regions): their wage, "
        "population and expenditure are given, not solved.")
    mobile_pop: float = _f(
        0.0, "millions of persons",
        "Mobile (urban) workers in the base year. External places: size of the migration pool and "
        "of their supply side.")
    ag_pop: float = _f(
        0.0, "millions of persons",
        "Immobile agricultural workers in the base year (internal places only).")
    productivity: float = _f(
        1.0, "index",
        "Exogenous productivity fundamental Ā of all differentiated sectors (calibrated when "
        "`calibrate: true`).")
    amenity: float = _f(
        1.0, "index",
        "Exogenous amenity fundamental B̄ (calibrated when `calibrate: true`).")
    ag_productivity: float = _f(
        1.0, "money units per worker a year",
        "Output per agricultural worker, = the farm wage (the agricultural good is the numeraire, "
        "price 1).")
    land: float = _f(1.0, "index", "Housing/land supply H (the congestion force).")
    wage: float = _f(
        1.0, "money units per worker a year",
        "External places only: exogenous wage of their workers (Jilin pack: thousand CNY).")
    gdp: float | None = _f(
        None, "bn CNY a year",
        "External places: exogenous income Y_j (expenditure on goods). Internal places: observed "
        "base-year GDP, the calibration target (not used by the engine core); null: none.")
    natural_growth: float = _f(
        0.0, "per year",
        "Natural population growth rate (births minus deaths), applied to both worker types of an "
        "internal place.")
    gdp_growth: float = _f(
        0.0, "per year",
        "External places only: growth rate of their income Y_j and wage.")
    migration: bool | None = _f(
        None, "",
        "Whether residents move to and from this place [D1]. Default: every place except "
        "external places in the reserved group `foreign` (no resident migration abroad).")
    migration_share: float | None = _f(
        None, "share",
        "External places: observed share of the region's out-migrants who go there (e.g. "
        "census stocks by destination); calibration inverts the place's amenity to match it "
        "[C2]. Shares are renormalised over the places that have one.")
    net_migration: float | None = _f(
        None, "per year",
        "Internal places: observed net migration in the base year, share of residents "
        "(calibration target of the amenity [C2]; None: 0, a migration steady state).")
    amenity_drift: float = _f(
        0.0, "log points per year",
        "Internal places: drift g^B_n of the amenity fundamental [D5], from history "
        "calibration (`sim history`).")
    productivity_drift: float = _f(
        0.0, "log points per year",
        "Internal places: drift g^A_n of the productivity fundamental [D5], from history "
        "calibration (`sim history`).")
    trade_exports: float | None = _f(
        None, "bn CNY per year",
        "External places: the region's observed exports to this partner in the base year "
        "(customs statistics); calibration scales the place's income (its demand) to match "
        "[C3].")
    trade_imports: float | None = _f(
        None, "bn CNY per year",
        "External places: the region's observed imports from this partner in the base year; "
        "calibration scales the place's productivity (its supply) to match [C3].")


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

    id: str = _f(unit="", doc="Unique sector id (no surrounding spaces).")
    expenditure_share: float = _f(
        unit="share of income",
        doc="Cobb-Douglas share β_k of income spent on the sector's CES composite; the sectors' "
            "shares + `parameters.agriculture_share` + `parameters.housing_share` must sum to 1.")
    name: str = _f("", "", "Human-readable name (optional).")
    sigma: float = _f(
        5.0, "",
        "Elasticity of substitution σ_k between varieties (Redding 2016: 5).")
    fixed_cost: float = _f(
        1.0, "workers per firm",
        "Fixed labour requirement F_k of a firm (sets the units of firm counts only; does not "
        "affect wages or welfare).")
    tradable: bool = _f(True, "", "False for non-traded local services (sold only where produced).")
    trade_cost_scale: float = _f(
        1.0, "multiplier",
        "Multiplies the distance elasticity of trade costs for this sector.")
    agglomeration: float | None = _f(
        None, "elasticity",
        "Sector-specific productivity agglomeration elasticity α_k; null takes "
        "`parameters.agglomeration`.")
    tfp_growth: float = _f(0.0, "per year", "Exogenous TFP growth g_k.")
    energy_share: float = _f(
        0.0, "share of unit cost",
        "Share e_k of energy in unit cost (`energy_base` policies act through it).")


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

    place: str = _f(unit="", doc="Place id.")
    sector: str = _f(unit="", doc="Sector id (one row per place and sector).")
    productivity: float = _f(
        1.0, "multiplier",
        "Multiplies the place's productivity for this sector.")
    supply_share: float | None = _f(
        None, "share of workers",
        "External places: share of their workers producing in this sector; null: the sector's "
        "expenditure share, renormalised over the differentiated sectors.")


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

    from_: str = _f(unit="", doc="Place id of one end (links are undirected).")
    to: str = _f(unit="", doc="Place id of the other end (a different place).")
    mode: str = _f(
        unit="",
        doc="Transport mode id (a default mode or one defined under `region.modes`).")
    km: float = _f(unit="km", doc="Length.")
    hours: float = _f(unit="hours", doc="Travel time.")
    fixed_cost: float = _f(
        0.0, "CNY per tonne and per trip",
        "Extra fixed cost per tonne (freight) and per trip (passengers), e.g. a border crossing's "
        "customs and waiting costs.")
    opened: int | None = _f(
        None, "year",
        "First year the link operates; null: before the simulation start.")
    closed: int | None = _f(
        None, "year",
        "First year the link no longer operates (> `opened`); null: never.")
    capacity: float | None = _f(
        None, "bn CNY of goods a year",
        "Freight capacity; above it travel time rises by the BPR function of last year's freight "
        "volume (docs/model.md [N4]); null: uncongested.")


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

    id: str = _f(unit="", doc="Mode id (the key of the `region.modes` mapping, not a field).")
    freight: bool = _f(True, "", "Whether the mode carries goods (enters trade costs).")
    passenger: bool = _f(True, "", "Whether the mode carries people (enters migration costs).")
    cost_per_km_freight: float = _f(0.35, "CNY per tonne-km", "Freight cost per km.")
    cost_per_km_passenger: float = _f(0.5, "CNY per passenger-km", "Passenger cost (fare) per km.")
    terminal_cost_freight: float = _f(
        0.0, "CNY per tonne",
        "Cost to enter or leave the mode at a place (loading, transshipment), paid half on "
        "entering and half on leaving.")
    terminal_cost_passenger: float = _f(
        0.0, "CNY per trip",
        "Terminal cost of passengers, same convention.")


@dataclass(frozen=True)
class Region:
    """Places, sectors, links and modes of a region."""

    places: tuple[Place, ...] = _f(
        unit="",
        doc="Places: internal (simulated) places and external (exogenous) markets; at least one "
            "internal place.")
    sectors: tuple[Sector, ...] = _f(
        unit="",
        doc="Differentiated (CES, monopolistic competition) sectors; at least one.")
    links: tuple[Link, ...] = _f((), "", "Transport links (undirected).")
    modes: tuple[Mode, ...] = _f(
        (), "",
        "Transport modes: overrides of the default mode table, field by field, and new modes.")
    place_sectors: tuple[PlaceSector, ...] = _f(
        (), "",
        "Optional place-by-sector detail; missing pairs take the defaults.")


@dataclass(frozen=True)
class Parameters:
    """Uncertain structural assumptions (not policy levers). Defaults and sources: docs/model.md."""

    agriculture_share: float = _f(
        0.10, "share of income",
        "β_A: share of income spent on the freely traded agricultural good (the numeraire).")
    housing_share: float = _f(
        0.25, "share of income",
        "β_h: share of income spent on housing/land.")
    distance_elasticity: float = _f(
        0.33, "elasticity",
        "ψ: elasticity of iceberg trade costs with respect to generalized freight cost (Redding "
        "2016: 0.33).")
    reference_cost: float = _f(
        100.0, "CNY per tonne",
        "c_0: generalized freight cost at which trade costs bend from 1 to the power law.")
    trade_cost_form: str = _f(
        "power", "",
        "Form of iceberg trade costs in generalized freight cost c: `power` "
        "τ = (1 + c/c_0)^ψ [N3] or `exponential` τ = exp(a·c/c_0) [N3e] (racetrack economies; "
        "Akamatsu, Takayama & Ikeda 2012).",
        choices=TRADE_COST_FORMS)
    trade_cost_rate: float = _f(
        0.33, "per c_0 of cost",
        "a: rate of exponential trade costs τ = exp(a·c/c_0) (`trade_cost_form: exponential`); "
        "the default equals ψ, so both forms have the same slope at zero cost.")
    value_of_time_freight: float = _f(5.0, "CNY per tonne-hour", "v_F: value of time of freight.")
    value_of_time_passenger: float = _f(30.0, "CNY per hour", "v_P: value of time of passengers.")
    agglomeration: float = _f(
        0.05, "elasticity",
        "α: productivity elasticity with respect to residents (default of sectors without their "
        "own).")
    amenity_elasticity: float = _f(
        0.0, "elasticity",
        "β: amenity spillover of mobile workers (< 0: congestion).")
    sector_elasticity: float = _f(2.0, "", "κ: worker-sector choice elasticity within a place.")
    migration_rule: str = _f(
        "logit", "",
        "Migration dynamics: `logit` (frictional logit), `replicator` (Fujita-Krugman-Venables) or "
        "`none` (frozen).",
        choices=MIGRATION_RULES)
    migration_elasticity: float = _f(
        1.5, "",
        "ε: logit elasticity of migration with respect to utility.")
    reconsider_share: float = _f(
        0.10, "share per year",
        "s: share of mobile workers reconsidering their location each year.")
    migration_cost_fixed: float = _f(2.0, "log utility", "κ_0: fixed moving cost.")
    migration_cost_per_hour: float = _f(
        0.0, "log utility per hour",
        "κ_1: moving cost per hour of passenger travel (linear in time; the default puts "
        "distance in the log term `migration_distance_elasticity`).")
    migration_cost_external: float = _f(
        4.0, "log utility",
        "κ_X: extra cost of moving across the region's boundary (to or from an external place).")
    replicator_speed: float = _f(
        0.5, "",
        "γ: speed of replicator migration (numerical; rest points do not depend on it).")
    hukou_cost: float = _f(
        0.0, "log utility",
        "κ_H: utility cost of giving up local registration when leaving (logit migration).")
    hukou_share: float = _f(
        1.0, "share",
        "Base-year share of mobile workers registered where they live.")
    hukou_conversion: float = _f(
        0.10, "share per year",
        "h: annual conversion of migrants to local registration.")
    firm_dynamics: str = _f(
        "free_entry", "",
        "`free_entry` (zero-profit firm masses) or `entry_exit` (firm demography: entry, exit, "
        "relocation, productivity shocks).",
        choices=FIRM_DYNAMICS)
    firm_exit_rate: float = _f(
        0.05, "share per year",
        "δ: exogenous exit hazard of firms (entry_exit).")
    firm_loss_exit: float = _f(
        0.5, "share per year",
        "χ: exit probability of a loss-making firm (entry_exit).")
    firm_profit_noise: float = _f(
        0.25, "fixed costs",
        "b: scale of transitory logistic profit shocks (entry_exit).")
    firm_entry_rate: float = _f(
        0.08, "share of base-year firms",
        "ν: potential entrants per year (entry_exit).")
    firm_entry_logit: float = _f(
        2.0, "per fixed cost",
        "λ: logit scale of entry and relocation choices (entry_exit).")
    firm_entry_cost: float = _f(0.5, "fixed costs", "f^e: entry cost (entry_exit).")
    firm_relocation_share: float = _f(
        0.02, "share per year",
        "ϱ: share of firms reconsidering their location each year (entry_exit).")
    firm_moving_cost: float = _f(1.0, "fixed costs", "c: cost of relocating a firm (entry_exit).")
    productivity_persistence: float = _f(
        0.9, "",
        "ρ_z: AR(1) persistence of log firm productivity (entry_exit).")
    productivity_dispersion: float = _f(
        0.5, "log points",
        "s_z: stationary standard deviation of log firm productivity (entry_exit).")
    productivity_levels: int = _f(
        7, "",
        "Q: number of productivity levels of the Rouwenhorst grid (entry_exit).")
    firm_spinup_max: int = _f(
        300, "rounds",
        "Maximum rounds of the base-year firm spin-up (entry_exit).")
    migration_distance_elasticity: float = _f(
        1.0, "",
        "δ: elasticity of migration flows with respect to (1 + travel hours) [D2]; gravity "
        "estimates of migration in China are about 1 (range 0.5–1.5).")
    migration_size_elasticity: float = _f(
        1.0, "",
        "ζ: weight of destination size (base-year residents) in the migration choice [D1]; 1 "
        "treats a place of S residents as S elementary destinations (Ben-Akiva & Lerman 1985).")
    drift: str = _f(
        "persist", "",
        "How calibrated drifts of fundamentals continue after the base year [D5]: `persist`, "
        "`decay` (half-life `drift_halflife`) or `stop`.",
        choices=DRIFT_RULES)
    drift_halflife: float = _f(
        10.0, "years", "Half-life of the drifts' yearly rate under `drift: decay` [D5].")


@dataclass(frozen=True)
class Solver:
    """Numerical settings of the equilibrium fixed point."""

    tol: float = _f(
        1e-10, "log wage",
        "Convergence tolerance: stop when every log sector wage changes by less than this.")
    max_iter: int = _f(
        10_000, "iterations",
        "Iteration limit; reaching it raises a ConvergenceError (no results are written).")
    damping: float = _f(0.5, "", "Damping d of the fixed-point update x ← x + d (Φ(x) − x).")
    anderson: int = _f(
        5, "iterates",
        "Anderson acceleration history length (0: plain damped iteration).")
    freeness_precision: str = _f(
        "float64", "",
        "Storage of the trade freeness matrices: `float32` halves their memory and the bytes "
        "each equilibrium evaluation streams (sums stay float64); solved wages move by a few "
        "1e-9 relative, above `tol` (docs/performance.md). For country-scale regions.",
        choices=FREENESS_PRECISIONS)


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

    households: int = _f(
        100_000, "agents",
        "Household agents; each represents (base-year internal population) / households workers.")
    firms: int = _f(
        100_000, "agents",
        "Firm agents; each represents (base-year firm mass) / firms firms.")


@dataclass(frozen=True)
class TimeSpan:
    """Simulated years ``start..end`` inclusive, annual steps."""

    start: int = _f(2020, "year", "First simulated year (the base year).")
    end: int = _f(2035, "year", "Last simulated year (inclusive, >= start); annual steps.")


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
    reference_cost_cny : float or None
        Spending at which the stated magnitudes hold (None: ``cost_cny``) [P9].
    spending_elasticity : float
        Elasticity of the lever's strength with respect to spending [P9].
    central_share : float
        Share of the cost paid by central transfers; the province taxes its output for the
        rest [P10].
    """

    start: int = _f(unit="year", doc="First year in which the policy acts.")
    end: int | None = _f(
        None, "year",
        "First year in which it no longer acts (> start); null: permanent.")
    label: str = _f("", "", "Free text shown in reports (e.g. the plan clause it models).")
    cost_cny: float = _f(
        0.0, "bn CNY",
        "Public cost, total over the policy's life (cost-effectiveness indicators).")
    reference_cost_cny: float | None = _f(
        None, "bn CNY",
        "Spending at which the policy's stated magnitudes hold [P9]; null: `cost_cny` (the "
        "magnitudes are the effect of the stated cost). With another `cost_cny` the strength "
        "scales by (cost_cny / reference_cost_cny) ** spending_elasticity.")
    spending_elasticity: float = _f(
        0.5, "",
        "η of [P9]: elasticity of the lever's strength with respect to its spending, in [0, 1] "
        "(concave: diminishing returns; 0: spending does not matter). Link policies do not "
        "scale.")
    central_share: float = _f(
        1.0, "share",
        "Share of `cost_cny` paid by central transfers [P10], in [0, 1]; the rest is paid by "
        "the province through a proportional tax on its output in the spending years.")

    type = "policy"


@dataclass(frozen=True)
class LinkPolicy(Policy):
    """Open, upgrade or close a transport link.

    ``action: open`` adds a link; ``upgrade`` replaces km/hours/fixed_cost/capacity (and
    optionally the mode, via ``new_mode``) of an existing link ``from-to-mode``; ``close``
    removes it.
    """

    action: str = _f(
        "open", "",
        "`open` adds a link; `upgrade` replaces the given attributes of an existing link "
        "`from`-`to` by `mode`; `close` removes it.",
        choices=("open", "upgrade", "close"))
    from_: str = _f("", "", "Place id of one end.")
    to: str = _f("", "", "Place id of the other end.")
    mode: str = _f(
        "", "",
        "Mode id of the link (to open, or of the existing link to upgrade or close).")
    km: float | None = _f(
        None, "km",
        "Length (required by `open`; `upgrade`: null keeps the old value).")
    hours: float | None = _f(
        None, "hours",
        "Travel time (required by `open`; `upgrade`: null keeps the old value).")
    fixed_cost: float | None = _f(
        None, "CNY per tonne and per trip",
        "Extra fixed cost (`open`: null is 0; `upgrade`: null keeps the old value).")
    new_mode: str | None = _f(None, "", "`upgrade` only: the link's new mode id; null: unchanged.")
    capacity: float | None = _f(
        None, "bn CNY of goods a year",
        "Freight capacity (`open`: null is uncongested; `upgrade`: null keeps the old value).")

    type = "link"


@dataclass(frozen=True)
class ProductivityPolicy(Policy):
    """Multiply the productivity fundamental of named sectors in named places.

    The log of ``factor`` is phased in linearly over ``phase_in`` years (0: at once).
    Empty ``places``/``sectors`` mean all internal places / all sectors.
    """

    places: tuple[str, ...] = _f((), "", "Internal place ids; empty: all internal places.")
    sectors: tuple[str, ...] = _f((), "", "Sector ids; empty: all sectors.")
    factor: float = _f(1.0, "multiplier", "Multiplies the productivity fundamental Ā_nk.")
    phase_in: int = _f(0, "years", "Years over which the factor phases in (0: at once).")

    type = "productivity"


@dataclass(frozen=True)
class AmenityPolicy(Policy):
    """Multiply the amenity fundamental of named places (phased in like productivity)."""

    places: tuple[str, ...] = _f((), "", "Internal place ids; empty: all internal places.")
    factor: float = _f(1.0, "multiplier", "Multiplies the amenity fundamental B̄_n.")
    phase_in: int = _f(0, "years", "Years over which the factor phases in (0: at once).")

    type = "amenity"


@dataclass(frozen=True)
class ExternalDemandPolicy(Policy):
    """Multiply the exogenous income (expenditure) of named external places."""

    places: tuple[str, ...] = _f((), "", "External place ids; empty: all external places.")
    factor: float = _f(1.0, "multiplier", "Multiplies the exogenous income Y_j.")
    phase_in: int = _f(0, "years", "Years over which the factor phases in (0: at once).")

    type = "external_demand"


@dataclass(frozen=True)
class FirmSubsidyPolicy(Policy):
    """Pay a share ``rate`` of the fixed cost of firms in named places and sectors.

    Acts on firm decisions (exit, entry, relocation: [F1]) under ``firm_dynamics: entry_exit``.
    """

    places: tuple[str, ...] = _f((), "", "Internal place ids; empty: all internal places.")
    sectors: tuple[str, ...] = _f((), "", "Sector ids; empty: all sectors.")
    rate: float = _f(
        0.0, "share of fixed cost",
        "Share of firms' fixed cost paid by the policy (raises profits [F1]; subsidies of several "
        "policies add up, capped at 0.99).")
    phase_in: int = _f(0, "years", "Years over which the rate phases in (0: at once).")

    type = "firm_subsidy"


@dataclass(frozen=True)
class EntryCostPolicy(Policy):
    """Multiply the entry cost of firms entering named places and sectors ([F5])."""

    places: tuple[str, ...] = _f((), "", "Internal place ids; empty: all internal places.")
    sectors: tuple[str, ...] = _f((), "", "Sector ids; empty: all sectors.")
    factor: float = _f(1.0, "multiplier", "Multiplies the entry cost f^e_nk of entrants [F5].")
    phase_in: int = _f(0, "years", "Years over which the factor phases in (0: at once).")

    type = "entry_cost"


@dataclass(frozen=True)
class ClusterPolicy(Policy):
    """Cluster or corridor investment in named sectors and places.

    Productivity (``factor``) and entry costs (``entry_cost_factor``) of the named sectors in
    the named places change, with spillovers to the other places of the ``corridor`` (their
    productivity factor is ``factor ** spillover``). Empty ``sectors``: all.
    """

    places: tuple[str, ...] = _f(
        (), "",
        "Internal place ids of the cluster; empty: all internal places.")
    sectors: tuple[str, ...] = _f((), "", "Sector ids; empty: all sectors.")
    factor: float = _f(
        1.0, "multiplier",
        "Multiplies the productivity Ā_nk of the named sectors in the named places.")
    entry_cost_factor: float = _f(1.0, "multiplier", "Multiplies their entry cost f^e_nk.")
    corridor: tuple[str, ...] = _f(
        (), "",
        "Internal place ids receiving the spillover (places of the cluster itself excluded).")
    spillover: float = _f(0.0, "share", "s: corridor places' productivity factor is `factor ** s`.")
    phase_in: int = _f(0, "years", "Years over which the factors phase in (0: at once).")

    type = "cluster"


@dataclass(frozen=True)
class InnovationPolicy(Policy):
    """Innovation base: productivity growth of knowledge sectors, with spillovers.

    Productivity of the ``sectors`` at ``place`` grows by ``growth`` a year while active; other
    places get ``spillover * exp(-ln 2 * t / halflife_hours)`` of the log effect, t the
    passenger travel time from the base in hour-equivalents.
    """

    place: str = _f("", "", "Internal place id of the innovation base.")
    sectors: tuple[str, ...] = _f((), "", "Knowledge sector ids; empty: all sectors.")
    growth: float = _f(
        0.0, "per year",
        "Productivity growth of the sectors at the base while active (the accumulated gain "
        "persists after `end`).")
    spillover: float = _f(
        1.0, "share",
        "Share of the log effect reaching other places at zero travel time.")
    halflife_hours: float = _f(
        12.0, "hours",
        "Passenger travel time (hour-equivalents) from the base over which the spillover halves.")

    type = "innovation"


@dataclass(frozen=True)
class EnergyBasePolicy(Policy):
    """Energy base: cheaper renewable power at one place, up to a capacity.

    Power at ``place`` is cheaper by ``price_cut`` (share) for all sectors up to
    ``capacity`` (bn CNY of power a year at the old price); acts through sectors' energy
    shares.
    """

    place: str = _f("", "", "Internal place id of the energy base.")
    price_cut: float = _f(0.0, "share", "Cut in the power price at the base, for all sectors.")
    capacity: float | None = _f(
        None, "bn CNY of power a year",
        "Cheaper power available, at the old price; null: unlimited.")
    phase_in: int = _f(0, "years", "Years over which the price cut phases in (0: at once).")

    type = "energy_base"


@dataclass(frozen=True)
class IntegrationPolicy(Policy):
    """Integration of two places (trade, migration, labour-market pooling).

    Trade costs and migration costs between them are multiplied by factors; ``pooling`` adds
    that share of the partner's residents to each one's agglomeration density (labour-market
    pooling).
    """

    between: tuple[str, ...] = _f((), "", "Exactly two internal place ids.")
    trade_cost_factor: float = _f(
        1.0, "multiplier",
        "Multiplies the iceberg trade cost τ between them.")
    migration_cost_factor: float = _f(
        1.0, "multiplier",
        "Multiplies the migration cost κ between them.")
    pooling: float = _f(
        0.0, "share",
        "Share of the partner's residents added to each one's agglomeration density (labour-market "
        "pooling).")
    phase_in: int = _f(0, "years", "Years over which the changes phase in (0: at once).")

    type = "integration"


@dataclass(frozen=True)
class TourismPolicy(Policy):
    """Tourism loop: visitors' multi-stop trips and spending along a route.

    ``visitors`` (millions a year) make multi-stop trips along ``places`` and
    spend ``spend_per_visitor`` (thousand CNY) on ``sector`` at each stop in proportion to
    ``weights`` (default equal); destinations' amenity rises by ``amenity_factor``.
    """

    places: tuple[str, ...] = _f((), "", "Internal place ids of the stops of the loop.")
    weights: tuple[float, ...] = _f(
        (), "",
        "Stop weights, one per place (spending is split in proportion); empty: equal.")
    visitors: float = _f(0.0, "millions of trips a year", "Visitors making the multi-stop trip.")
    spend_per_visitor: float = _f(
        0.0, "thousand CNY per trip",
        "Spending per visitor on `sector`, split over the stops.")
    sector: str = _f(
        "tourism", "",
        "Sector id receiving the spending (normally a non-traded tourism sector).")
    amenity_factor: float = _f(1.0, "multiplier", "Multiplies the amenity of the stops.")
    phase_in: int = _f(0, "years", "Years over which visitors and amenity phase in (0: at once).")

    type = "tourism"


@dataclass(frozen=True)
class OpenZonePolicy(Policy):
    """Open-economy zone: lower border and port frictions, growing partner markets.

    Fixed costs of border-crossing and sea links touching ``places`` are
    multiplied by ``border_cost_factor``; income of the ``partners`` (external places)
    multiplied by ``demand_factor`` (market growth, e.g. bonded and border-trade zones).
    """

    places: tuple[str, ...] = _f(
        (), "",
        "Internal place ids of the zone; empty: no border-cost change.")
    border_cost_factor: float = _f(
        1.0, "multiplier",
        "Multiplies the fixed cost of `border_crossing` and `sea` links touching the zone's "
        "places.")
    partners: tuple[str, ...] = _f(
        (), "",
        "External place ids of the partner markets; empty: no demand change.")
    demand_factor: float = _f(1.0, "multiplier", "Multiplies the partners' income Y_j.")
    phase_in: int = _f(0, "years", "Years over which the factors phase in (0: at once).")

    type = "open_zone"


@dataclass(frozen=True)
class CounterpartPolicy(Policy):
    """Counterpart cooperation: firms relocating into the region from an external place.

    ``firms_per_year`` firms (mass units) relocate from an external
    ``origin`` into ``places`` x ``sectors`` (split equally) each year (entry_exit only).
    """

    origin: str = _f("", "", "External place id the firms come from.")
    places: tuple[str, ...] = _f(
        (), "",
        "Internal place ids receiving firms; empty: all internal places.")
    sectors: tuple[str, ...] = _f((), "", "Sector ids; empty: all sectors.")
    firms_per_year: float = _f(
        0.0, "firms (mass units) a year",
        "Firms relocating in each year, split equally over places x sectors (entry_exit only).")

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

    name: str = _f(
        unit="",
        doc="Scenario name, used in results folder names; default: the file stem; never inherited "
            "through `extends`; must not contain `/` or a backslash.")
    region: Region = _f(
        unit="",
        doc="Places, sectors, links, modes and place-sector detail (inline, CSV tables or a region "
            "pack).")
    description: str = _f("", "", "Free text, copied to the run manifest.")
    seed: int = _f(0, "", "Seed of every random stream (`sim run --seed` overrides).")
    resolution: str = _f(
        "aggregate", "",
        "`aggregate` (continuum of firms and households) or `agents` (agent populations; needs "
        "`parameters.firm_dynamics: entry_exit` and logit or no migration).",
        choices=RESOLUTIONS)
    agents: Agents = _f(
        unit="",
        doc="Agent counts at `resolution: agents`.",
        default_factory=Agents)
    time: TimeSpan = _f(
        unit="",
        doc="Simulated years, inclusive, annual steps.",
        default_factory=TimeSpan)
    parameters: Parameters = _f(
        unit="",
        doc="Uncertain structural assumptions (defaults and sources: docs/model.md §7).",
        default_factory=Parameters)
    solver: Solver = _f(
        unit="",
        doc="Numerical settings of the equilibrium fixed point.",
        default_factory=Solver)
    policies: tuple[Policy, ...] = _f((), "", "Policy levers, each with a `type`.")
    calibrate: bool = _f(
        False, "",
        "Invert productivity and amenities to the base year before running (docs/model.md §5b).")
    groups: tuple[tuple[str, tuple[str, ...]], ...] = _f(
        (), "",
        "Named lists of internal place ids for the indicators (docs/indicators.md): `core` (its "
        "first place: primacy), `circle` (radiation), any other name (its GDP share); the reserved "
        "`foreign` lists external places abroad (links to them carry the border and port trade).")
    schema_version: int = _f(
        SCHEMA_VERSION, "",
        "Version of the scenario format; every file must state it (this version of sim reads 1).")
    source: str | None = _f(
        None, "",
        "Set by the loader: the path of the scenario file.",
        compare=False)


def field_names(cls) -> tuple[str, ...]:
    """Names of a dataclass's fields, in declaration order."""
    return tuple(f.name for f in fields(cls))


def draws_random_numbers(sc: Scenario) -> bool:
    """Whether a run of ``sc`` draws random numbers, so that its seed can change its results.

    Only agent populations draw (``resolution: agents``: sampling the households and firms of
    the base year, their moves, conversions, entries, exits and births; docs/model.md). At
    aggregate resolution the engine is deterministic: runs that differ only in seed give the
    same tables (``tests/test_sweep.py`` checks it), and a sweep computes one of them.
    """
    return sc.resolution == "agents"


def calibration_problem(sc: Scenario) -> Scenario:
    """The calibration problem of a scenario: policies, seed and labels removed.

    Calibration ignores policies and draws no random numbers, so scenarios that differ only in
    policies, seed or labels (a plan and its baseline; the seeds and policy draws of a sweep)
    share one calibration. Of the place groups only the reserved ``foreign`` group matters (it
    sets which places take part in migration, docs/model.md [D1]), so it is kept.
    """
    return replace(sc, policies=(), seed=0, name="calibration", description="",
                   groups=tuple(g for g in sc.groups if g[0] == "foreign"), source=None)
