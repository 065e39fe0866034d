"""Lever priors in sweeps: policy fields addressed by label, applied, validated, and identical
on the process pool and Dask."""

from pathlib import Path

import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.scenario.load import load_scenario
from sim.sweep import apply_parameters, load_sweep, load_sweep_spec, plan_sweep, run_sweep
from sim.sweep.spec import is_lever, match_policies

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example.yaml"

PLAN = f"""schema_version: 1
extends: {EXAMPLE}
name: leverplan
time: {{start: 2020, end: 2022}}
policies:
  - {{type: productivity, label: "east zone: productivity", places: [east], factor: 1.05,
     start: 2021, cost_cny: 4}}
  - {{type: tourism, label: "loop, summer", places: [east, remote], visitors: 1.0,
     spend_per_visitor: 1.0, sector: local_services, start: 2021}}
  - {{type: tourism, label: "loop, winter", places: [east, remote], visitors: 0.5,
     spend_per_visitor: 1.0, sector: local_services, start: 2021}}
"""

SWEEP = """schema_version: 1
name: levers
scenarios: [base.yaml, plan.yaml]
baseline: toybase
design: {method: lhs, samples: 2, seed: 3}
parameters:
  policies[east_zone].factor: {range: [1.01, 1.10]}
  policies[loop].spend_per_visitor: {triangular: [0.5, 1.0, 1.5]}
  migration_elasticity: {range: [1.0, 2.0]}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("lev")
    (d / "base.yaml").write_text(f"schema_version: 1\nextends: {EXAMPLE}\nname: toybase\n"
                                 "time: {start: 2020, end: 2022}\n")
    (d / "plan.yaml").write_text(PLAN)
    (d / "sweep.yaml").write_text(SWEEP)
    return d


def test_selectors_and_apply(folder):
    sc = load_scenario(folder / "plan.yaml")
    assert is_lever("policies[east zone].factor") and not is_lever("agglomeration")
    assert match_policies(sc.policies, "east_zone") == [0]  # label prefix, _ as space
    assert match_policies(sc.policies, "East zone: productivity") == [0]  # whole label
    assert match_policies(sc.policies, "loop") == [1, 2]  # part of labels: both seasons
    assert match_policies(sc.policies, "2") == [2] and match_policies(sc.policies, "x") == []
    new = apply_parameters(sc, {"policies[east zone].factor": 1.2,
                                "policies[loop].visitors": 3.0, "migration_elasticity": 2.0})
    assert new.policies[0].factor == 1.2 and new.policies[0].cost_cny == 4
    assert [p.visitors for p in new.policies[1:]] == [3.0, 3.0]
    assert new.parameters.migration_elasticity == 2.0
    c = apply_parameters(sc, {"policies[east zone].cost_cny": 8.0}).policies[0]
    assert c.cost_cny == 8.0 and c.reference_cost_cny == 4.0  # strength scales from 4 to 8
    base = load_scenario(folder / "base.yaml")  # no such policy: unchanged
    assert apply_parameters(base, {"policies[east zone].factor": 1.2}) == base


@pytest.mark.parametrize("param,msg", [
    ("policies[nowhere].factor: {range: [1.0, 1.1]}", "matches no policy label"),
    ("policies[east zone].places: {range: [1.0, 1.1]}", "not a numeric field"),
    ("policies[east zone].factor: {range: [-1.0, 1.1]}", "> 0"),
    ("policies.east.factor: {range: [1.0, 1.1]}", "policies[<label>].<field>"),
])
def test_lever_errors_name_file_key_and_value(folder, tmp_path, param, msg):
    f = tmp_path / "bad.yaml"
    f.write_text(SWEEP.replace("  policies[east_zone].factor: {range: [1.01, 1.10]}", "  " + param)
                 .replace("base.yaml", str(folder / "base.yaml"))
                 .replace("plan.yaml", str(folder / "plan.yaml")))
    with pytest.raises(ScenarioError, match=msg.replace("[", r"\[").replace("]", r"\]")) as e:
        plan_sweep(load_sweep_spec(f))
    assert str(f) in str(e.value) and "parameters.policies" in str(e.value)


def test_lever_sweep_identical_on_pool_and_dask(folder, tmp_path):
    plan = plan_sweep(load_sweep_spec(folder / "sweep.yaml"))
    assert len(plan.members) == 4
    pool = run_sweep(folder / "sweep.yaml", tmp_path / "pool", workers=2)
    dsk = run_sweep(folder / "sweep.yaml", tmp_path / "dask", dask=True, workers=2)
    a, b = load_sweep(pool), load_sweep(dsk)
    pd.testing.assert_frame_equal(a.places, b.places, check_exact=True)
    assert (a.runs["status"] == "ok").all()
    r = a.runs.set_index("run_id")
    assert r["policies[east_zone].factor"].between(1.01, 1.10).all()
    # the lever moves the plan, not the baseline: the plan's east GDP differs across points
    p = a.places[(a.places["place"] == "east") & (a.places["year"] == 2022)]
    plan_gdp = p[p["run_id"].str.contains("leverplan")]["gdp"]
    assert plan_gdp.nunique() == 2
