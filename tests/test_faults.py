"""Faults at any moment: SIGKILL at every file-system step of ``sim run``, ``compare``,
``report`` and ``sweep`` (the ``SIM_FAULT_KILL_AT`` hook of :func:`sim.results.folder.fault_point`),
``--force`` only on sim's own folders, stale temporary siblings, Ctrl-C, closed pipes, read-only
and full file systems, incomplete folders refused by the loaders.

The default run kills every point of ``sim run``, ``compare`` and ``report`` and two points of
a sweep (resumed byte-identically); the slow variant kills a ``--force`` sweep at every point,
and ``SIM_LONG=1`` also kills a fresh sweep at every point and resumes each.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.results import ResultsError, load_results
from sim.results.folder import FAULT_ENV, clean_siblings, folder_kind
from sim.sweep import SweepError, load_sweep

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example.yaml"
LINK = ROOT / "scenarios" / "example_link.yaml"
MAX_POINTS = 60


def sim_cmd(args, *, kill_at=None, timeout=180, **kw):
    env = dict(os.environ)
    env.pop(FAULT_ENV, None)
    if kill_at is not None:
        env[FAULT_ENV] = str(kill_at)
    # a session of its own: a killed sweep's orphaned pool workers are killed with it
    p = subprocess.Popen([sys.executable, "-m", "sim", *map(str, args)], env=env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, **kw)
    try:
        p.wait(timeout=timeout)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    out, err = p.communicate(timeout=30)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def kill_everywhere(args, after, points=None):
    """Run ``sim args`` killed at its k-th file-system step for every k (or ``points``)."""
    ks = points or range(1, MAX_POINTS)
    killed = 0
    for k in ks:
        r = sim_cmd(args, kill_at=k)
        if r.returncode == 0:
            assert points is None, f"kill point {k} was never reached"
            return killed
        assert r.returncode == -signal.SIGKILL, (k, r.stderr)
        killed += 1
        after(k)
    assert points is not None, "more kill points than expected"
    return killed


def hidden(folder: Path):
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    for name, f in (("a", EXAMPLE), ("b", LINK)):
        assert main(["run", str(f), "--out", str(d / name), "--end-year", "2021",
                     "--quiet"]) == 0
    return d / "a", d / "b"


# ------------------------------------------------------------------ kills at every step


def test_run_killed_at_every_step_never_leaves_a_half_folder(tmp_path):
    out = tmp_path / "r"
    assert main(["run", str(EXAMPLE), "--out", str(out), "--end-year", "2020", "--quiet"]) == 0

    def after(k):
        res = load_results(out)  # always the old (2020) or the new (2021) run, complete
        assert res.manifest["end_year"] in (2020, 2021), k
        assert sorted(set(res.places.year)) == list(range(2020, res.manifest["end_year"] + 1))
        clean_siblings(out)  # what the next run does first
        assert hidden(out) == [], k

    n = kill_everywhere(["run", EXAMPLE, "--out", out, "--end-year", "2021", "--quiet",
                         "--force"], after)
    assert n >= 6  # tables, manifest, exchange ...
    assert load_results(out).manifest["end_year"] == 2021
    assert [p.name for p in tmp_path.iterdir()] == ["r"]

    # a fresh folder: absent or complete, whatever the moment
    fresh = tmp_path / "fresh"

    def after_fresh(k):
        if fresh.exists():
            assert load_results(fresh).manifest["end_year"] == 2020, k
        clean_siblings(fresh)
        assert hidden(fresh) == [], k

    kill_everywhere(["run", EXAMPLE, "--out", fresh, "--end-year", "2020", "--quiet"],
                    after_fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "r"]


def test_compare_and_report_killed_at_every_step(two_runs, tmp_path):
    a, b = two_runs
    cmp_ = tmp_path / "cmp"
    rep = tmp_path / "rep"
    assert main(["compare", str(a), str(b), "--out", str(cmp_), "--no-figures",
                 "--quiet"]) == 0
    assert main(["report", str(a), str(b), "--out", str(rep), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in cmp_.iterdir()}

    def after_cmp(k):
        assert folder_kind(cmp_) == "comparison"
        names = {p.name for p in cmp_.iterdir()}
        assert names == set(before) or {"headline.md", "headline.csv"} <= names, k
        clean_siblings(cmp_)
        assert hidden(cmp_) == []

    kill_everywhere(["compare", a, b, "--out", cmp_, "--no-figures", "--quiet", "--force"],
                    after_cmp)

    def after_rep(k):
        assert folder_kind(rep) == "report" and (rep / "report.html").is_file(), k
        clean_siblings(rep)
        assert hidden(rep) == []

    assert kill_everywhere(["report", a, b, "--out", rep, "--quiet", "--force"],
                           after_rep) >= 3


TOY = f"""schema_version: 1
name: toy
scenarios: [{EXAMPLE}]
seeds: [1]
design: {{method: lhs, samples: 2, seed: 7}}
parameters:
  migration_elasticity: {{range: [1.0, 2.5]}}
