"""Money that matters: spending scales a lever's strength concavely [P9]; the province's share
of spending is financed by a tax on its output [P10]."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.engine.primitives import effective_policy, provincial_spending, spending_scale
from sim.scenario.schema import ProductivityPolicy, TourismPolicy

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def toy():
    sc = sim.load_scenario(ROOT / "scenarios" / "example.yaml")
    return dataclasses.replace(sc, time=dataclasses.replace(sc.time, end=2023))


def _gdp(res):
    return res.places.groupby("year")["gdp"].sum().to_numpy()


def test_scale_rule_and_effective_policy():
    assert spending_scale(10, 5, 0.5) == pytest.approx(2 ** 0.5)
    assert spending_scale(0, 5, 0.5) == 0.0 and spending_scale(5, 5, 0.7) == 1.0
    p = ProductivityPolicy(start=2021, factor=1.05, cost_cny=10.0, reference_cost_cny=5.0)
    assert effective_policy(p).factor == pytest.approx(1.05 ** (2 ** 0.5))
    t = TourismPolicy(start=2021, visitors=2.0, amenity_factor=1.02, cost_cny=20.0,
                      reference_cost_cny=5.0, spending_elasticity=0.5)
    e = effective_policy(t)
    assert e.visitors == pytest.approx(4.0) and e.amenity_factor == pytest.approx(1.02 ** 2)
    # without a reference the stated magnitude holds whatever the cost: old scenarios unchanged
    assert effective_policy(dataclasses.replace(p, reference_cost_cny=None)) is not None
    assert effective_policy(dataclasses.replace(p, reference_cost_cny=None)).factor == 1.05
    q = dataclasses.replace(p, central_share=0.25, phase_in=2)
    assert provincial_spending([q], 2021) == pytest.approx(0.75 * 10 / 2)
    assert provincial_spending([q], 2023) == 0.0


def test_doubling_spending_raises_the_effect_by_less_than_double(toy):
    base = _gdp(sim.run_scenario(toy))
    pol = ProductivityPolicy(start=2021, places=("east",), factor=1.05, cost_cny=5.0,
                             reference_cost_cny=5.0, label="east")

    def effect(cost):
        sc = dataclasses.replace(toy, policies=(dataclasses.replace(pol, cost_cny=cost),))
        return (_gdp(sim.run_scenario(sc)) - base)[-1]

    e1, e2 = effect(5.0), effect(10.0)
    assert 0 < e1 < e2 < 2 * e1


def test_provincial_financing_costs_output(toy):
    pol = ProductivityPolicy(start=2021, places=("east",), factor=1.0, cost_cny=50.0,
                             label="pure spending")
    free = _gdp(sim.run_scenario(dataclasses.replace(toy, policies=(pol,))))
    taxed = _gdp(sim.run_scenario(dataclasses.replace(
        toy, policies=(dataclasses.replace(pol, central_share=0.0),))))
    base = _gdp(sim.run_scenario(toy))
    np.testing.assert_array_equal(free, base)  # centrally paid, no effect: the baseline
    assert taxed[1] < base[1]  # the province pays in 2021: output falls that year
