"""The Mesa model: clock, seeded rng and place agents; all heavy state in numpy arrays.

``SimModel.step()`` advances one year:

1. primitives of the year (trends + active policies) and the network matrices (cached);
2. productivity with agglomeration, A_nk = A-bar_nk(t) N_n^alpha_k;
3. the static equilibrium (wages, price indices, incomes), warm-started from last year, on the
   aggregates the populations produce (workers by place; firm masses and productivity indices
   by place and sector under ``firm_dynamics: entry_exit``);
4. record the year;
5. firm demography (exit, relocation, productivity shocks, entry), migration of mobile
   households (logit or replicator), then natural growth.

Households and firms are continuum masses (``resolution: aggregate``) or structure-of-arrays
agent populations (``resolution: agents``) behind one interface (``sim.engine.populations``). No
file I/O and no config parsing here. Mesa 3.3 keeps every ``Model`` alive for the life of the
process, so :meth:`SimModel.release` drops the heavy state when a run ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import numpy as np

from sim.engine.build import StaticData, build_static
from sim.engine.mesa_core import Agent as MesaAgent
from sim.engine.mesa_core import DataCollector
from sim.engine.mesa_core import Model as MesaModel
from sim.engine.populations import AgentFirms, AgentHouseholds, AggregateFirms, AggregateHouseholds
from sim.engine.primitives import (
    NetworkCache,
    congested,
    mode_link_costs,
    provincial_spending,
    trade_groups,
    year_primitives,
)
from sim.engine.recorder import (
    LINK_TABLE_MAX_PLACES,
    MIGRATION_TABLE_DENSE_MAX,
    MIGRATION_TABLE_TOP_K,
    Recorder,
)
from sim.kernels import firms as fk
from sim.kernels.choice import rouwenhorst, stationary
from sim.kernels.dense import MIN_PLACES
from sim.kernels.equilibrium import (
    EquilibriumInputs,
    cold_start_wages,
    external_trade,
    solve_equilibrium,
    trade_matrix,
)
from sim.kernels.households import status_probabilities
from sim.kernels.migration import (
    logit_flow_totals,
    logit_weights,
    migration_table,
    size_weights,
    utility,
)
from sim.kernels.network import assign_flows, link_paths
from sim.rng import spawn_streams
from sim.scenario.schema import InnovationPolicy, Scenario

#: The calibration function applied to a scenario given by path that asks for it
#: (``calibrate: true``), as :func:`sim.engine.runner.run_scenario` does. Set by the
#: :mod:`sim.engine` package, which imports :mod:`sim.engine.calibrate` (itself an importer of
#: this module), so it is in place whenever this module has been imported.
calibrator = None

#: Mesa DataCollector model reporters of :class:`SimModel`: the headline series of the year just
#: stepped over the internal places, named as in :func:`sim.analysis.indicators.indicators`.
HEADLINE_REPORTERS = ("year", "GDP", "population", "GDP per capita", "real wage", "welfare")


def _headline_row(model) -> dict:
    """The headline series of the year just stepped, over the internal places.

    GDP (bn CNY), population (m), GDP per capita (k CNY), the mobile-weighted real wage and
    welfare (indices).
    """
    rec = model.recorder
    t = rec.n_recorded - 1
    if t < 0:
        return dict.fromkeys(HEADLINE_REPORTERS, np.nan)
    pl = {k: rec.places[k][t] for k in ("gdp", "population", "mobile", "real_wage", "welfare")}
    gdp, pop, mob = pl["gdp"].sum(), pl["population"].sum(), pl["mobile"].sum()
    return {"year": int(rec.years[t]), "GDP": float(gdp), "population": float(pop),
            "GDP per capita": float(gdp / pop),
            "real wage": float((pl["real_wage"] * pl["mobile"]).sum() / mob),
            "welfare": float((pl["welfare"] * pl["mobile"]).sum() / mob)}


def _reporter(name):
    return lambda m: m.headline_row()[name]


def _resolve(scenario, parameters: dict) -> tuple[Scenario, bool]:
    """A Scenario from a Scenario or a path, with parameter overrides validated.

    Also returns whether to calibrate it: given by path or overridden, and asking for it.
    """
    if isinstance(scenario, Scenario) and not parameters:
        return scenario, False
    from sim.scenario.load import load_scenario, load_scenario_dict, scenario_to_dict

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(Path(scenario))
    if parameters:
        d = scenario_to_dict(sc)
        unknown = sorted(set(parameters) - set(d["parameters"]))
        if unknown:
            raise TypeError(f"SimModel: unknown argument(s) {', '.join(unknown)} (neither a "
                            "SimModel argument nor a scenario parameter)")
        d["parameters"].update(parameters)
        sc = dataclasses.replace(load_scenario_dict(d, source=sc.source), source=sc.source)
    return sc, bool(sc.calibrate)


class PlaceAgent(MesaAgent):
    """A place: a Mesa agent holding its index into the model's state arrays (not copies)."""

    def __init__(self, model: SimModel, index: int, place_id: str, external: bool):
        super().__init__(model)
        self.index = index
        self.place_id = place_id
        self.external = external

    @property
    def population(self) -> float:
        """Current population (mobile + agricultural), millions."""
        return float(self.model.mobile[self.index] + self.model.agricultural[self.index])


