"""Imported last by the sweep pool's ``forkserver``: one native thread, pinned once for every fork.

:func:`sim.sweep.execute._pin_blas_threads` limits BLAS/OpenMP (threadpoolctl) and numba to one
thread. A worker calls it when it installs the shared inputs; run here, in the server, it
happens once, and every forked worker inherits the limit and the record of it, instead of
scanning the loaded libraries again (about 7 ms of CPU time per worker, before its first
task). The server's own thread pools are already one thread each (``sim._one_thread``), so this
starts no thread in the server. Never imported by the rest of ``sim``.
"""

from sim.sweep.execute import _pin_blas_threads

_pin_blas_threads()
