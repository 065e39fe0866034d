"""The dashboard's logic, without the page: packs, scenarios, pillars, variants and runs.

A *pillar* is a group of the plan scenario's policies sharing the text before the first colon
of their labels ("one core: ...", "eastern belt: ..."); a policy without a colon is its own
pillar. A variant of the plan keeps the switched-on pillars, with each policy's lever scaled by
the pillar's magnitude ``m`` (:func:`scale_policy`), and is validated like a scenario file.
Runs are written as ordinary results folders (``<root>/<name>-<hash>-s<seed>/``); an identical
run already on disk is reused.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sim.scenario.load import PACKS_DIR, load_scenario, load_scenario_dict, scenario_to_dict

#: Policy fields scaled by a pillar's magnitude m: multiplicative factors become factor**m,
#: additive levers become lever * m (costs scale with them). Link policies have no magnitude.
FACTOR_FIELDS = ("factor", "entry_cost_factor", "amenity_factor", "trade_cost_factor",
                 "migration_cost_factor", "border_cost_factor", "demand_factor")
ADDITIVE_FIELDS = ("rate", "growth", "price_cut", "pooling", "visitors", "firms_per_year",
                   "cost_cny")


def region_packs() -> list[str]:
    """Names of the region packs shipped with sim."""
    return sorted(d.name for d in PACKS_DIR.iterdir() if (d / "region.yaml").is_file())


def _pack_place_ids(pack: str) -> set[str]:
    import csv

    f = PACKS_DIR / pack / "places.csv"
    with f.open(newline="", encoding="utf-8") as fh:
        return {row["id"] for row in csv.DictReader(fh)}


def scenario_files(folder, pack: str | None = None) -> list[Path]:
    """Scenario files in ``folder`` (not its subfolders) whose places are those of ``pack``."""
    out = []
    ids = _pack_place_ids(pack) if pack else None
    for f in sorted(Path(folder).glob("*.yaml")):
        try:
            sc = load_scenario(f)
        except Exception:  # noqa: BLE001 - an invalid file is simply not offered
            continue
        if ids is None or {p.id for p in sc.region.places} == ids:
            out.append(f)
    return out


def pillar_of(label: str) -> str:
    """The pillar of a policy label: the text before its first colon (or the label)."""
    head, sep, _ = (label or "").partition(":")
    return head.strip() if sep and head.strip() else (label or "(unlabelled)").strip()


def pillars(scenario, baseline=None) -> dict[str, list[str]]:
    """Pillar -> labels of its policies, for the policies ``scenario`` adds to ``baseline``."""
    base = {_key(p) for p in baseline.policies} if baseline is not None else set()
    out: dict[str, list[str]] = {}
    for p in scenario.policies:
        if _key(p) in base:
            continue
        out.setdefault(pillar_of(p.label), []).append(p.label or p.type)
    return out


def _key(p):
    return json.dumps(dataclasses.asdict(p), sort_keys=True, default=str) + p.type


def scale_policy(policy: dict, m: float) -> dict:
    """A policy (as plain data) with its lever scaled by magnitude ``m`` >= 0 (see module)."""
    if m == 1.0 or policy.get("type") == "link":
        return policy
    out = dict(policy)
    for k in FACTOR_FIELDS:
        if out.get(k) is not None:
            out[k] = float(out[k]) ** m
    for k in ADDITIVE_FIELDS:
        if out.get(k) is not None:
            out[k] = float(out[k]) * m
    return out


def variant(plan, baseline, enabled: dict[str, float], *, name: str | None = None):
    """The plan with only the pillars in ``enabled`` (pillar -> magnitude), validated.

    The baseline's own policies are kept. The variant is named ``name`` (default: the plan's
    name, or ``<plan>-custom`` unless every pillar is on at magnitude 1).
    """
    base = {_key(p) for p in baseline.policies}
    d = scenario_to_dict(plan)
    all_pillars = pillars(plan, baseline)
    kept = []
    for p, pd_ in zip(plan.policies, d["policies"], strict=True):
        if _key(p) in base:
            kept.append(pd_)
            continue
        pil = pillar_of(p.label)
        if pil in enabled:
            kept.append(scale_policy(pd_, float(enabled[pil])))
    d["policies"] = kept
    full = set(enabled) == set(all_pillars) and all(v == 1.0 for v in enabled.values())
    d["name"] = name or (plan.name if full else f"{plan.name}-custom")
    if not full:
        on = ", ".join(f"{k} x{v:g}" for k, v in enabled.items()) or "none"
        d["description"] = f"{plan.description or plan.name} Dashboard variant; pillars: {on}."
    return dataclasses.replace(load_scenario_dict(d, source=plan.source), source=plan.source)


@dataclass
class RunOutcome:
    """A run made (or found) by the dashboard."""

    folder: Path
    results: object
    reused: bool


def run_or_reuse(scenario, root, *, end_year: int | None = None, seed: int | None = None,
                 progress=None) -> RunOutcome:
    """Run ``scenario`` into an ordinary results folder under ``root``, or reuse it.

    The folder is ``<root>/<name>-<hash>-s<seed>`` as for ``sim run``; when it already holds
    the identical run (same resolved scenario, seed, years and versions) it is loaded instead.
    ``progress(text)`` is called with status lines.
    """
    from sim.engine.runner import default_out_dir, run_identity, run_scenario, same_run
    from sim.results import MANIFEST, load_results, write_results

    out = default_out_dir(scenario, seed, root=root, end_year=end_year)
    if (out / MANIFEST).exists():
        try:
            man = json.loads((out / MANIFEST).read_text())
        except ValueError:
            man = {}
        if same_run(man, run_identity(scenario, seed, end_year)):
            if progress:
                progress(f"{scenario.name}: identical run found in {out}")
            return RunOutcome(out, load_results(out), True)
    if progress:
        progress(f"{scenario.name}: running ...")
    res = run_scenario(scenario, seed=seed, end_year=end_year,
                       command=["sim", "dashboard", f"({scenario.name})"])
    write_results(res, out, force=out.exists())
    if progress:
        progress(f"{scenario.name}: {res.manifest['wall_time_s']:.1f} s, written to {out}")
    return RunOutcome(out, res, False)


def zip_folder(folder) -> bytes:
    """A results folder as zip bytes (its files under the folder's name)."""
    folder = Path(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, Path(folder.name) / f.relative_to(folder))
    return buf.getvalue()


def xlsx_bytes(runs, *, lang: str = "en") -> bytes:
    """An Excel workbook comparing runs (the first is the reference), as bytes."""
    import tempfile

    from sim.viz.excel import comparison_xlsx

    with tempfile.TemporaryDirectory() as d:
        f = comparison_xlsx(runs, Path(d) / "sim.xlsx", lang=lang)
        return f.read_bytes()
