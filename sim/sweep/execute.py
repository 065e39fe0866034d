"""Running members on an executor.

The unit of work (:func:`run_member`), calibrations, shared inputs sent once per worker, and the
executors (local process pool, local Dask cluster, existing Dask scheduler) behind one
``concurrent.futures`` interface.

Imports the engine only inside the worker functions (``sim.engine.runner.run_scenario``,
``sim.engine.calibrate.calibrate``), so planning and reading stay light.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import multiprocessing
import os
import queue
import signal
import socket
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from sim.errors import SweepError
from sim.results.folder import _pid_alive
from sim.sweep import store
from sim.sweep.design import Plan, seed_twins
from sim.sweep.spec import apply_parameters, calibration_scenario

_SHARED_LOADS: dict = {}
"""Times each shared payload (by token) was unpickled in this process (tests: once per worker).

Counted per payload token, so that a long-lived Dask worker serving several sweeps reports each
sweep's payload separately."""
_WORKER_SHARED: dict = {}
"""Shared inputs installed in this worker process, by token (see ``_install_shared``)."""


class SharedInputs:
    """What every member needs: the resolved scenarios by name (sent once per worker).

    Unpickling increments this module's ``_SHARED_LOADS[token]`` in the receiving process,
    which every result reports, so that tests can check the payload travelled once per worker.
    The token is drawn once per sweep session (``uuid4``; it never enters any result table).
    """

    def __init__(self, scenarios: dict):
        self.scenarios = dict(scenarios)
        self.token = uuid.uuid4().hex

    def __getstate__(self):
        return {"scenarios": self.scenarios, "token": self.token}

    def __setstate__(self, state):
        self.__dict__.update(state)
        _SHARED_LOADS[self.token] = _SHARED_LOADS.get(self.token, 0) + 1

    @property
    def loads(self) -> int:
        """How often this payload was unpickled in the current process (0 in the parent)."""
        return _SHARED_LOADS.get(self.token, 0)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextlib.contextmanager
