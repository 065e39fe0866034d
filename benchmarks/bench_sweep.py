"""Sweep throughput (runs per minute) for the Jilin plan, 1 vs 2 workers, on each executor.

The sweep: the Jilin plan (``scenarios/plan.yaml``, calibrated), 8 seeds, design ``none``, runs
cut to 2020-2025 (``end_year: 2025``): 1 calibration task + 8 member runs. Two measures:

* ``test_sweep_end_to_end``: ``run_sweep`` as ``sim sweep`` runs it, including the executor's
  start-up (spawning and importing the workers, Dask cluster start), the shared-input transfer,
  calibration, the writes of every run part and the consolidation;
* ``test_sweep_steady_state``: the same 8 members submitted to an executor that is already up
  and warm (the calibrated places computed once beforehand): the throughput of a long sweep.

``runs_per_min`` is in each benchmark's ``extra_info``. Executors: the local process pool, a Dask
``LocalCluster`` and an external ``dask scheduler`` with ``dask worker`` processes (127.0.0.1).

``test_sweep_scaling_plan_ensemble``: the Jilin plan ensemble (16 runs, 4 calibrations) end to
end with 1 and 2 workers, alternately; the ratio of the wall medians against the goal of 1.8,
with CPU times and the load average (``docs/performance.md``).
"""

import concurrent.futures as cf
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sim.sweep as sw

ROOT = Path(__file__).resolve().parents[1]
SEEDS = 8
END = 2025
SWEEP = f"""schema_version: 1
name: bench-plan
scenarios: [{ROOT / 'scenarios' / 'plan.yaml'}]
seeds: {{count: {SEEDS}, base: 2020}}
end_year: {END}
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _ExternalCluster:
    """``dask scheduler`` and n ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, n, tmp):
        dask = str(Path(sys.executable).parent / "dask")
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        q = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp}
        self.procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port",
                                        str(port), "--no-dashboard"], **q)]
        self.procs += [subprocess.Popen([dask, "worker", self.address, "--nworkers", "1",
                                         "--nthreads", "1", "--host", "127.0.0.1",
                                         "--no-dashboard", "--local-directory", str(tmp)], **q)
                       for _ in range(n)]
        from distributed import Client

        with Client(self.address, timeout="30s") as c:
            c.wait_for_workers(n, timeout=60)

    def close(self):
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def _executor_kwargs(kind, workers, cluster):
    if kind == "pool":
        return {"workers": workers}
    if kind == "dask":
        return {"workers": workers, "dask": True}
    return {"scheduler": cluster.address}


@pytest.fixture
def sweep_file(tmp_path):
    f = tmp_path / "bench.yaml"
    f.write_text(SWEEP)
    return f


@pytest.fixture
def cluster(request, tmp_path):
    kind, workers = request.node.callspec.params["kind"], request.node.callspec.params["workers"]
    if kind != "scheduler":
        yield None
        return
    c = _ExternalCluster(workers, tmp_path)
    try:
        yield c
    finally:
        c.close()


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", ["pool", "dask", "scheduler"])
def test_sweep_end_to_end(benchmark, sweep_file, tmp_path, kind, workers, cluster):
    kw = _executor_kwargs(kind, workers, cluster)
    out = tmp_path / "out"

    def run():
        return sw.run_sweep(sweep_file, out, force=True, **kw)

    benchmark.pedantic(run, rounds=3, iterations=1)
    runs = sw.load_sweep(out).runs
    assert len(runs) == SEEDS and (runs["status"] == "ok").all()
    benchmark.extra_info["runs_per_min"] = 60 * SEEDS / benchmark.stats.stats.median


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", ["pool", "dask", "scheduler"])
def test_sweep_steady_state(benchmark, sweep_file, kind, workers, cluster):
    plan = sw.plan_sweep(sw.load_sweep_spec(sweep_file))
    shared = sw.SharedInputs(plan.scenarios)
    kw = _executor_kwargs(kind, workers, cluster)
    with sw.open_executor(shared, **kw) as ex:
        cal = ex.submit(sw.run_calibration, {"key": "c0", "scenario": "plan",
                                             "params": {}}).result()
        members = [dict(m, places=cal["places"]) for m in plan.members]
        # warm up: every worker imports the model and runs once
        cf.wait([ex.submit(sw.run_member, m) for m in members[:2 * workers]])

        def run():
            t = time.perf_counter()
            res = [f.result() for f in [ex.submit(sw.run_member, m) for m in members]]
            assert all(r["status"] == "ok" for r in res)
            return time.perf_counter() - t

        benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["runs_per_min"] = 60 * SEEDS / benchmark.stats.stats.median


