"""Validation economies: the engine run against closed-form results from the literature.

Owns the core-periphery check (:mod:`sim.checks.cp`: break and sustain points found by simulating
the general engine, compared with Fujita, Krugman & Venables 1999). May import the foundation
modules, :mod:`sim.scenario` and :mod:`sim.engine`.
"""