def _counting_warnings(out: dict):
    """Record numerical warnings as a count in ``out['warnings']`` instead of on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            yield
        finally:
            out["warnings"] = len(caught)


def run_member(shared: SharedInputs, member: dict) -> dict:
    """Run one member of a sweep (the unit of work on every executor).

    Parameters
    ----------
    shared : SharedInputs
        The scenarios by name.
    member : dict
        ``run_id``, ``scenario`` (name), ``params`` (dict), ``seed``, ``end_year`` and, for
        calibrated scenarios, ``places`` (the calibrated places; the member then runs with
        ``calibrate`` off) and ``spinups`` (the calibration's base-year firm spin-ups, reused
        instead of recomputed: :func:`sim.engine.model.recording_spinups`).

    Returns
    -------
    dict
        ``run_id``, ``status`` (``ok``/``failed``), ``error`` (text), ``wall_time_s``,
        ``worker`` (host:pid), ``shared_loads``, ``warnings`` (numerical warnings raised
        during the run, counted instead of printed) and the ``places`` and ``sectors`` tables
        (None on failure). Exceptions are caught: a failing member never stops the sweep.
    """
    t0 = time.perf_counter()
    out = {"run_id": member["run_id"], "status": "ok", "error": "", "worker": _worker_id(),
           "shared_loads": shared.loads, "places": None, "sectors": None}
    try:
        from sim.engine.runner import run_scenario

        sc = apply_parameters(shared.scenarios[member["scenario"]], member["params"])
        if member.get("places") is not None:
            sc = dataclasses.replace(sc, calibrate=False, region=dataclasses.replace(
                sc.region, places=member["places"]))
        if member.get("spinups"):
            from sim.engine.model import add_spinups

            add_spinups(member["spinups"])
        with _counting_warnings(out):
            res = run_scenario(sc, seed=member["seed"], end_year=member["end_year"])
        out["places"], out["sectors"] = res.places, res.sectors
    except Exception as e:  # recorded, never raised: one failing run does not stop a sweep
        out.update(status="failed", error=f"{type(e).__name__}: {e}")
    out["wall_time_s"] = round(time.perf_counter() - t0, 4)
    return out


def run_calibration(shared: SharedInputs, job: dict) -> dict:
    """Calibrate one calibration problem (see :func:`calibration_scenario`) on a worker.

    Returns
    -------
    dict
        ``key``, ``status``, ``error``, ``places`` (calibrated), ``spinups`` (the base-year
        firm spin-ups the calibration used, for its members), ``wall_time_s``, ``worker``.
    """
    t0 = time.perf_counter()
    out = {"key": job["key"], "status": "ok", "error": "", "places": None,
           "worker": _worker_id(), "shared_loads": shared.loads}
    try:
        from sim.engine.calibrate import calibrate
        from sim.engine.model import recording_spinups

        sc = apply_parameters(shared.scenarios[job["scenario"]], job["params"])
        with _counting_warnings(out), recording_spinups() as spinups:
            cal, _ = calibrate(calibration_scenario(sc))
        out["places"], out["spinups"] = cal.region.places, spinups
    except Exception as e:
        out.update(status="failed", error=f"{type(e).__name__}: {e}")
    out["wall_time_s"] = round(time.perf_counter() - t0, 4)
    return out


def _install_shared(shared: SharedInputs) -> None:
    """Keep ``shared`` in this worker process under its token (pool initializer, Dask plugin).

    Also pins BLAS to one thread in the worker: sweep workers already use every core, and two
    BLAS threads per worker on two cores double solve times under contention.
    """
    _WORKER_SHARED[shared.token] = shared
    _pin_blas_threads()


_BLAS_LIMIT = []


def _pin_blas_threads() -> None:
    """One BLAS/OpenMP thread in this process (threadpoolctl), kept for the process's life.

    numba's thread count (``numba.get_num_threads()``: the compiled shortest paths, and the
    threads the compiled products of ``sim.kernels.dense`` split their work among) is pinned
    likewise: through ``NUMBA_NUM_THREADS`` if numba is not loaded yet, else
    ``numba.set_num_threads``.
    """
    if not _BLAS_LIMIT:
        from threadpoolctl import threadpool_limits

        _BLAS_LIMIT.append(threadpool_limits(limits=1))
        if "numba" in sys.modules:
            sys.modules["numba"].set_num_threads(1)
        else:
            os.environ["NUMBA_NUM_THREADS"] = "1"


PARENT_POLL_S = 0.5
"""Seconds between two looks at the parent process by the portable watcher thread."""
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _watch_parent(parent: int, poll: float) -> None:
    """Exit this process once ``parent`` is no longer its parent (it died; we were re-parented)."""
    while os.getppid() == parent:
        time.sleep(poll)
    os._exit(1)


def _die_with_parent(forked_by_server: bool = False) -> str:
    """Make this worker process end when the process that started it dies, even by SIGKILL.

    On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (through ``ctypes``): the kernel kills the
    worker when its parent's thread that started it exits, so no worker outlives a killed
    sweep (a pool is used and closed by the thread that opened it). Elsewhere, or if prctl is
    unavailable, a daemon thread checks ``os.getppid()`` every ``PARENT_POLL_S`` seconds and
    exits the process when the parent has changed. Either way, a parent that died before this
    ran is noticed at once.

    A worker forked by the pool's ``forkserver`` (``forked_by_server``) has the server as its
    parent, not the sweep's process: it watches the server, which ends as soon as the sweep's
    process has ended (its "alive" pipe reaches end of file). Every forked child inherits the
    write end of that pipe, which would keep the server up while any worker lives; the worker
    closes its copy here, after arming the watch, so the server cannot end in between unseen.

    Parameters
    ----------
    forked_by_server : bool
        The worker was started by the ``forkserver`` start method (else by ``spawn``).

    Returns
    -------
    str
        ``"prctl"`` or ``"poll"``: the mechanism in use.
    """
    if forked_by_server:
        parent = os.getppid()  # the server: alive, as this process still holds its pipe
    else:
        proc = multiprocessing.parent_process()  # the pool's process, known to the child
        parent = proc.pid if proc is not None and proc.pid else os.getppid()
    how = "poll"
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
                how = "prctl"
        except (OSError, AttributeError):
            pass
    if forked_by_server:
        _close_server_alive_pipe()
    if os.getppid() != parent:  # the parent is already gone
        os._exit(1)
    if how == "poll":
        threading.Thread(target=_watch_parent, args=(parent, PARENT_POLL_S), daemon=True,
                         name="sim-parent-watch").start()
    return how


def _close_server_alive_pipe() -> None:
    """Close this forked worker's copy of the forkserver's "alive" pipe (see above)."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
        server._forkserver_alive_fd = None


