"""The Solara page of ``sim dashboard`` (run with ``solara run sim.dashboard.app``).

Settings come from the environment that ``sim dashboard`` sets: ``SIM_DASHBOARD_SCENARIOS``
(folder of scenario files, default ``scenarios``), ``SIM_DASHBOARD_RESULTS`` (results root,
default ``results``), ``SIM_DASHBOARD_LANG`` (``en`` or ``zh``) and ``SIM_DASHBOARD_END_YEAR``
(default horizon). Runs go to a worker thread (the page stays responsive and shows progress);
each is written as an ordinary results folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import solara
import solara.lab

from sim.dashboard import core
from sim.viz import labels as L

SCENARIOS = Path(os.environ.get("SIM_DASHBOARD_SCENARIOS", "scenarios"))
RESULTS = Path(os.environ.get("SIM_DASHBOARD_RESULTS", "results"))
LANG = os.environ.get("SIM_DASHBOARD_LANG", "en")
END_YEAR = os.environ.get("SIM_DASHBOARD_END_YEAR")

PACK = os.environ.get("SIM_DASHBOARD_PACK", "jilin")
pack = solara.reactive(PACK if PACK in core.region_packs()
                       else (core.region_packs() or [""])[0])
baseline_file = solara.reactive("")
plan_file = solara.reactive("")
end_year = solara.reactive(int(END_YEAR) if END_YEAR else 0)
switches = solara.reactive({})  # pillar -> (on, magnitude)
status = solara.reactive("")
outcome = solara.reactive(None)  # dict: base, plan (RunOutcome), headline (DataFrame)


def _w(text):
    return L.word(text, LANG)


def _load(path):
    from sim.scenario.load import load_scenario

    return load_scenario(Path(path))


@solara.lab.task
def run_job():
    """Run the baseline (or reuse it) and the variant of the plan; compute the headline."""
    from sim.analysis.headline import headline

    try:
        base_sc, plan_sc = _load(baseline_file.value), _load(plan_file.value)
        enabled = {k: m for k, (on, m) in switches.value.items() if on}
        var = core.variant(plan_sc, base_sc, enabled)
        end = end_year.value or None

        def say(text):
            status.value = text

        b = core.run_or_reuse(base_sc, RESULTS, end_year=end, progress=say)
        p = core.run_or_reuse(var, RESULTS, end_year=end, progress=say)
        h = headline(p.results, b.results)
        status.value = (f"{var.name}: {p.folder}" + (" (reused)" if p.reused else "")
                        + f"; {base_sc.name}: {b.folder}" + (" (reused)" if b.reused else ""))
        outcome.value = {"base": b, "plan": p, "headline": h}
    except Exception as e:  # shown on the page, not lost in a thread
        status.value = f"error: {type(e).__name__}: {e}"
        raise


@solara.component
def Controls():
    """Pack, scenarios, horizon and pillars."""
    packs = core.region_packs()
    files = solara.use_memo(lambda: [str(f) for f in core.scenario_files(SCENARIOS, pack.value)],
                            dependencies=[pack.value])
    if files and baseline_file.value not in files:
        baseline_file.set(next((f for f in files if Path(f).stem == "baseline"), files[0]))
    if files and plan_file.value not in files:
        plan_file.set(next((f for f in files if Path(f).stem == "plan"), files[-1]))
    solara.Select(label=_w("region pack"), value=pack, values=packs)
    solara.Select(label=_w("baseline"), value=baseline_file, values=files)
    solara.Select(label=_w("plan"), value=plan_file, values=files)
    sc = solara.use_memo(lambda: (_load(baseline_file.value), _load(plan_file.value))
                         if baseline_file.value and plan_file.value else None,
                         dependencies=[baseline_file.value, plan_file.value])
    if sc is None:
        solara.Warning("no scenario files for this pack")
        return
    base_sc, plan_sc = sc
    if not end_year.value:
        end_year.set(plan_sc.time.end)
    solara.SliderInt(label=_w("horizon"), value=end_year, min=plan_sc.time.start + 1,
                     max=plan_sc.time.end)
    pil = core.pillars(plan_sc, base_sc)
    if set(switches.value) != set(pil):
        switches.set({k: (True, 1.0) for k in pil})
    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{_esc(_w('pillars'))}</b> ({_esc(plan_sc.name)}), "
                f"{_esc(_w('horizon'))} {plan_sc.time.start}–{end_year.value}")
    for name, labs in pil.items():
        on, mag = switches.value.get(name, (True, 1.0))

        def set_on(v, name=name):
            s = dict(switches.value)
            s[name] = (v, s.get(name, (True, 1.0))[1])
            switches.set(s)

        def set_mag(v, name=name):
            s = dict(switches.value)
            s[name] = (s.get(name, (True, 1.0))[0], float(v))
            switches.set(s)

        with solara.Column(gap="0px"):
            solara.Checkbox(label=f"{name} ({len(labs)})", value=on, on_value=set_on)
            solara.SliderFloat(label=_w("magnitude"), value=mag, min=0.0, max=2.0, step=0.1,
                               on_value=set_mag, disabled=not on)


@solara.component
def Results():
    """Headline, map, time series and downloads of the last run."""
    o = outcome.value
    if o is None:
        solara.Info("选择政策支柱后点击运行。" if LANG == "zh" else "Choose pillars and press Run.")
        return
    from sim.analysis.indicators import indicators
    from sim.viz.figures import map_figure, time_series

    base, plan = o["base"], o["plan"]
    h = o["headline"].copy()
    if LANG == "zh":
        names = L.place_names(plan.results.manifest.get("scenario"), "zh")
        h.index = [L.indicator(str(i), "zh", names) for i in h.index]
    fig = solara.use_memo(lambda: map_figure(plan.results, base.results, label=str(
        plan.results.manifest["name"]), ref_label=str(base.results.manifest["name"]),
        lang=LANG, figsize=(8.5, 6.5)), dependencies=[str(plan.folder), str(base.folder)])
    with solara.Row(style="flex-wrap: wrap; align-items: flex-start"):
        with solara.Column(style="min-width: 560px; max-width: 760px", classes=["map"]):
            _h(f"{_w('Map')}")
            solara.FigureMatplotlib(fig, format="png", dependencies=[str(plan.folder)])
        with solara.Column(style="min-width: 420px"):
            _h(f"{_w('headline')}: {plan.results.manifest['name']} {_w('vs')} "
               f"{base.results.manifest['name']}")
            solara.HTML(tag="div", attributes={"id": "headline"},
                        style="font-size: 12px",
                        unsafe_innerHTML=h.to_html(float_format=lambda v: f"{v:,.4g}",
                                                   na_rep=""))
    groups = base.results.manifest.get("scenario", {}).get("groups") or {}
    ts = solara.use_memo(lambda: time_series(
        {str(base.results.manifest["name"]): indicators(base.results, groups=groups),
         str(plan.results.manifest["name"]): indicators(plan.results, groups=groups)},
        lang=LANG), dependencies=[str(plan.folder), str(base.folder)])
    _h(_w("Time series"))
    solara.FigureMatplotlib(ts, format="png", dependencies=[str(plan.folder)])
    _h(_w("Download"))
    with solara.Row():
        solara.FileDownload(lambda: core.zip_folder(plan.folder),
                            filename=f"{plan.folder.name}.zip",
                            label=f"{_w('results folder (zip)')}: {plan.folder.name}")
        solara.FileDownload(lambda: core.xlsx_bytes([base.folder, plan.folder], lang=LANG),
                            filename=f"{plan.folder.name}.xlsx", label=_w("Excel"))


@solara.component
def Page():
    """The dashboard."""
    solara.Title("sim dashboard")
    with solara.Sidebar():
        Controls()
    with solara.Column():
        _h("sim — " + ("区域发展情景" if LANG == "zh" else "scenarios for regional development"),
           "h2")
        with solara.Row():
            solara.Button(_w("Run"), on_click=lambda: run_job(), disabled=run_job.pending,
                          color="primary", attributes={"id": "run"})
            if run_job.pending:
                solara.ProgressLinear(True)
        solara.HTML(tag="div", attributes={"id": "status"}, unsafe_innerHTML=_esc(status.value))
        Results()


def _h(text: str, tag: str = "h3"):
    """A heading (plain HTML: Markdown would load KaTeX, which is not shipped offline)."""
    solara.HTML(tag=tag, unsafe_innerHTML=_esc(text))


def _esc(s: str) -> str:
    import html

    return html.escape(s or "")

