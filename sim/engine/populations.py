"""Populations of households and firms at either resolution (processes layer).

Both resolutions expose the same interface to the model, so the step loop is one piece of code:

* households: ``mobile`` and ``agricultural`` workers by place (arrays over all places),
  ``migrate(P_reg, P_unreg)``, ``replicate(real_income)``, ``grow(g)``;
* firms: ``count`` and ``index`` (M_nk and sum of z^(sigma-1)) by place and sector,
  ``type_counts()`` (by place, sector and productivity level), ``step(decisions, pool)``.

Aggregate classes hold continuum masses; agent classes hold structure-of-arrays populations
(one numpy array per attribute, indexed by agent; no Python object per firm or household) and
sample the same per-type probabilities. See docs/model.md, "Agent populations".
"""

from __future__ import annotations

import numpy as np

from sim.kernels import firms as fk
from sim.kernels import households as hk
from sim.kernels.migration import replicator_step


def stratified_counts(rng, expected):
    """Integer counts with E[count] = expected: floor plus a Bernoulli for the fraction."""
    base = np.floor(expected)
    return (base + (rng.random(expected.shape) < expected - base)).astype(np.int64)


class AggregateHouseholds:
    """Continuum of households: registered/unregistered mobile workers, farm workers."""

    resolution = "aggregate"

    def __init__(self, mobile0, ag0, internal, hukou_share):
        self.internal = internal
        self.reg = np.where(internal, mobile0 * hukou_share, mobile0)
        self.unreg = np.where(internal, mobile0 * (1.0 - hukou_share), 0.0)
        self.ag = np.where(internal, ag0, 0.0)

    @property
    def mobile(self):
        """Mobile workers by place (external entries: the exogenous pools)."""
        return self.reg + self.unreg

    @property
    def agricultural(self):
        """Farm workers by place."""
        return self.ag

    @property
    def registered_share(self):
        """Share of mobile workers registered (hukou) where they live; 1 where there are none."""
        tot = self.mobile
        return np.divide(self.reg, tot, out=np.ones_like(tot), where=tot > 0)

    def migrate(self, P_reg, P_unreg, *, reconsider_share, conversion, rng=None):
        """Logit migration [H1]-[H3]; returns a sparse list of (origin, dest, movers)."""
        self.reg, self.unreg, flows = hk.continuum_step(
            self.reg, self.unreg, P_reg, P_unreg, reconsider_share=reconsider_share,
            conversion=conversion, internal=self.internal)
        return flows

    def migrate_totals(self, out_reg, out_unreg, inflow, *, conversion):
        """[H1]-[H3] from origin and destination totals (:func:`logit_flow_totals`)."""
        r = self.reg - out_reg
        u = self.unreg - out_unreg + inflow
        conv = conversion * u
        self.reg = np.where(self.internal, r + conv, self.reg)
        self.unreg = np.where(self.internal, u - conv, self.unreg)

    def replicate(self, real_income, *, speed):
        """Replicator dynamics [D3] on total mobile workers (statuses scaled alike)."""
        tot = self.mobile
        new = replicator_step(tot, real_income, speed=speed, internal=self.internal)
        f = np.divide(new, tot, out=np.ones_like(tot), where=tot > 0)
        self.reg, self.unreg = self.reg * f, self.unreg * f
        return new - tot

    def grow(self, g):
        """Natural growth (internal places)."""
        f = np.where(self.internal, 1.0 + g, 1.0)
        self.reg, self.unreg, self.ag = self.reg * f, self.unreg * f, self.ag * f

    def release(self):
        """Nothing heavy to release."""


class AgentHouseholds:
    """Household agents: place (int32), mobile (bool), registered (bool), income (float32)."""

    resolution = "agents"

    def __init__(self, rng, mobile0, ag0, internal, hukou_share, n_agents):
        self.rng = rng
        self.internal = internal
        self.N = len(internal)
        total = float((mobile0 + ag0)[internal].sum())
        self.scale = total / n_agents
        mob = stratified_counts(rng, np.where(internal, mobile0, 0.0) / self.scale)
        agc = stratified_counts(rng, np.where(internal, ag0, 0.0) / self.scale)
        reg = stratified_counts(rng, mob * hukou_share)
        idx = np.arange(self.N)
        self.place = np.concatenate([np.repeat(idx, mob), np.repeat(idx, agc)]).astype(np.int32)
        self.mobile_flag = np.concatenate([np.ones(mob.sum(), bool), np.zeros(agc.sum(), bool)])
        regflag = np.zeros(mob.sum(), bool)
        starts = np.concatenate([[0], np.cumsum(mob)[:-1]])
        within = np.arange(mob.sum()) - np.repeat(starts, mob)
        regflag[within < np.repeat(reg, mob)] = True
        self.registered = np.concatenate([regflag, np.ones(agc.sum(), bool)])
        self.income = np.zeros(len(self.place), dtype=np.float32)
        self.pool = np.where(internal, 0.0, mobile0)  # external pools (registered at home)

    def _count(self, mask):
        return self.scale * np.bincount(self.place[mask], minlength=self.N).astype(float)

    @property
    def mobile(self):
        """Mobile workers by place: scale x agent counts; external entries are the pools."""
        return np.where(self.internal, self._count(self.mobile_flag), self.pool)

    @property
    def agricultural(self):
        """Farm workers by place."""
        return self._count(~self.mobile_flag)

    @property
    def registered_share(self):
        """Share of mobile household agents registered where they live (1 where none)."""
        mob = np.bincount(self.place[self.mobile_flag], minlength=self.N).astype(float)
        reg = np.bincount(self.place[self.mobile_flag & self.registered],
                          minlength=self.N).astype(float)
        return np.divide(reg, mob, out=np.ones_like(mob), where=mob > 0)

    def migrate(self, P_reg, P_unreg, *, reconsider_share, conversion, rng=None):
        """Sample [H1]-[H3] per household; returns the (origin, destination) of every move."""
        keep, place, reg, arrivals, moves = hk.agents_step(
            self.rng, self.place, self.mobile_flag, self.registered, P_reg, P_unreg,
            self.pool, reconsider_share=reconsider_share, conversion=conversion,
            internal=self.internal, scale=self.scale)
        n = len(arrivals)
        self.place = np.concatenate([place, arrivals]).astype(np.int32)
        self.mobile_flag = np.concatenate([self.mobile_flag[keep], np.ones(n, bool)])
        self.registered = np.concatenate([reg, np.zeros(n, bool)])
        self.income = np.concatenate([self.income[keep], np.zeros(n, np.float32)])
        return moves

    def grow(self, g):
        """Births clone households, deaths remove them (natural growth)."""
        keep, clones = hk.grow_agents(self.rng, self.place, g)
        sel = np.concatenate([keep, clones])
        self.place = self.place[sel]
        self.mobile_flag = self.mobile_flag[sel]
        self.registered = self.registered[sel]
        self.income = self.income[sel]

    def set_income(self, mean_wage, ag_wage):
        """Income of each household: its place's mean mobile wage or the farm wage."""
        self.income = np.where(self.mobile_flag, mean_wage[self.place],
                               ag_wage[self.place]).astype(np.float32)

    def release(self):
        """Drop the agent arrays."""
        self.place = self.mobile_flag = self.registered = self.income = None


