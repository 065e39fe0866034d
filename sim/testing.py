"""Synthetic regions and toy scenarios for tests and benchmarks (not used by the engine).

``synthetic_scenario`` builds a random but reproducible region: places scattered over a
~1,000 km square, each linked to its nearest neighbours by road, expressway or rail, a share of
external places, sectors with sigma in {4, 5, 6} (so several sectors share a trade-cost group) and
one non-traded sector when K >= 2.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from sim.config.defaults import DEFAULT_MODES
from sim.config.schema import (
    Link,
    Parameters,
    Place,
    Region,
    Scenario,
    Sector,
    Solver,
    TimeSpan,
)

SPEED_KMH = {"road": 60.0, "expressway": 90.0, "rail": 80.0}


def synthetic_region(n_places: int, n_sectors: int, *, seed: int = 0, external_share=0.05,
                     neighbours: int = 4, agriculture_share=0.10, housing_share=0.25) -> Region:
    """A random connected-ish region (see module docstring)."""
    rng = np.random.default_rng(seed)
    n_ext = int(round(external_share * n_places)) if n_places >= 10 else 0
    lat = 40.0 + 9.0 * rng.random(n_places)
    lon = 120.0 + 12.0 * rng.random(n_places)
    pop = rng.lognormal(0.0, 1.0, n_places)
    places = []
    for i in range(n_places):
        ext = i >= n_places - n_ext
        places.append(Place(
            id=f"p{i}", lat=float(lat[i]), lon=float(lon[i]), external=ext,
            mobile_pop=float(pop[i]), ag_pop=0.0 if ext else float(0.3 * pop[i]),
            productivity=float(rng.uniform(0.8, 1.2)), amenity=float(rng.uniform(0.8, 1.2)),
            wage=1.0, gdp=float(3.0 * pop[i]) if ext else None,
        ))
    xy = np.column_stack([lat * 111.0, lon * 85.0])
    k = min(neighbours + 1, n_places)
    _, nn = cKDTree(xy).query(xy, k=k)
    modes = ("road", "expressway", "rail")
    pairs = {(min(i, j), max(i, j)) for i in range(n_places) for j in np.atleast_1d(nn[i])[1:]}
    links = []
    for a, b in sorted(pairs):
        mode = modes[int(rng.integers(3))]
        km = float(1.2 * np.hypot(*(xy[a] - xy[b])))
        links.append(Link(from_=f"p{a}", to=f"p{b}", mode=mode, km=km,
                          hours=km / SPEED_KMH[mode]))
    shares = rng.dirichlet(np.ones(n_sectors)) * (1.0 - agriculture_share - housing_share)
    shares[-1] = 1.0 - agriculture_share - housing_share - shares[:-1].sum()
    sectors = tuple(
        Sector(id=f"s{k}", expenditure_share=float(shares[k]),
               sigma=float((4.0, 5.0, 6.0)[k % 3]), tradable=not (n_sectors >= 2 and k == 1))
        for k in range(n_sectors))
    return Region(places=tuple(places), sectors=sectors, links=tuple(links),
                  modes=DEFAULT_MODES)


def synthetic_scenario(n_places: int, n_sectors: int, *, seed: int = 0, years: int = 5,
                       **kw) -> Scenario:
    """A scenario over :func:`synthetic_region` with default parameters."""
    region = synthetic_region(n_places, n_sectors, seed=seed, **kw)
    return Scenario(name=f"synthetic-{n_places}x{n_sectors}", region=region, seed=seed,
                    time=TimeSpan(2020, 2020 + years - 1), parameters=Parameters(),
                    solver=Solver())
