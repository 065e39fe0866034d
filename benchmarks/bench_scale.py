"""Scale: the Jilin job end to end, calibration, and the migration and trade kernels by size.

Run with ``pytest benchmarks/bench_scale.py --benchmark-only``. Kernel benchmarks report, in
``extra_info``, the bytes they stream and the fraction of the streaming bandwidth this machine
reaches in the same run, so that speeds on noisy machines are read as ratios measured side by
side. Two references: a large array sum (``sum_gbs``) and a plain float64 matrix-vector product
``A @ x`` at the same size and thread count (``matvec_gbs``, what BLAS streams at best), timed
alternately with the kernel (round by round, medians). ``stream_fraction`` is against the larger
of the two; ``cpu_matvec_fraction`` is the same ratio from CPU time (for one thread on a loaded
machine). ``threads`` sets BLAS (threadpoolctl) and numba threads alike: 1 is what every sweep
worker uses. The table in docs/performance.md comes from these numbers.
"""

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.kernels import dense
from sim.kernels.equilibrium import market_access, price_index_power
from sim.kernels.households import continuum_step, status_probabilities
from sim.kernels.migration import (
    logit_flow_totals,
    logit_kernel,
    logit_weights,
    migration_costs,
    size_weights,
)

ROOT = Path(__file__).resolve().parents[1]
SIZES = [500, 2000]
KERNEL_SIZES = [2000, 5000, 10000]  # 10,000 places: 800 MB per float64 matrix
THREADS = [1, 2]


def _stream_gbs(n_bytes=400_000_000, repeats=3):
    """Streaming bandwidth of this machine now: GB/s of summing a large array (best of 3)."""
    a = np.ones(n_bytes // 8)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - t)
    return n_bytes / best / 1e9


@contextlib.contextmanager
def _threads(n):
    """BLAS and numba both at ``n`` threads (as sweep workers pin them at 1)."""
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        numba.set_num_threads(before)


def _side_by_side(fns, rounds=9):
    """Median seconds of each function, timed in turn round by round (same load for all).

    Returns wall-clock medians under the names of ``fns`` and CPU-time medians
    (``time.process_time``: all threads of the process) under ``name + "_cpu"``; on a loaded
    machine the CPU time of a one-thread call is its running time without the waits.
    """
    times = {name: [] for name in fns}
    cpu = {name: [] for name in fns}
    for f in fns.values():
        f()  # warm-up (and numba compilation)
    for _ in range(rounds):
        for name, f in fns.items():
            c, t = time.process_time(), time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    out = {name: float(np.median(ts)) for name, ts in times.items()}
    out.update({name + "_cpu": float(np.median(ts)) for name, ts in cpu.items()})
    return out


_MATRICES = {}


def _matrix(n):
    """A dense (n, n) float64 matrix of positive entries (cached: 10,000^2 takes a second)."""
    if n not in _MATRICES:
        _MATRICES.clear()
        _MATRICES[n] = np.random.default_rng(n).uniform(0.0, 1.0, (n, n))
    return _MATRICES[n]


def _report(benchmark, streamed, med, name, matvec_bytes):
    """GB/s of ``name`` and its fractions of the references, from :func:`_side_by_side`."""
    gbs = streamed / med[name] / 1e9
    mv = matvec_bytes / med["matvec"] / 1e9
    sm = _stream_gbs()
    cpu_gbs = streamed / med[name + "_cpu"] / 1e9
    cpu_mv = matvec_bytes / med["matvec_cpu"] / 1e9
    benchmark.extra_info.update(
        streamed_gb=streamed / 1e9, seconds=med[name], gb_per_s=gbs, matvec_gbs=mv,
        sum_gbs=sm, matvec_fraction=gbs / mv, sum_fraction=gbs / sm,
        stream_fraction=gbs / max(mv, sm), cpu_seconds=med[name + "_cpu"],
        cpu_gb_per_s=cpu_gbs, cpu_matvec_gbs=cpu_mv, cpu_matvec_fraction=cpu_gbs / cpu_mv)
def _child_cpu():
    """CPU seconds (user + system) of the finished child processes of this process so far."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


#: Goal: the whole job process within 1.5 s, and within 1 s after its imports (on an idle
#: machine; under load read the ratios to a reference checkout measured in the same session).
JOB_GOAL_S, JOB_AFTER_IMPORTS_GOAL_S = 1.5, 1.0
#: What the job imports, as one statement: the command line with its parser, the engine with
#: the calibration, results writing (pyarrow's parquet writer and pandas conversion), the
#: headline and its printing. ``test_jilin_job_end_to_end`` checks that a job process loads no
#: module this statement does not (``extra_info["modules_not_in_imports"]``).
JOB_IMPORTS = ("import sim.cli; sim.cli.build_parser(); "
               "from sim.engine.runner import run_scenario; "
               "from sim.engine.calibrate import calibrate; "
               "from sim.results import write_results; "
               "import pyarrow.parquet, pyarrow.pandas_compat, pyarrow.vendored.version; "
               "from sim.analysis.headline import headline; "
               "import pandas.io.formats.string, encodings.utf_8_sig")
_MODULES_AT_EXIT = ("import atexit, json, runpy, sys; out = sys.argv.pop(1); "
                    "atexit.register(lambda: open(out, 'w').write("
                    "json.dumps(sorted(sys.modules)))); "
                    "sys.argv[0] = 'sim'; runpy.run_module('sim', run_name='__main__')")


def _job_argv(root: Path, out: Path) -> list:
    """`sim run plan --baseline baseline --force` of the checkout ``root`` into ``out``."""
    return ["run", str(root / "scenarios/plan.yaml"), "--baseline",
            str(root / "scenarios/baseline.yaml"), "--out", str(out / "plan"), "--quiet",
            "--force"]


def _timed_process(cmd, env, cwd) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, with its own children) of one process."""
    c0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=cwd, capture_output=True)
    return time.perf_counter() - t0, _child_cpu() - c0