def productivity_grid(par, sigma):
    """Firm productivity levels: Rouwenhorst grid of log z, zeta_kq and the entry distribution.

    Returns
    -------
    z : ndarray, shape (Q,)
        Productivity levels (geometric mean 1).
    zeta : ndarray, shape (K, Q)
        z_q**(sigma_k - 1) normalised to mean 1 under the stationary distribution [F4].
    P : ndarray, shape (Q, Q)
        Transition matrix.
    pi : ndarray, shape (Q,)
        Stationary distribution (= entrants' distribution).
    """
    rho, sd, Q = par.productivity_persistence, par.productivity_dispersion, par.productivity_levels
    grid, P = rouwenhorst(Q, rho, sd * np.sqrt(1.0 - rho**2))
    pi = stationary(P)
    raw = np.exp((sigma[:, None] - 1.0) * grid[None, :])
    zeta = raw / (raw @ pi)[:, None]
    return np.exp(grid), zeta, P, pi


def _integrate(net, pairs, static):
    """Network matrices with integration policies applied [P7]: tau_ab and kappa_ab scaled.

    Only the matrices the run keeps are copied; the migration kernel gets
    exp(-m kappa_ab) = exp(-kappa_ab)**m.
    """
    freeness = net.freeness.copy()
    kappa = None if net.migration_cost is None else net.migration_cost.copy()
    E = None if net.migration_kernel is None else net.migration_kernel.copy()
    _, keys = trade_groups(static.sigma, static.trade_cost_scale, static.tradable)
    for a, b, tf, mf, _ in pairs:
        for g, (sig, _scale) in enumerate(keys):
            freeness[g, a, b] *= tf ** (1.0 - sig)
            freeness[g, b, a] *= tf ** (1.0 - sig)
        for ab in ((a, b), (b, a)):
            if kappa is not None:
                kappa[ab] *= mf
            if E is not None:
                E[ab] = E[ab] ** mf
    return dataclasses.replace(net, freeness=freeness, migration_cost=kappa,
                               migration_kernel=E)


def _innovation_factor(prim, net, par):
    """Productivity multipliers of innovation bases [P6]: exp(effect x spillover decay)."""
    if not prim.innovation:
        return 1.0
    N = net.freeness.shape[1]
    K = len(prim.innovation[0][1])
    log_f = np.zeros((N, K))
    vot = par.value_of_time_passenger
    for base, sectors, effect, spill, half in prim.innovation:
        cost = net.passenger_row(base)
        hours = cost / vot if vot > 0 else np.where(np.isfinite(cost), 0, np.inf)
        decay = np.where(np.isfinite(hours),
                         spill * np.exp(-np.log(2.0) * np.nan_to_num(hours, posinf=0.0)
                                        / half), 0.0)
        decay[base] = 1.0
        log_f += effect * decay[:, None] * sectors[None, :]
    return np.exp(log_f)


def _extrapolate(wage, prev, prev2=None):
    """Start of the next equilibrium solve, extrapolated from the last solutions.

    ``w (w / w_prev)^r`` where both are positive and finite (else ``w``): log-linear (r = 1)
    from two solutions; from three, r is the ratio of the last two log steps (projected, in
    [0, 1]), the next step of a geometrically converging sequence such as the firm spin-up's.
    Only a start: the solve converges to its tolerance from any start, in fewer iterations
    from a closer one.
    """
    if prev is None:
        return wage
    ok = np.isfinite(wage) & (wage > 0) & np.isfinite(prev) & (prev > 0)
    r = 1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        step = np.where(ok, np.log(np.where(ok, wage, 1.0) / np.where(ok, prev, 1.0)), 0.0)
        if prev2 is not None:
            ok2 = ok & np.isfinite(prev2) & (prev2 > 0)
            before = np.where(ok2, np.log(np.where(ok2, prev, 1.0) / np.where(ok2, prev2, 1.0)),
                              0.0)
            den = float((before * before).sum())
            r = float(np.clip((step * before).sum() / den, 0.0, 1.0)) if den > 0 else 1.0
        guess = wage * np.exp(r * step)
    return np.where(ok & np.isfinite(guess), guess, wage)


