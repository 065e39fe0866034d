"""Sweeps: designs, validation, executors (process pool, Dask LocalCluster, an
external Dask scheduler) giving identical per-run results, shared inputs once per worker,
resume, failing runs, calibration shared across members, the example sweep files."""

import dataclasses
import json
import multiprocessing
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
import sim.sweep as sw
from sim.cli import main
from sim.errors import ScenarioError
from sim.sweep import (
    Design,
    ParamSpec,
    SweepError,
    design_matrix,
    latin_hypercube,
    load_sweep,
    load_sweep_spec,
    run_sweep,
)

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
SWEEPS = sorted((SCEN / "sweeps").glob("*.yaml"))

TOY = f"""schema_version: 1
name: toy
scenarios: [{SCEN / 'example.yaml'}, {SCEN / 'example_link.yaml'}]
baseline: example
seeds: [1, 2]
design: {{method: lhs, samples: 3, seed: 7}}
parameters:
  migration_elasticity: {{range: [1.0, 2.5]}}
  sigma: {{triangular: [4, 5, 6]}}
end_year: 2022
"""


def write(tmp_path, text, name="sweep.yaml"):
    f = tmp_path / name
    f.write_text(text)
    return f


def tables(folder):
    s = load_sweep(folder)
    return s.places, s.sectors, s.runs


def assert_same_runs(a, b):
    pa, sa, ra = tables(a)
    pb, sb, rb = tables(b)
    pd.testing.assert_frame_equal(pa, pb, check_exact=True)
    pd.testing.assert_frame_equal(sa, sb, check_exact=True)
    cols = [c for c in ra.columns if c not in ("wall_time_s", "worker")]
    pd.testing.assert_frame_equal(ra[cols], rb[cols], check_exact=True)


def session(folder):
    return json.loads((Path(folder) / "sweep.json").read_text())["sessions"][-1]


# ------------------------------------------------------------------------------- designs


def test_grid_counts_and_order():
    ps = (ParamSpec("agglomeration", "values", (0.03, 0.05, 0.08)),
          ParamSpec("migration_elasticity", "uniform", (1.0, 2.0), points=2))
    X = design_matrix(Design("grid"), ps)
    assert X.shape == (6, 2)
    assert X[:, 0].tolist() == [0.03, 0.03, 0.05, 0.05, 0.08, 0.08]  # first slowest
    assert X[:, 1].tolist() == [1.0, 2.0] * 3


def test_latin_hypercube_stratification_and_determinism():
    n, d = 17, 4
    u = latin_hypercube(n, d, seed=5)
    for j in range(d):  # exactly one point in each stratum [i/n, (i+1)/n)
        assert sorted(np.floor(u[:, j] * n).astype(int)) == list(range(n))
    assert np.array_equal(u, latin_hypercube(n, d, seed=5))
    assert not np.array_equal(u, latin_hypercube(n, d, seed=6))
    # priors: stratified through the inverse CDF
    ps = (ParamSpec("agglomeration", "normal", (0.05, 0.01)),)
    X = design_matrix(Design("lhs", samples=n, seed=5), ps)
    from scipy import stats

    q = stats.norm.cdf(X[:, 0], 0.05, 0.01)
    assert sorted(np.floor(q * n + 1e-9).astype(int)) == list(range(n))


@pytest.mark.parametrize("second_order,k", [(True, 2), (False, 1)])
def test_sobol_and_morris_sizes(second_order, k):
    ps = tuple(ParamSpec(n, "uniform", (0.1, 0.2)) for n in
               ("agglomeration", "distance_elasticity", "migration_elasticity"))
    D, N = 3, 8
    X = design_matrix(Design("sobol", samples=N, seed=1, second_order=second_order), ps)
    assert X.shape == (N * (k * D + 2), D)
    assert np.array_equal(X, design_matrix(
        Design("sobol", samples=N, seed=1, second_order=second_order), ps))
    r = 5
    M = design_matrix(Design("morris", samples=r, seed=1, levels=4), ps)
    assert M.shape == (r * (D + 1), D)
    assert ((M >= 0.1) & (M <= 0.2)).all()


