"""The interactive dashboard (``sim dashboard``): a Solara web app for economists.

Owns the page (:mod:`~sim.dashboard.app`: choose a region pack and scenarios, switch the plan's
pillars on and off and scale their levers, run, see the map, the time series and the headline
against the baseline, download the results folder as a zip or an Excel workbook) and the logic
behind it (:mod:`~sim.dashboard.core`: pillars from policy labels, scaled scenario variants,
runs written as ordinary results folders). It reaches the engine only through
``sim.engine.runner`` and draws with :mod:`sim.viz`.
"""
