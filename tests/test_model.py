"""Model-level tests: determinism, zero shock, conservation, policies, network caching, memory."""

import dataclasses
import gc
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim._testing import synthetic_scenario
from sim.engine.model import SimModel
from sim.scenario.load import load_scenario
from sim.scenario.schema import Agents

SCEN = Path(__file__).resolve().parents[1] / "scenarios"


def test_determinism_same_seed_identical_tables():
    a = sim.run_scenario(SCEN / "example.yaml", seed=7)
    b = sim.run_scenario(SCEN / "example.yaml", seed=7)
    pd.testing.assert_frame_equal(a.places, b.places, check_exact=True)
    pd.testing.assert_frame_equal(a.sectors, b.sectors, check_exact=True)


def test_zero_shock_reproduces_baseline():
    base = sim.run_scenario(SCEN / "example.yaml")
    zero = sim.run_scenario(SCEN / "example_zero.yaml")
    assert len(zero.manifest["policies"]) == 10
    pd.testing.assert_frame_equal(base.places, zero.places, check_exact=True)
    pd.testing.assert_frame_equal(base.sectors, zero.sectors, check_exact=True)


def test_link_policy_changes_outcomes_and_network_recomputed_only_on_change():
    base = sim.run_scenario(SCEN / "example.yaml")
    pol = sim.run_scenario(SCEN / "example_link.yaml")
    # base network never changes: computed once; policy: once + 2024 + 2026
    assert base.manifest["solver"]["network_recomputations"] == 1
    assert pol.manifest["solver"]["network_recomputations"] == 3
    b = base.places.set_index(["year", "place"])
    p = pol.places.set_index(["year", "place"])
    pd.testing.assert_frame_equal(b.loc[2020:2023], p.loc[2020:2023], check_exact=True)
    # the remote town's real wage rises once its expressway opens (lower trade costs)
    assert p.loc[(2024, "remote"), "real_wage"] > b.loc[(2024, "remote"), "real_wage"]


def test_population_accounting():
    """Population changes only by natural growth and external migration."""
    sc = load_scenario(SCEN / "example.yaml")
    res = sim.run_scenario(sc)
    p = res.places
    g = {pl.id: pl.natural_growth for pl in sc.region.places}
    for y in range(sc.time.start, sc.time.end):
        now = p[p.year == y].set_index("place")
        nxt = p[p.year == y + 1].set_index("place")
        mob_after_migration = (now["mobile"] + now["in_migration"] - now["out_migration"])
        grow = now.index.map(g).to_numpy()
        np.testing.assert_allclose(nxt["mobile"], mob_after_migration * (1 + grow), rtol=1e-12)
        np.testing.assert_allclose(nxt["agricultural"], now["agricultural"] * (1 + grow),
                                   rtol=1e-12)
        internal_moves = (now["in_migration"] - now["out_migration"]).sum()
        np.testing.assert_allclose(internal_moves, now["external_net_migration"].sum(),
                                   rtol=1e-9, atol=1e-12)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 40), k=st.integers(1, 4))
def test_outputs_finite_and_nonnegative(seed, n, k):
    """Invariants of whole runs on randomly generated regions."""
    res = sim.run_scenario(synthetic_scenario(n, k, seed=seed, years=4))
    num = res.places.select_dtypes("number")
    assert np.isfinite(num.to_numpy()).all()
    cols = [c for c in num.columns if c not in ("external_net_migration", "year")]
    assert (num[cols] >= 0).all().all()
    snum = res.sectors.select_dtypes("number")
    assert np.isfinite(snum.to_numpy()).all() and (snum.to_numpy() >= 0).all()
    # GDP = sum of value added by sector + farm income + rents
    s = res.sectors.groupby(["year", "place"])["output"].sum()
    p = res.places.set_index(["year", "place"])
    beta_h = 0.25
    va = (s + p["ag_wage"] * p["agricultural"]) / (1 - beta_h)
    np.testing.assert_allclose(va.loc[p.index], p["gdp"], rtol=1e-7)


def test_unreachable_place_handled_explicitly():
    """A place with no link trades only locally; no inf/NaN reaches the results."""
    import dataclasses

    sc = load_scenario(SCEN / "example.yaml")
    links = tuple(lk for lk in sc.region.links if "remote" not in (lk.from_, lk.to))
    sc = dataclasses.replace(sc, region=dataclasses.replace(sc.region, links=links))
    res = sim.run_scenario(sc, end_year=2023)
    num = res.places.select_dtypes("number").to_numpy()
    assert np.isfinite(num).all()
    r = res.places[res.places.place == "remote"]
    assert (r["in_migration"] == 0).all() and (r["out_migration"] == 0).all()