PRELOAD = ("sim._one_thread", "sim.sweep.execute", "sim.engine.runner", "sim.engine.calibrate",
           "threadpoolctl", "sim.sweep._preload")
"""Modules the pool's ``forkserver`` imports once, in this order, before it forks workers.

``sim._one_thread`` first: it sets the native thread pools to one thread before numpy loads,
so that the server holds no thread but its own when it forks. ``sim.sweep._preload`` last: it
pins them (threadpoolctl) once in the server, for every worker forked from it."""


def pool_context():
    """The ``multiprocessing`` context of local pool workers: ``forkserver`` where available.

    The server is started once per process (:func:`start_pool_server`) and imports
    :data:`PRELOAD` (the engine, Mesa's model modules, numpy, scipy, pandas) once; each worker
    is then a fork of it, ready in milliseconds instead of importing everything again as a
    ``spawn`` worker does (about 0.6 s of CPU time each). The server holds one thread when it
    forks, and Mesa's switch of the global default start method to ``spawn`` does not concern
    an explicit context. Where ``forkserver`` is unavailable (Windows): ``spawn``.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


POOL_TEMP_PREFIX = "pymp-sim-"
"""Name prefix (then the pid) of the temporary folder holding the pool server's socket."""


def _remove_pool_temp_dir(rmtree, path: str) -> None:
    rmtree(path, ignore_errors=True)
    cfg = multiprocessing.current_process()._config
    if cfg.get("tempdir") == path:
        cfg["tempdir"] = None


def own_pool_temp_dir() -> str | None:
    """Name this process's ``multiprocessing`` temporary folder, and remove those of dead sweeps.

    The ``forkserver`` listens on a Unix socket in a folder that ``multiprocessing`` creates in
    the system's temporary directory and removes when the process exits; a process killed with
    SIGKILL leaves it behind. This creates that folder as ``pymp-sim-<pid>-<random>`` (through
    the ``tempdir`` entry of the process configuration, which ``multiprocessing.util.get_temp_dir``
    reads), removed at exit as before, and first removes every ``pymp-sim-<pid>-*`` folder of
    this user whose process no longer exists: killed sweeps' folders are removed by the next
    sweep instead of accumulating. Leaves an already chosen folder alone. Returns the folder.
    """
    import shutil
    import tempfile

    cfg = multiprocessing.current_process()._config
    if cfg.get("tempdir") is not None:
        return cfg["tempdir"]
    for d in Path(tempfile.gettempdir()).glob(f"{POOL_TEMP_PREFIX}*-*"):
        head = d.name[len(POOL_TEMP_PREFIX):].split("-", 1)[0]
        if not head.isdigit() or int(head) == os.getpid() or _pid_alive(int(head)):
            continue
        with contextlib.suppress(OSError):
            if d.is_dir() and not d.is_symlink() and d.stat().st_uid == os.getuid():
                shutil.rmtree(d, ignore_errors=True)
    path = tempfile.mkdtemp(prefix=f"{POOL_TEMP_PREFIX}{os.getpid()}-")
    from multiprocessing import util

    util.Finalize(None, _remove_pool_temp_dir, args=(shutil.rmtree, path), exitpriority=-100)
    cfg["tempdir"] = path
    return path


def start_pool_server() -> None:
    """Start the pool's ``forkserver`` now if it is not running; returns at once.

    The server imports :data:`PRELOAD` in the background, so a sweep calls this before it
    loads and plans its scenarios and both overlap. Started with SIGINT ignored (see
    :func:`_workers_start_ignoring_ctrl_c`): the server and every worker forked from it
    ignore Ctrl-C, which is the sweep process's to handle. Does nothing under ``spawn``.
    """
    ctx = pool_context()
    if ctx.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    own_pool_temp_dir()
    with _workers_start_ignoring_ctrl_c():
        forkserver.ensure_running()


