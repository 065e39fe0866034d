"""The large-region path of the annual step (from ``dense.MIN_PLACES`` places).

From 1,000 places the equilibrium's map streams the freeness matrices with the compiled
products of ``sim.kernels.dense`` and a year's solve starts from a quadratic extrapolation of
the last three solutions; ``solver.freeness_precision: float32`` stores the freeness matrices
in float32. Oracles: the small-region path (BLAS products, log-linear start) to the solver's
tolerance, the same tables for one or two threads, float64 freeness within a stated bound.
The regions are small (60 places, the large path forced by lowering ``MIN_PLACES``), so the
cost is a few short runs plus numba's compilation when no earlier test compiled it.
"""

import dataclasses

import numba
import numpy as np
import pandas as pd
import pytest

import sim
from sim._testing import synthetic_country_scenario
from sim.engine import model as model_mod
from sim.engine.model import SimModel, _extrapolate, _extrapolate_quadratic
from sim.errors import ScenarioError
from sim.kernels import dense
from sim.scenario.load import load_scenario_dict, scenario_to_dict


@pytest.fixture(scope="module")
def country():
    return synthetic_country_scenario(60, 4, seed=3, years=5)


def _tables(sc):
    res = sim.run_scenario(sc)
    return res.places.set_index(["year", "place"]), res.sectors.set_index(
        ["year", "place", "sector"])


def test_quadratic_start_is_exact_on_log_quadratic_paths():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 5, 3))
    w = [np.exp(a + b * t + c * t * t) for t in range(4)]
    np.testing.assert_allclose(_extrapolate_quadratic(w[2], w[1], w[0]), w[3], rtol=1e-12)
    # fewer than three solutions: the log-linear start
    np.testing.assert_array_equal(_extrapolate_quadratic(w[2], w[1], None),
                                  _extrapolate(w[2], w[1]))
    # an entry that is not positive in any of the three: the log-linear start there
    w0 = w[0].copy()
    w0[1, 2] = 0.0
    got = _extrapolate_quadratic(w[2], w[1], w0)
    assert got[1, 2] == _extrapolate(w[2], w[1])[1, 2]
    np.testing.assert_allclose(got[0], w[3][0], rtol=1e-12)


def test_large_path_matches_small_path_and_any_thread_count(country, monkeypatch):
    """Same economy, same equilibria to the solver's tolerance; bit-identical for 1 or 2
    threads (fixed partial-sum order of the compiled products)."""
    ref_p, ref_s = _tables(country)  # 60 places: the small-region path
    monkeypatch.setattr(dense, "MIN_PLACES", 1)  # read when a run starts
    monkeypatch.setattr(model_mod, "MIN_PLACES", 1)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one_p, one_s = _tables(country)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two_p, two_s = _tables(country)
    finally:
        numba.set_num_threads(threads)
    pd.testing.assert_frame_equal(one_p, two_p, check_exact=True)
    pd.testing.assert_frame_equal(one_s, two_s, check_exact=True)
    for col in ("gdp", "wage", "population", "real_wage"):
        np.testing.assert_allclose(one_p[col], ref_p[col], rtol=1e-8, err_msg=col)
    np.testing.assert_allclose(one_s["wage"], ref_s["wage"], rtol=1e-8)


def test_float32_freeness_within_bound_of_float64(country):
    """float32 storage rounds each T entry by at most 6e-8 relative: over five years the
    wages, GDP and populations stay within 1e-7 (relative) of the float64 run, yet differ
    (measured: 3.5e-9 for wages and GDP, 6e-10 for populations)."""
    sc32 = dataclasses.replace(country, solver=dataclasses.replace(
        country.solver, freeness_precision="float32"))
    m = SimModel(sc32)
    assert m.equilibrium_inputs()[0].freeness.dtype == np.float32
    m.release()
    p64, s64 = _tables(country)
    p32, s32 = _tables(sc32)
    for col in ("gdp", "wage", "population", "real_wage", "price_index"):
        np.testing.assert_allclose(p32[col], p64[col], rtol=1e-7, err_msg=col)
    np.testing.assert_allclose(s32["wage"], s64["wage"], rtol=1e-7)
    assert float(np.max(np.abs(p32["wage"] / p64["wage"] - 1.0))) > 0.0  # the option acts


def test_freeness_precision_is_validated(country):
    d = scenario_to_dict(country)
    d["solver"]["freeness_precision"] = "float16"
    with pytest.raises(ScenarioError, match="freeness_precision.*float16.*float64, float32"):
        load_scenario_dict(d)
