"""Decomposition of a plan's effect by pillar, policy or economic channel (``sim decompose``).

The plan's effect on every headline indicator is split into components with Shapley values
(:mod:`sim.analysis.shapley`): every coalition of components is one run of the baseline plus
the components' policies (or, by channel, the policies with only the coalition's channels
switched on). Coalitions run on the sweep executors (process pool, local Dask, a Dask
scheduler); each finished run is a results folder under ``OUT/runs/``, so an interrupted
decomposition resumes where it stopped. Calibration is shared by every coalition (policies do
not change it: :func:`sim.sweep.spec.calibration_scenario`).

Components (``by``):

* ``pillar`` — the ``extends`` parent each policy came from (for the Jilin plan: core,
  corridors, belts, tourism, channels, bases, integration) plus the plan's own policies;
* ``policy`` — every policy on its own (label);
* ``label`` — the label's prefix before ``:`` (e.g. ``one core``, ``eastern belt``);
* ``channel`` — the economic channels of :data:`CHANNELS` (within ``scope``: a pillar, a
  policy label, or all).

Documentation: ``docs/sweeps.md`` (command, folder), ``docs/indicators.md`` (Shapley formulas),
``docs/model.md`` section 5e (channels).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.errors import ScenarioError, SimError
from sim.results.decompositions import Decomposition, load_decomposition
from sim.sweep.execute import (
    SharedInputs,
    _Exec,
    _worker_id,
    open_executor,
    run_calibration,
)
from sim.sweep.spec import calibration_scenario

DECOMPOSITION_FORMAT = 1
MAX_EXACT = 8
"""Exact Shapley values up to this many components (2^8 = 256 runs); sampled beyond."""
BY = ("pillar", "policy", "label", "channel")
CHANNELS = ("trade costs", "productivity", "entry costs", "amenities", "migration costs",
            "external demand", "visitor demand", "energy prices")
"""Economic channels a policy acts through (docs/model.md section 5e)."""

# policy type -> ((field, neutral value, channel), ...); link policies are handled apart
_CHANNEL_FIELDS = {
    "productivity": (("factor", 1.0, "productivity"),),
    "amenity": (("factor", 1.0, "amenities"),),
    "external_demand": (("factor", 1.0, "external demand"),),
    "firm_subsidy": (("rate", 0.0, "entry costs"),),
    "entry_cost": (("factor", 1.0, "entry costs"),),
    "cluster": (("factor", 1.0, "productivity"), ("entry_cost_factor", 1.0, "entry costs")),
    "innovation": (("growth", 0.0, "productivity"),),
    "energy_base": (("price_cut", 0.0, "energy prices"),),
    "integration": (("trade_cost_factor", 1.0, "trade costs"),
                    ("migration_cost_factor", 1.0, "migration costs"),
                    ("pooling", 0.0, "productivity")),
    "tourism": (("visitors", 0.0, "visitor demand"), ("amenity_factor", 1.0, "amenities")),
    "open_zone": (("border_cost_factor", 1.0, "trade costs"),
                  ("demand_factor", 1.0, "external demand")),
    "counterpart": (("firms_per_year", 0.0, "entry costs"),),
}


# -- channels -------------------------------------------------------------------------------
def _modes(region) -> dict:
    return {m.id: m for m in region.modes}


def policy_channels(pol, region) -> tuple[str, ...]:
    """The channels of :data:`CHANNELS` through which ``pol`` acts (with non-neutral values).

    A link that is opened or upgraded acts on trade costs when its mode carries freight and on
    migration costs (the passenger network, which also sets innovation spillover distances
    [P6]) when it carries passengers; a closure counts as trade costs.
    """
    if pol.type == "link":
        if pol.action == "close":
            return ("trade costs",)
        m = _modes(region).get(pol.new_mode or pol.mode)
        out = []
        if m is None or m.freight:
            out.append("trade costs")
        if m is None or m.passenger:
            out.append("migration costs")
        return tuple(out)
    out = []
    for name, neutral, ch in _CHANNEL_FIELDS.get(pol.type, ()):
        if getattr(pol, name) != neutral and ch not in out:
            out.append(ch)
    return tuple(out)


def _clone_mode(mode, keep: str):
    """A copy of ``mode`` that carries only freight (``keep='freight'``) or only passengers."""
    return dataclasses.replace(mode, id=f"{mode.id}~{keep}", freight=keep == "freight",
                               passenger=keep == "passenger")


def switch_off(pol, off, region):
    """``pol`` with the channels in ``off`` switched off [5e].

    Parameters
    ----------
    pol : sim.scenario.schema.Policy
    off : collection of str
        Channels to neutralise.
    region : sim.scenario.schema.Region
        Where link policies find their link and mode.

    Returns
    -------
    policies : list of Policy
        Zero, one or (a link upgrade kept for one of freight and passengers) one policy.
    modes : list of Mode
        Modes the returned policies need that the region lacks (freight-only or
        passenger-only copies).

    Notes
    -----
    Field levers are set to their neutral value (factor 1, rate/share/visitors 0). A link kept
    for only one of its two channels is opened (``open``) or added as a parallel link
    (``upgrade``: the old link stays for both) on a freight-only or passenger-only copy of its
    mode with the same costs; a trip that changes between the copy and the original mode pays
    their terminal costs, so the split of a link's effect between trade and migration costs is
    approximate (their sum is exact).
    """
    chans = policy_channels(pol, region)
    gone = [c for c in chans if c in off]
    if not gone:
        return [pol], []
    if pol.type != "link":
        rep = {name: neutral for name, neutral, ch in _CHANNEL_FIELDS[pol.type] if ch in off}
        return [dataclasses.replace(pol, **rep)], []
    if len(gone) == len(chans):
        return [], []
    keep = "passenger" if "trade costs" in gone else "freight"
    mode = _modes(region)[pol.new_mode or pol.mode]
    clone = _clone_mode(mode, keep)
    if pol.action == "open":
        return [dataclasses.replace(pol, mode=clone.id)], [clone]
    old = next((lk for lk in region.links if lk.mode == pol.mode
                and {lk.from_, lk.to} == {pol.from_, pol.to}), None)
    if old is None:  # a link opened by another policy: keep the upgrade whole
        return [pol], []
    par = dataclasses.replace(
        pol, action="open", mode=clone.id, new_mode=None,
        km=old.km if pol.km is None else pol.km,
        hours=old.hours if pol.hours is None else pol.hours,
        fixed_cost=old.fixed_cost if pol.fixed_cost is None else pol.fixed_cost,
        capacity=old.capacity if pol.capacity is None else pol.capacity)
    return [par], [clone]


def coalition_scenario(base, extra, include, off=()):
    """The baseline with policies ``extra[i]`` (i in ``include``, in order) added.

    Parameters
    ----------
    base : Scenario
        The baseline (its own policies stay).
    extra : sequence of Policy
        The plan's policies beyond the baseline's.
    include : iterable of int
    off : collection of str
        Channels switched off in the included policies (:func:`switch_off`).
    """
    pols, modes = list(base.policies), []
    have = {m.id for m in base.region.modes}
    for i in sorted(include):
        ps, ms = switch_off(extra[i], set(off), base.region)
        pols += ps
        for m in ms:
            if m.id not in have:
                have.add(m.id)
                modes.append(m)
    region = base.region if not modes else dataclasses.replace(
        base.region, modes=tuple(base.region.modes) + tuple(modes))
    return dataclasses.replace(base, policies=tuple(pols), region=region)


# -- components -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Component:
    """One component of a decomposition: a name and the extra policies (indices) it holds."""

    name: str
    policies: tuple[int, ...]
    channel: str | None = None


def _extra_policies(plan, base, file):
    n = len(base.policies)
    if tuple(plan.policies[:n]) != tuple(base.policies):
        raise ScenarioError(file, "policies", f"{len(plan.policies)} policies",
                            "the plan's policies must start with the baseline's (the plan "
                            "extends the baseline)")
    a, b = calibration_scenario(plan), calibration_scenario(base)
    keys = ("region", "parameters", "time", "solver", "resolution", "agents", "calibrate")
    for k in keys:
        if getattr(a, k) != getattr(b, k):
            raise ScenarioError(file, k, "differs from the baseline",
                                "a decomposition needs a plan that differs from its baseline "
                                "only in policies")
    return plan.policies[n:]


def _parents(plan) -> list[Path]:
    from sim.scenario.load import _read_yaml

    if not plan.source:
        return []
    src = Path(plan.source)
    ext = _read_yaml(src).get("extends") or []
    ext = [ext] if isinstance(ext, str) else list(ext)
    return [(src.parent / e) if not Path(e).is_absolute() else Path(e) for e in ext]


def pillars(plan, base) -> list[Component]:
    """Pillars of a plan: the ``extends`` parent each policy came from, then its own policies.

    The plan's policies beyond the baseline's are matched in order against each parent's own
    policies (those beyond the baseline's); policies of the plan file itself form the pillar
    ``<plan name> own``. A plan without parents (other than the baseline) falls back to label
    prefixes (:func:`label_groups`).
    """
    from sim.scenario.load import load_scenario

    extra = list(_extra_policies(plan, base, plan.source))
    comps, pos = [], 0
    for path in _parents(plan):
        parent = load_scenario(path)
        own = [p for p in parent.policies if p not in base.policies]
        if not own:
            continue
        idx = []
        for p in own:
            if pos < len(extra) and extra[pos] == p:
                idx.append(pos)
                pos += 1
            else:
                return label_groups(plan, base)
        comps.append(Component(parent.name, tuple(idx)))
    if pos < len(extra):
        comps.append(Component(f"{plan.name} own" if comps else plan.name,
                               tuple(range(pos, len(extra)))))
    if len(comps) <= 1:
        return label_groups(plan, base)
    return comps


def label_groups(plan, base) -> list[Component]:
    """Components by label prefix (text before the first ``:``; the whole label without one)."""
    extra = _extra_policies(plan, base, plan.source)
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(extra):
        key = (p.label.split(":", 1)[0].strip() if p.label else "") or f"{p.type} {i}"
        groups.setdefault(key, []).append(i)
    return [Component(k, tuple(v)) for k, v in groups.items()]


def policy_components(plan, base) -> list[Component]:
    """Every policy on its own, named by its label (or type and position)."""
    extra = _extra_policies(plan, base, plan.source)
    names, out = set(), []
    for i, p in enumerate(extra):
        name = p.label or f"{p.type} {i}"
        if name in names:
            name = f"{name} ({i})"
        names.add(name)
        out.append(Component(name, (i,)))
    return out


def channel_components(plan, base, scope=None) -> list[Component]:
    """The channels through which the policies in ``scope`` act (one component each).

    ``scope``: None (all the plan's policies), a pillar name or a policy label (or label
    prefix).
    """
    extra = _extra_policies(plan, base, plan.source)
    idx = tuple(range(len(extra)))
    if scope is not None:
        pill = {c.name: c.policies for c in pillars(plan, base)}
        if scope in pill:
            idx = pill[scope]
        else:
            idx = tuple(i for i, p in enumerate(extra)
                        if p.label == scope or p.label.startswith(scope))
            if not idx:
                raise ScenarioError(plan.source, "scope", scope,
                                    f"neither a pillar ({', '.join(pill)}) nor a policy label")
    used = {c for i in idx for c in policy_channels(extra[i], base.region)}
    return [Component(c, idx, channel=c) for c in CHANNELS if c in used]


def components(plan, base, by="pillar", scope=None) -> list[Component]:
    """Components of a decomposition (see the module docstring)."""
    if by == "pillar":
        return pillars(plan, base)
    if by == "policy":
        return policy_components(plan, base)
    if by == "label":
        return label_groups(plan, base)
    if by == "channel":
        return channel_components(plan, base, scope)
    raise ScenarioError(plan.source, "by", by, f"must be one of: {', '.join(BY)}")


def coalition_policies(comps, mask) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """(policies included, channels switched off) of the coalition ``mask`` of ``comps``."""
    if comps and comps[0].channel is not None:
        on = {c.channel for i, c in enumerate(comps) if mask >> i & 1}
        off = tuple(c.channel for c in comps if c.channel not in on)
        return (comps[0].policies if on else ()), off
    inc = sorted(p for i, c in enumerate(comps) if mask >> i & 1 for p in c.policies)
    return tuple(inc), ()


# -- running coalitions --------------------------------------------------------------------
def run_coalition(shared: SharedInputs, job: dict) -> dict:
    """Run one coalition on a worker and write its results folder (the unit of work)."""
    t0 = time.perf_counter()
    out = {"key": job["key"], "status": "ok", "error": "", "worker": _worker_id()}
    try:
        from sim.engine.runner import run_scenario
        from sim.results import Results, write_results

        base, plan = shared.scenarios["base"], shared.scenarios["plan"]
        extra = plan.policies[len(base.policies):]
        base = dataclasses.replace(base, calibrate=False, region=dataclasses.replace(
            base.region, places=job["places"])) if job["places"] is not None else base
        sc = coalition_scenario(base, extra, job["policies"], job["off"])
        sc = dataclasses.replace(sc, name=f"coalition-{job['key']}")
        res = run_scenario(sc, seed=job["seed"], end_year=job["end_year"])
        write_results(Results(places=res.places, sectors=res.sectors, manifest=res.manifest,
                              links=res.links), job["folder"], force=True)
    except Exception as e:  # reported by the parent
        out.update(status="failed", error=f"{type(e).__name__}: {e}")
    out["wall_time_s"] = round(time.perf_counter() - t0, 4)
    return out


@contextlib.contextmanager
def _open(shared, *, workers, dask, scheduler):
    """The sweep executors; ``workers=0`` runs every task in this process, in order."""
    if workers == 0 and not dask and scheduler is None:
        def submit(fn, arg):
            f = cf.Future()
            f.set_result(fn(shared, arg))
            return f

        yield _Exec(submit=submit, info={"executor": "in-process", "workers": 0})
        return
    with open_executor(shared, workers=workers, dask=dask, scheduler=scheduler) as ex:
        yield ex


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _places_from_json(path: Path) -> tuple:
    """The calibrated places saved by an earlier session (``calibration.json``)."""
    from sim.scenario.schema import Place

    try:
        rows = json.loads(path.read_text())
        return tuple(Place(**r) for r in rows)
    except (OSError, ValueError, TypeError) as e:
        raise SimError(f"{path}: unreadable calibration ({e}); delete it to recalibrate") \
            from None


def _coalition_key(policies, off) -> str:
    p = "-".join(str(i) for i in policies) or "none"
    s = hashlib.sha1(f"{p}|{','.join(sorted(off))}".encode()).hexdigest()[:10]
    return f"c{len(policies):02d}-{s}"


def decompose(plan, baseline, *, by: str = "pillar", scope: str | None = None, out=None,
              end_year: int | None = None, seed: int | None = None, samples: int | None = None,
              sample_seed: int = 0, max_exact: int = MAX_EXACT, workers: int | None = None,
              dask: bool = False, scheduler: str | None = None, force: bool = False,
              quiet: bool = True, figures: bool = True) -> Decomposition:
    """Decompose a plan's effect on every headline indicator into components (Shapley).

    Parameters
    ----------
    plan, baseline : path-like or Scenario
        The plan must differ from the baseline only in (added) policies.
    by : str
        ``pillar`` (default), ``policy``, ``label`` or ``channel``.
    scope : str, optional
        ``by='channel'``: the pillar or policy label whose channels are split (default: all).
    out : path-like, optional
        Folder (default ``results/decompositions/<plan>-<by>-<hash>/``). Finished coalition
        runs in it are reused (resume) when it belongs to the same decomposition.
    end_year : int, optional
        Stop every run early.
    seed : int, optional
        Seed of every run (default: the plan's).
    samples : int, optional
        Sampled Shapley with this many orderings (default: exact up to ``max_exact``
        components, else 64 orderings).
    sample_seed : int
        Seed of the sampled orderings.
    max_exact : int
        Largest number of components decomposed exactly.
    workers, dask, scheduler
        Executor, as for sweeps (:func:`sim.sweep.execute.open_executor`); ``workers=0``
        runs in this process (tests, debugging).
    force : bool
        Start over in an existing folder of another decomposition (otherwise an error).
    quiet : bool
        No progress bar.
    figures : bool
        Write the waterfall figure.

    Returns
    -------
    Decomposition

    Raises
    ------
    sim.errors.ScenarioError
        Invalid scenarios, or a plan that differs from the baseline in more than policies.
    sim.errors.SimError
        A coalition run failed, or ``out`` holds another decomposition.
    """
    from sim.analysis.shapley import all_coalitions, decomposition_table, permutation_coalitions
    from sim.progress import progress
    from sim.results import load_results
    from sim.scenario.load import load_scenario, scenario_hash

    plan = plan if not isinstance(plan, str | os.PathLike) else load_scenario(Path(plan))
    base = baseline if not isinstance(baseline, str | os.PathLike) \
        else load_scenario(Path(baseline))
    if scope is not None and by != "channel":
        raise ScenarioError(plan.source, "scope", scope, "--scope applies to --by channel only")
    comps = components(plan, base, by, scope)
    n = len(comps)
    if n == 0:
        raise ScenarioError(plan.source, "policies", 0, "nothing to decompose: the plan adds "
                                                        "no policy (or no channel) to the "
                                                        "baseline")
    seed = plan.seed if seed is None else int(seed)
    if samples is None and n > max_exact:
        samples = 64
    if samples is not None:
        orders, masks = permutation_coalitions(n, int(samples), sample_seed)
        masks = sorted(set(masks) | {0, (1 << n) - 1} | {1 << i for i in range(n)}
                       | {((1 << n) - 1) & ~(1 << i) for i in range(n)})
    else:
        orders, masks = None, all_coalitions(n)
    ident = {"format": DECOMPOSITION_FORMAT, "plan": scenario_hash(plan),
             "baseline": scenario_hash(base), "by": by, "scope": scope, "end_year": end_year,
             "seed": seed, "components": [dataclasses.asdict(c) for c in comps],
             "samples": samples, "sample_seed": sample_seed}
    h = _hash(ident)
    out = Path(out) if out is not None else Path("results") / "decompositions" / \
        f"{plan.name}-{by}-{h}"
    man_path = out / "manifest.json"
    if out.exists():
        old = json.loads(man_path.read_text()) if man_path.is_file() else None
        if old is None or old.get("hash") != h:
            if not force:
                raise SimError(f"{out}: holds {'another decomposition' if old else 'other files'}"
                               f"; use --force to start over")
            shutil.rmtree(out)
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    manifest = {**ident, "hash": h, "name": plan.name, "baseline_name": base.name,
                "plan_source": plan.source, "baseline_source": base.source,
                "component_names": [c.name for c in comps], "coalitions": len(masks),
                "exact": samples is None, "status": "running", "sessions": []}
    man_path.write_text(json.dumps(manifest, indent=2, default=str))
    jobs = {}
    for mask in masks:
        pol, off = coalition_policies(comps, mask)
        key = _coalition_key(pol, off)
        jobs.setdefault(key, {"key": key, "policies": pol, "off": off, "masks": []})
        jobs[key]["masks"].append(mask)
    todo = [j for k, j in jobs.items() if not (runs / k / "manifest.json").is_file()]
    session = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "reused": len(jobs) - len(todo), "executed": 0}
    t0 = time.perf_counter()
    if todo:
        shared = SharedInputs({"base": base, "plan": plan})
        nw = max(1, min(os.cpu_count() or 1, len(todo))) if workers is None else workers
        with progress(len(jobs), f"decompose {plan.name} by {by}", quiet=quiet,
                      unit="run") as bar, _open(shared, workers=nw, dask=dask,
                                                scheduler=scheduler) as ex:
            bar.update(len(jobs) - len(todo))
            session.update(ex.info)
            places = None
            if base.calibrate:
                cal_file = out / "calibration.json"  # JSON, never pickle: a folder's
                if cal_file.is_file():                 # files are data, not code
                    places = _places_from_json(cal_file)
                else:
                    r = ex.submit(run_calibration, {"key": "c", "scenario": "base",
                                                    "params": {}}).result()
                    if r["status"] != "ok":
                        raise SimError(f"calibration of {base.name} failed: {r['error']}")
                    places = r["places"]
                    cal_file.write_text(json.dumps([dataclasses.asdict(p) for p in places],
                                                   indent=1))
            futs = [ex.submit(run_coalition, {"key": j["key"], "policies": j["policies"],
                                              "off": j["off"], "places": places, "seed": seed,
                                              "end_year": end_year,
                                              "folder": str(runs / j["key"])})
                    for j in todo]
            failed = []
            for f in cf.as_completed(futs):
                r = f.result()
                if r["status"] != "ok":
                    failed.append(f"{r['key']}: {r['error']}")
                session["executed"] += 1
                bar.update(1)
            if failed:
                raise SimError(f"{len(failed)} coalition runs failed, e.g. {failed[0]}")
    session["wall_time_s"] = round(time.perf_counter() - t0, 3)
    manifest["sessions"].append(session)
    return _finish(out, manifest, comps, jobs, orders, load_results, decomposition_table,
                   figures=figures)


def _finish(out, manifest, comps, jobs, orders, load_results, decomposition_table, *,
            figures):
    from sim.analysis.shapley import effect_values

    empty = next(k for k, j in jobs.items() if 0 in j["masks"])
    base_res = load_results(out / "runs" / empty)
    from sim.analysis.indicators import indicators

    bind = indicators(base_res, groups=base_res.manifest.get("scenario", {}).get("groups", {})
                      or {})
    vals, names = {}, None
    for k, j in jobs.items():
        res = base_res if k == empty else load_results(out / "runs" / k)
        s = effect_values(res, base_res, baseline_indicators=bind)
        names = list(s.index) if names is None else names
        arr = s.reindex(names).to_numpy(float)
        for m in j["masks"]:
            vals[m] = arr
    cnames = [c.name for c in comps]
    tabs = decomposition_table(vals, cnames, names, orders=orders)
    values = pd.DataFrame({f"{m:0{len(comps)}b}"[::-1]: v for m, v in sorted(vals.items())},
                          index=pd.Index(names, name="indicator"))
    contrib, inter = tabs["contributions"], tabs["interactions"]
    contrib.to_csv(out / "contributions.csv", index=False)
    inter.to_csv(out / "interactions.csv", index=False)
    values.to_csv(out / "coalitions.csv")
    dec = Decomposition(path=out, components=cnames, contributions=contrib, interactions=inter,
                        values=values, manifest=manifest)
    from sim.viz.decomposition import write_decomposition

    written = write_decomposition(dec, out, figures=figures)
    manifest.update(status="complete", files=sorted(p.name for p in written))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return dec


__all__ = ["BY", "CHANNELS", "Component", "Decomposition", "MAX_EXACT", "channel_components",
           "coalition_policies", "coalition_scenario", "components", "decompose",
           "label_groups", "load_decomposition", "pillars", "policy_channels",
           "policy_components", "run_coalition", "switch_off"]
