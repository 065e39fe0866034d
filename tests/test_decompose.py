"""Decomposition of a plan's effect: Shapley arithmetic, pillars, channels, runs and resume."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.shapley import (
    decomposition_table,
    permutation_coalitions,
    shapley_exact,
    shapley_interactions,
    shapley_sampled,
)
from sim.errors import ScenarioError
from sim.scenario.load import load_scenario
from sim.sweep.decompose import (
    coalition_scenario,
    components,
    decompose,
    policy_channels,
    switch_off,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "example.yaml"


# -- arithmetic ------------------------------------------------------------------------------
def _game(n, f):
    return {S: np.atleast_1d(f({i for i in range(n) if S >> i & 1})) for S in range(1 << n)}


def test_additive_game_recovers_own_effects_and_zero_interaction():
    own = [1.5, -0.4, 2.0]
    v = _game(3, lambda S: sum(own[i] for i in S))
    np.testing.assert_allclose(shapley_exact(v, 3)[:, 0], own, atol=1e-12)
    np.testing.assert_allclose(shapley_interactions(v, 3), 0.0, atol=1e-12)


def test_known_interaction_is_recovered_and_split_equally():
    # v = a x_a + b x_b + c x_a x_b (+ an additive third component)
    a, b, c, d = 1.0, 2.0, 0.6, -0.3
    v = _game(3, lambda S: a * (0 in S) + b * (1 in S) + c * (0 in S) * (1 in S) + d * (2 in S))
    phi = shapley_exact(v, 3)[:, 0]
    np.testing.assert_allclose(phi, [a + c / 2, b + c / 2, d], atol=1e-12)
    inter = shapley_interactions(v, 3)[:, :, 0]
    assert inter[0, 1] == pytest.approx(c) and inter[1, 0] == pytest.approx(c)
    assert inter[0, 2] == pytest.approx(0.0, abs=1e-12)
    assert inter[1, 2] == pytest.approx(0.0, abs=1e-12)


def test_efficiency_and_sampled_estimates():
    rng = np.random.default_rng(3)
    n = 5
    vals = {S: rng.normal(size=2) for S in range(1 << n)}
    vals[0] = np.zeros(2)
    phi = shapley_exact(vals, n)
    np.testing.assert_allclose(phi.sum(axis=0), vals[(1 << n) - 1], atol=1e-12)
    orders, masks = permutation_coalitions(n, 400, seed=1)
    assert len(orders) == 400 and masks[0] == 0
    est, se = shapley_sampled(vals, orders)
    np.testing.assert_allclose(est.sum(axis=0), vals[(1 << n) - 1], atol=1e-12)
    assert np.all(np.abs(est - phi) < 5 * se + 1e-9)
    t = decomposition_table(vals, list("abcde"), ["x", "y"])
    c = t["contributions"].set_index(["indicator", "component"])
    assert c.loc[("x", "sum of components"), "shapley"] == pytest.approx(
        c.loc[("x", "total"), "shapley"])
    assert len(t["interactions"]) == 2 * math.comb(n, 2)


# -- toy region ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp("toy")
    (d / "base.yaml").write_text(
        f"schema_version: 1\nextends: {EXAMPLE}\nname: toybase\n"
        "time: {start: 2020, end: 2022}\n")
    (d / "pa.yaml").write_text(
        "schema_version: 1\nextends: base.yaml\nname: pa\npolicies:\n"
        "  - {type: productivity, label: 'a: east', places: [east], factor: 1.004, start: 2021,"
        " cost_cny: 5}\n")
    (d / "pb.yaml").write_text(
        "schema_version: 1\nextends: base.yaml\nname: pb\npolicies:\n"
        "  - {type: productivity, label: 'b: south', places: [south], factor: 1.004,"
        " start: 2021, cost_cny: 3}\n")
    (d / "plan.yaml").write_text(
        "schema_version: 1\nextends: [pa.yaml, pb.yaml]\nname: toyplan\npolicies:\n"
        "  - {type: link, label: 'c: road', from: core, to: remote, mode: road, km: 400,"
        " hours: 5.0, start: 2021, cost_cny: 3}\n"
        "  - {type: tourism, label: 'd: loop', places: [east, remote], visitors: 2.0,"
        " spend_per_visitor: 1.0, sector: local_services, amenity_factor: 1.02, start: 2021}\n")
    return d


@pytest.fixture(scope="module")
def pillar_dec(toy, tmp_path_factory):
    return decompose(toy / "plan.yaml", toy / "base.yaml",
                     out=tmp_path_factory.mktemp("dec") / "d", workers=0)


def test_pillars_come_from_extends_parents(toy):
    plan, base = load_scenario(toy / "plan.yaml"), load_scenario(toy / "base.yaml")
    comps = components(plan, base, "pillar")
    assert [(c.name, c.policies) for c in comps] == [("pa", (0,)), ("pb", (1,)),
                                                     ("toyplan own", (2, 3))]
    assert [c.name for c in components(plan, base, "label")] == ["a", "b", "c", "d"]
    assert [c.name for c in components(plan, base, "channel")] == [
        "trade costs", "productivity", "amenities", "migration costs", "visitor demand"]


def test_channels_switch_off_to_neutral_values(toy):
    plan, base = load_scenario(toy / "plan.yaml"), load_scenario(toy / "base.yaml")
    tour = plan.policies[3]
    assert policy_channels(tour, base.region) == ("visitor demand", "amenities")
    (p,), _ = switch_off(tour, {"visitor demand"}, base.region)
    assert p.visitors == 0.0 and p.amenity_factor == 1.02
    link = plan.policies[2]
    (p,), modes = switch_off(link, {"trade costs"}, base.region)
    assert p.mode == "road~passenger" and not modes[0].freight and modes[0].passenger
    assert switch_off(link, {"trade costs", "migration costs"}, base.region) == ([], [])
    sc = coalition_scenario(base, plan.policies, [2, 3], off={"trade costs"})
    assert "road~passenger" in {m.id for m in sc.region.modes} and len(sc.policies) == 2


def test_decomposition_sums_to_total_and_levers_are_nearly_additive(toy, pillar_dec):
    import sim
    from sim.analysis.shapley import effect_values

    dec = pillar_dec
    c = dec.contributions.set_index(["indicator", "component"])
    g = "GDP 2022 (bn CNY, nominal)"
    assert g in dec.contributions["indicator"].values
    for ind in dec.contributions["indicator"].unique():
        tot = c.loc[(ind, "total"), "shapley"]
        assert c.loc[(ind, "sum of components"), "shapley"] == pytest.approx(tot, abs=1e-9)
    # the full coalition is the plan itself: the total is the plan's effect to solver precision
    plan_res = sim.run_scenario(toy / "plan.yaml")
    base_res = sim.run_scenario(toy / "base.yaml")
    direct = effect_values(plan_res, base_res)
    assert c.loc[(g, "total"), "shapley"] == pytest.approx(direct[g], rel=1e-6)
    # two small productivity levers in different places: own effects, interaction ~ 0
    a, b = c.loc[(g, "pa"), "shapley"], c.loc[(g, "pb"), "shapley"]
    assert a > 0 and b > 0
    assert c.loc[(g, "pa"), "alone"] == pytest.approx(a, rel=0.02)
    it = dec.interactions.set_index(["indicator", "component_a", "component_b"])
    assert abs(it.loc[(g, "pa", "pb"), "interaction"]) < 0.02 * min(a, b)
    assert (dec.path / "summary.md").is_file() and (dec.path / "waterfall_0.png").is_file()


def test_channel_decomposition(toy, tmp_path):
    dec = decompose(toy / "plan.yaml", toy / "base.yaml", by="channel", scope="d: loop",
                    out=tmp_path / "ch", workers=0, figures=False)
    assert dec.components == ["amenities", "visitor demand"]
    c = dec.contributions.set_index(["indicator", "component"])
    g = "GDP 2022 (bn CNY, nominal)"
    assert c.loc[(g, "visitor demand"), "shapley"] > 0
    assert c.loc[(g, "sum of components"), "shapley"] == pytest.approx(
        c.loc[(g, "total"), "shapley"], abs=1e-9)


def test_plan_must_differ_only_in_policies(toy, tmp_path):
    (toy / "other.yaml").write_text(
        "schema_version: 1\nextends: plan.yaml\nname: other\n"
        "parameters: {migration_elasticity: 2.5}\n")
    with pytest.raises(ScenarioError, match="only in policies"):
        decompose(toy / "other.yaml", toy / "base.yaml", out=tmp_path / "x", workers=0)


def test_cli_decompose_then_process_pool_gives_identical_numbers(toy, tmp_path):
    from sim.results.decompositions import load_decomposition

    r = subprocess.run([sys.executable, "-m", "sim", "decompose", str(toy / "plan.yaml"),
                        "--baseline", str(toy / "base.yaml"), "--workers", "0", "--by",
                        "label", "--scope", "c: road", "--out", str(tmp_path / "cli"),
                        "--no-figures"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0 and "--scope applies to --by channel" in r.stderr
    args = ["--by", "channel", "--scope", "c: road"]
    r = subprocess.run([sys.executable, "-m", "sim", "decompose", str(toy / "plan.yaml"),
                        "--baseline", str(toy / "base.yaml"), "--workers", "0", *args,
                        "--out", str(tmp_path / "cli"), "--no-figures"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "2 components, 4 coalitions, exact" in r.stdout and "migration costs" in r.stdout
    inproc = load_decomposition(tmp_path / "cli")
    kw = {"by": "channel", "scope": "c: road", "out": tmp_path / "pool", "workers": 2,
          "figures": False}
    pool = decompose(toy / "plan.yaml", toy / "base.yaml", **kw)
    np.testing.assert_array_equal(pool.values.to_numpy(), inproc.values.to_numpy())
    # resume: a second call reuses every run
    again = decompose(toy / "plan.yaml", toy / "base.yaml", **kw)
    assert again.manifest["sessions"][-1]["executed"] == 0


def test_headline_directions_inputs_and_top_contributors(pillar_dec, tmp_path):
    import json

    from sim.analysis.headline import headline
    from sim.results import load_results
    from sim.viz.report import _decomposition

    dec = pillar_dec
    coal = json.loads((dec.path / "manifest.json").read_text())
    assert coal["status"] == "complete"
    runs = sorted((dec.path / "runs").iterdir(), key=lambda p: p.name)
    base = load_results(runs[0])  # c00-...: the empty coalition, i.e. the baseline
    plan = load_results(runs[-1])  # c04-...: every policy, i.e. the plan
    assert plan.manifest["scenario"]["policies"] and not base.manifest["scenario"]["policies"]
    h = headline(plan, base, decomposition=dec)
    g = "GDP 2022 (bn CNY, nominal)"
    assert h.loc[g, "better"] == "higher" and h.loc[g, "kind"] == "outcome"
    assert np.isfinite(h.loc[g, "% difference"])
    assert h.loc["Theil index of GDP per capita 2022 (index)", "better"] == "lower"
    # points and growth rates: difference only
    assert np.isnan(h.loc["GDP growth 2022 (% a year)", "% difference"])
    for i in ("policy spending 2022 (bn CNY)", "tourism visitors (policy) 2022 (m trips)",
              "policy spending (bn CNY)"):
        assert h.loc[i, "kind"] == "input" and h.loc[i, "better"] == "n/a"
    assert h.loc[g, "top contributors"].split(" ")[0] in ("pa", "pb", "toyplan")
    (tmp_path / "rep" / "tables").mkdir(parents=True)
    (tmp_path / "rep" / "figures").mkdir()
    text = _decomposition(dec.path, [base, plan], tmp_path / "rep")  # the report's section
    assert "Where the effect comes from" in text and "Top contributors" in text
    assert (tmp_path / "rep" / "figures" / "waterfall_0.svg").is_file()


def test_headline_shows_ensemble_band(pillar_dec):
    import pandas as pd

    from sim.analysis.headline import headline
    from sim.results import load_results

    runs = sorted((pillar_dec.path / "runs").iterdir(), key=lambda p: p.name)
    base, plan = load_results(runs[0]), load_results(runs[-1])
    final = pd.DataFrame({"kind": ["effect", "level"], "scenario": ["p", "p"],
                          "indicator": ["GDP", "GDP"], "unit": ["%", ""], "p5": [0.1, 1.0],
                          "p95": [0.9, 2.0]})
    h = headline(plan, base, ensemble=final)
    assert h.loc["GDP 2022 (bn CNY, nominal)", "band 5-95%"] == "[+0.1, +0.9] %"
    assert h.loc["population 2022 (m)", "band 5-95%"] == ""
