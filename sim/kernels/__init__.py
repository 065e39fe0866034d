"""Pure array kernels: the economics as functions over numpy arrays.

Owns the performance-critical core: shortest paths and trade costs (:mod:`~sim.kernels.network`),
the static equilibrium (:mod:`~sim.kernels.equilibrium`), migration (:mod:`~sim.kernels.migration`),
discrete choice (:mod:`~sim.kernels.choice`), firm and household dynamics. Each function documents
the equation it implements, its units and shapes, and its source. No I/O, no Mesa, no scenario
objects: the kernels import numpy, scipy and the foundation modules (dtypes, errors) only, and
numba in :mod:`~sim.kernels.dense` (dense times thin products at streaming bandwidth).
"""