@contextlib.contextmanager
def _workers_start_ignoring_ctrl_c():
    """Start worker processes with SIGINT ignored from their first instruction.

    A spawned worker imports ``sim`` before :func:`_init_pool_worker` can ignore SIGINT; a
    Ctrl-C in that time (it goes to the whole foreground process group) would print the
    worker's ``KeyboardInterrupt`` traceback. An ignored signal disposition survives
    ``exec`` and Python keeps it, so the parent ignores SIGINT while it starts a worker
    (a few milliseconds, only while the pool is still starting its processes) and then
    restores its handler. Only the main thread can change handlers; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


RESULT_POLL_S = 0.1
"""How often the waiting loop of a sweep looks for a Ctrl-C recorded by
:func:`_ctrl_c_between_results` (seconds): the longest delay before a sweep reacts."""


@contextlib.contextmanager
def _ctrl_c_between_results():
    """Record Ctrl-C as a flag that the sweep's waiting loop turns into ``KeyboardInterrupt``.

    Python raises ``KeyboardInterrupt`` at the next bytecode of the main thread, which may be
    inside ``concurrent.futures``' own bookkeeping: ``wait()`` acquires the lock of every
    pending future in a Python loop, and ``submit()`` holds the pool's locks while it starts
    worker processes. An interrupt there leaves a lock held by the main thread; the pool's
    manager thread then blocks on it for good, and the interpreter hangs at exit after
    printing "interrupted" (seen once with 320 queued runs). While the sweep waits for results,
    a Ctrl-C therefore only sets a flag; the loop, which waits on a lock-free queue with a
    timeout of ``RESULT_POLL_S``, raises ``KeyboardInterrupt`` at a point where it holds no
    lock. Yields a function telling whether Ctrl-C was pressed. Only the main thread can
    install handlers, and a handler other than Python's default is left alone.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield lambda: False
        return
    hits = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: hits.append(signum))
    try:
        yield lambda: bool(hits)
    finally:
        signal.signal(signal.SIGINT, old)


def _init_pool_worker(shared: SharedInputs, start_method: str = "spawn") -> None:
    """Pool initializer: Ctrl-C is the parent's to handle; the worker dies with its parent.

    No worker tracebacks on Ctrl-C; :func:`_die_with_parent` ends the worker when the sweep's
    process is killed.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(forked_by_server=start_method == "forkserver")
    _install_shared(shared)


UNGUARDED = ("worker processes died while starting. If a script calls sim.run_sweep, put "
             "the call under `if __name__ == \"__main__\":` (worker processes import the "
             "script again), or pass workers=1 to run in this process")


def _stop_pool(pool) -> None:
    """Cancel pending work and end the workers now (interrupt or failure in the parent)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()


def _release_shared(token: str) -> None:
    """Drop the shared inputs of a finished sweep from this worker process."""
    _WORKER_SHARED.pop(token, None)


def _pool_call(fn, arg, token):
    """Run ``fn(shared, arg)`` with the shared inputs installed in this worker process."""
    try:
        shared = _WORKER_SHARED[token]
    except KeyError:
        raise SweepError(f"worker {_worker_id()} has no shared inputs for this sweep") from None
    return fn(shared, arg)






@dataclass
class _Exec:
    submit: object
    info: dict