end_year: 2021
"""


@pytest.fixture(scope="module")
def toy_sweep(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    f = d / "toy.yaml"
    f.write_text(TOY)
    ref = d / "ref"
    assert main(["sweep", str(f), "--out", str(ref), "--workers", "1", "--quiet"]) == 0
    return f, ref


def _same_sweep(a, b):
    for t in ("places", "sectors"):
        assert (a / f"{t}.parquet").read_bytes() == (b / f"{t}.parquet").read_bytes(), t
    ra, rb = load_sweep(a).runs, load_sweep(b).runs
    cols = [c for c in ra.columns if c not in ("wall_time_s", "worker")]
    pd.testing.assert_frame_equal(ra[cols], rb[cols], check_exact=True)


def _sweep_kills(toy_sweep, tmp_path, points):
    f, ref = toy_sweep
    out = tmp_path / "s"
    tried = []

    def after(k):
        tried.append(k)
        if out.exists():
            m = json.loads((out / "sweep.json").read_text())
            if m["status"] != "complete":
                with pytest.raises(SweepError):
                    load_sweep(out)
                assert main(["compare", str(ref), str(out), "--quiet"]) == 2
        # resuming gives the uninterrupted sweep's tables, byte for byte
        r = sim_cmd(["sweep", f, "--out", out, "--workers", "1", "--quiet", "--resume"]
                    if out.exists() else ["sweep", f, "--out", out, "--workers", "1",
                                          "--quiet"])
        assert r.returncode == 0, r.stderr
        _same_sweep(ref, out)
        assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
        assert hidden(out) == []
        import shutil

        shutil.rmtree(out)

    kill_everywhere(["sweep", f, "--out", out, "--workers", "1", "--quiet"], after,
                    points=points)
    return tried


def test_sweep_killed_then_resumed_is_byte_identical(toy_sweep, tmp_path):
    assert _sweep_kills(toy_sweep, tmp_path, points=[2, 7]) == [2, 7]


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("SIM_LONG"), reason="long variant: SIM_LONG=1 (the "
                    "default run kills a sweep at two points and resumes it)")
def test_sweep_killed_at_every_step_resumes_byte_identical(toy_sweep, tmp_path):
    tried = _sweep_kills(toy_sweep, tmp_path, points=None)
    assert len(tried) >= 8
    _same_sweep(toy_sweep[1], tmp_path / "s")


@pytest.mark.slow
def test_sweep_force_killed_at_every_step_keeps_a_complete_folder(toy_sweep, tmp_path):
    f, ref = toy_sweep
    out = tmp_path / "s"
    other = tmp_path / "other.yaml"
    other.write_text(TOY.replace("samples: 2", "samples: 1"))
    assert main(["sweep", str(other), "--out", str(out), "--workers", "1", "--quiet"]) == 0

    def after(k):
        s = load_sweep(out)  # the old sweep or the new one, always complete
        assert len(s.runs) in (1, 2)
        clean_siblings(out)
        assert hidden(out) == []

    kill_everywhere(["sweep", f, "--out", out, "--workers", "1", "--quiet", "--force"], after)
    _same_sweep(ref, out)


def _session_pids(sid: int) -> set[int]:
    """Live (not zombie) processes of session ``sid``, from /proc."""
    pids = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        state, _ppid, _pgrp, session = stat[stat.rfind(")") + 2:].split()[:4]
        if state != "Z" and int(session) == sid:
            pids.add(int(d.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads sessions from /proc")
def test_sweep_workers_die_with_a_killed_parent(toy_sweep, tmp_path):
    """SIGKILL of the sweep's own process only (not its process group) ends its pool workers.

    The fault hook kills the parent at its first part file (point 3), while the two workers
    are alive; they are re-parented, so they are found by the session the sweep started.
    """
    f, _ = toy_sweep
    env = dict(os.environ, **{FAULT_ENV: "3"})
    p = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(f), "--out",
                          str(tmp_path / "s"), "--workers", "2", "--quiet"], env=env, cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while p.poll() is None and time.monotonic() < deadline:
            workers |= _session_pids(p.pid) - {p.pid}
            time.sleep(0.05)
        assert p.wait(timeout=5) == -signal.SIGKILL
        assert len(workers) >= 2, workers  # the pool's workers were running
        gone_by = time.monotonic() + 5
        while (left := _session_pids(p.pid)) and time.monotonic() < gone_by:
            time.sleep(0.05)
        assert left == set(), f"workers outlived their killed parent: {sorted(left)}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)


def test_parent_watch_fallback_exits_when_the_parent_changed():
    """The portable fallback (no prctl) ends the process once its parent is not the one seen."""
    code = ("import os; from sim.sweep.execute import _watch_parent; "
            "_watch_parent(os.getppid() + 10**7, 0.01); print('still alive')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "still alive" not in r.stdout, r


# ------------------------------------------------------------------ --force and markers


def test_force_never_touches_what_sim_did_not_write(two_runs, tmp_path, capsys):
    a, b = two_runs
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    precious = tmp_path / "precious.yaml"
    precious.write_text("mine")
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("mine")
    fake = tmp_path / "fake"  # a results-looking folder without sim's marker
    fake.mkdir()
    (fake / "manifest.json").write_text("{}")
    sweep = tmp_path / "toy.yaml"
    sweep.write_text(TOY)
    for target in (notes, precious, thesis, fake):
        for argv in (["run", str(EXAMPLE), "--end-year", "2020"],
                     ["compare", str(a), str(b), "--no-figures"],
                     ["report", str(a), str(b)],
                     ["sweep", str(sweep), "--workers", "1"]):
            assert main([*argv, "--out", str(target), "--force", "--quiet"]) == 2, argv
            err = capsys.readouterr().err
            assert "not a folder written by sim" in err and err.count("\n") == 1, err
    assert (notes / "notes.txt").read_text() == "mine" and precious.read_text() == "mine"
    assert (thesis / "thesis.tex").read_text() == "mine"
    assert (fake / "manifest.json").read_text() == "{}"
    assert hidden(notes) == []


def test_folders_carry_their_marker(two_runs, tmp_path):
    a, b = two_runs
    assert folder_kind(a) == "results"
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "c"), "--no-figures",
                 "--quiet"]) == 0
    assert folder_kind(tmp_path / "c") == "comparison"
    # a results folder may replace a comparison folder with --force (both are sim's)
    assert main(["run", str(EXAMPLE), "--end-year", "2020", "--out", str(tmp_path / "c"),
                 "--force", "--quiet"]) == 0
    assert folder_kind(tmp_path / "c") == "results"
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "c2"), "--no-figures",
                 "--quiet"]) == 0
    with pytest.raises(ResultsError, match="comparison folder"):
        load_results(tmp_path / "c2")


def test_stale_temporary_siblings_are_cleaned(tmp_path):
    out = tmp_path / "r"
    stale = [tmp_path / ".r.partial-0123456789abcdef0123456789abcdef",  # older naming
             tmp_path / ".r.partial-999999999-ab12", tmp_path / ".r.old-999999999-cd34"]
    for d in stale:
        d.mkdir()
        (d / "places.parquet").write_text("half")
    alive = tmp_path / f".r.partial-{os.getppid()}-ef56"  # a live writer's folder stays
    alive.mkdir()
    assert main(["run", str(EXAMPLE), "--end-year", "2020", "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r", alive.name])


def test_old_folder_put_back_if_killed_between_renames(tmp_path):
    # without an atomic exchange the old folder is moved aside first; if the writer dies
    # there, the next writer puts it back before anything else
    out = tmp_path / "r"
    assert main(["run", str(EXAMPLE), "--end-year", "2020", "--out", str(out), "--quiet"]) == 0
    aside = tmp_path / ".r.old-999999999-ab12"
    aside.mkdir()
    out.rename(aside / "x")
    clean_siblings(out)
    assert load_results(out).manifest["end_year"] == 2020
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_sweep_tmp_files_cleaned_on_resume(toy_sweep, tmp_path):
    f, ref = toy_sweep
    out = tmp_path / "s"
    r = sim_cmd(["sweep", f, "--out", out, "--workers", "1", "--quiet"], kill_at=3)
    assert r.returncode == -signal.SIGKILL
    for name in (".sweep.json.tmp-999999999", ".places.parquet.tmp"):
        (out / name).write_text("half")
    assert main(["sweep", str(f), "--out", str(out), "--workers", "1", "--quiet",
                 "--resume"]) == 0
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    _same_sweep(ref, out)


# ------------------------------------------------------------------ incomplete folders


def test_incomplete_results_folders_are_refused(two_runs, tmp_path):
    a, _ = two_runs
    import shutil

    def copy(name):
        d = tmp_path / name
        shutil.copytree(a, d)
        return d

    d = copy("empty_manifest")
    (d / "manifest.json").write_text("{}")
    with pytest.raises(ResultsError, match="incomplete"):
        load_results(d)
    d = copy("zero_rows")
    pd.read_parquet(d / "places.parquet").iloc[:0].to_parquet(d / "places.parquet")
    with pytest.raises(ResultsError, match="incomplete"):
        load_results(d)
    d = copy("fewer_rows")
    pd.read_parquet(d / "places.parquet").iloc[:3].to_parquet(d / "places.parquet")
    with pytest.raises(ResultsError, match="incomplete"):
        load_results(d)
    d = copy("manifest_dir")
    (d / "manifest.json").unlink()
    (d / "manifest.json").mkdir()
    with pytest.raises(ResultsError, match="unreadable"):
        load_results(d)
    for name in ("empty_manifest", "zero_rows", "fewer_rows", "manifest_dir"):
        assert main(["compare", str(a), str(tmp_path / name), "--quiet"]) == 2


def test_non_finite_results_are_never_written(tmp_path):
    res = sim.run_scenario(EXAMPLE, end_year=2021)
    res.places.loc[res.places.index[5], "utility"] = float("inf")
    with pytest.raises(ResultsError) as e:
        sim.write_results(res, tmp_path / "r")
    msg = str(e.value)
    assert "places.utility" in msg and "year 2021" in msg and "place " in msg
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ OS faults


def _mount_tmpfs(path: Path, opts: str) -> None:
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()}")


@pytest.fixture
def tiny_fs(tmp_path):
    mnt = tmp_path / "mnt"
    _mount_tmpfs(mnt, "size=48k")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def readonly_fs(tmp_path):
    mnt = tmp_path / "ro"
    if os.geteuid() != 0:
        mnt.mkdir()
        mnt.chmod(0o555)
        yield mnt
        mnt.chmod(0o755)
        return
    _mount_tmpfs(mnt, "size=1m,ro")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_gives_one_error_and_leaves_nothing(tiny_fs, capsys):
    out = tiny_fs / "r"
    assert main(["run", str(EXAMPLE), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "no space left" in err, err
    assert list(tiny_fs.iterdir()) == []


def test_readonly_and_file_parent_give_one_error(readonly_fs, tmp_path, two_runs, capsys):
    a, b = two_runs
    for argv in (["run", str(EXAMPLE), "--end-year", "2020"],
                 ["compare", str(a), str(b), "--no-figures"]):
        assert main([*argv, "--out", str(readonly_fs / "r"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "not writable" in err
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(["run", str(EXAMPLE), "--end-year", "2020", "--out", str(f / "r"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a folder" in err, err
    sweep = tmp_path / "toy.yaml"
    sweep.write_text(TOY)
    assert main(["sweep", str(sweep), "--out", str(readonly_fs / "s"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err, err


# ------------------------------------------------------------------ Ctrl-C and pipes


SLOW_SWEEP = """schema_version: 1
name: slow
scenarios: [long.yaml]
seeds: [1]
design: {method: lhs, samples: 32, seed: 7}
parameters:
  migration_elasticity: {range: [1.0, 2.5]}
