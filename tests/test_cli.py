"""The sim command: run/validate/check, --help everywhere, atomic results folders."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import build_parser, main
from sim.results import ResultsError, load_results

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example.yaml"


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["validate", "--help"],
                                  ["check", "--help"], ["check", "cp", "--help"],
                                  ["calibrate", "--help"], ["compare", "--help"]])
def test_help_everywhere(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    assert "usage: sim" in capsys.readouterr().out


def test_python_dash_m_sim_help():
    out = subprocess.run([sys.executable, "-m", "sim", "--help"], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    assert "run" in out.stdout and "validate" in out.stdout


def test_run_writes_results_folder(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(EXAMPLE), "--seed", "3", "--out", str(out), "--end-year",
                 "2023"]) == 0
    printed = capsys.readouterr().out
    assert "TOTAL" in printed and str(out) in printed
    assert sorted(p.name for p in out.iterdir()) == ["links.parquet", "manifest.json",
                                                     "migration.parquet", "places.parquet",
                                                     "sectors.parquet"]
    mig = pd.read_parquet(out / "migration.parquet")
    assert list(mig.columns) == ["year", "origin", "destination", "movers"]
    assert (mig.movers > 0).all() and (mig.origin != mig.destination).all()
    man = json.loads((out / "manifest.json").read_text())
    assert man["seed"] == 3 and man["name"] == "example"
    assert man["solver"]["max_residual"] < man["solver"]["tol"]
    assert len(man["solver"]["iterations"]) == 4
    assert man["scenario"]["region"]["places"][0]["id"] == "core"
    places = pd.read_parquet(out / "places.parquet")
    for col in ("year", "place", "population", "gdp", "wage", "real_wage", "price_index",
                "welfare", "exports_external", "imports_external", "visitors"):
        assert col in places.columns
    links = pd.read_parquet(out / "links.parquet")
    assert list(links.columns) == ["year", "from", "to", "mode", "freight", "freight_regional"]
    assert (links.freight >= links.freight_regional - 1e-12).all()
    sectors = pd.read_parquet(out / "sectors.parquet")
    for col in ("year", "place", "sector", "output", "employment"):
        assert col in sectors.columns
    assert set(places.year) == {2020, 2021, 2022, 2023}
    res = load_results(out)
    pd.testing.assert_frame_equal(res.places, places)
    # no leftovers next to the folder
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_run_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    assert main(["run", str(EXAMPLE), "--out", str(out), "--end-year", "2021"]) == 2
    assert "exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "precious"
    # --force replaces only folders sim wrote (marked in their manifest), never this one
    assert main(["run", str(EXAMPLE), "--out", str(out), "--end-year", "2021", "--force"]) == 2
    assert "not a folder written by sim" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "precious"
    (out / "keep.txt").unlink()
    out.rmdir()
    assert main(["run", str(EXAMPLE), "--out", str(out), "--end-year", "2021"]) == 0
    assert main(["run", str(EXAMPLE), "--out", str(out), "--end-year", "2021", "--force"]) == 0
    assert (out / "manifest.json").exists()


def test_failed_run_leaves_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("solver:", "x:") +
                   "solver: {max_iter: 1, tol: 1.0e-15}\n")
    out = tmp_path / "r"
    assert main(["run", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "did not converge" in err and "iterations=1" in err
    assert list(tmp_path.iterdir()) == [bad]


def test_default_out_folder_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(EXAMPLE), "--end-year", "2020", "--quiet"]) == 0
    (folder,) = list((tmp_path / "results").iterdir())
    name, h, s = folder.name.rsplit("-", 2)
    assert name == "example" and len(h) == 8 and s == "s1"


def test_validate_ok_and_error_exit_codes(tmp_path, capsys):
    assert main(["validate", str(EXAMPLE)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("sigma: 5.0, expenditure_share: 0.30",
                                               "sigma: 0.5, expenditure_share: 0.30"))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "sigma" in err and "0.5" in err
    out = subprocess.run([sys.executable, "-m", "sim", "validate", str(bad)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0 and "sigma" in out.stderr


def test_load_results_errors(tmp_path):
    with pytest.raises(ResultsError, match="does not exist"):
        load_results(tmp_path / "nope")
    (tmp_path / "x").mkdir()
    with pytest.raises(ResultsError, match="missing manifest.json"):
        load_results(tmp_path / "x")
    (tmp_path / "x" / "manifest.json").write_text("{not json")
    with pytest.raises(ResultsError, match="corrupt"):
        load_results(tmp_path / "x")


def test_parser_lists_subcommands():
    text = build_parser().format_help()
    for cmd in ("run", "validate", "check"):
        assert cmd in text