def _extrapolate_quadratic(wage, prev, prev2):
    """Start of the next solve from the last three solutions, quadratic in logs.

    ``ln w + (ln w - ln w_prev) + ((ln w - ln w_prev) - (ln w_prev - ln w_prev2))`` =
    ``3 ln w - 3 ln w_prev + ln w_prev2`` where all three are positive and finite; elsewhere,
    or with fewer solutions, :func:`_extrapolate`'s log-linear start. Used from
    ``dense.MIN_PLACES`` places, where each solve iteration streams the freeness matrices:
    on the 2,000-place synthetic country it is 1.3-2.3 times closer to the solution than the
    log-linear start and saves 1-3 of 16 iterations (docs/performance.md). Below, the
    log-linear start is kept (small regions' results stay bit-identical).
    """
    lin = _extrapolate(wage, prev)
    if prev is None or prev2 is None:
        return lin
    ok = (np.isfinite(wage) & (wage > 0) & np.isfinite(prev) & (prev > 0)
          & np.isfinite(prev2) & (prev2 > 0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lw, lp, lq = (np.log(np.where(ok, a, 1.0)) for a in (wage, prev, prev2))
        guess = np.exp(3.0 * lw - 3.0 * lp + lq)
    return np.where(ok & np.isfinite(guess) & (guess > 0), guess, lin)


_SPINUP_MEMO: dict = {}
"""Base-year firm spin-ups by content of their inputs (a plan and its baseline, or a
calibration and its run, share one); at most 4 are kept."""
_SPINUP_RECORDS: list = []
"""Open :func:`recording_spinups` blocks: each receives every spin-up used while it is open."""


@contextlib.contextmanager
def recording_spinups():
    """Collect the base-year firm spin-ups computed or reused inside the block.

    Yields a dict (memo key -> spin-up) filled as models are built, for another process
    to reuse through :func:`add_spinups`: a sweep worker that calibrated a design point hands
    the spin-up of its last base year to the runs of that point, wherever they run, instead of
    each worker spinning the same base year up again (about 0.3 s of CPU time each on the
    Jilin region). The entries are content-addressed, so a reused spin-up is the one a fresh
    computation would give (``tests/test_model.py``).
    """
    rec: dict = {}
    _SPINUP_RECORDS.append(rec)
    try:
        yield rec
    finally:
        _SPINUP_RECORDS.remove(rec)


def add_spinups(entries: dict | None) -> None:
    """Memoize spin-ups collected by :func:`recording_spinups` (here or in another process)."""
    for key, value in (entries or {}).items():
        if key not in _SPINUP_MEMO:
            if len(_SPINUP_MEMO) >= 4:
                _SPINUP_MEMO.pop(next(iter(_SPINUP_MEMO)))
            _SPINUP_MEMO[key] = value


def _spinup_key(inp, prim, par, slv) -> str:
    """Digest of everything the base-year firm spin-up depends on."""
    import hashlib

    h = hashlib.sha256()
    for f in dataclasses.fields(inp):  # every input of the equilibrium
        v = getattr(inp, f.name)
        h.update(f.name.encode())
        if isinstance(v, np.ndarray):
            h.update(str(v.dtype).encode() + str(v.shape).encode())
            h.update(np.ascontiguousarray(v).tobytes())
        else:
            h.update(repr(v).encode())
    for v in (prim.subsidy, prim.entry_cost, prim.extra_entrants):
        h.update(np.ascontiguousarray(v).tobytes())
    h.update(repr((par, slv)).encode())
    return h.hexdigest()


class SimModel(MesaModel):
    """Spatial general-equilibrium model of a region, stepped annually.

    Works with Mesa's tools: ``mesa.batch_run(SimModel, {"scenario": "scenarios/plan.yaml",
    "migration_elasticity": [1.0, 2.0]}, iterations=2, max_steps=20)`` runs the scenario file
    (calibrated if it says ``calibrate: true``, as ``sim run`` does) for each parameter value;
    :attr:`datacollector` collects the headline series (:data:`HEADLINE_REPORTERS`) after every
    year, so step ``k`` of ``batch_run`` is year ``start + k``.

    Parameters
    ----------
    scenario : Scenario or path-like
        A validated scenario, or the path of a scenario YAML file.
    seed : int, optional
        Overrides ``scenario.seed``.
    end_year : int, optional
        Stop earlier than ``scenario.time.end`` (e.g. short test runs).
    mobile0 : ndarray, shape (N,), optional
        Initial mobile workers replacing the scenario's (used by the core-periphery check).
    calibrate : bool, optional
        Calibrate the base year before stepping. Default: when the scenario is given as a path
        (or with parameter overrides) and its file asks for it.
    keep_kappa : bool, optional
        Keep the (N, N) migration costs in the network matrices also for aggregate logit
        migration, which steps with the kernel exp(-kappa) only (the calibration reads them).
    share_network : bool, optional
        Offer the network matrices this model builds to the next model of the process that
        needs the same ones (the calibration's base-year models do, for the calibrated run;
        :class:`~sim.engine.primitives.NetworkCache`).
    **parameters
        Overrides of the scenario's ``parameters:`` block (e.g. ``migration_elasticity=2.0``),
        validated like the file's.
    """

    def __init__(self, scenario: Scenario | str | Path, *, seed: int | None = None,
                 end_year: int | None = None, mobile0=None, calibrate: bool | None = None,
                 keep_kappa: bool = False, share_network: bool = False, **parameters):
        scenario, do_calibrate = _resolve(scenario, parameters)
        if calibrate if calibrate is not None else do_calibrate:
            scenario = calibrator(scenario)[0]
        self.seed_used = scenario.seed if seed is None else int(seed)
        self.streams = spawn_streams(self.seed_used)
        super().__init__(rng=self.streams["model"])
        self.scenario = scenario
        self.static: StaticData = build_static(scenario)
        st, par = self.static, scenario.parameters
        self.start_year = scenario.time.start
        self.end_year = scenario.time.end if end_year is None else min(end_year,
                                                                       scenario.time.end)
        self.year = self.start_year
        mob0 = st.mobile0 if mobile0 is None else np.asarray(mobile0, float)
        agents = scenario.resolution == "agents"
        if agents:
            self.households = AgentHouseholds(self.streams["households"], mob0, st.ag0,
                                              st.internal, par.hukou_share,
                                              scenario.agents.households)
        else:
            self.households = AggregateHouseholds(mob0, st.ag0, st.internal, par.hukou_share)
        logit = par.migration_rule == "logit"
        # keep only the (N, N) matrices this run reads: the migration kernel exp(-kappa) for
        # aggregate logit migration, kappa itself for agents; rows of passenger costs from
        # innovation bases [P6]
        self.network = NetworkCache(
            st, par, costs=False, kappa=logit and (agents or keep_kappa),
            kernel=logit and not agents,
            passenger_sources=sorted({st.place_index[p.place] for p in scenario.policies
                                      if isinstance(p, InnovationPolicy)}),
            share=share_network,
            freeness_dtype=np.dtype(scenario.solver.freeness_precision))
        self._integrated = None  # (network matrices, integration pairs, integrated matrices)
        self._paths = None  # (freight network, its shortest-path trees) of the last year
        self._size_factor = None
        self.link_volume: dict = {}
        self._wage = None
        self._wage_prev = None  # last year's wages: with this year's, the next solve's start
        self._wage_prev2 = None  # the year before (quadratic start of large regions)
        self._prim = None  # (static, policies, year, primitives) of the last call
        self.last = None
        self.firms = None
        if par.firm_dynamics == "entry_exit":
            self._init_firms(agents)
        self.recorder = Recorder(st, range(self.start_year, self.end_year + 1),
                                 firms=self.firms is not None,
                                 links=st.n_places <= LINK_TABLE_MAX_PLACES)
        for i, pid in enumerate(st.place_ids):
            PlaceAgent(self, i, pid, bool(not st.internal[i]))
        self.datacollector = DataCollector(
            model_reporters={k: _reporter(k) for k in HEADLINE_REPORTERS})

    def headline_row(self) -> dict:
        """The headline series of the year just stepped (see :data:`HEADLINE_REPORTERS`)."""
        return _headline_row(self)

    # -- state views -------------------------------------------------------------------------
    @property
    def mobile(self):
        """Mobile workers by place (external entries: exogenous pools)."""
        return self.households.mobile

    @property
    def agricultural(self):
        """Farm workers by place."""
        return self.households.agricultural

    @property
    def done(self) -> bool:
        """True once every year up to ``end_year`` has been simulated."""
        return self.year > self.end_year

    def _init_firms(self, agents: bool) -> None:
        """Base-year firms: the stationary state of firm demography at base-year conditions.

        Start from the free-entry equilibrium's M_nk spread over productivity levels by the
        stationary distribution, then iterate the continuum demography [F2]-[F5] with the
        equilibrium re-solved each round, holding households and primitives at the base year
        (a spin-up, damped by averaging old and new masses, which keeps the stationary state
        and removes period-2 cycles), until the masses change by less than 1e-6 (relative) or
        ``firm_spinup_max`` rounds. Agents are then sampled from these masses, so both
        resolutions start from the same state in expectation.
        """
        st, par = self.static, self.scenario.parameters
        self.z_levels, self.zeta, P, pi = productivity_grid(par, st.sigma)
        self.rules = fk.FirmRules(
            exit_rate=par.firm_exit_rate, loss_exit=par.firm_loss_exit,
            entry_logit=par.firm_entry_logit, relocation_share=par.firm_relocation_share,
            moving_cost=par.firm_moving_cost, transition=P, entry_dist=pi,
            profit_noise=par.firm_profit_noise)
        slv = self.scenario.solver
        inp, prim, _ = self.equilibrium_inputs(free_entry=True)
        key = _spinup_key(inp, prim, par, slv)
        hit = _SPINUP_MEMO.get(key)
        if hit is not None:  # the same base year was spun up before in this process
            M, self.entry_pool, self._wage, self.spinup_rounds = (
                hit[0].copy(), hit[1].copy(), hit[2].copy(), hit[3])
            self.firms = AggregateFirms(M, self.zeta)
        else:
            self._spin_up(inp, pi, par, slv, st)
            if len(_SPINUP_MEMO) >= 4:
                _SPINUP_MEMO.pop(next(iter(_SPINUP_MEMO)))
            _SPINUP_MEMO[key] = hit = (self.firms.M.copy(), self.entry_pool.copy(),
                                       self._wage.copy(), self.spinup_rounds)
        for rec in _SPINUP_RECORDS:
            rec[key] = hit
        if agents:
            self.firms = AgentFirms(self.streams["firms"], self.firms.M, self.zeta,
                                    self.scenario.agents.firms)

    def _spin_up(self, inp, pi, par, slv, st) -> None:
        """The base-year firm spin-up itself (see :meth:`_init_firms`)."""
        start = cold_start_wages(inp) if st.n_places >= MIN_PLACES else None
        eq = solve_equilibrium(inp, wage0=start, tol=slv.tol, max_iter=slv.max_iter,
                               damping=slv.damping, anderson=slv.anderson, year=self.year)
        M = np.where(st.internal[:, None], eq.firms, 0.0)
        self.entry_pool = par.firm_entry_rate * M.sum(axis=0)
        self._wage = eq.wage
        self.firms = AggregateFirms(M[:, :, None] * pi[None, None, :], self.zeta)
        self.spinup_rounds = 0
        prev = prev2 = None  # wages of the rounds before: the next solve starts from their trend
        for r in range(1, par.firm_spinup_max + 1):
            inp, prim, _ = self.equilibrium_inputs()
            eq = solve_equilibrium(inp, wage0=_extrapolate(self._wage, prev, prev2),
                                   tol=slv.tol, max_iter=slv.max_iter, damping=slv.damping,
                                   anderson=slv.anderson, year=self.year)
            prev2, prev, self._wage = prev, self._wage, eq.wage
            before = self.firms.M
            self.firms.step(self._decisions(eq, prim), self.rules, self.entry_pool)
            # damped: same stationary state, no period-2 cycles of the discrete-time map
            self.firms.M = 0.5 * (before + self.firms.M)
            self.spinup_rounds = r
            if np.max(np.abs(self.firms.M - before)) <= 1e-6 * np.max(before):
                break

    def _decisions(self, eq, prim):
        """Per-type firm decision probabilities given this year's equilibrium."""
        st, par = self.static, self.scenario.parameters
        v = fk.firm_values(eq.operating_profit, eq.wage, st.fixed_cost, self.zeta, prim.subsidy)
        # sites for entrants and relocating firms: the sector's workers at the place plus 1%
        # of the place's mobile workers (so that a sector can start where it is absent) [F3]
        size = eq.employment + 0.01 * self.mobile[:, None]
        return fk.decision_probabilities(v, self.rules, st.internal,
                                         par.firm_entry_cost * prim.entry_cost,
                                         size=np.where(st.internal[:, None], size, 0.0))

    def equilibrium_inputs(self, *, free_entry: bool = False):
        """Primitives, network matrices and equilibrium inputs of the current year.

        Returns
        -------
        inp : EquilibriumInputs
        prim : YearPrimitives
        net : NetworkMatrices
        """
        sc, st = self.scenario, self.static
        par = sc.parameters
        c = self._prim
        if c is not None and c[0] is st and c[1] is sc.policies and c[2] == self.year:
            prim = c[3]  # the spin-up's rounds: the same year, the same primitives
        else:
            prim = year_primitives(st, sc.policies, self.year, self.start_year,
                                   drift=sc.parameters.drift,
                                   drift_halflife=sc.parameters.drift_halflife)
            self._prim = (st, sc.policies, self.year, prim)
        spend = provincial_spending(sc.policies, self.year)
        if spend > 0 and self.last is not None:  # provincial financing            [P10]
            base = float(np.asarray(self.last.income)[st.internal].sum())
            tax = min(spend / base, 0.5) if base > 0 else 0.0
            prim = dataclasses.replace(prim, productivity=prim.productivity * np.where(
                st.internal[:, None], 1.0 - tax, 1.0))
        if self.link_volume:  # congestion from last year's freight volumes          [N4]
            prim = dataclasses.replace(prim, links=congested(prim.links, self.link_volume))
        net = self.network.get(prim.links)
        mobile, ag = self.mobile, self.agricultural
        density = mobile + ag
        if prim.integration:  # integrated once per network and set of pairs
            c = self._integrated
            if c is None or c[0] is not net or c[1] != prim.integration:
                self._integrated = c = (net, prim.integration,
                                        _integrate(net, prim.integration, st))
            net = c[2]
            pooled = density.copy()
            for a, b, _, _, pool in prim.integration:  # labour-market pooling      [P7]
                pooled[a] += pool * density[b]
                pooled[b] += pool * density[a]
            density = pooled
        A = prim.productivity.copy()
        intern = st.internal
        # agglomeration: A_nk = A-bar_nk(t) N_n^alpha_k                                    [E9]
        A[intern] *= np.where(density[intern, None] > 0, density[intern, None], 1.0) \
            ** st.agglomeration[None, :]
        A *= self._energy_factor(prim) * _innovation_factor(prim, net, par)
        firm_count = firm_index = None
        if self.firms is not None and not free_entry:
            firm_count, firm_index = self.firms.count, self.firms.index
        inp = EquilibriumInputs(
            internal=intern, mobile=mobile, ag_workers=ag,
            ag_wage=st.ag_productivity, productivity=A, sigma=st.sigma,
            fixed_cost=st.fixed_cost, beta=st.beta, housing_share=par.housing_share,
            sector_elasticity=par.sector_elasticity, freeness=net.freeness, group=net.group,
            ext_wage=prim.ext_wage, ext_income=prim.ext_income,
            ext_supply_share=st.ext_supply_share, land=st.land,
            firm_count=firm_count, firm_index=firm_index,
            extra_demand=prim.extra_demand if prim.extra_demand.any() else None,
            freeness_symmetric=net.freeness_symmetric,
        )
        return inp, prim, net

    def _energy_factor(self, prim):
        """Productivity equivalent of cheaper power [P5].

        (1 - c_n)^(-e_k), with c_n the price cut times the share of the base's power bill (last
        year's sum_k e_k R_nk) within its capacity.
        """
        st = self.static
        if not prim.energy_cut.any():
            return 1.0
        cut = prim.energy_cut.copy()
        if self.last is not None:
            bill = (self.last.revenue * st.energy_share[None, :]).sum(axis=1)
            cover = np.where(bill > prim.energy_capacity,
                             prim.energy_capacity / np.where(bill > 0, bill, 1.0), 1.0)
            cut = cut * cover
        return (1.0 - cut[:, None]) ** (-st.energy_share[None, :])

    def step(self) -> None:
        """Advance one year (see module docstring)."""
        if self.done:
            self.running = False
            return
        sc, st = self.scenario, self.static
        par = sc.parameters
        intern = st.internal
        inp, prim, net = self.equilibrium_inputs()
        slv = sc.solver
        if st.n_places >= MIN_PLACES:  # first year: from the farm wage
            start = (cold_start_wages(inp) if self._wage is None else
                     _extrapolate_quadratic(self._wage, self._wage_prev, self._wage_prev2))
        else:
            start = _extrapolate(self._wage, self._wage_prev)
        eq = solve_equilibrium(inp, wage0=start, tol=slv.tol, max_iter=slv.max_iter,
                               damping=slv.damping, anderson=slv.anderson, year=self.year)
        self._wage_prev2, self._wage_prev, self._wage = self._wage_prev, self._wage, eq.wage
        congestible = bool(np.isfinite(prim.links.capacity).any())
        if congestible or self.recorder.has_links:
            volume = self._freight_volumes(eq, inp, prim.links)
            if congestible:
                self.link_volume = {k: v[0] for k, v in volume.items()}
            if self.recorder.has_links:
                self.recorder.record_links(self.year, volume)
        mobile = inp.mobile
        U = utility(eq.real_income, prim.amenity, np.where(intern, mobile, 1.0),
                    amenity_elasticity=par.amenity_elasticity)
        t = self.year - self.start_year
        firm_stats = None
        if self.firms is not None:
            counts = self.firms.type_counts()
            employment = self._firm_employment(eq)
            if isinstance(self.firms, AgentFirms):
                self.firms.set_employment(employment)
            firm_stats = self.firms.step(self._decisions(eq, prim), self.rules,
                                         self.entry_pool, extra=prim.extra_entrants)
            self.recorder.record_firms(t, counts, firm_stats, employment, self.z_levels)
        # migration decided on this year's utilities, effective next year
        moves = self._migrate(U, net, par)
        extra = self._extra_outputs(eq, inp, prim, U, moves)
        self.recorder.record(t, self._place_outputs(eq, U, mobile, inp.ag_workers, moves)
                             | extra,
                             {"output": eq.revenue, "employment": eq.employment,
                              "wage": eq.wage, "firms": eq.firms,
                              "price_index": eq.price_index},
                             eq.iterations, eq.residual)
        if isinstance(self.households, AgentHouseholds):
            self.households.set_income(eq.mean_wage, st.ag_productivity)
        self.last = eq
        self.households.grow(st.natural_growth)
        self.year += 1
        self.datacollector.collect(self)
        if self.done:
            self.running = False

    def _extra_outputs(self, eq, inp, prim, U, moves):
        """Welfare [W1], external trade [O1] and tourism [P4] outputs of the year."""
        if "inclusive" in moves:  # logit: the expected utility of this year's choice
            W_reg, W_unreg, r = moves["inclusive"]
            W = r * W_reg + (1.0 - r) * W_unreg
        else:  # no taste shocks: a worker's welfare is the utility of where she lives
            W = U
        exports, imports = external_trade(eq, inp)
        return {"welfare": W, "exports_external": exports, "imports_external": imports,
                "visitors": prim.visitors, "visitor_spending": prim.extra_demand.sum(axis=1)}

    def _freight_volumes(self, eq, inp, links):
        """Freight value on each link (bn CNY a year), all-or-nothing on shortest paths.

        Returns ``{(from, to, mode): (all flows, flows with an internal origin or
        destination)}``; congestion uses all flows, the links table reports both.
        """
        st, par = self.static, self.scenario.parameters
        od = trade_matrix(eq, inp, st.tradable)
        np.fill_diagonal(od, 0.0)
        regional = od * (st.internal[:, None] | st.internal[None, :])
        sel, cost, term = mode_link_costs(st, links, par, "freight")
        net = (links.from_[sel], links.to[sel], links.mode[sel], cost, term)
        key = (len(cost), b"".join(np.ascontiguousarray(a).tobytes() for a in net))
        if self._paths is None or self._paths[0] != key:  # the trees change with the network
            self._paths = (key, link_paths(st.n_places, *net))
        vol = assign_flows(self._paths[1], np.stack([od, regional]))
        keys = zip(links.from_[sel], links.to[sel], links.mode[sel], strict=True)
        return {(int(a), int(b), int(m)): (float(v), float(r))
                for (a, b, m), v, r in zip(keys, vol[0], vol[1], strict=True)}

    def _firm_employment(self, eq):
        """Employment of one firm of each type, (sigma-1) zeta o / w + F, shape (N, K, Q)."""
        st = self.static
        o_w = eq.operating_profit / eq.wage
        return (st.sigma - 1.0)[None, :, None] * self.zeta[None] * o_w[:, :, None] \
            + st.fixed_cost[None, :, None]

    def _migrate(self, U, net, par):
        """Apply the migration rule; returns a MigrationRecord-like dict."""
        N = self.static.n_places
        if par.migration_rule == "logit" and isinstance(self.households, AggregateHouseholds):
            return self._migrate_aggregate(U, net, par)
        if par.migration_rule == "logit":
            Uc = U * size_weights(self.static.size, size_elasticity=par.migration_size_elasticity,
                                  elasticity=par.migration_elasticity)
            P_reg, P_unreg, W_reg, W_unreg = status_probabilities(
                Uc, net.migration_cost, elasticity=par.migration_elasticity,
                hukou_cost=par.hukou_cost, return_inclusive=True)
            inclusive = (W_reg, W_unreg, self.households.registered_share)  # before moving
            out = self.households.migrate(P_reg, P_unreg,
                                          reconsider_share=par.reconsider_share,
                                          conversion=par.hukou_conversion)
            if isinstance(self.households, AgentHouseholds):
                return {"pairs": out, "scale": self.households.scale, "inclusive": inclusive}
            return {"flows": out, "inclusive": inclusive}
        if par.migration_rule == "replicator":
            return {"delta": self.households.replicate(U, speed=par.replicator_speed)}
        return {"delta": np.zeros(N)}

    def _migrate_aggregate(self, U, net, par):
        """Logit migration of household masses from the cached kernel exp(-kappa) [D1], [H1].

        Two matrix-vector products a year (:func:`~sim.kernels.migration.logit_flow_totals`);
        the flow table is built only for the recorder: dense up to
        ``MIGRATION_TABLE_DENSE_MAX`` places, else the largest ``MIGRATION_TABLE_TOP_K``
        destinations of each origin (row blocks, no N x N temporary).
        """
        st, hh = self.static, self.households
        E = net.migration_kernel
        eps = par.migration_elasticity
        if self._size_factor is None:
            self._size_factor = size_weights(st.size, size_elasticity=par.migration_size_elasticity,
                                             elasticity=eps)
        u, c = logit_weights(U, self._size_factor, elasticity=eps)
        share = hh.registered_share
        tot = logit_flow_totals(E, u, hh.reg, hh.unreg, reconsider_share=par.reconsider_share,
                                hukou_factor=float(np.exp(-par.hukou_cost)), external=~st.internal,
                                symmetric=net.kernel_symmetric)

        def inclusive(D):
            with np.errstate(divide="ignore"):
                return np.where(D > 0, np.exp((np.log(np.where(D > 0, D, 1.0)) + c) / eps), 0.0)

        table = migration_table(E, u, tot["a"], dense_max=MIGRATION_TABLE_DENSE_MAX,
                                top_k=MIGRATION_TABLE_TOP_K)
        hh.migrate_totals(tot["out_reg"], tot["out_unreg"], tot["inflow"],
                          conversion=par.hukou_conversion)
        return {"totals": (tot["inflow"], tot["out_reg"] + tot["out_unreg"], tot["ext_net"]),
                "table": table,
                "inclusive": (inclusive(tot["D_reg"]), inclusive(tot["D_unreg"]), share)}

    def _place_outputs(self, eq, U, mobile, ag, moves):
        st = self.static
        N, intern = st.n_places, st.internal
        ext_net = np.zeros(N)
        if "totals" in moves:
            inflow, outflow, ext_net = moves["totals"]
            ext_net = np.where(intern, ext_net, 0.0)
            self.recorder.record_migration_table(self.year, *moves["table"])
        elif "flows" in moves:
            F = moves["flows"]
            inflow, outflow = F.sum(axis=0), F.sum(axis=1)
            ext_net[intern] = (F[~intern][:, intern].sum(axis=0)
                               - F[intern][:, ~intern].sum(axis=1))
            self.recorder.record_migration(self.year, F)
        elif "pairs" in moves:
            o, d = moves["pairs"][:, 0], moves["pairs"][:, 1]
            sc = moves["scale"]
            inflow = sc * np.bincount(d, minlength=N)
            outflow = sc * np.bincount(o, minlength=N)
            ext_net = sc * (np.bincount(d[~intern[o]], minlength=N)
                            - np.bincount(o[~intern[d]], minlength=N)) * intern
            self.recorder.record_migration_pairs(self.year, o, d, sc)
        else:
            delta = moves["delta"]
            inflow, outflow = np.maximum(delta, 0.0), np.maximum(-delta, 0.0)
        return {
            "population": mobile + ag, "mobile": mobile,
            "agricultural": ag, "gdp": eq.income,
            "wage": eq.mean_wage, "real_wage": eq.real_income,
            "price_index": eq.consumer_price, "rent": eq.rent, "utility": U,
            "ag_wage": st.ag_productivity, "in_migration": inflow, "out_migration": outflow,
            "external_net_migration": ext_net,
        }

    def run(self) -> Recorder:
        """Step until ``end_year`` and return the recorder."""
        while not self.done:
            self.step()
        self.recorder.network_recomputations = self.network.recomputations
        return self.recorder

    def release(self) -> None:
        """Drop heavy state (Mesa 3.3 never frees Model objects; see docs/architecture.md)."""
        for agent in list(self.agents):
            agent.remove()
        self.network.clear()
        self.households.release()
        if self.firms is not None:
            self.firms.release()
        self.network = None
        self._integrated = None
        self._paths = None
        self.link_volume = {}
        self.last = None
        self._wage = self._wage_prev = self._wage_prev2 = None
        self._prim = None
        self.recorder = None
        self.static = None
        self.scenario = None
        self.streams = None
