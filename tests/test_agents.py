"""Agent populations: mean-field convergence, determinism, invariants, naive-vs-vectorized."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim._testing import entry_problem, naive_entry_model, vectorized_entry, vectorized_entry_probs
from sim.engine.model import SimModel
from sim.engine.populations import AgentFirms, AgentHouseholds
from sim.kernels import firms as fk
from sim.kernels import households as hk
from sim.kernels.migration import logit_probabilities
from sim.scenario.schema import Agents

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
COLS = ["population", "gdp", "real_wage"]


def agents_version(sc, n, seed):
    return dataclasses.replace(sc, resolution="agents", agents=Agents(n, n), seed=seed)


@pytest.mark.slow
def test_mean_field_convergence_rate():
    """Place outcomes of the agent run converge to the continuum run like 1/sqrt(M)."""
    base = sim.load_scenario(SCEN / "example_firms.yaml")
    ref = sim.run_scenario(base, end_year=2025).places.set_index(["year", "place"])[COLS]
    sizes = np.array([2_000, 8_000, 32_000, 128_000])
    err = []
    for n in sizes:
        e = []
        for seed in range(6):
            r = sim.run_scenario(agents_version(base, int(n), seed), end_year=2025)
            r = r.places.set_index(["year", "place"])[COLS]
            e.append(np.sqrt(np.mean(((r / ref - 1) ** 2).to_numpy())))
        err.append(np.mean(e))
    err = np.array(err)
    slope = np.polyfit(np.log(sizes), np.log(err), 1)[0]
    assert np.all(np.diff(err) < 0), err
    assert -0.75 < slope < -0.35, (slope, err)
    assert err[-1] < 0.005


def test_agent_run_deterministic_and_seed_sensitive():
    sc = sim.load_scenario(SCEN / "example_agents.yaml")
    a = sim.run_scenario(sc, end_year=2023)
    b = sim.run_scenario(sc, end_year=2023)
    for t in ("places", "sectors", "firms", "migration"):
        pd.testing.assert_frame_equal(getattr(a, t), getattr(b, t), check_exact=True)
    c = sim.run_scenario(sc, seed=99, end_year=2023)
    assert not a.places.equals(c.places)


def test_agent_run_outputs():
    res = sim.run_scenario(SCEN / "example_agents.yaml", end_year=2022)
    f = res.firms
    assert set(f.columns) >= {"firms", "entries", "exits", "relocations_in", "relocations_out",
                              "employment_p10", "employment_p50", "employment_p90",
                              "mean_productivity"}
    assert (f[["firms", "entries", "exits"]] >= 0).all().all()
    live = f[f.firms > 0]
    assert (live.employment_p10 <= live.employment_p50).all()
    assert (live.employment_p50 <= live.employment_p90).all()
    m = res.migration
    assert list(m.columns) == ["year", "origin", "destination", "movers", "households"]
    assert (m.households > 0).all() and (m.origin != m.destination).all()
    assert res.manifest["agents"]["households"] == 50_000


def test_no_agent_in_an_invalid_state():
    sc = sim.load_scenario(SCEN / "example_agents.yaml")
    model = SimModel(sc)
    N = model.static.n_places
    K = model.static.n_sectors
    internal = model.static.internal
    for _ in range(4):
        hh, fi = model.households, model.firms
        assert isinstance(hh, AgentHouseholds) and isinstance(fi, AgentFirms)
        assert hh.place.min() >= 0 and hh.place.max() < N and internal[hh.place].all()
        assert fi.place.min() >= 0 and fi.place.max() < N and internal[fi.place].all()
        assert fi.sector.min() >= 0 and fi.sector.max() < K
        assert fi.q.min() >= 0 and fi.q.max() < sc.parameters.productivity_levels
        # only live firms exist and are counted
        assert np.isclose(fi.count.sum(), fi.scale * len(fi.place))
        model.step()
        eq = model.last
        assert (eq.employment >= 0).all() and (model._firm_employment(eq) > 0).all()
        # employment was set for the firms alive during the step; entrants start at 0
        assert len(fi.employment) == len(fi.place) and (fi.employment >= 0).all()
        assert (fi.employment[fi.age > 0] > 0).all()
        assert len(hh.income) == len(hh.place) and np.all(hh.income >= 0)
    model.release()


def test_households_conserved_by_migration():
    """Agent moves only relocate households; the region changes only by external flows."""
    rng = np.random.default_rng(3)
    N = 6
    internal = np.array([1, 1, 1, 1, 0, 0], bool)
    H = 20_000
    place = rng.integers(0, 4, H)
    mobile = rng.random(H) < 0.8
    reg = rng.random(H) < 0.7
    U = rng.uniform(0.5, 1.5, N)
    kappa = rng.uniform(0.5, 3, (N, N))
    np.fill_diagonal(kappa, 0)
    P = logit_probabilities(U, kappa, elasticity=1.5)
    pool = np.where(internal, 0.0, 50.0)
    keep, new_place, new_reg, arrivals, moves = hk.agents_step(
        rng, place, mobile, reg, P, P, pool, reconsider_share=0.2, conversion=0.1,
        internal=internal, scale=0.01)
    left = H - len(keep)
    assert left == int((~internal[moves[:, 1]] & internal[moves[:, 0]]).sum())
    assert len(arrivals) == int((~internal[moves[:, 0]]).sum())
    assert mobile[np.setdiff1d(np.arange(H), keep)].all()  # only mobile households leave
    assert internal[new_place].all()
    before = np.bincount(place, minlength=N)
    after = np.bincount(np.concatenate([new_place, arrivals]), minlength=N)
    inflow = np.bincount(moves[:, 1], minlength=N)
    outflow = np.bincount(moves[:, 0], minlength=N)
    np.testing.assert_array_equal(after[internal], (before - outflow + inflow)[internal])


def test_household_flows_equal_logit_shares_in_expectation():
    """Sampled destinations match the continuum's logit probabilities (chi-square check)."""
    rng = np.random.default_rng(11)
    N = 5
    internal = np.ones(N, bool)
    U = np.array([1.0, 1.3, 0.8, 1.1, 0.9])
    kappa = np.full((N, N), 1.0)
    np.fill_diagonal(kappa, 0.0)
    P = logit_probabilities(U, kappa, elasticity=1.5)
    H = 400_000
    place = np.zeros(H, dtype=np.int64)
    _, _, _, _, moves = hk.agents_step(rng, place, np.ones(H, bool), np.ones(H, bool), P, P,
                                       np.zeros(N), reconsider_share=0.5, conversion=0.0,
                                       internal=internal, scale=1.0)
    counts = np.bincount(moves[:, 1], minlength=N)[1:]
    expected = 0.5 * H * P[0, 1:]
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 18.5  # chi-square, 4 dof, p = 0.001
    # and the continuum step moves exactly the expected masses
    reg, unreg, F = hk.continuum_step(np.array([H, 0, 0, 0, 0.0]), np.zeros(N), P, P,
                                      reconsider_share=0.5, conversion=0.0, internal=internal)
    np.testing.assert_allclose(F[0, 1:], expected, rtol=1e-12)
    assert np.isclose(reg.sum() + unreg.sum(), H)


