"""One native thread per process, set before numpy loads (first import of the sweep forkserver).

The local process pool of :mod:`sim.sweep.execute` forks its workers from a ``forkserver``
process that has already imported the engine. A fork copies only the thread that calls it, so
the server must hold no other threads: OpenBLAS (and OpenMP, MKL, BLIS, numba) start their
thread pools when they load unless told otherwise, and so does the jemalloc allocator bundled
with pyarrow (which pandas loads): a background purging thread. The only way to tell them before
they load is the environment. Importing this module sets each library's thread count to 1 and
turns jemalloc's background thread off in the current process (workers run one thread each
anyway: a sweep already uses every core with its processes; pyarrow allocates through mimalloc
by default, and jemalloc then purges on allocation instead of in a thread). It is imported only
as the first preload module of that server, never by the rest of ``sim``.
"""

from __future__ import annotations

import os

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
               "NUMBA_NUM_THREADS")
"""Environment variables read by native thread pools when they load (set to ``"1"``)."""

JEMALLOC_VAR = "JE_ARROW_MALLOC_CONF"
"""Options of pyarrow's bundled jemalloc; later options override earlier ones."""

for _var in THREAD_VARS:
    os.environ[_var] = "1"
os.environ[JEMALLOC_VAR] = ",".join(filter(None, [os.environ.get(JEMALLOC_VAR),
                                                  "background_thread:false"]))
