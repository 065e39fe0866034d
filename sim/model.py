"""The Mesa model: clock, seeded rng and place agents; all heavy state in numpy arrays.

``SimModel.step()`` advances one year:

1. primitives of the year (trends + active policies) and the network matrices (cached);
2. productivity with agglomeration, A_nk = A-bar_nk(t) N_n^alpha_k;
3. the static equilibrium (wages, price indices, incomes), warm-started from last year;
4. record the year;
5. migration of mobile workers (logit or replicator), then natural growth.

No file I/O and no config parsing here. Mesa 3.3 keeps every ``Model`` alive for the life of
the process, so :meth:`SimModel.release` drops the heavy arrays when a run ends.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.build import StaticData, build_static
from sim.config.schema import Scenario
from sim.kernels.equilibrium import EquilibriumInputs, solve_equilibrium
from sim.kernels.migration import logit_flows, replicator_step, utility
from sim.primitives import NetworkCache, year_primitives
from sim.recorder import Recorder
from sim.rng import spawn_streams


class PlaceAgent(mesa.Agent):
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


class SimModel(mesa.Model):
    """Spatial general-equilibrium model of a region, stepped annually.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    seed : int, optional
        Overrides ``scenario.seed``.
    end_year : int, optional
        Stop earlier than ``scenario.time.end`` (e.g. short test runs).
    mobile0 : ndarray, shape (N,), optional
        Initial mobile workers replacing the scenario's (used by the core-periphery check).
    """

    def __init__(self, scenario: Scenario, *, seed: int | None = None,
                 end_year: int | None = None, mobile0=None):
        self.seed_used = scenario.seed if seed is None else int(seed)
        self.streams = spawn_streams(self.seed_used)
        super().__init__(rng=self.streams["model"])
        self.scenario = scenario
        self.static: StaticData = build_static(scenario)
        st = self.static
        self.start_year = scenario.time.start
        self.end_year = scenario.time.end if end_year is None else min(end_year,
                                                                       scenario.time.end)
        self.year = self.start_year
        self.mobile = (st.mobile0 if mobile0 is None else np.asarray(mobile0, float)).copy()
        self.agricultural = st.ag0.copy()
        self.network = NetworkCache(st, scenario.parameters)
        self.recorder = Recorder(st, range(self.start_year, self.end_year + 1))
        self._wage = None
        self.last = None
        for i, pid in enumerate(st.place_ids):
            PlaceAgent(self, i, pid, bool(not st.internal[i]))

    @property
    def done(self) -> bool:
        """True once every year up to ``end_year`` has been simulated."""
        return self.year > self.end_year

    def equilibrium_inputs(self):
        """Primitives, network matrices and equilibrium inputs of the current year.

        Returns
        -------
        inp : EquilibriumInputs
        prim : YearPrimitives
        net : NetworkMatrices
        """
        sc, st = self.scenario, self.static
        par = sc.parameters
        prim = year_primitives(st, sc.policies, self.year, self.start_year)
        net = self.network.get(prim.links)
        density = self.mobile + self.agricultural
        A = prim.productivity.copy()
        intern = st.internal
        # agglomeration: A_nk = A-bar_nk(t) N_n^alpha_k                                    [E9]
        A[intern] *= np.where(density[intern, None] > 0, density[intern, None], 1.0) \
            ** st.agglomeration[None, :]
        inp = EquilibriumInputs(
            internal=intern, mobile=self.mobile, ag_workers=self.agricultural,
            ag_wage=st.ag_productivity, productivity=A, sigma=st.sigma,
            fixed_cost=st.fixed_cost, beta=st.beta, housing_share=par.housing_share,
            sector_elasticity=par.sector_elasticity, freeness=net.freeness, group=net.group,
            ext_wage=prim.ext_wage, ext_income=prim.ext_income,
            ext_supply_share=st.ext_supply_share, land=st.land,
        )
        return inp, prim, net

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
        eq = solve_equilibrium(inp, wage0=self._wage, tol=slv.tol, max_iter=slv.max_iter,
                               damping=slv.damping, anderson=slv.anderson,
                               year=self.year)
        self._wage = eq.wage
        U = utility(eq.real_income, prim.amenity, np.where(intern, self.mobile, 1.0),
                    amenity_elasticity=par.amenity_elasticity)
        # migration decided on this year's utilities, effective next year
        if par.migration_rule == "logit":
            new_mobile, flows = logit_flows(
                self.mobile, U, net.migration_cost, elasticity=par.migration_elasticity,
                reconsider_share=par.reconsider_share, internal=intern)
        elif par.migration_rule == "replicator":
            new_mobile = replicator_step(self.mobile, U, speed=par.replicator_speed,
                                         internal=intern)
            flows = None
        else:
            new_mobile, flows = self.mobile.copy(), None
        N = st.n_places
        if flows is not None:
            inflow, outflow = flows.sum(axis=0), flows.sum(axis=1)
            ext_net = flows[~intern][:, intern].sum(axis=0) - flows[intern][:, ~intern].sum(axis=1)
            ext_net_full = np.zeros(N)
            ext_net_full[intern] = ext_net
        else:
            delta = new_mobile - self.mobile
            inflow, outflow = np.maximum(delta, 0.0), np.maximum(-delta, 0.0)
            ext_net_full = np.zeros(N)
        places = {
            "population": self.mobile + self.agricultural, "mobile": self.mobile,
            "agricultural": self.agricultural, "gdp": eq.income,
            "wage": eq.mean_wage, "real_wage": eq.real_income,
            "price_index": eq.consumer_price, "rent": eq.rent, "utility": U,
            "ag_wage": st.ag_productivity, "in_migration": inflow, "out_migration": outflow,
            "external_net_migration": ext_net_full,
        }
        sectors = {"output": eq.revenue, "employment": eq.employment, "wage": eq.wage,
                   "firms": eq.firms, "price_index": eq.price_index}
        self.recorder.record(self.year - self.start_year, places, sectors, eq.iterations,
                             eq.residual)
        self.last = eq
        g = st.natural_growth
        self.mobile = np.where(intern, new_mobile * (1.0 + g), self.mobile)
        self.agricultural = self.agricultural * (1.0 + g)
        self.year += 1
        if self.done:
            self.running = False

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
        self.network = None
        self.last = None
        self._wage = None
        self.recorder = None
        self.static = None
        self.scenario = None
        self.mobile = None
        self.agricultural = None
        self.streams = None
