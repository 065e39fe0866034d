"""Synthetic regions and naive references for tests and benchmarks (private: not the API).

May import the foundation modules, :mod:`sim.scenario`, :mod:`sim.kernels` and :mod:`sim.engine`;
nothing but tests and benchmarks imports it.

``synthetic_scenario`` builds a random but reproducible region: places scattered over a
~1,000 km square, each linked to its nearest neighbours by road, expressway or rail, a share of
external places, sectors with sigma in {4, 5, 6} (so several sectors share a trade-cost group) and
one non-traded sector when K >= 2.

``synthetic_country`` builds a China-sized region at any number of places for the scale
benchmarks: Zipf-like (Pareto) place sizes that add up to China's 1,410 m residents, places in
clusters over a ~4,000 x 3,500 km area, neighbour links by Delaunay triangulation (expressway,
road, rail and HSR by size), and a few external partners reached by sea.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial import Delaunay, cKDTree

from sim.scenario.defaults import DEFAULT_MODES
from sim.scenario.schema import (
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


# --------------------------------------------------------------------------------------------
# A China-sized synthetic country (scale benchmarks)

COUNTRY_POP = 1409.78  # millions: mainland China's 31 provinces at the 2020 census
COUNTRY_BOX_KM = (4000.0, 3500.0)
_COUNTRY_SPEED = {"road": 60.0, "expressway": 85.0, "rail": 60.0, "hsr": 200.0, "sea": 25.0}
_COUNTRY_DETOUR = {"road": 1.25, "expressway": 1.25, "rail": 1.2, "hsr": 1.2, "sea": 1.05}


def _country_sizes(rng, n, alpha, cap_share):
    """Pareto(alpha) sizes scaled to COUNTRY_POP; draws above cap_share x total are redrawn."""
    x = rng.pareto(alpha, n) + 1.0
    for _ in range(50):
        big = x > cap_share * x.sum()
        if not big.any():
            break
        x[big] = rng.pareto(alpha, int(big.sum())) + 1.0
    return x * (COUNTRY_POP / x.sum())


def _mst_edges(n, a, b, w):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree
    t = minimum_spanning_tree(coo_matrix((w, (a, b)), shape=(n, n)).tocsr()).tocoo()
    return {(min(i, j), max(i, j)) for i, j in zip(t.row.tolist(), t.col.tolist(), strict=True)}


def synthetic_country(n_places: int, n_sectors: int, *, seed: int = 0, n_external: int = 4,
                      alpha: float = 1.0, cap_share: float = 0.02, max_link_km: float | None = None,
                      agriculture_share: float = 0.10, housing_share: float = 0.25) -> Region:
    """A China-sized region of ``n_places`` internal places (deterministic by ``seed``).

    * Sizes: Pareto with tail exponent ``alpha`` (1 = Zipf), draws above ``cap_share`` of the
      total redrawn (China's largest prefecture, Chongqing, is 2.3% of residents), scaled so
      that residents add up to 1,409.78 m. Farm share of residents falls with size (from ~45% in
      the smallest places to a few % in the largest); GDP per resident rises with size
      (elasticity 0.1 around 72 thousand CNY, China's 2020 mean) with lognormal noise.
    * Locations: a mixture of ~sqrt(N)/2 Gaussian clusters (sd 60-250 km) plus 15% uniform
      background over a 4,000 x 3,500 km box (mapped to lat 20-51.6, lon 78-121.8); the
      largest places sit nearest their cluster centres.
    * Links: Delaunay triangulation of the places, edges longer than ``max_link_km`` (default
      4 x the median edge) dropped except those of the minimum spanning tree, so every place is
      reachable. Every edge is an expressway (a road where both ends are below the median
      size); rail where both ends are above the 30th percentile; HSR between places in the top
      decile within 600 km. km = straight line x detour (1.25 road, 1.2 rail), hours = km /
      speed (60, 85, 60, 200 km/h), as in the China pack.
    * External partners (``n_external``): beyond the east and south coasts, each reached by sea
      from the 3 internal places nearest to it; no resident migration to or from them.
    """
    if n_places < 4:
        raise ValueError("synthetic_country needs at least 4 places")
    rng = np.random.default_rng(seed)
    n = n_places
    pop = _country_sizes(rng, n, alpha, cap_share)
    W, H = COUNTRY_BOX_KM
    n_cl = max(3, int(round(np.sqrt(n) / 2)))
    centres = np.column_stack([rng.uniform(0.1, 0.9, n_cl) * W, rng.uniform(0.1, 0.9, n_cl) * H])
    sd = rng.uniform(60.0, 250.0, n_cl)
    wts = rng.dirichlet(np.full(n_cl, 2.0))
    cl = rng.choice(n_cl, size=n, p=wts)
    xy = centres[cl] + rng.normal(size=(n, 2)) * sd[cl, None]
    bg = rng.random(n) < 0.15
    xy[bg] = rng.random((int(bg.sum()), 2)) * (W, H)
    xy = np.clip(xy, 0.0, (W, H))
    key = np.hypot(*(xy - centres[cl]).T) / sd[cl] + np.where(bg, 3.0, 0.0)
    pop = np.sort(pop)[::-1][np.argsort(np.argsort(key))]
    lat = 20.0 + xy[:, 1] / 110.57
    lon = 78.0 + xy[:, 0] / (111.32 * np.cos(np.radians(35.0)))
    rel = pop / np.median(pop)
    farm = np.clip(0.30 - 0.10 * np.log10(rel), 0.02, 0.45)
    y = 72.0 * rel ** 0.1 * rng.lognormal(0.0, 0.2, n)
    y *= 72.0 * COUNTRY_POP / float((y * pop).sum())
    places = [Place(id=f"c{i}", lat=float(lat[i]), lon=float(lon[i]),
                    mobile_pop=float(pop[i] * (1 - farm[i])), ag_pop=float(pop[i] * farm[i]),
                    ag_productivity=23.3, gdp=float(pop[i] * y[i]), natural_growth=0.00145)
              for i in range(n)]
    # Delaunay neighbours; long edges dropped except the spanning tree's
    simp = Delaunay(xy).simplices
    e = np.sort(np.concatenate([simp[:, [0, 1]], simp[:, [1, 2]], simp[:, [0, 2]]]), axis=1)
    e = np.unique(e, axis=0)
    d = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
    cut = max_link_km if max_link_km is not None else 4.0 * float(np.median(d))
    tree = _mst_edges(n, e[:, 0], e[:, 1], np.maximum(d, 1e-6))
    keep = (d <= cut) | np.array([(int(a), int(b)) in tree for a, b in e])
    e, d = e[keep], d[keep]
    q30, q50, q90 = np.quantile(pop, [0.3, 0.5, 0.9])
    links = []

    def link(a, b, mode, dist, fixed=0.0):
        km = float(dist * _COUNTRY_DETOUR[mode])
        links.append(Link(from_=a, to=b, mode=mode, km=km, hours=km / _COUNTRY_SPEED[mode],
                          fixed_cost=fixed))

    for (a, b), dist in zip(e.tolist(), d.tolist(), strict=True):
        small = min(pop[a], pop[b])
        link(f"c{a}", f"c{b}", "road" if max(pop[a], pop[b]) < q50 else "expressway", dist)
        if small > q30:
            link(f"c{a}", f"c{b}", "rail", dist)
        if small > q90 and dist <= 600.0:
            link(f"c{a}", f"c{b}", "hsr", dist)
    # external partners beyond the coasts (east, south-east, south, north-east), sea links
    spots = [(W + 900.0, 0.55 * H), (W + 1500.0, 0.2 * H), (0.55 * W, -1800.0),
             (W + 500.0, 0.95 * H), (W + 8000.0, 0.5 * H), (-6000.0, 0.7 * H)]
    tree_xy = cKDTree(xy)
    gdp_total = float(sum(p.gdp for p in places))
    for j in range(n_external):
        sx, sy = spots[j % len(spots)]
        ext_pop = float(rng.uniform(50.0, 450.0))
        ext_gdp = float(gdp_total * rng.uniform(0.1, 1.0))
        pid = f"x{j}"
        places.append(Place(id=pid, lat=20.0 + sy / 110.57,
                            lon=78.0 + sx / (111.32 * np.cos(np.radians(35.0))), external=True,
                            mobile_pop=ext_pop, gdp=ext_gdp, wage=ext_gdp / ext_pop,
                            productivity=ext_gdp / ext_pop / 72.0, gdp_growth=0.03,
                            migration=False))
        dist, nn = tree_xy.query((sx, sy), k=min(3, n))
        for dd, i in zip(np.atleast_1d(dist), np.atleast_1d(nn), strict=True):
            link(f"c{int(i)}", pid, "sea", float(dd))
    shares = rng.dirichlet(np.ones(n_sectors)) * (1.0 - agriculture_share - housing_share)
    shares[-1] = 1.0 - agriculture_share - housing_share - shares[:-1].sum()
    sectors = tuple(
        Sector(id=f"s{k}", expenditure_share=float(shares[k]),
               sigma=float((4.0, 5.0, 6.0)[k % 3]), tradable=not (n_sectors >= 2 and k == 1))
        for k in range(n_sectors))
    return Region(places=tuple(places), sectors=sectors, links=tuple(links), modes=DEFAULT_MODES)


def synthetic_country_scenario(n_places: int, n_sectors: int, *, seed: int = 0, years: int = 2,
                               calibrate: bool = False, solver: dict | None = None,
                               **kw) -> Scenario:
    """A scenario over :func:`synthetic_country` with default parameters.

    ``solver``: settings of the ``solver:`` block (e.g. ``{"freeness_precision": "float32"}``);
    default: the defaults.
    """
    region = synthetic_country(n_places, n_sectors, seed=seed, **kw)
    return Scenario(name=f"country-{n_places}x{n_sectors}", region=region, seed=seed,
                    time=TimeSpan(2020, 2020 + years - 1), parameters=Parameters(),
                    solver=Solver(**(solver or {})), calibrate=calibrate)


# --------------------------------------------------------------------------------------------
# Slow reference: the firm entry/location decision written the usual Mesa way.

def _naive_classes():
    import math

    import mesa

    class _NaiveEntrant(mesa.Agent):
        """One potential entrant firm: a Python loop over places, then an inverse-CDF draw."""

        def __init__(self, model, sector):
            super().__init__(model)
            self.sector = sector
            self.probs = None
            self.choice = None

        def step(self):
            m = self.model
            k = self.sector
            weights = []
            for n in range(m.n_places):
                if not m.eligible[n]:
                    weights.append(0.0)
                    continue
                vbar = 0.0
                for q in range(len(m.entry_dist)):
                    v = m.zeta[k][q] * m.o[n][k] / (m.w[n][k] * m.F[k]) - (1.0 - m.subsidy[n][k])
                    vbar += m.entry_dist[q] * v
                vbar -= m.entry_cost[n][k]
                weights.append(m.size[n][k] * math.exp(m.lam * vbar))
            outside = 0.0  # not entering: value 0, weight = total sites of the sector
            for n in range(m.n_places):
                if m.eligible[n]:
                    outside += m.size[n][k]
            total = outside + sum(weights)
            self.probs = [wt / total for wt in weights]
            u = self.random.random()
            cum, choice = 0.0, -1
            for n, p in enumerate(self.probs):
                cum += p
                if u < cum:
                    choice = n
                    break
            self.choice = choice

    class _NaiveEntryModel(mesa.Model):
        """Entrants as one ``mesa.Agent`` each, activated by ``shuffle_do('step')``."""

        def __init__(self, sectors, *, operating_profit, wage, fixed_cost, zeta, entry_dist,
                     subsidy, entry_cost, logit, eligible, size, seed):
            super().__init__(seed=seed)
            self.o, self.w = operating_profit.tolist(), wage.tolist()
            self.F, self.zeta = fixed_cost.tolist(), zeta.tolist()
            self.entry_dist = entry_dist.tolist()
            self.subsidy, self.entry_cost = subsidy.tolist(), entry_cost.tolist()
            self.lam, self.eligible = float(logit), eligible.tolist()
            self.size = size.tolist()
            self.n_places = len(self.eligible)
            for k in sectors:
                _NaiveEntrant(self, int(k))

        def step(self):
            self.agents.shuffle_do("step")

    return _NaiveEntrant, _NaiveEntryModel


def naive_entry_model(sectors, **kw):
    """Build the Mesa-style reference model of entrants' location choice (see module notes).

    Keyword arguments: ``operating_profit``, ``wage`` (N, K), ``fixed_cost`` (K,), ``zeta``
    (K, Q), ``entry_dist`` (Q,), ``subsidy``, ``entry_cost`` (N, K), ``logit``, ``eligible``
    (N,), ``size`` (N, K), ``seed``. After ``step()``, every agent holds ``probs`` (per place)
    and ``choice`` (place index, or -1 for not entering).
    """
    _, model_cls = _naive_classes()
    return model_cls(sectors, **kw)


def vectorized_entry(rng, sectors, entry_probs):
    """The same decision, vectorized: per-sector probabilities once, inverse-CDF per entrant.

    Parameters
    ----------
    rng : numpy.random.Generator
    sectors : ndarray of int, shape (F,)
    entry_probs : ndarray, shape (N, K)
        P^e_nk from ``sim.kernels.firms.decision_probabilities`` (outside option = 1 - sum).

    Returns
    -------
    ndarray of int, shape (F,)
        Chosen place, or -1 for not entering.
    """
    from sim.kernels.choice import cdf_rows, sample_categorical

    N, K = entry_probs.shape
    probs = np.column_stack([entry_probs.T, 1.0 - entry_probs.sum(axis=0)])
    choice = sample_categorical(cdf_rows(probs), sectors, rng.random(len(sectors)))
    return np.where(choice == N, -1, choice)


def entry_problem(n_places: int, n_sectors: int, *, seed: int = 0, levels: int = 7):
    """Random inputs of the entrants' location decision (for tests and benchmarks).

    Returns
    -------
    kw : dict
        Keyword arguments of :func:`naive_entry_model` (without ``seed``).
    rules : sim.kernels.firms.FirmRules
    """
    from sim.kernels.choice import rouwenhorst, stationary
    from sim.kernels.firms import FirmRules

    rng = np.random.default_rng(seed)
    grid, P = rouwenhorst(levels, 0.9, 0.5 * np.sqrt(1 - 0.81))
    pi = stationary(P)
    sigma = rng.choice([4.0, 5.0, 6.0], n_sectors)
    raw = np.exp((sigma[:, None] - 1) * grid[None, :])
    zeta = raw / (raw @ pi)[:, None]
    wage = rng.uniform(0.5, 2.0, (n_places, n_sectors))
    kw = dict(operating_profit=wage * rng.uniform(0.5, 1.5, (n_places, n_sectors)), wage=wage,
              fixed_cost=np.ones(n_sectors), zeta=zeta, entry_dist=pi,
              subsidy=np.where(rng.random((n_places, n_sectors)) < 0.1, 0.3, 0.0),
              entry_cost=np.full((n_places, n_sectors), 0.5), logit=2.0,
              eligible=rng.random(n_places) < 0.95,
              size=rng.lognormal(0.0, 1.0, (n_places, n_sectors)))
    rules = FirmRules(exit_rate=0.05, loss_exit=0.5, entry_logit=2.0, relocation_share=0.02,
                      moving_cost=1.0, transition=P, entry_dist=pi)
    return kw, rules


def vectorized_entry_probs(kw, rules):
    """P^e_nk of the entry problem through the engine's kernels."""
    from sim.kernels.firms import decision_probabilities, firm_values

    v = firm_values(kw["operating_profit"], kw["wage"], kw["fixed_cost"], kw["zeta"],
                    kw["subsidy"])
    return decision_probabilities(v, rules, kw["eligible"], kw["entry_cost"],
                                  size=kw["size"]).entry


def _proc_status_mb(field: str) -> float:
    """A kB field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in MB; NaN off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux ``/proc``; NaN elsewhere)."""
    return _proc_status_mb("VmRSS")


def _malloc_trim() -> None:
    """Return freed heap memory to the system (glibc only; a no-op elsewhere)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_slope(run, n: int, *, warmup: int = 2) -> dict:
    """Call ``run()`` ``warmup + n`` times; the RSS growth per call (MB) over the last ``n``.

    The slope is a least-squares line through the RSS after each call (after a garbage
    collection), so one-off allocations (imports, caches filled by the first runs) do not count.
    Before each reading, glibc's ``malloc_trim(0)`` hands freed heap pages back to the system
    (where available): what remains resident is memory still held, not allocator slack, whose
    size depends on how other threads and processes fragmented the heap.
    """
    import gc

    def settle():
        gc.collect()
        _malloc_trim()

    for _ in range(warmup):
        run()
    settle()
    xs = []
    for _ in range(n):
        run()
        settle()
        xs.append(rss_mb())
    xs = np.asarray(xs)
    slope = float(np.polyfit(np.arange(n), xs, 1)[0]) if n >= 2 else float("nan")
    return {"runs": n, "rss_first_mb": float(xs[0]), "rss_last_mb": float(xs[-1]),
            "slope_mb_per_run": slope}


def calibrated_toy(path) -> Scenario:
    """A quick calibrated scenario: the example region with observed GDP.

    ``path`` is ``scenarios/example.yaml``; its internal places get an observed GDP and the
    scenario ``calibrate: true``.
    """
    import dataclasses

    from sim.scenario.load import load_scenario

    sc = load_scenario(path)
    gdp = {"core": 600.0, "east": 150.0, "south": 70.0, "remote": 30.0}
    places = tuple(dataclasses.replace(p, gdp=gdp[p.id]) if p.id in gdp else p
                   for p in sc.region.places)
    return dataclasses.replace(sc, calibrate=True,
                               region=dataclasses.replace(sc.region, places=places))


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (``VmHWM``; NaN off Linux)."""
    return _proc_status_mb("VmHWM")


def scale_probe(n_places: int, n_sectors: int, *, years: int = 1, calibrate: bool = False,
                seed: int = 1, log=None, solver: dict | None = None) -> dict:
    """Time and memory of a run over :func:`synthetic_country` by phase (scale benchmarks).

    Meant to run alone in a fresh process (peak RSS is the process's). Phases, wall and CPU
    seconds (``time.process_time``): ``build`` (region and scenario), ``calibrate`` (if asked),
    ``network`` (shortest paths, trade freeness, migration kernel: the first year's network
    matrices), ``first_step`` (the first year without the network), ``steps`` (each later
    year), ``tables`` (the recorder's tidy tables). Also peak RSS (MB) after each phase, the
    sizes (MB) of the (N, N) arrays held and the equilibrium iterations of every year.
    ``log(phase, numbers)``, if given, is called after each phase and year; ``solver``: settings
    of the scenario's ``solver:`` block (:func:`synthetic_country_scenario`).
    """
    import time

    from sim.engine.calibrate import calibrate as calibrator
    from sim.engine.model import SimModel

    out: dict = {"n_places": n_places, "n_sectors": n_sectors, "years": years,
                 "calibrate": calibrate, "solver": dict(solver or {})}

    def clock():
        return time.perf_counter(), time.process_time()

    def lap(name, t0):
        w, c = clock()
        out[name] = {"wall_s": w - t0[0], "cpu_s": c - t0[1], "peak_rss_mb": peak_rss_mb()}
        if log is not None:
            log(name, out[name])
        return clock()

    t = clock()
    start = t
    sc = synthetic_country_scenario(n_places, n_sectors, seed=seed, years=years, solver=solver)
    t = lap("build", t)
    if calibrate:
        sc = calibrator(sc)[0]
        t = lap("calibrate", t)
    model = SimModel(sc)
    model.equilibrium_inputs()  # builds and caches the network matrices of the first year
    t = lap("network", t)
    net = model.network.get(model.equilibrium_inputs()[1].links)
    out["matrices_mb"] = {f.name: getattr(net, f.name).nbytes / 2**20
                          for f in dataclasses.fields(net)
                          if isinstance(getattr(net, f.name), np.ndarray)
                          and getattr(net, f.name).ndim >= 2}
    model.step()
    t = lap("first_step", t)
    steps = []
    while not model.done:
        model.step()
        w, c = clock()
        steps.append((w - t[0], c - t[1]))
        if log is not None:
            log("step", {"wall_s": steps[-1][0], "cpu_s": steps[-1][1],
                         "peak_rss_mb": peak_rss_mb()})
        t = (w, c)
    out["steps"] = {"wall_s": [s[0] for s in steps], "cpu_s": [s[1] for s in steps],
                    "peak_rss_mb": peak_rss_mb()}
    out["iterations"] = model.recorder.iterations[:model.recorder.n_recorded].tolist()
    t = clock()
    rec = model.recorder
    tables = (rec.place_frame(), rec.sector_frame(), rec.migration_frame())
    t = lap("tables", t)
    out["table_rows"] = [0 if x is None else len(x) for x in tables]
    del tables
    model.release()
    w, c = clock()
    out["total"] = {"wall_s": w - start[0], "cpu_s": c - start[1], "peak_rss_mb": peak_rss_mb()}
    return out


def naive_migration_table(E, u, a, *, top_k=20, min_flow=1e-6):
    """Reference for :func:`sim.kernels.migration.migration_table` above its dense size.

    The whole flow matrix ``F = a E u`` (diagonal 0) and a full partition of every row: each
    origin's ``top_k`` largest flows of at least ``min_flow``, sorted by (origin, destination).
    """
    F = a[:, None] * E * u[None, :]
    np.fill_diagonal(F, 0.0)
    k = min(top_k, len(u) - 1)
    idx = np.argpartition(F, -k, axis=1)[:, -k:]
    v = np.take_along_axis(F, idx, axis=1).ravel()
    o = np.repeat(np.arange(len(u)), k)
    d = idx.ravel()
    keep = v >= min_flow
    o, d, v = o[keep], d[keep], v[keep]
    order = np.lexsort((d, o))
    return o[order], d[order], v[order]