def test_apply_parameters_sigma_and_shares():
    sc = sim.load_scenario(SCEN / "example.yaml")
    a = sw.apply_parameters(sc, {"sigma": 6.5, "migration_elasticity": 2.0})
    assert {s.sigma for s in a.region.sectors} == {6.5}
    assert a.parameters.migration_elasticity == 2.0
    b = sw.apply_parameters(sc, {"sigma_scale": 1.1})
    assert [s.sigma for s in b.region.sectors] == [x.sigma * 1.1 for x in sc.region.sectors]
    c = sw.apply_parameters(sc, {"housing_share": 0.35})
    total = sum(s.expenditure_share for s in c.region.sectors) + 0.35 + \
        c.parameters.agriculture_share
    assert total == pytest.approx(1.0, abs=1e-12)
    from sim.scenario.load import load_scenario_dict, scenario_to_dict

    assert load_scenario_dict(scenario_to_dict(c)) == c  # still a valid scenario


BAD = [
    ("parameters:\n  migration_elasticty: {range: [1, 2]}\n", "parameters.migration_elasticty",
     "did you mean 'migration_elasticity'"),
    ("parameters:\n  migration_elasticity: {range: [-1, 2]}\n",
     "parameters.migration_elasticity.range[0]", "must be > 0"),
    ("parameters:\n  agglomeration: {range: [0.1, 0.05]}\n", "parameters.agglomeration.range",
     "lo < hi"),
    ("parameters:\n  sigma: {range: [0.5, 2]}\n", "parameters.sigma.range[0]", "must be > 1"),
    ("parameters:\n  migration_rule: {values: [1]}\n", "parameters.migration_rule",
     "not a numeric"),
    ("parameters:\n  agglomeration: {normal: {mean: 0.05, sd: 0.01}}\n",
     "parameters.agglomeration.normal", "needs a uniform range"),
]


@pytest.mark.parametrize("params,path,msg", BAD)
def test_validation_errors_name_file_field_value(tmp_path, params, path, msg):
    text = (f"schema_version: 1\nscenarios: [{SCEN / 'example.yaml'}]\n"
            f"design: {{method: sobol, samples: 4}}\n" + params)
    f = write(tmp_path, text)
    with pytest.raises(ScenarioError) as e:
        load_sweep_spec(f)
    assert str(f) in str(e.value) and path in str(e.value) and msg in str(e.value)


@pytest.mark.parametrize("text,path", [
    ("design: {method: lhs, samples: 4}\n", "parameters"),
    ("design: {method: latin}\n", "design.method"),
    ("design: {method: sobol, samples: 6}\nparameters: {agglomeration: {range: [0, 1]}, "
     "distance_elasticity: {range: [0, 1]}}\n", "design.samples"),
    ("seeds: [1, 1]\n", "seeds"),
    ("seeds: {count: 0}\n", "seeds.count"),
    ("end_year: 2050\n", "end_year"),
    ("baseline: nope\n", "baseline"),
    ("colour: red\n", "colour"),
])
def test_more_validation_errors_and_cli_exit_2(tmp_path, capsys, text, path):
    f = write(tmp_path, f"schema_version: 1\nscenarios: [{SCEN / 'example.yaml'}]\n" + text)
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and path in err
    assert not (tmp_path / "o").exists()  # nothing written


def test_missing_scenario_file(tmp_path):
    f = write(tmp_path, "schema_version: 1\nscenarios: [nope.yaml]\n")
    with pytest.raises(ScenarioError, match=r"scenarios\[0\] = 'nope.yaml': file not found"):
        load_sweep_spec(f)


# ---------------------------------------------------------------- executors and determinism


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory):
    return write(tmp_path_factory.mktemp("toy"), TOY)


@pytest.fixture(scope="module")
def pool1(toy_file, tmp_path_factory):
    return run_sweep(toy_file, tmp_path_factory.mktemp("p1") / "out", workers=1)


def test_pool_one_vs_two_workers_identical(pool1, toy_file, tmp_path):
    out2 = run_sweep(toy_file, tmp_path / "out", workers=2)
    assert_same_runs(pool1, out2)
    s = load_sweep(out2)
    assert len(s.runs) == 3 * 2 * 2 and (s.runs["status"] == "ok").all()
    assert session(pool1)["workers"] == 1 and session(out2)["workers"] == 2


