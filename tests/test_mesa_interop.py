"""Mesa interop: SimModel takes a scenario path, collects the headline series with a Mesa
DataCollector and runs under mesa.batch_run; the numbers are those of ``sim run``."""

from pathlib import Path

import mesa
import pandas as pd
import pytest

from sim.analysis.indicators import indicators
from sim.cli import main
from sim.engine.model import HEADLINE_REPORTERS, SimModel
from sim.results import load_results

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example.yaml"
END = 2023


def test_batch_run_matches_sim_run(tmp_path):
    values = [1.0, 2.5]
    rows = mesa.batch_run(SimModel, {"scenario": str(EXAMPLE), "end_year": END,
                                     "migration_elasticity": values},
                          iterations=2, max_steps=100, data_collection_period=1,
                          display_progress=False)
    df = pd.DataFrame(rows)
    assert set(HEADLINE_REPORTERS) <= set(df.columns)
    assert len(df) == 2 * 2 * (END - 2020 + 1)  # values x iterations x years
    assert sorted(df["year"].unique()) == list(range(2020, END + 1))
    # the two iterations agree (the aggregate engine draws nothing)
    a = df[df.iteration == 0].drop(columns=["RunId", "iteration"]).reset_index(drop=True)
    b = df[df.iteration == 1].drop(columns=["RunId", "iteration"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    finals = {}
    for v in values:
        scen = tmp_path / f"e{v}.yaml"
        scen.write_text(f"schema_version: 1\nextends: {EXAMPLE}\nname: example\n"
                        f"parameters:\n  migration_elasticity: {v}\n")
        out = tmp_path / f"r{v}"
        assert main(["run", str(scen), "--out", str(out), "--end-year", str(END),
                     "--quiet"]) == 0
        ind = indicators(load_results(out)).pivot(index="year", columns="indicator",
                                                  values="value")
        got = df[(df.iteration == 0) & (df.migration_elasticity == v)].set_index("year")
        for k in ("GDP", "population", "GDP per capita", "real wage", "welfare"):
            assert got[k].to_numpy() == pytest.approx(ind.loc[got.index, k].to_numpy(),
                                                      rel=1e-12), k
        finals[v] = float(got.loc[END, "population"])
    assert len(set(finals.values())) == 2  # the parameter does something


def test_path_calibrates_like_sim_run(tmp_path):
    # a Jilin scenario asks for calibration: SimModel(path) calibrates it as run_scenario does
    m = SimModel(ROOT / "scenarios" / "baseline.yaml", end_year=2020)
    m.step()
    row = m.datacollector.get_model_vars_dataframe().iloc[-1]
    assert main(["run", str(ROOT / "scenarios" / "baseline.yaml"), "--out", str(tmp_path / "b"),
                 "--end-year", "2020", "--quiet"]) == 0
    gdp = load_results(tmp_path / "b").places["gdp"].sum()
    assert row["GDP"] == pytest.approx(gdp, rel=1e-10)
    with pytest.raises(TypeError, match="unknown argument"):
        SimModel(EXAMPLE, no_such_parameter=1)
