"""sim: a scenario-modelling engine for regional development.

Public API::

    import sim
    sc = sim.load_scenario("scenarios/validation/cp.yaml")
    res = sim.run_scenario(sc, seed=1)
    res.places      # tidy pandas table (year, place, population, gdp, wage, ...)

Names are imported lazily (PEP 562), so that ``import sim.results`` or ``sim.compare(...)``
(``sim.analysis.comparison``) does not import the model, the kernels or Mesa.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "load_scenario": "sim.scenario.load",
    "dump_scenario": "sim.scenario.load",
    "run_scenario": "sim.engine.runner",
    "Results": "sim.results",
    "load_results": "sim.results",
    "compare": "sim.analysis.comparison",
    "headline": "sim.analysis.headline",
    "indicators": "sim.analysis.indicators",
    "effects": "sim.analysis.indicators",
    "write_report": "sim.viz.report",
    "write_results": "sim.results",
    "ScenarioError": "sim.errors",
    "ConvergenceError": "sim.errors",
    "SimError": "sim.errors",
    "run_sweep": "sim.sweep",
    "load_sweep": "sim.sweep",
    "decompose": "sim.sweep.decompose",
    "optimize": "sim.sweep.optimize",
    "load_decomposition": "sim.results.decompositions",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