# ------------------------------------------------------ scaling from 1 to 2 workers, end to end

ENSEMBLE = ROOT / "scenarios" / "sweeps" / "plan_ensemble.yaml"
SCALING_GOAL = 1.8
"""Wanted: the 2-worker sweep at least this many times faster than the 1-worker sweep."""


def _cpu_s() -> dict:
    """CPU seconds so far of this process and of its finished workers (Linux: the forkserver's
    reaped children, read from /proc; a spawned worker is this process's own child)."""
    import os
    from multiprocessing import forkserver

    t = os.times()
    workers = t.children_user + t.children_system
    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    if pid:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cutime, cstime = stat[stat.rfind(")") + 2:].split()[13:15]
            workers += (int(cutime) + int(cstime)) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return {"parent": t.user + t.system, "workers": workers}


def test_sweep_scaling_plan_ensemble(benchmark, tmp_path):
    """The Jilin plan ensemble (16 runs, 4 calibrations) end to end on 1 and 2 workers, alternately.

    One round runs ``run_sweep`` with 1 worker, then with 2 (fresh output folders), in this
    process; a first untimed round of each starts the workers' server and imports what
    planning needs (its times are in ``extra_info['first_round_s']``). ``extra_info``: the wall
    medians, their ratio against :data:`SCALING_GOAL`, the CPU seconds of the parent and of the
    workers per sweep (medians) and the load average before and after: under load, wall times
    wait for a core and only the CPU times compare across machines.
    """
    import os
    import shutil
    import statistics as st

    wall, cpu = {1: [], 2: []}, {1: [], 2: []}

    def sweep(w):
        out = tmp_path / f"w{w}"
        shutil.rmtree(out, ignore_errors=True)
        c0, t0 = _cpu_s(), time.perf_counter()
        sw.run_sweep(ENSEMBLE, out, workers=w)
        dt, c1 = time.perf_counter() - t0, _cpu_s()
        return dt, {k: c1[k] - c0[k] for k in c0}

    load_before = os.getloadavg()
    first = {w: round(sweep(w)[0], 3) for w in (1, 2)}

    def one_round():
        for w in (1, 2):
            dt, c = sweep(w)
            wall[w].append(dt)
            cpu[w].append(c)

    benchmark.pedantic(one_round, rounds=5, iterations=1)
    for w in (1, 2):
        runs = sw.load_sweep(tmp_path / f"w{w}").runs
        assert len(runs) == 16 and (runs["status"] == "ok").all()
    for t in ("places", "sectors"):  # 1 and 2 workers write the same bytes
        assert (tmp_path / "w1" / f"{t}.parquet").read_bytes() == \
            (tmp_path / "w2" / f"{t}.parquet").read_bytes()
    m1, m2 = st.median(wall[1]), st.median(wall[2])
    benchmark.extra_info.update(
        median_s_1_worker=round(m1, 3), median_s_2_workers=round(m2, 3),
        ratio=round(m1 / m2, 3), goal_ratio=SCALING_GOAL, rounds=len(wall[1]),
        first_round_s=first,
        wall_s={w: [round(x, 3) for x in wall[w]] for w in wall},
        cpu_s_parent={w: round(st.median(c["parent"] for c in cpu[w]), 3) for w in cpu},
        cpu_s_workers={w: round(st.median(c["workers"] for c in cpu[w]), 3) for w in cpu},
        load_before=[round(x, 2) for x in load_before],
        load_after=[round(x, 2) for x in os.getloadavg()])
