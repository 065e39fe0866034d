"""The README's job -- Jilin baseline and plan, both calibrated, 2020-2035 -- against stored
results (``tests/data/jilin_golden.npz``).

The stored arrays were produced by the engine before the speed work of the solver, spin-up and
calibration (same scenarios, default parameters); run this file as a script to write them anew
after a deliberate change of results. They guard optimisations: a faster engine must give the
same numbers up to the tolerances the numerics already allow.

Tolerance: every quantity is compared with ``rtol = 1e-6``, the loosest tolerance in the chain
of solvers that produces these numbers -- the firm spin-up stops when masses change by less
than 1e-6 of the largest mass (docs/model.md, "Base year"); the GDP inversion holds 1e-8 and
the equilibrium 1e-10 in log wages. Any two correct implementations of the same equations can
differ by that much; measured against the stored arrays the current engine differs by at most
about 1e-8 (relative).
"""

from pathlib import Path

import numpy as np
import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "data" / "jilin_golden.npz"
RTOL = 1e-6
PLACE_COLUMNS = ("gdp", "population", "real_wage", "welfare", "wage")


def jilin_arrays() -> dict:
    """Year x place arrays of the baseline and plan runs (places sorted by id)."""
    out = {}
    for name in ("baseline", "plan"):
        res = sim.run_scenario(sim.load_scenario(ROOT / "scenarios" / f"{name}.yaml"))
        p = res.places.sort_values(["year", "place"])
        n_years = p["year"].nunique()
        for c in PLACE_COLUMNS:
            out[f"{name}_{c}"] = p[c].to_numpy(float).reshape(n_years, -1)
        firms = res.sectors.groupby(["year", "place"], sort=True)["firms"].sum()
        out[f"{name}_firms"] = firms.to_numpy(float).reshape(n_years, -1)
        out["years"] = np.sort(p["year"].unique())
        out["places"] = np.array(sorted(p["place"].unique()))
    return out


@pytest.fixture(scope="module")
def fresh():
    return jilin_arrays()


def test_golden_file_holds_both_runs():
    g = np.load(GOLDEN)
    assert list(g["years"]) == list(range(2020, 2036))
    for name in ("baseline", "plan"):
        for c in (*PLACE_COLUMNS, "firms"):
            a = g[f"{name}_{c}"]
            assert a.shape == (16, len(g["places"])) and np.all(np.isfinite(a))
    # the plan differs from the baseline (the comparison below can tell runs apart)
    assert np.max(np.abs(g["plan_gdp"] / g["baseline_gdp"] - 1)) > 1e-3


def test_jilin_job_matches_golden(fresh):
    g = np.load(GOLDEN)
    assert list(fresh["years"]) == list(g["years"])
    assert list(fresh["places"]) == list(g["places"])
    for key in g.files:
        if key in ("years", "places"):
            continue
        np.testing.assert_allclose(fresh[key], g[key], rtol=RTOL, atol=0, err_msg=key)


if __name__ == "__main__":  # write the stored arrays anew (after a deliberate change)
    np.savez_compressed(GOLDEN, **jilin_arrays())
    print(f"wrote {GOLDEN}")
