"""Written outputs that combine analysis tables with figures.

Comparison folders, ensemble band plots and summaries, sensitivity tables and plots.

May import ``sim.results``, ``sim.analysis`` and :mod:`sim.viz.figures`; never the engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.comparison import _label, compare, headline_tables, load_runs, to_markdown
from sim.analysis.ensemble import BAND_INDICATORS, _load, compare_ensembles
from sim.analysis.sensitivity import sensitivity
from sim.results import atomic_folder
from sim.results.sweeps import Sweep, load_sweep
from sim.viz.figures import comparison_figures, save


def write_comparison(runs, out, *, force: bool = False, figures: bool = True,
                     quiet: bool = True, lang: str = "en") -> Path:
    """Write the comparison into folder ``out`` (atomically).

    ``<table>_differences.csv`` for every table of :func:`compare`, ``headline.csv`` and
    ``headline.md``, and (``figures=True``) the figures of :mod:`sim.viz.figures` as PNG and SVG.

    Raises
    ------
    sim.results.ResultsError
        ``out`` exists and ``force`` is False, or a run cannot be read.
    """
    res = load_runs(runs, quiet=quiet)
    diff = compare(*res)
    h = headline_tables(*res)
    out = Path(out)
    with atomic_folder(out, force=force) as tmp:
        for name, df in diff.items():
            df.to_csv(tmp / f"{name}_differences.csv", index=False)
        h.to_csv(tmp / "headline.csv")
        (tmp / "headline.md").write_text(to_markdown(h))
        if figures:
            comparison_figures({_label(r, i): r for i, r in enumerate(res)}, tmp, diff=diff,
                               lang=lang)
    return out


def band_plot(b: pd.DataFrame, out, *, kind: str = "level", title: str = "") -> list[Path]:
    """Mean lines with shaded 5-95% bands, one panel per indicator (PNG and SVG).

    Parameters
    ----------
    b : pandas.DataFrame
        :func:`bands`.
    out : path-like
        File stem: writes ``<out>.png`` and ``<out>.svg``.
    kind : str
        ``level`` or ``effect``.
    title : str

    Returns
    -------
    list of pathlib.Path
    """
    from matplotlib.figure import Figure  # Agg canvas, no pyplot state

    d = b[b["kind"] == kind]
    units = dict(zip(d["indicator"].astype(str), d["unit"], strict=False)) \
        if "unit" in d.columns else {}
    inds = [k for k in BAND_INDICATORS if k in set(d["indicator"].astype(str))]
    if not inds:
        return []
    ncol = min(3, len(inds))
    nrow = -(-len(inds) // ncol)
    fig = Figure(figsize=(4.2 * ncol, 3.2 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    for ax, key in zip(axes, inds, strict=False):
        for sc, s in d[d["indicator"].astype(str) == key].groupby("scenario", sort=False):
            s = s.sort_values("year")
            line, = ax.plot(s["year"], s["mean"], label=f"{sc} mean")
            ax.fill_between(s["year"], s["p5"], s["p95"], alpha=0.25, color=line.get_color(),
                            label=f"{sc} 5-95%")
        unit = units.get(key, "")
        lab = f"{key} ({unit})" if unit else key
        ax.set_title(lab if kind == "level" else f"{key}: effect vs reference ({unit})",
                     fontsize=9)
        ax.set_xlabel("year")
        ax.grid(alpha=0.3)
    for ax in axes[len(inds):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return save(fig, out)


def write_ensemble_comparison(folders, out, *, force: bool = False) -> list[Path]:
    """Write bands (CSV), beat probabilities (CSV), a Markdown summary and band plots.

    The folder ``out`` is written atomically and never replaced without ``force``.
    """
    ind, ref, title = _load(folders)
    c = compare_ensembles(*folders)
    out = Path(out)
    names = ["ensemble_bands.csv", "ensemble_probabilities.csv", "ensemble.md"]
    with atomic_folder(out, force=force) as tmp:
        c["bands"].to_csv(tmp / names[0], index=False)
        c["probabilities"].to_csv(tmp / names[1], index=False)
        md = [f"# Ensemble comparison: {title}\n", f"Reference scenario: `{ref}`. Bands are "
              f"across seeds and parameter draws (5th-95th percentiles).\n",
              "## Final year\n", to_markdown(c["final"]), "\n## Probability of beating the "
              "reference (final year, paired by design point and seed)\n",
              to_markdown(c["probabilities"])]
        (tmp / names[2]).write_text("\n".join(md))
        plots = band_plot(c["bands"], tmp / "ensemble_bands", kind="level", title=title)
        plots += band_plot(c["bands"], tmp / "ensemble_effects", kind="effect",
                           title=f"{title}: effect vs {ref}")
    return [out / n for n in names] + [out / p.name for p in plots]


def sensitivity_plot(table: pd.DataFrame, out, title: str = "") -> list[Path]:
    """Bar chart of the indices per output and indicator (PNG and SVG at ``<out>.*``).

    Sobol: ST (light) and S1 (dark) with confidence bars; Morris: mu* with confidence bars.
    """
    from matplotlib.figure import Figure

    sobol = table["method"].iloc[0] == "sobol"
    panels = list(table.groupby(["output", "indicator"], sort=False))
    ncol = min(3, len(panels))
    nrow = -(-len(panels) // ncol)
    fig = Figure(figsize=(4.4 * ncol, 0.45 * table["parameter"].nunique() * nrow + 1.6 * nrow),
                 layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    for ax, ((output, indicator), d) in zip(axes, panels, strict=False):
        y = np.arange(len(d))
        if sobol:
            ax.barh(y + 0.2, d["ST"], 0.4, xerr=d["ST_conf"], label="ST", color="#9ecae1")
            ax.barh(y - 0.2, d["S1"], 0.4, xerr=d["S1_conf"], label="S1", color="#3182bd")
        else:
            ax.barh(y, d["mu_star"], 0.6, xerr=d["mu_star_conf"], label="mu*",
                    color="#3182bd")
        ax.set_yticks(y, d["parameter"], fontsize=8)
        ax.set_title(f"{indicator}\n{output}", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return save(fig, out)


def write_sensitivity(sweep, out) -> list[Path]:
    """Write ``sensitivity.csv``, ``sensitivity.md`` and ``sensitivity.png``/``.svg``."""
    sw = sweep if isinstance(sweep, Sweep) else load_sweep(sweep)
    t = sensitivity(sw)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "sensitivity.csv", out / "sensitivity.md"]
    t.to_csv(files[0], index=False)
    files[1].write_text(f"# Sensitivity ({t['method'].iloc[0]}): {sw.manifest['name']}\n\n"
                        + to_markdown(t))
    files += sensitivity_plot(t, out / "sensitivity", title=sw.manifest["name"])
    return files