"""  # 32 distinct runs of 180 years each (one seed: members that differ only in seed are
# computed once at aggregate resolution): still running when interrupted 2.5 s in


@pytest.mark.parametrize("cmd", ["run", "sweep"])
def test_ctrl_c_ends_in_one_line_and_130(cmd, tmp_path):
    if cmd == "run":  # 280 years of 200,000 household and firm agents, about 6 s: still
        # running when interrupted (50,000 of each took 2.9 s: a run ending as the signal came
        # was once ended by SIGINT without the CLI's line, most likely during the interpreter's
        # shutdown, after Python's own handler is gone)
        f = tmp_path / "long.yaml"
        f.write_text(f"schema_version: 1\nextends: {ROOT / 'scenarios' / 'example_agents.yaml'}"
                     f"\nname: long\ntime: {{start: 2020, end: 2300}}\n"
                     f"agents: {{households: 200000, firms: 200000}}\n")
        args = ["run", f, "--out", tmp_path / "r", "--quiet"]
    else:
        (tmp_path / "long.yaml").write_text(
            f"schema_version: 1\nextends: {EXAMPLE}\nname: long\n"
            f"time: {{start: 2020, end: 2200}}\n")
        f = tmp_path / "slow.yaml"
        f.write_text(SLOW_SWEEP)
        args = ["sweep", f, "--out", tmp_path / "r", "--workers", "2", "--quiet"]
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    p = subprocess.Popen([sys.executable, "-m", "sim", *map(str, args)], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    time.sleep(2.5)
    os.killpg(p.pid, signal.SIGINT)  # like Ctrl-C: the whole process group
    out, err = p.communicate(timeout=60)
    # 130, or the process ending by SIGINT after the CLI printed its line (seen when `sim run`
    # is interrupted while writing results): a shell reports both as 130
    assert p.returncode in (130, -signal.SIGINT), err
    assert err.strip() == "interrupted" and "Traceback" not in err, err
    if cmd == "run":
        assert not (tmp_path / "r").exists()
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []


def test_closed_pipe_is_quiet(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    p = subprocess.Popen([sys.executable, "-m", "sim", "run", str(EXAMPLE), "--end-year",
                          "2021", "--out", str(tmp_path / "r")], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # like `sim ... | head -0`
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    assert p.returncode == 141 and err == "", err
    assert load_results(tmp_path / "r")  # the results were written before printing


def test_unguarded_run_sweep_script_says_what_to_do(tmp_path):
    f = tmp_path / "toy.yaml"
    f.write_text(TOY)
    script = tmp_path / "script.py"
    script.write_text(f"import sim\nsim.run_sweep({str(f)!r}, {str(tmp_path / 's')!r}, "
                      f"workers=2)\nprint('done')\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode != 0
    assert 'if __name__ == "__main__"' in r.stderr
    assert "BrokenProcessPool" not in r.stderr


def test_ctrl_c_while_a_sweep_waits_leaves_no_pool_lock_held(tmp_path, monkeypatch):
    """A Ctrl-C during a sweep's pool phase never interrupts concurrent.futures' bookkeeping.

    ``concurrent.futures.wait`` acquires every pending future's lock in a Python loop; a
    ``KeyboardInterrupt`` raised inside that loop leaves locks held by the main thread, the
    pool's manager thread blocks on them and the interpreter hangs at exit (in a stress run of
    3,000 queued tasks, 22 of 60 interrupts left a lock held). The sweep records the signal and
    raises at a point of its own: here the signal arrives while a result is being written, that
    write completes, and the sweep then ends with ``KeyboardInterrupt``, its pool shut down.
    """
    import threading

    from sim.sweep import execute, run_sweep, store

    f = tmp_path / "toy.yaml"
    f.write_text(TOY.replace("samples: 2", "samples: 6"))
    write, calls = store._write_part, []

    def write_and_interrupt(*a, **k):
        if not calls:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, in the main thread's own code
            time.sleep(0.05)  # Python would raise here, between bytecodes, if not deferred
        calls.append(write(*a, **k))

    monkeypatch.setattr(store, "_write_part", write_and_interrupt)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_sweep(f, tmp_path / "s", workers=2)
    assert calls, "the write in progress was interrupted instead of completing"
    assert time.monotonic() - t0 < 60
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
            type(t).__name__ == "_ExecutorManagerThread" for t in threading.enumerate()):
        time.sleep(0.05)
    assert not [t for t in threading.enumerate() if type(t).__name__ == "_ExecutorManagerThread"]
    assert execute.RESULT_POLL_S <= 0.2


def test_killed_sweeps_pool_temp_folders_are_removed_by_the_next(tmp_path):
    """The pool server's socket folder of a SIGKILLed sweep is removed by the next sweep.

    ``multiprocessing`` removes its temporary folder at a normal exit only. A folder named for
    a process that no longer exists is a killed sweep's; one of a live process is left alone,
    and a sweep that ends normally leaves none of its own.
    """
    import shutil
    import tempfile

    from sim.sweep.execute import POOL_TEMP_PREFIX

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    tmp = Path(tempfile.gettempdir())
    stale = tmp / f"{POOL_TEMP_PREFIX}{int(dead.stdout)}-test"
    live = tmp / f"{POOL_TEMP_PREFIX}{os.getpid()}-test"
    for d in (stale, live):
        d.mkdir()
        (d / "listener-x").write_text("")
    try:
        f = tmp_path / "toy.yaml"
        f.write_text(TOY)
        env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
        p = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(f), "--out",
                              str(tmp_path / "s"), "--workers", "2", "--quiet"], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        assert not stale.exists() and live.exists()
        assert not list(tmp.glob(f"{POOL_TEMP_PREFIX}{p.pid}-*"))
    finally:
        shutil.rmtree(live, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)