@contextlib.contextmanager
def open_executor(shared: SharedInputs, *, workers: int | None = None, dask: bool = False,
                  scheduler: str | None = None):
    """A ``submit(fn, arg)`` that runs ``fn(shared, arg)`` on an executor; closes it on exit.

    Parameters
    ----------
    shared : SharedInputs
        Sent once to each worker: through the pool's ``initializer`` or, on Dask, as a worker
        plugin (``sim.sweep._dask.SharedInputsPlugin``); tasks find it in their process by token.
    workers : int, optional
        Worker processes (local pool or local Dask cluster; default ``os.cpu_count()``).
    dask : bool
        Start a local Dask ``LocalCluster`` (``workers`` processes, one thread each).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:PORT``).

    Yields
    ------
    _Exec
        ``submit(fn, arg) -> concurrent.futures.Future`` and ``info`` (executor kind, workers).
    """
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise SweepError(f"--workers must be >= 1, got {n}")
    if scheduler or dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - the dask extra is not installed
            raise SweepError("Dask executors need the 'dask' extra: pip install "
                             "'sim[dask]'") from None
        cluster = None
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as e:
                raise SweepError(f"cannot connect to the Dask scheduler {scheduler}: {e}") \
                    from None
        else:
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=40)
            client = Client(cluster)
        try:
            client.wait_for_workers(1, timeout=60)
            from sim.sweep._dask import SharedInputsPlugin

            plugin = SharedInputsPlugin(shared, _install_shared, _release_shared)
            client.register_plugin(plugin, name=plugin.name)
            nworkers = len(client.scheduler_info().get("workers", {}))
            ex = client.get_executor(pure=False)
            import dask

            yield _Exec(submit=lambda fn, arg: ex.submit(_pool_call, fn, arg, shared.token),
                        info={"executor": "dask-scheduler" if scheduler else "dask-local",
                              "workers": nworkers, "scheduler": scheduler,
                              "dask": dask.__version__})
        finally:
            with contextlib.suppress(Exception):
                client.unregister_worker_plugin(f"sim-shared-{shared.token}")
            client.close()
            if cluster is not None:
                cluster.close()
        return
    ctx = pool_context()
    start_pool_server()
    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_pool_worker,
                                  initargs=(shared, ctx.get_start_method()))

    def submit(fn, arg):
        if len(getattr(pool, "_processes", None) or ()) >= n:
            return pool.submit(_pool_call, fn, arg, shared.token)
        with _workers_start_ignoring_ctrl_c():  # this submit may start a worker process
            return pool.submit(_pool_call, fn, arg, shared.token)

    try:
        yield _Exec(submit=submit,
                    info={"executor": "process-pool", "workers": n,
                          "start_method": ctx.get_start_method()})
    except cf.process.BrokenProcessPool:
        _stop_pool(pool)
        raise SweepError(UNGUARDED) from None
    except BaseException:
        _stop_pool(pool)
        raise
    else:
        pool.shutdown(wait=True)