def test_jilin_job_end_to_end(benchmark, tmp_path):
    """`sim run plan --baseline baseline --force`, whole processes (imports, one calibration).

    Each round runs the job and a process doing only the job's imports (:data:`JOB_IMPORTS`),
    one after the other; the benchmark's own timing is the job's wall time. ``extra_info``:
    median wall and CPU seconds of both, the job after imports (difference of the medians),
    the goals and the load average. With ``SIM_BENCH_REFERENCE`` set to another checkout
    (with its ``.venv``; e.g. the main branch), each round also runs that checkout's job and
    imports, alternately with these, and ``extra_info`` adds their medians (``ref_``) and the
    ratios new / reference: under load the ratios hold, the seconds do not. Rounds:
    ``SIM_BENCH_JOB_ROUNDS`` (default 7). Python's bytecode cache is on, as for a user
    (``PYTHONDONTWRITEBYTECODE`` unset, the cache under ``tmp_path``, filled by an untimed
    first run of each job); ``SIM_BENCH_BYTECODE=env`` keeps the environment's setting
    (``PYTHONDONTWRITEBYTECODE=1``: every process compiles sim's modules, about 0.07 s more).
    """
    env = dict(os.environ, SIM_NO_PROGRESS="1")
    bytecode = os.environ.get("SIM_BENCH_BYTECODE", "cached")
    if bytecode == "cached":  # as a user runs it: compiled modules cached (here in tmp_path)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    rounds = int(os.environ.get("SIM_BENCH_JOB_ROUNDS", "7"))
    ref = os.environ.get("SIM_BENCH_REFERENCE")
    ref_root = Path(ref).resolve() if ref else None
    ref_py = str(ref_root / ".venv/bin/python") if ref else None
    # the modules a job process loads, against those of the imports statement
    mods = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", _MODULES_AT_EXIT, str(mods),
                    *_job_argv(ROOT, tmp_path / "m")], check=True, env=env, cwd=tmp_path,
                   capture_output=True)
    job_modules = set(json.loads(mods.read_text()))
    out = subprocess.run([sys.executable, "-c", JOB_IMPORTS + "; import sys, json; "
                          "print(json.dumps(sorted(sys.modules)))"], check=True, env=env,
                         cwd=tmp_path, capture_output=True, text=True).stdout
    missing = sorted(job_modules - set(json.loads(out)) - {"runpy"})  # runpy: the wrapper
    t = {k: [] for k in ("job", "imports", "ref_job", "ref_imports")}
    c = {k: [] for k in t}

    def record(key, cmd):
        w, cpu = _timed_process(cmd, env, tmp_path)
        t[key].append(w)
        c[key].append(cpu)

    def others():
        if ref:  # the reference first in even rounds, after these in odd ones
            first = len(t["imports"]) % 2 == 0
            if first:
                record("ref_job", [ref_py, "-m", "sim", *_job_argv(ref_root, tmp_path / "ref")])
                record("ref_imports", [ref_py, "-c", JOB_IMPORTS])
        record("imports", [sys.executable, "-c", JOB_IMPORTS])
        return (), {}

    def job():
        w, cpu = _timed_process([sys.executable, "-m", "sim", *_job_argv(ROOT, tmp_path / "new")],
                                env, tmp_path)
        t["job"].append(w)
        c["job"].append(cpu)
        if ref and len(t["imports"]) % 2 == 0:  # odd round: the reference after
            record("ref_job", [ref_py, "-m", "sim", *_job_argv(ref_root, tmp_path / "ref")])
            record("ref_imports", [ref_py, "-c", JOB_IMPORTS])

    for py, root, out in [(sys.executable, ROOT, "new")] + ([(ref_py, ref_root, "ref")]
                                                              if ref else []):
        # warm-up (and the bytecode cache): not timed
        subprocess.run([py, "-m", "sim", *_job_argv(root, tmp_path / out)], check=True,
                       env=env, cwd=tmp_path, capture_output=True)
    load0 = os.getloadavg()[0]
    benchmark.pedantic(job, setup=others, rounds=rounds, iterations=1)
    info = {"rounds": rounds, "bytecode": bytecode, "load_average_before": load0,
            "load_average_after": os.getloadavg()[0], "goal_job_s": JOB_GOAL_S,
            "goal_after_imports_s": JOB_AFTER_IMPORTS_GOAL_S,
            "modules_not_in_imports": missing}
    for key in t:
        if t[key]:
            info[f"{key}_wall_s"] = float(np.median(t[key]))
            info[f"{key}_cpu_s"] = float(np.median(c[key]))
    for p in ("", "ref_"):
        if f"{p}job_cpu_s" in info:
            for m in ("wall", "cpu"):
                info[f"{p}after_imports_{m}_s"] = info[f"{p}job_{m}_s"] - info[f"{p}imports_{m}_s"]
    if ref:
        for k in ("job_wall_s", "job_cpu_s", "imports_cpu_s", "after_imports_cpu_s"):
            info[f"ratio_{k}"] = info[k] / info[f"ref_{k}"]
    benchmark.extra_info.update(info)