class AggregateFirms:
    """Continuum of firm masses M_nkq by place, sector and productivity level."""

    resolution = "aggregate"

    def __init__(self, M0, zeta):
        self.M = M0
        self.zeta = zeta

    @property
    def count(self):
        """M_nk."""
        return self.M.sum(axis=2)

    @property
    def index(self):
        """Sum over firms of z^(sigma_k - 1) by place and sector."""
        return (self.M * self.zeta[None, :, :]).sum(axis=2)

    def type_counts(self):
        """Masses by (place, sector, productivity level)."""
        return self.M

    def step(self, dec, rules, pool, extra=None):
        """Continuum demography [F2]-[F5]; returns stats by place and sector (mass units)."""
        self.M, stats = fk.continuum_step(self.M, dec, rules, pool, extra=extra)
        return stats

    def release(self):
        """Drop the mass array."""
        self.M = None


class AgentFirms:
    """Firm agents: place, sector, productivity level q, age and employment arrays.

    Dtypes: place int32, sector int16, q int8, age int16, employment float32 (per represented
    firm, set from the year's equilibrium). Only live firms are stored: exiting firms are
    dropped at the end of the step in which they exit, so every stored agent is active (its
    status) and counted.
    """

    resolution = "agents"

    def __init__(self, rng, M0, zeta, n_agents):
        self.rng = rng
        self.zeta = zeta
        self.shape = M0.shape
        self.scale = float(M0.sum()) / n_agents
        counts = stratified_counts(rng, M0 / self.scale).reshape(-1)
        cell = np.repeat(np.arange(counts.size), counts)
        N, K, Q = self.shape
        self.place = (cell // (K * Q)).astype(np.int32)
        self.sector = ((cell // Q) % K).astype(np.int16)
        self.q = (cell % Q).astype(np.int8)
        self.age = np.zeros(len(cell), dtype=np.int16)
        self.employment = np.zeros(len(cell), dtype=np.float32)

    def set_employment(self, per_type):
        """Employment of each firm agent from the per-type table, shape (N, K, Q)."""
        self.employment = per_type[self.place, self.sector, self.q].astype(np.float32)

    def type_counts(self):
        """Represented firms by (place, sector, productivity level)."""
        N, K, Q = self.shape
        t = (self.place.astype(np.int64) * K + self.sector) * Q + self.q
        return self.scale * np.bincount(t, minlength=N * K * Q).reshape(N, K, Q).astype(float)

    @property
    def count(self):
        """M_nk (represented firms)."""
        return self.type_counts().sum(axis=2)

    @property
    def index(self):
        """Sum over represented firms of z^(sigma_k - 1)."""
        return (self.type_counts() * self.zeta[None, :, :]).sum(axis=2)

    def step(self, dec, rules, pool, extra=None):
        """Sampled demography [F2]-[F5]; returns stats by place and sector (mass units)."""
        surv, place, q, (ep, es, eq), counts = fk.agents_step(
            self.rng, self.place.astype(np.int64), self.sector.astype(np.int64),
            self.q.astype(np.int64), dec, rules, pool, self.scale, extra=extra)
        self.place = np.concatenate([place, ep]).astype(np.int32)
        self.sector = np.concatenate([self.sector[surv], es]).astype(np.int16)
        self.q = np.concatenate([q, eq]).astype(np.int8)
        self.age = np.concatenate([self.age[surv] + 1, np.zeros(len(ep), np.int16)])
        self.employment = np.concatenate([self.employment[surv],
                                          np.zeros(len(ep), np.float32)])
        return {k: v * self.scale for k, v in counts.items()}

    def release(self):
        """Drop the agent arrays."""
        self.place = self.sector = self.q = self.age = self.employment = None