def _execute(plan: Plan, todo: list, parts: Path, *, workers, dask, scheduler, quiet, session,
             progress, done, frames: dict | None = None) -> None:
    """Run ``todo`` members (calibrations first where needed); write a part per member.

    ``frames``, if given, receives the tables of every part written (run id -> (places,
    sectors)), for the consolidation to use without reading them back.
    """
    # calibration problems of the pending members
    cal_jobs, waiting, ready = {}, {}, []
    keys = {}
    for m in plan.members:  # ids in member order: stable across resumes
        sc = plan.scenarios[m["scenario"]]
        if sc.calibrate:
            k = _calibration_key(apply_parameters(sc, m["params"]))
            keys.setdefault(k, f"c{len(keys):04d}")
    todo, same = _seed_groups(plan, todo)
    for m in todo:
        sc = plan.scenarios[m["scenario"]]
        if sc.calibrate:
            k = _calibration_key(apply_parameters(sc, m["params"]))
            cid = keys[k]
            m = dict(m, calibration=cid)
            if cid not in cal_jobs:
                cal_jobs[cid] = {"key": cid, "scenario": m["scenario"], "params": m["params"]}
                waiting[cid] = []
            waiting[cid].append(m)
        else:
            ready.append(m)
    n_tasks = len(cal_jobs) + len(todo)  # members of ``same`` are no tasks
    if scheduler is None and workers is None:
        workers = max(1, min(os.cpu_count() or 1, n_tasks))
    shared = SharedInputs(plan.scenarios)
    cal_times = {}
    with progress(len(plan.members), f"sweep {plan.spec.name}", quiet=quiet,
                  unit="run") as bar, open_executor(shared, workers=workers, dask=dask,
                                                    scheduler=scheduler) as ex:
        bar.update(done)
        session.update(ex.info)
        session["reused"] = 0
        futs, finished = {}, queue.SimpleQueue()

        def submit(fn, arg, what):
            f = ex.submit(fn, arg)
            futs[f] = what
            f.add_done_callback(finished.put)  # runs in the pool's thread: a lock-free put

        def finish(r, m):
            """Write the part of a finished member, then those of the members sharing its run."""
            for o in (m, *same.get(m["run_id"], ())):
                if o is m:
                    store._write_part(parts, r, m)
                else:
                    o = dict(o, calibration=m.get("calibration", ""))
                    store._write_part(parts, dict(r, run_id=o["run_id"], wall_time_s=0.0), o,
                                      tables_of=r["run_id"])
                    session["reused"] += 1
                if frames is not None and r["status"] == "ok":
                    frames[o["run_id"]] = (r["places"], r["sectors"])
                session["executed"] += 1
                bar.update(1)

        with _ctrl_c_between_results() as interrupted:
            for job in cal_jobs.values():
                submit(run_calibration, job, ("cal", job))
            for m in _longest_first(ready, plan.scenarios):
                submit(run_member, m, ("run", m))
            workers_seen, loads = set(), {}
            session.update(calibrations=cal_times, workers_seen=[], shared_loads_per_worker=loads)
            while futs:
                try:
                    f = finished.get(timeout=RESULT_POLL_S)
                except queue.Empty:
                    f = None
                if interrupted():
                    raise KeyboardInterrupt
                if f is None:
                    continue
                kind, item = futs.pop(f)
                r = f.result()
                workers_seen.add(r["worker"])
                loads[r["worker"]] = max(loads.get(r["worker"], 0), r["shared_loads"])
                if kind == "cal":
                    cal_times[item["key"]] = {"status": r["status"], "error": r["error"],
                                              "wall_time_s": r["wall_time_s"],
                                              "worker": r["worker"],
                                              "warnings": r.get("warnings", 0)}
                    for m in _longest_first(waiting[item["key"]], plan.scenarios):
                        if r["status"] == "ok":
                            submit(run_member, dict(m, places=r["places"],
                                                    spinups=r["spinups"]), ("run", m))
                        else:
                            finish({"run_id": m["run_id"], "status": "failed",
                                    "error": f"calibration failed: {r['error']}",
                                    "wall_time_s": 0.0, "worker": r["worker"],
                                    "shared_loads": r["shared_loads"]}, m)
                else:
                    finish(r, item)
                session.update(calibrations=cal_times, workers_seen=sorted(workers_seen),
                               shared_loads_per_worker=loads)


def _seed_groups(plan: Plan, todo: list) -> tuple[list, dict]:
    """Split ``todo`` into the members to run and those that take another's tables.

    Of the pending members that differ only in seed and draw no random numbers
    (:func:`sim.sweep.design.seed_twins`), the first runs and the others take its tables
    instead of computing them again (half the runs of a plan-vs-baseline ensemble over two
    seeds at aggregate resolution). Returns the members to run and, by run id, the members
    that take its tables.
    """
    twins = seed_twins(plan, todo)
    same: dict = {}
    for m in todo:
        if m["run_id"] in twins:
            same.setdefault(twins[m["run_id"]], []).append(m)
    return [m for m in todo if m["run_id"] not in twins], same


def _longest_first(members: list, scenarios: dict) -> list:
    """``members`` in the order to submit them: the likely longest first (a stable sort).

    The pool hands tasks out in submission order, so the last tasks of a sweep decide how
    unevenly its workers finish; with the short ones last, a worker that runs out of work
    waits for a shorter task on the other. A member's cost is not known before it runs; the
    number of its scenario's policies stands for it (each policy is applied every year, and
    links and corridors rebuild the network; Jilin: about 0.17 s of CPU time for a plan run
    against 0.14 s for a baseline run). Results are consolidated in member order whatever the
    order of execution.
    """
    return sorted(members, key=lambda m: -len(scenarios[m["scenario"]].policies))


def _calibration_key(sc):
    c = calibration_scenario(sc)
    return (c.region, c.parameters, c.time, c.solver, c.resolution, c.agents)


