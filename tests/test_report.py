"""sim compare --out figures, sim report (headless Chromium), corrupt folders, progress bars."""

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.progress import progress, progress_enabled
from sim.results import ResultsError

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    a = sim.run_scenario(ROOT / "scenarios" / "example.yaml", end_year=2025)
    b = sim.run_scenario(ROOT / "scenarios" / "example_link.yaml", end_year=2025)
    sim.write_results(a, d / "a")
    sim.write_results(b, d / "b")
    return d / "a", d / "b"


def test_compare_out_writes_figures_as_png_and_svg(runs, tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", *map(str, runs), "--out", str(out), "--quiet"]) == 0
    names = {p.name for p in out.iterdir()}
    for fig in ("timeseries", "bars_gdp", "bars_population", "map_0", "map_1"):
        assert {f"{fig}.png", f"{fig}.svg"} <= names, fig
        assert (out / f"{fig}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (out / f"{fig}.svg").read_bytes()[:2000]
    assert "indicators_differences.csv" in names
    # the output folder is never overwritten without --force, and nothing changes
    before = sorted(p.name for p in out.iterdir())
    assert main(["compare", *map(str, runs), "--out", str(out), "--quiet"]) == 2
    assert sorted(p.name for p in out.iterdir()) == before
    assert main(["compare", *map(str, runs), "--out", str(out), "--quiet", "--force"]) == 0


def test_compare_indicators_table_against_itself_is_zero(runs):
    d = sim.compare(runs[0], runs[0])["indicators"]
    assert {"GDP", "welfare", "Theil index of GDP per capita"} <= set(d["indicator"])
    assert np.all(d["difference"].fillna(0) == 0)


@pytest.mark.parametrize("damage", ["manifest_text", "manifest_list", "parquet_bytes",
                                    "parquet_missing", "column_missing", "no_folder"])
def test_corrupt_or_missing_folder_gives_one_clear_error(runs, tmp_path, capsys, damage):
    bad = tmp_path / "bad"
    shutil.copytree(runs[1], bad)
    if damage == "manifest_text":
        (bad / "manifest.json").write_text("{not json")
        expect = "manifest.json: corrupt"
    elif damage == "manifest_list":
        (bad / "manifest.json").write_text("[1, 2]")
        expect = "manifest.json: corrupt"
    elif damage == "parquet_bytes":
        (bad / "places.parquet").write_bytes(b"PAR1 this is not parquet")
        expect = "places.parquet: corrupt parquet"
    elif damage == "parquet_missing":
        (bad / "sectors.parquet").unlink()
        expect = "missing sectors.parquet"
    elif damage == "column_missing":
        import pandas as pd

        p = pd.read_parquet(bad / "places.parquet").drop(columns="gdp")
        p.to_parquet(bad / "places.parquet")
        expect = "missing columns gdp"
    else:
        shutil.rmtree(bad)
        expect = "does not exist"
    with pytest.raises(ResultsError, match=re.escape(expect)):
        sim.load_results(bad)
    for cmd in (["compare", str(runs[0]), str(bad)],
                ["report", str(runs[0]), str(bad), "--out", str(tmp_path / "rep")]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert err.count("error:") == 1 and str(bad) in err and expect in err
    assert not (tmp_path / "rep").exists()  # a failed report leaves nothing behind


def test_report_is_self_contained(runs, tmp_path):
    page = sim.write_report(runs, tmp_path / "rep", quiet=True)
    text = page.read_text()
    assert "<title>sim report: example-link against example</title>" in text
    # no fetched resources: every image is a data URI, no scripts, no remote links
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", text)
    assert "<script" not in text and "<link" not in text
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 5
    for key in ("Headline", "Whole-horizon effects", "Policies", "Run facts", "seed",
                "solver max residual", "welfare: equivalent variation"):
        assert key in text, key
    # each scenario's description and its policies' labels are in the page
    for r in runs:
        m = json.loads((r / "manifest.json").read_text())
        if m.get("description"):
            assert m["description"].split("\n")[0][:40] in text.replace("&#x27;", "'")
        for p in m["scenario"]["policies"]:
            if p.get("label"):
                assert p["label"][:30] in text.replace("&#x27;", "'")
    assert {p.name for p in (tmp_path / "rep" / "figures").iterdir()} >= {"map_1.svg"}


def _orange_pixels(png: Path) -> int:
    import matplotlib.image as mpimg

    img = mpimg.imread(png)[..., :3]
    c1 = np.array([1.0, 0.498, 0.055])  # matplotlib's C1 (#ff7f0e): the second run's lines
    return int((np.abs(img - c1).max(axis=-1) < 0.06).sum())


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("SIM_REQUIRE_CHROMIUM"),
                    reason="Debian chromium not installed (.ci/run installs it and sets "
                           "SIM_REQUIRE_CHROMIUM=1, so CI never skips this)")
def test_report_renders_in_headless_chromium(runs, tmp_path):
    assert CHROMIUM, "SIM_REQUIRE_CHROMIUM is set but chromium is not installed"
    page = sim.write_report(runs, tmp_path / "rep", quiet=True)
    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--proxy-server=127.0.0.1:9",  # no network at all
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,3000"]
    r = subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>sim report: example-link against example</title>" in dom.stdout
    assert dom.stdout.count('<figure id="fig-') == 5
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[0] == 3000 and img.shape[1] == 1280
    # the figures were decoded and painted: the orange line of the second run is on screen
    assert _orange_pixels(shot) > 200
    assert len(np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 500


def test_progress_switch(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("SIM_NO_PROGRESS", raising=False)
    assert progress_enabled(stream=Tty())
    assert not progress_enabled(quiet=True, stream=Tty())
    assert not progress_enabled(stream=object())  # no isatty: not a terminal
    monkeypatch.setenv("CI", "true")
    assert not progress_enabled(stream=Tty())
    with progress(3, "x") as bar:  # silent stand-in still counts
        bar.update(2)
        assert bar.n == 2


def _run_in_pty(args, env):
    """Run ``python -m sim ARGS`` with stderr on a pseudo-terminal; return what it printed."""
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    p.wait(timeout=120)
    os.close(master)
    return p.returncode, b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SIM_NO_PROGRESS")}
    args = ["run", "scenarios/example.yaml", "--end-year", "2024"]
    rc, err = _run_in_pty([*args, "--out", str(tmp_path / "a")], env)
    assert rc == 0 and "example" in err and "year" in err and "%" in err, err
    rc, err = _run_in_pty([*args, "--out", str(tmp_path / "b"), "--quiet"], env)
    assert rc == 0 and err.strip() == "", err
    rc, err = _run_in_pty([*args, "--out", str(tmp_path / "c")], {**env, "CI": "1"})
    assert rc == 0 and "%" not in err, err
