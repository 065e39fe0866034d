"""Default transport-mode table (documented in docs/model.md, section "Transport network").

Freight per-km costs are typical Chinese 2020 tariffs in CNY per tonne-km; terminal costs are
per tonne (loading, unloading, transshipment) and are paid half on entering and half on leaving
a mode. Passenger per-km costs are typical fares in CNY per passenger-km. All are assumptions
(documented with their basis in docs/model.md), overridable per scenario under ``region.modes``.
"""

from .schema import Mode

DEFAULT_MODES: tuple[Mode, ...] = (
    Mode("road", cost_per_km_freight=0.40, cost_per_km_passenger=0.50,
         terminal_cost_freight=10.0, terminal_cost_passenger=5.0),
    Mode("expressway", cost_per_km_freight=0.35, cost_per_km_passenger=0.55,
         terminal_cost_freight=10.0, terminal_cost_passenger=5.0),
    Mode("rail", cost_per_km_freight=0.15, cost_per_km_passenger=0.15,
         terminal_cost_freight=40.0, terminal_cost_passenger=10.0),
    Mode("hsr", freight=False, cost_per_km_freight=0.0, cost_per_km_passenger=0.46,
         terminal_cost_freight=0.0, terminal_cost_passenger=15.0),
    Mode("sea", passenger=False, cost_per_km_freight=0.03, cost_per_km_passenger=0.0,
         terminal_cost_freight=60.0, terminal_cost_passenger=0.0),
    Mode("border_crossing", cost_per_km_freight=0.40, cost_per_km_passenger=0.50,
         terminal_cost_freight=10.0, terminal_cost_passenger=5.0),
)
