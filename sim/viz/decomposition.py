"""Written outputs of a decomposition: Markdown tables and the waterfall figure.

May import ``sim.results`` and ``sim.analysis``; never the engine.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.shapley import KEY_INDICATORS
from sim.viz.figures import _plt, save


def key_indicators(labels) -> list[str]:
    """The decomposed indicators whose names start with :data:`KEY_INDICATORS`, in that order."""
    out = []
    for k in KEY_INDICATORS:
        for lab in labels:
            if re.match(re.escape(k) + r"( \d{4})? \(", lab) and lab not in out:
                out.append(lab)
    return out


def summary(dec, indicators=None) -> pd.DataFrame:
    """Component x indicator Shapley contributions (key indicators by default) with the total."""
    labels = list(dict.fromkeys(dec.contributions["indicator"]))
    return dec.table(indicators or key_indicators(labels))


def to_markdown(df: pd.DataFrame, fmt="{:,.3f}") -> str:
    """A plain Markdown table (no extra dependency)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join([df.index.name or "", *cols]) + " |",
             "|" + "---|" * (len(cols) + 1)]
    for idx, row in df.iterrows():
        cells = [("" if pd.isna(v) else fmt.format(v)) if isinstance(v, float | int | np.floating)
                 else str(v) for v in row]
        lines.append("| " + " | ".join([str(idx), *cells]) + " |")
    return "\n".join(lines) + "\n"


def waterfall(dec, indicator: str, title: str = ""):
    """Waterfall of one indicator: components' Shapley values stacked to the total.

    Bars start where the previous component ended (green: positive, red: negative); the last
    bar is the total effect of the plan; error bars are sampled standard errors, if any.
    """
    plt = _plt()
    c = dec.contributions[dec.contributions["indicator"] == indicator].set_index("component")
    vals = [float(c.loc[n, "shapley"]) for n in dec.components]
    se = [float(c.loc[n, "se"]) if np.isfinite(c.loc[n, "se"]) else 0.0 for n in dec.components]
    total = float(c.loc["total", "shapley"])
    fig, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(vals) + 2.0), 3.6))
    run = 0.0
    for i, (v, e) in enumerate(zip(vals, se, strict=True)):
        ax.bar(i, v, bottom=run, color="#59a14f" if v >= 0 else "#e15759",
               yerr=e if e > 0 else None, capsize=3)
        run += v
    ax.bar(len(vals), total, color="#4e79a7")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(range(len(vals) + 1))
    ax.set_xticklabels([*dec.components, "total"], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(indicator, fontsize=8)
    ax.set_title(title or f"Shapley decomposition: {indicator}", fontsize=9)
    fig.tight_layout()
    return fig


def write_decomposition(dec, out, *, figures: bool = True) -> list[Path]:
    """``summary.md`` (key indicators; interactions of the first) and waterfall figures."""
    out = Path(out)
    tab = summary(dec)
    text = [f"# Decomposition of {dec.manifest.get('name', '')} against "
            f"{dec.manifest.get('baseline_name', '')} by {dec.manifest.get('by', '')}\n",
            "Shapley contributions (sum to the total)"
            + (" — sampled, see se in contributions.csv" if not dec.manifest.get("exact", True)
               else "") + ":\n", to_markdown(tab.T)]
    if len(dec.interactions) and len(tab.columns):
        first = tab.columns[0]
        it = dec.interactions[dec.interactions["indicator"] == first]
        it = it.reindex(it["interaction"].abs().sort_values(ascending=False).index).head(10)
        text += [f"\nLargest pairwise interactions, {first}:\n",
                 to_markdown(it.set_index("component_a")[["component_b", "interaction"]])]
    files = [out / "summary.md"]
    files[0].write_text("\n".join(text))
    if figures:
        for j, ind in enumerate(tab.columns[:4]):
            files += save(waterfall(dec, ind), out / f"waterfall_{j}")
    return files