def test_firm_agents_match_continuum_in_expectation():
    """Averaged over draws, agent demography reproduces the continuum step's masses."""
    kw, rules = entry_problem(8, 2, seed=4)
    v = fk.firm_values(kw["operating_profit"], kw["wage"], kw["fixed_cost"], kw["zeta"],
                       kw["subsidy"])
    dec = fk.decision_probabilities(v, rules, kw["eligible"], kw["entry_cost"])
    N, K, Q = v.shape
    M0 = np.where(kw["eligible"][:, None, None], 1.0, 0.0) * rules.entry_dist[None, None, :]
    M0 = np.repeat(M0, K, axis=1)
    pool = np.array([0.5, 0.3])
    M1, stats = fk.continuum_step(M0, dec, rules, pool)
    assert np.isclose(M1.sum(), M0.sum() - stats["exits"].sum() + stats["entries"].sum())
    np.testing.assert_allclose(stats["moved_in"].sum(), stats["moved_out"].sum(), rtol=1e-12)
    rng = np.random.default_rng(0)
    scale = 1e-4
    acc = np.zeros_like(M1)
    R = 40
    for _ in range(R):
        firms = AgentFirms(rng, M0, kw["zeta"], int(M0.sum() / scale))
        firms.step(dec, rules, pool)
        acc += firms.type_counts()
    rel = np.abs(acc.sum((1, 2)) / R - M1.sum((1, 2))) / M1.sum((1, 2)).max()
    assert rel.max() < 0.01


def test_naive_mesa_entry_gives_same_probabilities():
    """The Mesa-style reference (one agent per firm, loop over places) and the vectorized
    kernel give the same choice probabilities, and both samplers match them."""
    kw, rules = entry_problem(30, 3, seed=2)
    sectors = np.random.default_rng(1).integers(0, 3, 3_000)
    naive = naive_entry_model(sectors, seed=5, **kw)
    naive.step()
    P = vectorized_entry_probs(kw, rules)
    for a in list(naive.agents)[:200]:
        np.testing.assert_allclose(a.probs, P[:, a.sector], rtol=1e-12, atol=1e-15)
    # empirical frequencies of both samplers agree with P (sector 0, many draws)
    big = np.zeros(60_000, dtype=np.int64)
    vec = vectorized_entry(np.random.default_rng(7), big, P)
    n_choice = np.array([a.choice for a in naive.agents if a.sector == 0])
    for draws in (vec, n_choice):
        counts = np.bincount(draws + 1, minlength=31)
        p = np.concatenate([[1 - P[:, 0].sum()], P[:, 0]])
        expected = p * len(draws)
        keep = expected > 5
        chi2 = ((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()
        assert chi2 < 2 * keep.sum() + 30
    naive.remove_all_agents()


def test_firm_policies_act_on_targeted_firms():
    """A fixed-cost subsidy raises the firm count of its place-sector; an entry-cost cut raises
    entries there (continuum, so the comparison is exact, not noisy)."""
    from sim.scenario.schema import EntryCostPolicy, FirmSubsidyPolicy

    base = sim.load_scenario(SCEN / "example_firms.yaml")
    pols = (FirmSubsidyPolicy(start=2022, places=("remote",), sectors=("manufacturing",),
                              rate=0.3),
            EntryCostPolicy(start=2022, places=("south",), sectors=("services",), factor=0.2))
    a = sim.run_scenario(base, end_year=2026).firms.set_index(["year", "place", "sector"])
    b = sim.run_scenario(dataclasses.replace(base, policies=pols), end_year=2026)
    b = b.firms.set_index(["year", "place", "sector"])
    pd.testing.assert_frame_equal(a.loc[2020:2021], b.loc[2020:2021], check_exact=True)
    assert b.loc[(2026, "remote", "manufacturing"), "firms"] > \
        a.loc[(2026, "remote", "manufacturing"), "firms"]
    assert b.loc[(2022, "south", "services"), "entries"] > \
        a.loc[(2022, "south", "services"), "entries"]
