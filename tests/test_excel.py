"""Excel export: sim export and sim compare --xlsx (one sheet per table, units in the frozen
header row, numbers as numbers)."""

import math
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from sim.cli import main
from sim.results import load_results

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example.yaml"
LINK = ROOT / "scenarios" / "example_link.yaml"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("xl")
    a, b = d / "base", d / "link"
    assert main(["run", str(EXAMPLE), "--out", str(a), "--end-year", "2023", "--quiet"]) == 0
    assert main(["run", str(LINK), "--out", str(b), "--end-year", "2023", "--quiet"]) == 0
    return a, b


def _header(ws):
    return [c.value for c in ws[1]]


def test_export_one_run(two_runs, tmp_path, capsys):
    a, _ = two_runs
    f = tmp_path / "a.xlsx"
    assert main(["export", str(a), "--xlsx", str(f)]) == 0
    wb = load_workbook(f)
    assert {"runs", "indicators", "places", "sectors", "migration", "links"} <= set(wb.sheetnames)
    ws = wb["places"]
    head = _header(ws)
    assert "GDP [bn CNY a year, nominal]" in head and "population [m persons]" in head
    assert "year" in head
    assert ws.freeze_panes == "A2"
    places = load_results(a).places
    assert ws.max_row == len(places) + 1
    j = head.index("GDP [bn CNY a year, nominal]") + 1
    v = ws.cell(2, j).value
    assert isinstance(v, float) and math.isclose(v, float(places["gdp"].iloc[0]))
    assert isinstance(ws.cell(2, head.index("year") + 1).value, int)
    # refuses to overwrite without --force
    assert main(["export", str(a), "--xlsx", str(f)]) == 2
    assert "exists" in capsys.readouterr().err


def test_export_several_runs_and_chinese_headers(two_runs, tmp_path):
    f = tmp_path / "ab.xlsx"
    assert main(["export", *map(str, two_runs), "--xlsx", str(f), "--lang", "zh"]) == 0
    wb = load_workbook(f)
    head = _header(wb["places"])
    assert head[0] == "方案" and "地区生产总值 [十亿元/年(名义)]" in head
    runs = {c.value for c in wb["places"]["A"][1:]}
    assert len(runs) == 2


def test_compare_xlsx(two_runs, tmp_path, capsys):
    f = tmp_path / "cmp.xlsx"
    assert main(["compare", *map(str, two_runs), "--xlsx", str(f)]) == 0
    assert "Excel workbook" in capsys.readouterr().out
    wb = load_workbook(f)
    assert {"headline", "runs", "indicators", "places", "sectors"} <= set(wb.sheetnames)
    for name in ("headline", "places", "indicators"):
        assert wb[name].freeze_panes == "A2"
    ws = wb["indicators"]
    head = _header(ws)
    assert "unit" in head and "difference [%]" in head
    df = pd.DataFrame(ws.iter_rows(min_row=2, values_only=True), columns=head)
    gdp = df[df["indicator"] == "GDP"]
    assert gdp["unit"].str.startswith("bn CNY").all()
    assert gdp["value"].map(lambda x: isinstance(x, float)).all()
    pl = pd.DataFrame(wb["places"].iter_rows(min_row=2, values_only=True),
                      columns=_header(wb["places"]))
    assert set(pl.loc[pl["indicator"] == "gdp", "unit"]) == {"bn CNY a year, nominal"}