def test_shared_inputs_sent_once_per_worker(pool1, toy_file, tmp_path):
    # every result reports how often its process unpickled the shared payload: once
    for out in (pool1, run_sweep(toy_file, tmp_path / "o", workers=2)):
        loads = session(out)["shared_loads_per_worker"]
        assert loads and set(loads.values()) == {1}, loads
    # and a task carries only the member (a few hundred bytes), not the scenarios
    import pickle

    plan = sw.plan_sweep(load_sweep_spec(toy_file))
    shared = pickle.dumps(sw.SharedInputs(plan.scenarios))
    payload = sw.SharedInputs(plan.scenarios)
    task = pickle.dumps((sw._pool_call, sw.run_member, plan.members[0], payload.token))
    assert len(task) < 600 < len(shared)


def test_dask_local_cluster_identical(pool1, toy_file, tmp_path):
    out = run_sweep(toy_file, tmp_path / "out", dask=True, workers=2)
    assert_same_runs(pool1, out)
    s = session(out)
    assert s["executor"] == "dask-local" and s["workers"] == 2
    assert set(s["shared_loads_per_worker"].values()) == {1}  # worker plugin


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two single-thread workers started as separate processes."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen(
                [dask, "worker", addr, "--nworkers", "1", "--nthreads", "1", "--host",
                 "127.0.0.1", "--no-dashboard", "--local-directory", str(tmp_path)],
                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(addr, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        yield addr
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_scheduler_executor_identical(pool1, toy_file, tmp_path, dask_cluster, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(toy_file), "--scheduler", dask_cluster, "--out", str(out)]) == 0
    assert "dask-scheduler (2 workers)" in capsys.readouterr().out
    assert_same_runs(pool1, out)
    s = session(out)
    assert len(s["workers_seen"]) == 2 and set(s["shared_loads_per_worker"].values()) == {1}
    # the same long-lived workers serve a second sweep: its payload again travels once each
    again = run_sweep(toy_file, tmp_path / "again", scheduler=dask_cluster, quiet=True)
    assert set(session(again)["shared_loads_per_worker"].values()) == {1}
    assert_same_runs(pool1, again)


# ------------------------------------------------------------------- resume and failures


