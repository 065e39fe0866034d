"""sim compare: results folders only, zeros against itself, clear errors."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.results import ResultsError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    a = sim.run_scenario(ROOT / "scenarios" / "example.yaml", end_year=2024)
    b = sim.run_scenario(ROOT / "scenarios" / "example_link.yaml", end_year=2024)
    sim.write_results(a, d / "a")
    sim.write_results(b, d / "b")
    return d / "a", d / "b"


def test_compare_with_itself_is_all_zeros(runs):
    from sim.analysis.comparison import compare

    out = compare(runs[0], runs[0])
    assert set(out) >= {"places", "sectors"}
    assert {"indicators", "links"} <= set(out)
    for df in out.values():
        undefined = df["value"].isna() & df["reference"].isna()  # e.g. growth in year one
        assert np.all((df["difference"] == 0) | undefined)
        assert np.all((df["pct_difference"].fillna(0)) == 0)


def test_compare_policy_run_differs_after_policy_year(runs):
    from sim.analysis.comparison import compare

    p = compare(*runs)["places"]
    assert (p[p.year < 2024]["difference"] == 0).all()
    remote = p[(p.year == 2024) & (p.place == "remote") & (p.indicator == "real_wage")]
    assert remote["difference"].iloc[0] > 0


def test_compare_never_imports_the_model(runs):
    code = ("import sys; import sim.viz.outputs as c; import sim.viz.report as r; "
            "c.write_comparison("
            f"[{str(runs[0])!r}, {str(runs[1])!r}], {str(runs[0].parent / 'cmp')!r}); "
            f"r.write_report([{str(runs[0])!r}, {str(runs[1])!r}], "
            f"{str(runs[0].parent / 'rep')!r}, quiet=True); "
            "bad = [m for m in ('sim.engine.model', 'sim.kernels', 'sim.engine.runner', 'mesa') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cli_compare_writes_csv_and_markdown(runs, tmp_path, capsys):
    assert main(["compare", str(runs[0]), str(runs[1]), "--out", str(tmp_path / "c")]) == 0
    text = capsys.readouterr().out
    assert "GDP 2024" in text and "example-link#1" in text
    names = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert "headline.md" in names and "places_differences.csv" in names
    assert (tmp_path / "c" / "headline.md").read_text().startswith("| ")


def test_compare_errors(runs, tmp_path, capsys):
    from sim.analysis.comparison import compare

    with pytest.raises(ResultsError, match="at least two"):
        compare(runs[0])
    assert main(["compare", str(runs[0]), str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_top_level_compare_function(runs):
    out = sim.compare(runs[0], runs[1])
    assert callable(sim.compare) and "places" in out
