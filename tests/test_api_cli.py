"""The public API and the command line's manners: lazy exports stay callable after any
submodule import; no-argument help; closed pipes; Ctrl-C; --quiet keeps the asked-for result;
one hash for folder and manifest; provenance in the manifest; identical runs reused."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sim
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example.yaml"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

_CHECK_EXPORTS = r"""
import importlib, inspect, pkgutil, random, sys
import sim
order = sys.argv[1]
mods = sorted(m.name for m in pkgutil.walk_packages(sim.__path__, "sim.")
              if m.name not in ("sim.__main__",))
if order == "reversed":
    mods = mods[::-1]
elif order.startswith("random"):
    random.Random(int(order[6:])).shuffle(mods)
def check(after):
    for name in sim.__all__:
        if name == "__version__":
            continue
        obj = getattr(sim, name)
        want = getattr(importlib.import_module(sim._EXPORTS[name]), name)
        assert obj is want, (after, name, obj)
        assert callable(obj) and not inspect.ismodule(obj), (after, name, obj)
check("import sim")
for m in mods:
    importlib.import_module(m)
    check(m)
print("ok", len(mods))
"""


def test_no_export_is_shadowed_by_a_submodule():
    import pkgutil

    subs = {m.name.split(".")[1] for m in pkgutil.walk_packages(sim.__path__, "sim.")}
    assert not subs & set(sim._EXPORTS), "an exported name is also a submodule of sim"
    assert set(sim.__all__) == {"__version__", *sim._EXPORTS}


@pytest.mark.parametrize("order", ["sorted", "reversed", "random1"])
def test_lazy_exports_stay_callable_after_any_submodule_import(order):
    # a fresh interpreter per order: submodule imports set attributes on their parents
    out = subprocess.run([sys.executable, "-c", _CHECK_EXPORTS, order], capture_output=True,
                         text=True, cwd=ROOT, env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("ok")


def test_readme_order_compare_then_indicators(tmp_path):
    code = ("import sim, sim.analysis.comparison, sim.analysis.indicators, "
            "sim.analysis.headline\n"
            "assert callable(sim.indicators) and callable(sim.headline) "
            "and callable(sim.compare)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=ENV)


def test_no_arguments_prints_help(capsys):
    assert main([]) == 0
    assert "usage: sim" in capsys.readouterr().out
    out = subprocess.run([sys.executable, "-m", "sim"], capture_output=True, text=True,
                         cwd=ROOT, env=ENV)
    assert out.returncode == 0 and "usage: sim" in out.stdout and not out.stderr


@pytest.mark.parametrize("argv", [[], ["validate", str(EXAMPLE)]])
def test_closed_pipe_exits_quietly(argv):
    # `sim ... | head -0`: the reader is gone before sim writes
    proc = subprocess.Popen([sys.executable, "-m", "sim", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=ENV)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    rc = proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err and not err.strip(), err
    assert rc in (0, 141)  # argparse itself swallows the error of printing the help


def test_ctrl_c_one_line_exit_130(tmp_path):
    # a long run, interrupted with SIGINT once it has started
    proc = subprocess.Popen([sys.executable, "-m", "sim", "check", "cp", "--iters", "400"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=ENV)
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    err = err.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip() == "interrupted"


def test_quiet_still_prints_the_headline(tmp_path, capsys):
    assert main(["run", str(EXAMPLE), "--baseline", str(EXAMPLE), "--out", str(tmp_path / "p"),
                 "--end-year", "2021", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "headline" in out and "TOTAL" not in out


def test_manifest_versions_and_commit_equal_the_full_readers():
    """The quick header reader and the one ``git status`` give what importlib.metadata and
    ``git rev-parse HEAD`` / ``git status --porcelain`` give."""
    import re
    import subprocess
    from importlib.metadata import PackageNotFoundError, requires, version

    from sim.engine import runner

    v = runner.dependency_versions()
    reqs = requires("sim") or []
    assert runner._metadata_headers("sim")[1] == reqs
    names = ["numpy", "scipy", "pandas", "mesa"] + [
        re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0] for r in reqs if "extra ==" not in r]
    expected = {"python": v["python"], "sim": v["sim"]}
    for n in dict.fromkeys(names):
        try:
            expected[n] = version(n)
        except PackageNotFoundError:
            pass
    assert v == expected and len(v) > 6
    if (ROOT / ".git").exists():
        def git(*a):
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout
        head = git("rev-parse", "HEAD").strip()
        dirty = git("status", "--porcelain", "--untracked-files=no").strip()
        runner.git_commit.cache_clear()
        assert runner.git_commit() == head + ("+dirty" if dirty else "")


def test_hash_provenance_and_reuse(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["run", str(EXAMPLE), "--end-year", "2021", "--quiet"]
    assert main(argv) == 0
    (folder,) = (tmp_path / "results").iterdir()
    m = json.loads((folder / "manifest.json").read_text())
    assert folder.name.split("-")[-2] == m["scenario_hash"]
    assert m["command"].startswith("sim run") and "--end-year 2021" in m["command"]
    for dep in ("numpy", "scipy", "pandas", "mesa", "pyarrow", "matplotlib", "pyyaml",
                "tqdm", "SALib"):
        assert dep in m["versions"] or dep.lower() in {k.lower() for k in m["versions"]}, dep
    if (ROOT / ".git").exists():
        assert m["git_commit"] and len(m["git_commit"].split("+")[0]) == 40
    stamp = (folder / "places.parquet").stat().st_mtime_ns
    capsys.readouterr()
    assert main(argv) == 0  # identical run on disk: reused, not an error
    assert "reusing" in capsys.readouterr().err
    assert (folder / "places.parquet").stat().st_mtime_ns == stamp
    # another horizon is another run, in another folder
    assert main(["run", str(EXAMPLE), "--end-year", "2022", "--quiet"]) == 0
    assert len(list((tmp_path / "results").iterdir())) == 2
    # a different run in the same folder is still refused
    m["seed"] = 99
    (folder / "manifest.json").write_text(json.dumps(m))
    assert main(argv) == 2
    assert "different run" in capsys.readouterr().err
