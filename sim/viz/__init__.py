"""Pictures and pages: what a reader sees of the analysis.

Owns the figures and network maps (:mod:`~sim.viz.figures`, matplotlib, PNG and SVG), written
outputs that combine tables with figures (:mod:`~sim.viz.outputs`: comparison folders, ensemble
band plots, sensitivity plots) and the self-contained HTML report (:mod:`~sim.viz.report`). May
import the foundation modules, :mod:`sim.results` and :mod:`sim.analysis`; never the engine.
"""
