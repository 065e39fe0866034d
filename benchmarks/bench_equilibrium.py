"""Equilibrium solve and one annual step, by number of places and sectors.

Inputs are built outside the timed call with a fixed seed (sim._testing.synthetic_scenario).
"""

import numpy as np
import pytest

from sim._testing import synthetic_scenario
from sim.engine.model import SimModel
from sim.kernels.equilibrium import solve_equilibrium

SIZES = [50, 500, 2000]
SECTORS = [1, 10]


def _model(n, k):
    return SimModel(synthetic_scenario(n, k, seed=12345))


@pytest.mark.parametrize("n_sectors", SECTORS)
@pytest.mark.parametrize("n_places", SIZES)
def test_equilibrium_solve(benchmark, n_places, n_sectors):
    model = _model(n_places, n_sectors)
    inp, _, _ = model.equilibrium_inputs()
    res = benchmark(solve_equilibrium, inp, tol=1e-10)
    benchmark.extra_info["iterations"] = res.iterations
    assert res.residual < 1e-10
    assert np.all(np.isfinite(res.wage)) and np.all(res.income > 0)
    model.release()


@pytest.mark.parametrize("n_sectors", SECTORS)
@pytest.mark.parametrize("n_places", SIZES)
def test_annual_step(benchmark, n_places, n_sectors):
    """One annual step after the first (network cached, equilibrium warm-started)."""
    models = []

    def setup():
        m = _model(n_places, n_sectors)
        m.step()
        models.append(m)
        return (m,), {}

    benchmark.pedantic(lambda m: m.step(), setup=setup, rounds=5, iterations=1)
    m = models[-1]
    assert m.year == 2022
    assert np.isclose(m.recorder.places["population"][1].sum(),
                      m.recorder.places["population"][0].sum(), rtol=0.05)
    for m in models:
        m.release()
