"""Analysis of results: what researchers compute from results folders.

Owns the yearly indicators and whole-horizon effects (:mod:`~sim.analysis.indicators`), the
headline of a plan against its baseline (:mod:`~sim.analysis.headline`), aligned comparisons
of runs (:mod:`~sim.analysis.comparison`), ensemble bands (:mod:`~sim.analysis.ensemble`) and
Sobol/Morris indices (:mod:`~sim.analysis.sensitivity`). Returns pandas tables; draws nothing.
May import the foundation modules and :mod:`sim.results` only: never the engine, the kernels or
Mesa, so reading results stays light.
"""
