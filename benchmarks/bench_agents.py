"""Agent-resolution speed: naive Mesa-style entry vs the vectorized kernel; a full 1M-firm step.

* ``test_entry_naive_mesa`` / ``test_entry_vectorized``: the firm entry/location decision for
  10k and 100k entrants over 100 places. The naive reference is one ``mesa.Agent`` per firm with
  a Python loop over places in ``step()`` (sim._testing.naive_entry_model); the vectorized
  version computes the per-sector probabilities once and samples all entrants by inverse CDF.
  Compare the medians side by side (same run): target >= 100x at 100k.
* ``test_full_step_1m_firms``: one annual step of a 500-place, 10-sector synthetic region with
  1,000,000 firm agents and 200,000 household agents; extra_info records the peak traced
  memory of the step and of the whole model (targets: < 2 s, < 2 GB).
"""

import dataclasses
import gc
import tracemalloc

import numpy as np
import pytest

from sim._testing import (
    entry_problem,
    naive_entry_model,
    synthetic_scenario,
    vectorized_entry,
    vectorized_entry_probs,
)
from sim.engine.model import SimModel
from sim.scenario.schema import Agents, Parameters

N_PLACES = 100
SIZES = [10_000, 100_000]


@pytest.mark.parametrize("n_firms", SIZES)
def test_entry_naive_mesa(benchmark, n_firms):
    kw, rules = entry_problem(N_PLACES, 10, seed=1)
    sectors = np.random.default_rng(2).integers(0, 10, n_firms)
    models = []

    def setup():
        m = naive_entry_model(sectors, seed=3, **kw)
        models.append(m)
        return (m,), {}

    rounds = 3 if n_firms <= 10_000 else 1
    benchmark.pedantic(lambda m: m.step(), setup=setup, rounds=rounds, iterations=1)
    m = models[-1]
    choices = np.array([a.choice for a in m.agents])
    assert len(choices) == n_firms and choices.min() >= -1 and choices.max() < N_PLACES
    for m in models:
        m.remove_all_agents()


@pytest.mark.parametrize("n_firms", SIZES)
def test_entry_vectorized(benchmark, n_firms):
    kw, rules = entry_problem(N_PLACES, 10, seed=1)
    sectors = np.random.default_rng(2).integers(0, 10, n_firms)
    rng = np.random.default_rng(3)

    def decide():
        return vectorized_entry(rng, sectors, vectorized_entry_probs(kw, rules))

    choices = benchmark(decide)
    assert len(choices) == n_firms and choices.min() >= -1 and choices.max() < N_PLACES


def _big_model():
    sc = synthetic_scenario(500, 10, seed=12345, years=3)
    sc = dataclasses.replace(
        sc, resolution="agents", agents=Agents(households=200_000, firms=1_000_000),
        parameters=dataclasses.replace(Parameters(), firm_dynamics="entry_exit"))
    return SimModel(sc)


def test_full_step_1m_firms(benchmark):
    gc.collect()
    tracemalloc.start()
    models = []

    def setup():
        m = _big_model()
        m.step()  # network built, warm start
        models.append(m)
        tracemalloc.reset_peak()
        return (m,), {}

    benchmark.pedantic(lambda m: m.step(), setup=setup, rounds=3, iterations=1)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    m = models[-1]
    n_firms = len(m.firms.place)
    benchmark.extra_info["firm_agents"] = n_firms
    benchmark.extra_info["household_agents"] = len(m.households.place)
    benchmark.extra_info["peak_traced_MB_step"] = round(peak / 2**20, 1)
    benchmark.extra_info["traced_MB_model"] = round(current / 2**20, 1)
    assert 800_000 < n_firms < 1_200_000
    for m in models:
        m.release()
