"""Sweeps: ensembles, parameter designs and sensitivity runs on any ``concurrent.futures`` executor.

A sweep file (YAML, ``schema_version: 1``) names scenario files, the structural parameters to
vary (a design: ``none``, ``grid``, ``lhs``, ``sobol`` or ``morris``) and the seeds. Every
combination (design point x scenario x seed) is one *member* run. The package follows the path
of a sweep:

* :mod:`sim.sweep.spec` parses and validates the sweep file and applies a point's values;
* :mod:`sim.sweep.design` draws the design matrix and lists the members;
* :mod:`sim.sweep.execute` runs members and calibrations on a local process pool, a local Dask
  cluster or an existing Dask scheduler (the engine is imported only inside the workers);
* :mod:`sim.sweep.store` writes the folder: manifest, one atomic part per finished member
  (what ``--resume`` reads), consolidated tables and sensitivity outputs at the end;
* :mod:`sim.sweep.run` ties them together in :func:`run_sweep`.

Reading a finished sweep folder is :mod:`sim.results.sweeps` (``load_sweep``), which analysis
code uses without importing this package. May import: the foundation modules, ``sim.scenario``,
``sim.results``, ``sim.engine`` (inside workers), ``sim.analysis`` and ``sim.viz`` (the
sensitivity outputs written at the end of a Sobol or Morris sweep).
"""

from sim.errors import SweepError
from sim.results.sweeps import MANIFEST, Sweep, is_sweep_folder, load_sweep
from sim.sweep.design import (
    Plan,
    default_sweep_dir,
    design_matrix,
    latin_hypercube,
    plan_sweep,
    salib_problem,
)
from sim.sweep.execute import (
    _WORKER_SHARED,
    SharedInputs,
    _install_shared,
    _pool_call,
    open_executor,
    run_calibration,
    run_member,
)
from sim.sweep.run import run_sweep
from sim.sweep.spec import (
    DESIGN_KEYS,
    METHODS,
    PRIORS,
    SHARE_PARAMETERS,
    SPECIAL_PARAMETERS,
    Design,
    ParamSpec,
    SweepSpec,
    apply_parameters,
    calibration_scenario,
    load_sweep_spec,
)
from sim.sweep.store import PARTS, SWEEP_FORMAT

__all__ = [
    "DESIGN_KEYS", "MANIFEST", "METHODS", "PARTS", "PRIORS", "SHARE_PARAMETERS",
    "SPECIAL_PARAMETERS", "SWEEP_FORMAT", "Design", "ParamSpec", "Plan", "SharedInputs", "Sweep",
    "SweepError", "SweepSpec", "_WORKER_SHARED", "_install_shared", "_pool_call",
    "apply_parameters", "calibration_scenario", "default_sweep_dir", "design_matrix",
    "is_sweep_folder", "latin_hypercube", "load_sweep", "load_sweep_spec", "open_executor",
    "plan_sweep", "run_calibration", "run_member", "run_sweep", "salib_problem",
]
