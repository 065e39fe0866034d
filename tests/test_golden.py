"""Results stay identical to the reference engine, to the solver tolerance.

The golden tables in ``tests/data/golden/`` were written by the float64 engine before the
scale work (faster kernels, compact storage, memoised calibration and spin-up). Every later
engine must reproduce them to the tolerance of its solvers on the Jilin baseline and plan
(2020-2035, both calibrated) and on the core-periphery check. A deliberate change of the
economics regenerates them, in a commit of its own that says why::

    python tests/test_golden.py --write

Tolerances: the equilibrium solves to 1e-10 (sup norm of log wage change), the calibration
to 1e-8 relative GDP error; over 16 years of migration these stay below 1e-7 relative, which
is the bound used here (absolute floor 1e-6 for quantities that are zero in the reference).
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests" / "data" / "golden"
COLUMNS = ["population", "mobile", "agricultural", "gdp", "wage", "real_wage", "price_index",
           "rent", "utility", "in_migration", "out_migration", "welfare"]
RTOL, ATOL = 1e-7, 1e-6
CP_PAIRS = [(5.0, 0.4), (4.0, 0.3)]
CP_YEARS = 30


def _jilin_tables():
    import sim

    out = {}
    for name in ("baseline", "plan"):
        res = sim.run_scenario(ROOT / "scenarios" / f"{name}.yaml")
        out[name] = res.places[["year", "place", *COLUMNS]].sort_values(["year", "place"])
    return out


def _cp_paths():
    """Share of mobile workers in region 1, year by year, in the CP economy: from a 1% nudge
    of the symmetric state just past the break point, and from a 1% nudge of full
    agglomeration just below the sustain point (both move away from where they start)."""
    from sim.checks.cp import (
        DEFAULT_SCENARIO,
        _model,
        cp_scenario,
        phi_break_closed_form,
        phi_sustain_closed_form,
    )
    from sim.scenario.load import load_scenario

    base = load_scenario(DEFAULT_SCENARIO)
    out = {}
    for s, m in CP_PAIRS:
        for label, phi, lam0 in (("break", 1.2 * phi_break_closed_form(s, m), 0.51),
                                 ("sustain", 0.8 * phi_sustain_closed_form(s, m), 0.99)):
            model = _model(cp_scenario(base, s, m, phi), lam0, CP_YEARS)
            path = []
            try:
                while not model.done:
                    model.step()
                    path.append(float(model.mobile[0] / model.mobile.sum()))
            finally:
                model.release()
            out[f"{s},{m},{label}"] = path
    return out


def write():
    GOLD.mkdir(parents=True, exist_ok=True)
    for name, df in _jilin_tables().items():
        df.to_csv(GOLD / f"jilin_{name}.csv", index=False, float_format="%.17g")
    (GOLD / "cp.json").write_text(json.dumps(_cp_paths(), indent=1, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def jilin():
    return _jilin_tables()


@pytest.mark.parametrize("name", ["baseline", "plan"])
def test_jilin_matches_reference_engine(jilin, name):
    ref = pd.read_csv(GOLD / f"jilin_{name}.csv")
    new = jilin[name].reset_index(drop=True)
    assert list(new["place"]) == list(ref["place"])
    assert list(new["year"]) == list(ref["year"])
    for col in COLUMNS:
        np.testing.assert_allclose(new[col].to_numpy(float), ref[col].to_numpy(float),
                                   rtol=RTOL, atol=ATOL, err_msg=f"{name}: {col}")


def test_cp_paths_match_reference_engine():
    ref = json.loads((GOLD / "cp.json").read_text())
    new = _cp_paths()
    assert new.keys() == ref.keys()
    for key, path in ref.items():
        assert len(path) == len(new[key]) > CP_YEARS // 2, key
        # the paths leave their starting points: the comparison is not of constants
        assert abs(path[-1] - path[0]) > 1e-3, key
        np.testing.assert_allclose(new[key], path, rtol=RTOL, err_msg=key)


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    else:
        print(__doc__)
