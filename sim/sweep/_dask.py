"""Dask glue for sweeps: the shared inputs travel to every worker once, as a worker plugin.

Imported only when a sweep runs on Dask (``distributed`` is the optional ``dask`` extra). The
plugin object holds the sweep's :class:`sim.sweep.SharedInputs`; the scheduler sends it to each
worker (present and joining later) exactly once, ``setup`` installs it in the worker process
under its token, and every task looks it up there, the same way the process pool's
``initializer`` does. (Scattering it with ``broadcast=True`` instead is not enough: Dask's
active memory manager may drop the extra replicas, and a worker then fetches the payload again
for a later task.)
"""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin


class SharedInputsPlugin(WorkerPlugin):
    """Install a sweep's shared inputs in every Dask worker process (once per worker).

    Parameters
    ----------
    shared : sim.sweep.SharedInputs
    install, release : callable
        ``install(shared)`` and ``release(token)`` in the worker process (module-level functions
        of :mod:`sim.sweep.execute`, pickled by reference, so this module imports nothing of
        ``sim``).
    """

    def __init__(self, shared, install, release):
        self.shared = shared
        self.install = install
        self.release = release
        self.name = f"sim-shared-{shared.token}"

    def setup(self, worker):
        """Called once on each worker: make the payload available to tasks by token."""
        self.install(self.shared)

    def teardown(self, worker):
        """Called when the sweep unregisters the plugin: release the payload."""
        self.release(self.shared.token)