def test_resume_after_interruption_runs_only_missing(pool1, toy_file, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = sw.store._write_part
    calls = []

    def interrupt_after_five(*a, **k):
        if len(calls) == 5:
            raise KeyboardInterrupt  # Ctrl-C in the parent while runs are in flight
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(sw.store, "_write_part", interrupt_after_five)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(toy_file, out, workers=2)
    monkeypatch.setattr(sw.store, "_write_part", real)
    assert json.loads((out / "sweep.json").read_text())["status"] == "running"
    assert not (out / "runs.parquet").exists()  # no half-written results
    assert len([d for d in (out / "runs").iterdir() if not d.name.startswith(".")]) == 5
    with pytest.raises(SweepError, match="did not finish"):
        load_sweep(out)
    with pytest.raises(SweepError, match="--resume"):
        run_sweep(toy_file, out, workers=2)
    # parts hold Arrow IPC tables; a part written as Parquet (earlier versions) still resumes
    done = sorted(d for d in (out / "runs").iterdir() if not d.name.startswith("."))
    assert sorted(p.name for p in done[0].iterdir()) == ["places.arrow", "run.json",
                                                         "sectors.arrow"]
    for t in ("places", "sectors"):
        f = done[0] / f"{t}.arrow"
        pd.read_feather(f).to_parquet(done[0] / f"{t}.parquet", index=False)
        f.unlink()
    run_sweep(toy_file, out, workers=2, resume=True)
    s = session(out)
    assert s["resumed_with_finished"] == 5 and s["executed"] == 12 - 5
    assert_same_runs(pool1, out)
    for t in ("places", "sectors"):  # the same bytes as the uninterrupted sweep
        assert (out / f"{t}.parquet").read_bytes() == (pool1 / f"{t}.parquet").read_bytes()
    assert not (out / "runs").exists()
    # resuming a complete sweep does nothing; a changed sweep is refused
    run_sweep(toy_file, out, resume=True)
    first, second = json.loads((out / "sweep.json").read_text())["sessions"]
    assert first["interrupted"] and first["executed"] == 5 and "interrupted" not in second
    other = write(tmp_path, TOY.replace("seed: 7", "seed: 8"), "other.yaml")
    with pytest.raises(SweepError, match="changed"):
        run_sweep(other, out, resume=True)


CAL_TOY = f"""schema_version: 1
extends: {SCEN / 'example.yaml'}
name: toycal
calibrate: true
region:
  places:
    - {{id: core, lat: 43.9, lon: 125.3, mobile_pop: 6.0, ag_pop: 1.5, land: 3.0, gdp: 6.0}}
    - {{id: east, lat: 43.85, lon: 126.55, mobile_pop: 2.4, ag_pop: 1.0, land: 1.5, gdp: 4.0}}
    - {{id: south, lat: 43.15, lon: 124.35, mobile_pop: 1.2, ag_pop: 0.8, land: 1.0, gdp: 2.5}}
    - {{id: remote, lat: 42.9, lon: 129.5, mobile_pop: 0.6, ag_pop: 0.4, land: 0.8, gdp: 1.2}}
    - {{id: port, external: true, lat: 38.9, lon: 121.6, mobile_pop: 7.0, wage: 1.3, gdp: 700.0}}
    - {{id: metro, external: true, lat: 39.9, lon: 116.4, mobile_pop: 20.0, wage: 1.6,
       gdp: 3600.0}}
"""
CAL_LINK = """schema_version: 1
extends: toycal.yaml
name: toycal-link
policies:
  - {type: link, action: open, from: east, to: remote, mode: expressway, km: 300, hours: 3.4,
     start: 2021}
"""


def test_failing_run_is_recorded_and_calibration_shared(tmp_path, capsys):
    write(tmp_path, CAL_TOY, "toycal.yaml")
    write(tmp_path, CAL_LINK, "toycal_link.yaml")
    # housing_share 0.85 leaves core's observed GDP below its farm income: calibration fails
    f = write(tmp_path, "schema_version: 1\nscenarios: [toycal.yaml, toycal_link.yaml]\n"
              "baseline: toycal\nseeds: [1, 2]\ndesign: {method: grid}\nend_year: 2022\n"
              "parameters:\n  housing_share: {values: [0.25, 0.85]}\n")
    out = tmp_path / "out"
    assert main(["sweep", str(f), "--out", str(out), "--workers", "2"]) == 0
    cap = capsys.readouterr()
    assert "4 failed" in cap.out and "warning: 4 of 8 runs failed" in cap.err
    s = load_sweep(out)
    bad = s.runs[s.runs["housing_share"] == 0.85]
    good = s.runs[s.runs["housing_share"] == 0.25]
    assert (bad["status"] == "failed").all() and (good["status"] == "ok").all()
    assert bad["error"].str.contains("calibration failed: CalibrationError").all()
    assert set(s.places["run_id"]) == set(good["run_id"])
    # one calibration per design point, shared by both scenarios and both seeds
    cal = session(out)["calibrations"]
    assert len(cal) == 2 and sorted(v["status"] for v in cal.values()) == ["failed", "ok"]
    assert good["calibration"].nunique() == 1
    # the members ran the same model as run_scenario calibrating by itself
    sc = sim.load_scenario(tmp_path / "toycal_link.yaml")
    ref = sim.run_scenario(sc, seed=2, end_year=2022)
    mine = s.places[s.places["run_id"] == "p0000-toycal-link-s2"].drop(columns="run_id")
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), ref.places, check_exact=True)


@pytest.mark.slow
def test_jilin_plan_shares_baseline_calibration_exactly():
    """The plan's members run on the baseline's calibration: the same as calibrating the plan."""
    base = sim.load_scenario(SCEN / "baseline.yaml")
    plan = sim.load_scenario(SCEN / "plan.yaml")
    shared = sw.SharedInputs({"baseline": base, "plan": plan})
    cal = sw.run_calibration(shared, {"key": "c0", "scenario": "baseline", "params": {}})
    assert cal["status"] == "ok"
    r = sw.run_member(shared, {"run_id": "x", "scenario": "plan", "params": {}, "seed": 2020,
                               "end_year": 2021, "places": cal["places"]})
    ref = sim.run_scenario(plan, seed=2020, end_year=2021)
    pd.testing.assert_frame_equal(r["places"], ref.places, check_exact=True)
    pd.testing.assert_frame_equal(r["sectors"], ref.sectors, check_exact=True)