def test_engine_loads_mesa_core_only_and_mesa_stays_whole():
    """sim.engine imports Mesa's model, agent and data collector, not its spaces (networkx,
    scipy.spatial) or batch runner, and csgraph's Dijkstra without scipy.linalg (sim._deferred);
    ``import mesa`` and csgraph afterwards still give the whole packages, with the same
    classes and functions."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import sim.engine.model as m\n"
        "heavy = [k for k in ('networkx', 'scipy.spatial', 'mesa.space', 'mesa.batchrunner',\n"
        "         'mesa.experimental', 'mesa.discrete_space', 'scipy.sparse.linalg',\n"
        "         'scipy.linalg', 'scipy.optimize') if k in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from scipy.sparse.csgraph import laplacian, dijkstra\n"
        "import sim.kernels.network as net\n"
        "assert net.dijkstra is dijkstra and callable(laplacian)\n"
        "import mesa\n"
        "assert callable(mesa.batch_run) and mesa.__version__\n"
        "assert m.SimModel.__mro__[1] is mesa.Model and mesa.Agent is m.MesaAgent\n"
        "from mesa.space import NetworkGrid\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_mesa_structure():
    import mesa

    m = SimModel(load_scenario(SCEN / "example.yaml"), seed=3)
    assert isinstance(m, mesa.Model)
    agents = list(m.agents)
    assert len(agents) == 6
    assert [a.index for a in agents] == list(range(6))
    assert agents[0].population == pytest.approx(7.5)
    m.step()
    assert m.steps == 1 and m.year == 2021
    m.release()
    assert len(m.agents) == 0 and m.recorder is None


def _run_synthetic():
    return sim.run_scenario(synthetic_scenario(300, 3, seed=1, years=2))


def _run_agents():
    sc = load_scenario(SCEN / "example_agents.yaml")
    return sim.run_scenario(dataclasses.replace(sc, agents=Agents(60_000, 60_000)),
                            end_year=2021)


@pytest.mark.slow
@pytest.mark.parametrize("run", [_run_synthetic, _run_agents], ids=["aggregate", "agents"])
def test_memory_does_not_grow_over_repeated_runs(run):
    """Mesa 3.3 never frees Model objects: the heavy arrays must be released at run end."""
    run()
    gc.collect()
    tracemalloc.start()
    run()
    gc.collect()
    first, _ = tracemalloc.get_traced_memory()
    for _ in range(6):
        run()
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # one 300-place freeness matrix alone is 2.1 MB, 60k firm agents' arrays ~1 MB:
    # growth over six runs must stay well below what one run holds
    assert after - first < 1_000_000, (first, after)


def test_link_closing_year_changes_the_network():
    """A region link with a `closed` year stops operating that year (network recomputed)."""
    sc = load_scenario(SCEN / "example.yaml")
    links = tuple(dataclasses.replace(lk, closed=2023) if {lk.from_, lk.to} == {"core", "metro"}
                  else lk for lk in sc.region.links)
    res = sim.run_scenario(dataclasses.replace(
        sc, region=dataclasses.replace(sc.region, links=links)), end_year=2024)
    assert res.manifest["solver"]["network_recomputations"] == 2
    base = sim.run_scenario(sc, end_year=2024)
    b = base.places.set_index(["year", "place"])
    c = res.places.set_index(["year", "place"])
    pd.testing.assert_frame_equal(b.loc[2020:2022], c.loc[2020:2022], check_exact=True)
    assert not np.allclose(b.loc[2023:, "gdp"], c.loc[2023:, "gdp"], rtol=1e-12, atol=0)


def test_spinup_and_calibration_memos_give_what_a_fresh_run_gives():
    """The in-process memos (calibration problem, base-year firm spin-up) change no result."""
    import dataclasses as dc

    import sim.engine.calibrate as cal
    import sim.engine.model as m

    sc = sim.load_scenario("scenarios/baseline.yaml")
    sc = dc.replace(sc, time=dc.replace(sc.time, end=2022))
    cal._MEMO.clear()
    m._SPINUP_MEMO.clear()
    a = sim.run_scenario(sc)
    assert len(m._SPINUP_MEMO) == 1 and len(cal._MEMO) == 1
    b = sim.run_scenario(sc)  # served from both memos
    cal._MEMO.clear()
    m._SPINUP_MEMO.clear()
    c = sim.run_scenario(sc)  # fresh again
    pd.testing.assert_frame_equal(a.places, b.places, check_exact=True)
    pd.testing.assert_frame_equal(a.places, c.places, check_exact=True)
    pd.testing.assert_frame_equal(a.sectors, c.sectors, check_exact=True)
