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


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


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


def time_series(ind: dict[str, pd.DataFrame], names=HEADLINE_SERIES):
    """Small multiples of yearly indicators, one line per run.

    Parameters
    ----------
    ind : dict of str -> pandas.DataFrame
        Run label -> tidy indicators (:func:`sim.analysis.indicators.indicators`).
    names : sequence of str
        Indicators to draw (those no run has are skipped).
    """
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
        ax.set_title(f"{name} ({unit})", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(have):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Headline indicators by year", fontsize=11)
    fig.tight_layout()
    return fig


def difference_bars(places_diff: pd.DataFrame, indicator: str = "gdp", year=None):
    """Bars of the % difference of one place indicator against the first run, by place.

    Parameters
    ----------
    places_diff : pandas.DataFrame
        ``compare(...)["places"]``.
    indicator : str
        A column of ``places.parquet`` (e.g. ``gdp``, ``population``, ``real_wage``).
    year : int, optional
        Default: the last year.
    """
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
    ax.set_xticks(x, tab.index, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(f"{indicator}: % vs first run")
    ax.set_title(f"{indicator} in {year}: difference by place", fontsize=10)
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


def network_map(scenario: dict, size=None, colour=None, *, colour_label="", title="",
                diverging=True, margin_deg=1.0):
    """Map of places and the transport network.

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
    """
    plt = _plt()
    from matplotlib.lines import Line2D

    places = {p["id"]: p for p in scenario["region"]["places"]}
    internal = [p for p in places.values() if not p.get("external")]
    lat = np.array([p["lat"] for p in internal])
    lon = np.array([p["lon"] for p in internal])
    x0, x1 = lon.min() - margin_deg, lon.max() + margin_deg
    y0, y1 = lat.min() - margin_deg, lat.max() + margin_deg
    fig, ax = plt.subplots(figsize=(8.5, 7.0))
    ax.set_aspect(1.0 / np.cos(np.deg2rad(lat.mean())))
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
    ext = [p for p in places.values() if p.get("external")]
    ax.scatter([p["lon"] for p in ext], [p["lat"] for p in ext], marker="s", s=14,
               color="#555555", zorder=2)
    for p in ext:
        if x0 <= p["lon"] <= x1 and y0 <= p["lat"] <= y1:
            ax.annotate(p["id"], (p["lon"], p["lat"]), fontsize=6, color="#555555",
                        xytext=(3, -6), textcoords="offset points")
    ids = [p["id"] for p in internal]
    s = np.full(len(ids), 60.0)
    if size is not None:
        v = pd.Series(size).reindex(ids).to_numpy(float)
        s = 30 + 600 * v / np.nanmax(v)
    kw = {}
    if colour is not None:
        c = pd.Series(colour).reindex(ids).to_numpy(float)
        if diverging:
            lim = max(np.nanmax(np.abs(c)), 1e-12)
            kw = {"c": c, "cmap": "RdBu", "vmin": -lim, "vmax": lim}
        else:
            kw = {"c": c, "cmap": "viridis"}
    else:
        kw = {"color": "#4e79a7"}
    sc = ax.scatter(lon, lat, s=s, edgecolors="k", linewidths=0.6, zorder=3, **kw)
    for p in internal:
        ax.annotate(p["id"], (p["lon"], p["lat"]), fontsize=7, xytext=(4, 4),
                    textcoords="offset points", zorder=4)
    if colour is not None:
        fig.colorbar(sc, ax=ax, shrink=0.7, label=colour_label)
    handles = [Line2D([], [], color=MODE_STYLE.get(m, DEFAULT_STYLE)[0], lw=2, label=m)
               for m in sorted(used)]
    handles.append(Line2D([], [], color="k", ls="--", lw=1.5, label="planned / upgraded"))
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title or "Places and transport network", fontsize=10)
    fig.tight_layout()
    return fig


def comparison_figures(runs, out, *, ind=None, diff=None) -> dict[str, list[Path]]:
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

    Returns
    -------
    dict of str -> list of pathlib.Path
        Figure name -> [png, svg].
    """
    from sim.analysis.comparison import compare
    from sim.analysis.indicators import indicators

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = list(runs)
    first = runs[labels[0]]
    groups = first.manifest.get("scenario", {}).get("groups", {}) or {}
    if ind is None:
        ind = {k: indicators(r, groups=groups) for k, r in runs.items()}
    if diff is None:
        diff = compare(*runs.values(), tables=("places",))
    files = {"timeseries": save(time_series(ind), out / "timeseries")}
    for var in ("gdp", "population"):
        files[f"bars_{var}"] = save(difference_bars(diff["places"], var), out / f"bars_{var}")
    p = diff["places"]
    y1 = int(p["year"].max())
    for i, lab in enumerate(labels):
        r = runs[lab]
        sc = r.manifest.get("scenario")
        if not sc or "region" not in sc:
            continue
        fin = r.places[r.places["year"] == y1].set_index("place")
        if i == 0:
            fig = network_map(sc, size=fin["population"], colour=fin["gdp"] / fin["population"],
                              colour_label=f"GDP per capita {y1} (k CNY)", diverging=False,
                              title=f"{lab}: population and GDP per capita, {y1}")
        else:
            d = p[(p["year"] == y1) & (p["indicator"] == "gdp") & (p["run"] == lab)]
            fig = network_map(sc, size=fin["population"],
                              colour=d.set_index("place")["pct_difference"],
                              colour_label=f"GDP {y1}: % vs {labels[0]}",
                              title=f"{lab}: GDP difference vs {labels[0]}, {y1}")
        files[f"map_{i}"] = save(fig, out / f"map_{i}")
    return files
