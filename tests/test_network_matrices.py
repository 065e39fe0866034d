"""The lean network matrices of a run against the full set (the reference)."""

import numpy as np
import pytest

from sim._testing import synthetic_country_scenario
from sim.engine import primitives
from sim.engine.build import build_static
from sim.engine.primitives import active_links, network_matrices
from sim.kernels.migration import logit_kernel


@pytest.fixture(scope="module")
def country():
    sc = synthetic_country_scenario(150, 4, seed=3)
    st = build_static(sc)
    return st, active_links(st, (), 2020), sc.parameters


@pytest.mark.parametrize("block", [16, 1024])
def test_lean_matrices_equal_the_full_ones(country, monkeypatch, block):
    """Blocks of rows, costs dropped, kappa in place: the same values as the full matrices."""
    st, links, par = country
    full = network_matrices(st, links, par)  # costs and kappa kept, whole-matrix reference
    monkeypatch.setattr(primitives, "_ROW_BLOCK", block)
    lean = network_matrices(st, links, par, costs=False, kappa=False, kernel=True,
                            passenger_sources=[2, 7])
    assert lean.freight_cost is None and lean.passenger_cost is None
    assert lean.migration_cost is None
    assert np.array_equal(lean.freeness, full.freeness)
    assert np.array_equal(lean.migration_kernel, logit_kernel(full.migration_cost))
    for i in (2, 7):
        assert np.array_equal(lean.passenger_row(i), full.passenger_cost[i])
    both = network_matrices(st, links, par, costs=False, kappa=True, kernel=True)
    assert np.array_equal(both.migration_cost, full.migration_cost)
    assert np.array_equal(both.migration_kernel, lean.migration_kernel)
    with pytest.raises(KeyError):
        lean.passenger_row(3)


def test_a_run_keeps_only_the_matrices_it_reads():
    """Aggregate logit keeps freeness and exp(-kappa); agents and calibration keep kappa."""
    import dataclasses

    from sim.engine.model import SimModel
    from sim.scenario.schema import Agents

    sc = synthetic_country_scenario(60, 3, seed=2)
    m = SimModel(sc)
    net = m.equilibrium_inputs()[2]
    assert net.freight_cost is None and net.passenger_cost is None
    assert net.migration_cost is None and net.passenger_rows == {}
    assert net.migration_kernel.shape == (64, 64) and net.freeness.ndim == 3
    m.release()
    m = SimModel(sc, keep_kappa=True)
    net = m.equilibrium_inputs()[2]
    assert np.array_equal(net.migration_kernel, logit_kernel(net.migration_cost))
    m.release()
    agents = dataclasses.replace(sc, resolution="agents", agents=Agents(2_000, 2_000))
    m = SimModel(agents)
    net = m.equilibrium_inputs()[2]
    assert net.migration_cost is not None and net.migration_kernel is None
    m.release()


def test_symmetry_flags_and_float32_freeness_in_place(country, monkeypatch):
    """From dense.MIN_PLACES places the build checks that every T_g and exp(-kappa) equal
    their transposes (least-cost routes over undirected links); float32 freeness written in
    place has the values of the float64 matrices rounded to nearest."""
    from sim.kernels import dense

    st, links, par = country
    small = network_matrices(st, links, par, costs=False, kappa=False, kernel=True)
    assert not small.freeness_symmetric and not small.kernel_symmetric  # 150 places: unchecked
    monkeypatch.setattr(dense, "MIN_PLACES", 100)
    big = network_matrices(st, links, par, costs=False, kappa=False, kernel=True,
                           freeness_dtype=np.float32)
    assert big.freeness_symmetric and big.kernel_symmetric
    assert np.array_equal(big.freeness, small.freeness.astype(np.float32))
    assert np.array_equal(big.migration_kernel, small.migration_kernel)


@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_of_rows_on_threads_give_the_same_matrices(country, monkeypatch, threads):
    """From dense.MIN_PLACES places the blocks of rows of freeness and kappa are split among
    the threads (numpy releases the GIL in its loops): the same bits as one block after the
    other, and with two threads both do some of the blocks."""
    import threading

    import numba

    from sim.kernels import dense
    from sim.kernels import network as netk

    st, links, par = country
    ref = network_matrices(st, links, par, costs=False, kappa=True, kernel=True)  # serial
    monkeypatch.setattr(dense, "MIN_PLACES", 100)
    monkeypatch.setattr(primitives, "_ROW_BLOCK", 16)  # 10 blocks of the 150 + 4 places
    seen = set()
    freeness = netk.trade_freeness

    def spy(*a, **k):
        seen.add(threading.get_ident())
        return freeness(*a, **k)

    monkeypatch.setattr(netk, "trade_freeness", spy)
    n = min(threads, numba.config.NUMBA_NUM_THREADS)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(n)
        got = network_matrices(st, links, par, costs=False, kappa=True, kernel=True)
    finally:
        numba.set_num_threads(before)
    assert len(seen) == n
    assert np.array_equal(got.freeness, ref.freeness)
    assert np.array_equal(got.migration_cost, ref.migration_cost)
    assert np.array_equal(got.migration_kernel, ref.migration_kernel)