def test_members_reuse_their_calibrations_firm_spinup(monkeypatch):
    """A calibration hands its base-year firm spin-up to its members: a worker that did not
    calibrate reuses it (no spin-up of its own) and gets what spinning up itself gives."""
    import sim.engine.model as mdl

    base = sim.load_scenario(SCEN / "baseline.yaml")
    shared = sw.SharedInputs({"baseline": base})
    cal = sw.run_calibration(shared, {"key": "c0", "scenario": "baseline", "params": {}})
    assert cal["status"] == "ok" and len(cal["spinups"]) == 1
    member = {"run_id": "x", "scenario": "baseline", "params": {}, "seed": 2020,
              "end_year": 2021, "places": cal["places"]}
    monkeypatch.setattr(mdl, "_SPINUP_MEMO", {})  # a worker that did not calibrate
    fresh = sw.run_member(shared, member)
    assert fresh["status"] == "ok" and mdl._SPINUP_MEMO.keys() == cal["spinups"].keys()

    def no_spin_up(*a, **k):
        raise AssertionError("spun up again")

    monkeypatch.setattr(mdl, "_SPINUP_MEMO", {})
    monkeypatch.setattr(mdl.SimModel, "_spin_up", no_spin_up)
    reused = sw.run_member(shared, dict(member, spinups=cal["spinups"]))
    assert reused["status"] == "ok", reused["error"]
    pd.testing.assert_frame_equal(reused["places"], fresh["places"], check_exact=True)
    pd.testing.assert_frame_equal(reused["sectors"], fresh["sectors"], check_exact=True)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir()
                    or "forkserver" not in multiprocessing.get_all_start_methods(),
                    reason="reads the server's threads from /proc")
def test_pool_workers_fork_from_a_preloaded_one_thread_server(pool1):
    """The pool's workers are forks of a server that loaded the engine and holds one thread."""
    from multiprocessing import forkserver

    assert session(pool1)["start_method"] == "forkserver"
    pid = forkserver._forkserver._forkserver_pid
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "_multiarray_umath" in maps  # numpy (and with it the engine) is loaded ...
    assert len(list(Path(f"/proc/{pid}/task").iterdir())) == 1  # ... and no thread but one


