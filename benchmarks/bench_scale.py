"""Scale: the Jilin job end to end, calibration, and the migration and trade kernels by size.

Run with ``pytest benchmarks/bench_scale.py --benchmark-only``. Kernel benchmarks report, in
``extra_info``, the bytes they stream and the fraction of the streaming bandwidth this machine
reaches in the same run (a large array sum), so that speeds on noisy machines are read as
ratios measured side by side.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sim
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


def _stream_gbs(n_bytes=400_000_000, repeats=3):
    """Streaming bandwidth of this machine now: GB/s of summing a large array (best of 3)."""
    a = np.ones(n_bytes // 8)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - t)
    return n_bytes / best / 1e9


def _child_cpu():
    """CPU seconds (user + system) of the finished child processes of this process so far."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


#: Goal: the whole job process within 1.5 s, and within 1 s after its imports (CPU seconds on
#: an idle machine; under load read the ratios to the imports-only process, measured here in
#: the same session).
JOB_GOAL_S, JOB_AFTER_IMPORTS_GOAL_S = 1.5, 1.0
JOB_IMPORTS = ("import sim.cli; from sim.engine.runner import run_scenario; "
               "from sim.results import write_results; "
               "from sim.analysis.headline import headline")


def test_jilin_job_end_to_end(benchmark, tmp_path):
    """`sim run plan --baseline baseline`, whole process (imports, one shared calibration).

    ``extra_info``: median CPU seconds of the job and of a process that only does the job's
    imports (same session), their difference (the job after imports) and the goals.
    """
    env = dict(os.environ, SIM_NO_PROGRESS="1")
    i = iter(range(100))
    cpu = {"job": [], "imports": []}

    def timed(key, cmd):
        c0 = _child_cpu()
        subprocess.run(cmd, check=True, env=env, cwd=tmp_path, capture_output=True)
        cpu[key].append(_child_cpu() - c0)

    def job():
        out = tmp_path / f"r{next(i)}"
        timed("job", [sys.executable, "-m", "sim", "run", str(ROOT / "scenarios/plan.yaml"),
                      "--baseline", str(ROOT / "scenarios/baseline.yaml"), "--out",
                      str(out / "plan"), "--quiet"])
        timed("imports", [sys.executable, "-c", JOB_IMPORTS])

    benchmark.pedantic(job, rounds=5, iterations=1)
    med = {k: float(np.median(v)) for k, v in cpu.items()}
    benchmark.extra_info.update(
        cpu_job_s=med["job"], cpu_imports_s=med["imports"],
        cpu_after_imports_s=med["job"] - med["imports"], goal_job_s=JOB_GOAL_S,
        goal_after_imports_s=JOB_AFTER_IMPORTS_GOAL_S)


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


@pytest.mark.parametrize("n_sectors", [1, 10])
@pytest.mark.parametrize("n", SIZES)
def test_trade_products(benchmark, n, n_sectors):
    """The equilibrium's two trade products per evaluation (price indices, market access)."""
    rng = np.random.default_rng(1)
    T = rng.uniform(0.0, 1.0, (1, n, n))
    group = np.zeros(n_sectors, dtype=np.int64)
    x = rng.uniform(0.1, 1.0, (n, n_sectors))

    def products():
        price_index_power(x, T, group)
        return market_access(x, T, group)

    benchmark.pedantic(products, rounds=5, iterations=1, warmup_rounds=1)
    streamed = 2 * T.nbytes
    gbs = streamed / benchmark.stats.stats.median / 1e9
    benchmark.extra_info.update(gb_per_s=gbs, stream_fraction=gbs / _stream_gbs())
