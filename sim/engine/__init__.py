"""The engine: from a validated scenario to simulated years.

Owns building arrays from a :class:`~sim.scenario.schema.Scenario` (:mod:`~sim.engine.build`),
yearly primitives and policies (:mod:`~sim.engine.primitives`), agent populations
(:mod:`~sim.engine.populations`), the Mesa model that steps the kernels
(:mod:`~sim.engine.model`), the recorder of tidy tables (:mod:`~sim.engine.recorder`),
calibration (:mod:`~sim.engine.calibrate`) and :func:`~sim.engine.runner.run_scenario`, which
returns :class:`sim.results.Results`. May import the foundation modules, :mod:`sim.scenario`,
:mod:`sim.kernels` and :mod:`sim.results`; it never writes files.
"""

# Mesa's model classes first, while few modules are loaded (see sim.engine.mesa_core)
from sim.engine import mesa_core as _mesa_core  # noqa: F401

# isort: split
# SimModel given a scenario path calibrates it like run_scenario does; the calibration module
# imports the model, so the model gets the function from here (no import circle).
from sim.engine import calibrate as _calibrate
from sim.engine import model as _model

_model.calibrator = _calibrate.calibrate_cached