def test_exists_force_and_default_folder(toy_file, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    plan = sw.plan_sweep(load_sweep_spec(toy_file))
    out = run_sweep(toy_file, workers=2)
    assert out == Path("results/sweeps") / f"toy-{plan.spec_hash}" and out.is_dir()
    assert main(["sweep", str(toy_file), "--workers", "2"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["sweep", str(toy_file), "--workers", "1", "--force", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert sorted(p.name for p in out.iterdir()) == [
        "places.parquet", "runs.csv", "runs.parquet", "sectors.parquet", "sweep.json"]
    m = json.loads((out / "sweep.json").read_text())
    assert m["status"] == "complete" and m["design"]["points"] == 3
    assert len(m["design"]["matrix"]) == 3 and m["versions"]["SALib"]
    runs = pd.read_csv(out / "runs.csv")
    for c in ("run_id", "scenario", "scenario_path", "migration_elasticity", "sigma", "seed",
              "status", "error", "wall_time_s", "worker"):
        assert c in runs.columns


def test_top_level_exports():
    assert sim.run_sweep is run_sweep and sim.load_sweep is load_sweep


# ------------------------------------------------------------------ the example sweep files


def test_there_are_example_sweeps():
    names = {p.name for p in SWEEPS}
    assert {"plan_ensemble.yaml", "plan_morris.yaml", "plan_sobol.yaml"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_example_sweep_runs_reduced(path, tmp_path):
    """Every example sweep validates (whole file) and runs with its design shrunk (Sobol and
    Morris: the first two parameters, N = 1 or r = 2) and years cut to 2021."""
    spec = load_sweep_spec(path)
    small = {"lhs": 2, "sobol": 1, "morris": 2}.get(spec.design.method, spec.design.samples)
    keep = 2 if spec.design.method in ("sobol", "morris") else len(spec.parameters)
    spec = dataclasses.replace(spec, seeds=spec.seeds[:1], parameters=spec.parameters[:keep],
                               design=dataclasses.replace(spec.design, samples=small))
    t0 = time.perf_counter()
    out = run_sweep(spec, tmp_path / "out", workers=2, end_year=2021)
    s = load_sweep(out)
    assert (s.runs["status"] == "ok").all(), s.runs.loc[s.runs["status"] != "ok", "error"]
    if spec.design.method in ("sobol", "morris"):
        t = pd.read_csv(out / "sensitivity.csv")
        assert set(t["parameter"]) == set(s.parameters)
        assert (out / "sensitivity.png").exists() and (out / "sensitivity.svg").exists()
    print(f"{path.name}: {len(s.runs)} runs in {time.perf_counter() - t0:.1f} s")


def test_agent_resolution_sweep_is_identical_across_workers_and_executors(tmp_path):
    """Where the seed matters (agent resolution), 1 worker, 2 workers and a Dask cluster agree.

    Each member draws from Generators spawned from its own seed (sim.rng), never from a
    worker's state, so the sample paths cannot depend on which process runs them.
    """
    scen = tmp_path / "agents.yaml"
    scen.write_text(f"schema_version: 1\nextends: {SCEN / 'example_agents.yaml'}\n"
                    "name: small-agents\nagents: {households: 4000, firms: 4000}\n")
    f = write(tmp_path, f"""schema_version: 1
name: agents
scenarios: [{scen}]
seeds: [1, 2, 3]
design: {{method: lhs, samples: 2, seed: 3}}
parameters:
  migration_elasticity: {{range: [1.0, 2.0]}}
end_year: 2022
""")
    one = run_sweep(f, tmp_path / "one", workers=1)
    two = run_sweep(f, tmp_path / "two", workers=2)
    dsk = run_sweep(f, tmp_path / "dask", dask=True, workers=2)
    assert_same_runs(one, two)
    assert_same_runs(one, dsk)
    p = load_sweep(one).places
    assert (load_sweep(one).runs["status"] == "ok").all()
    # the seeds do matter here: same design point, different seeds, different sample paths
    a = p[p.run_id == "p0000-small-agents-s1"]["population"].to_numpy()
    b = p[p.run_id == "p0000-small-agents-s2"]["population"].to_numpy()
    assert not np.array_equal(a, b)
    assert (load_sweep(one).runs["same_as"] == "").all() and session(one)["reused"] == 0


def test_seed_twins_at_aggregate_resolution_are_computed_once(pool1, tmp_path):
    """Aggregate runs draw no random numbers: a seed's tables are the first seed's, taken.

    The engine checked directly (firm entry and exit included): two seeds, the same tables.
    """
    from sim.scenario.schema import draws_random_numbers

    sc = sim.load_scenario(SCEN / "example_link.yaml")
    sc = dataclasses.replace(sc, parameters=dataclasses.replace(sc.parameters,
                                                                firm_dynamics="entry_exit"))
    assert not draws_random_numbers(sc)
    a, b = (sim.run_scenario(sc, seed=s, end_year=2022) for s in (1, 2))
    for t in ("places", "sectors"):
        pd.testing.assert_frame_equal(getattr(a, t), getattr(b, t), check_exact=True)
    assert draws_random_numbers(sim.load_scenario(SCEN / "example_agents.yaml"))
    # the toy sweep (3 points x 2 scenarios x seeds 1, 2) ran 6 members and took 6 tables
    runs = load_sweep(pool1).runs.set_index("run_id")
    twins = runs[runs["same_as"] != ""]
    assert len(twins) == 6 and session(pool1)["reused"] == 6
    assert (twins.index.str.endswith("-s2")).all()
    assert list(twins["same_as"]) == [i[:-1] + "1" for i in twins.index]
    assert (twins["wall_time_s"] == 0).all()
    assert (runs.loc[twins["same_as"], "wall_time_s"] > 0).all()
    p = load_sweep(pool1).places
    for r, first in twins["same_as"].items():
        pd.testing.assert_frame_equal(p[p.run_id == r].drop(columns="run_id")
                                      .reset_index(drop=True),
                                      p[p.run_id == first].drop(columns="run_id")
                                      .reset_index(drop=True), check_exact=True)


def test_sweep_workers_pin_blas_to_one_thread():
    """A worker that received its shared inputs runs BLAS single-threaded (threadpoolctl)."""
    code = ("from threadpoolctl import threadpool_info; import sim.sweep.execute as x; "
            "x._install_shared(x.SharedInputs({})); "
            "print(max([i['num_threads'] for i in threadpool_info()] or [1]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "1"


def test_sweep_workers_pin_numba_to_one_thread():
    """numba's pool (compiled products of sim.kernels.dense) too, loaded before or after."""
    for before in ("", "import numba; "):
        code = (before + "import sim.sweep.execute as x; x._install_shared(x.SharedInputs({})); "
                "import numba; print(numba.get_num_threads())")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
        assert r.stdout.strip() == "1", before