def test_jilin_calibration(benchmark):
    from sim.engine.calibrate import calibrate

    sc = sim.load_scenario(ROOT / "scenarios/baseline.yaml")
    cal, rep = benchmark.pedantic(calibrate, args=(sc,), rounds=3, iterations=1)
    assert rep.attrs["max_gdp_rel_error"] < 1e-8


def _migration_inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 3000, (n, 2))
    c = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 0.5
    ext = np.zeros(n, bool)
    ext[: max(1, n // 50)] = True
    kappa = migration_costs(c, fixed=2.0, per_hour=0.0, value_of_time=30.0, external=ext,
                            external_cost=4.0, distance_elasticity=1.0)
    U = rng.uniform(0.5, 3.0, n)
    S = rng.pareto(1.0, n) + 0.05
    L = S * 0.6
    return kappa, U, S, L, ext


@pytest.mark.parametrize("method", ["kernel", "dense"])
@pytest.mark.parametrize("n", SIZES)
def test_migration_year(benchmark, n, method):
    """One year of aggregate logit migration: cached kernel (2 mat-vecs) vs dense probabilities."""
    kappa, U, S, L, ext = _migration_inputs(n)
    eps = 1.5
    sw = size_weights(S, size_elasticity=1.0, elasticity=eps)
    if method == "kernel":
        E = logit_kernel(kappa)

        def step():
            u, _ = logit_weights(U, sw, elasticity=eps)
            return logit_flow_totals(E, u, L, np.zeros(n), reconsider_share=0.1,
                                     hukou_factor=1.0, external=ext)["inflow"]
        streamed = 2 * E.nbytes
    else:
        def step():
            PR, PU = status_probabilities(U * sw, kappa, elasticity=eps, hukou_cost=0.0)
            return continuum_step(L, np.zeros(n), PR, PU, reconsider_share=0.1, conversion=0.0,
                                  internal=~ext)[2].sum(axis=0)
        streamed = 2 * kappa.nbytes
    benchmark.pedantic(step, rounds=5, iterations=1, warmup_rounds=1)
    gbs = streamed / benchmark.stats.stats.median / 1e9
    benchmark.extra_info.update(streamed_gb=streamed / 1e9, gb_per_s=gbs,
                                stream_fraction=gbs / _stream_gbs())


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("path", ["compiled", "numpy"])
@pytest.mark.parametrize("n", KERNEL_SIZES)
def test_migration_year_bandwidth(benchmark, n, path, threads):
    """A migration year from the cached kernel E: two passes over E (with the external parts).

    ``numpy``: the same function with the compiled products switched off (BLAS mat-vecs and
    the (N, n_ext) gathers of E).
    """
    rng = np.random.default_rng(n + 1)
    E = _matrix(n)  # entries of exp(-kappa) lie in (0, 1]: any such matrix streams alike
    u = rng.uniform(0.0, 1.0, n)
    L = rng.uniform(0.1, 2.0, n)
    ext = np.zeros(n, bool)
    ext[: max(1, n // 50)] = True
    x = rng.uniform(size=n)
    old = dense.MIN_PLACES
    dense.MIN_PLACES = old if path == "compiled" else 10**12

    def step():
        return logit_flow_totals(E, u, L, 0.5 * L, reconsider_share=0.1, hukou_factor=0.7,
                                 external=ext)["inflow"]
    try:
        with _threads(threads):
            med = _side_by_side({"step": step, "matvec": lambda: E @ x})
            benchmark.pedantic(step, rounds=5, iterations=1, warmup_rounds=1)
    finally:
        dense.MIN_PLACES = old
    _report(benchmark, 2 * E.nbytes, med, "step", E.nbytes)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_sectors", [1, 2, 4, 10])
@pytest.mark.parametrize("n", KERNEL_SIZES)
def test_trade_products(benchmark, n, n_sectors, dtype, threads):
    """The equilibrium's two trade products per evaluation (price indices, market access).

    One trade-cost group of ``n_sectors`` sectors: each product reads the (N, N) freeness once
    for all of them. float32: freeness stored in single precision (half the bytes), float64
    sums. ``blas_s`` in extra_info: the same products by numpy/BLAS (float64), side by side.
    """
    rng = np.random.default_rng(1)
    T = _matrix(n)[None]
    if dtype == "float32":
        T = T.astype(np.float32)
    group = np.zeros(n_sectors, dtype=np.int64)
    x = rng.uniform(0.1, 1.0, (n, n_sectors))
    v = rng.uniform(size=n)
    T64 = _matrix(n)

    def products():
        price_index_power(x, T, group)
        return market_access(x, T, group)

    def blas():
        T64.T @ x
        return T64 @ x

    with _threads(threads):
        fns = {"products": products, "matvec": lambda: T64 @ v}
        if n <= 5000:
            fns["blas"] = blas
        med = _side_by_side(fns)
        benchmark.pedantic(products, rounds=5, iterations=1, warmup_rounds=1)
    _report(benchmark, 2 * T.nbytes, med, "products", T64.nbytes)
    if "blas" in med:
        benchmark.extra_info.update(blas_s=med["blas"],
                                    speedup_vs_blas=med["blas"] / med["products"])
