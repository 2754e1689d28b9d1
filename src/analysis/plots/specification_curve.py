"""The specification curve (Simonsohn, Simmons & Nelson 2020, Fig. 2): every estimated
specification's estimate with its confidence interval, sorted, and underneath which choices
each specification made."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .style import OKABE_ITO, apply_style

#: choices shown under the curve (those that vary among the estimated specifications)
PANEL_CHOICES = ("estimator", "control_pool", "start_year", "end_year", "covariates", "breaks",
                 "weighting", "transform")
LABELS = {"estimator": "Estimator", "control_pool": "Control pool", "start_year": "First year",
          "end_year": "Last year", "covariates": "Covariates", "breaks": "Series breaks",
          "weighting": "Weighting", "transform": "Outcome"}


def specification_curve_figure(rows: pd.DataFrame, path: str | Path, *, unit_label: str = "",
                               title: str | None = None, alpha: float = 0.05,
                               median: float | None = None) -> Path:
    """Draw the curve of the estimated rows of ``specifications.parquet`` into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    apply_style()
    est = rows[rows["status"] == "estimated"].copy()
    est = est.sort_values(["estimate", "spec_id"]).reset_index(drop=True)
    x = np.arange(len(est))
    choices = [c for c in PANEL_CHOICES if c in est and est[c].astype(str).nunique() > 1]
    levels = [(c, v) for c in choices for v in sorted(est[c].astype(str).unique())]
    height_curve = 3.2
    height_panel = 0.18 * max(len(levels), 1) + 0.4
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8.0, height_curve + height_panel), sharex=True,
                                  gridspec_kw={"height_ratios": [height_curve, height_panel], "hspace": 0.05})
    sig = est["p_value"] < alpha
    colour = np.where(sig & (est["estimate"] < 0), OKABE_ITO["vermillion"],
                      np.where(sig & (est["estimate"] > 0), OKABE_ITO["blue"], "#777777"))
    lo, hi = est["ci_low"].to_numpy(float), est["ci_high"].to_numpy(float)
    has_ci = np.isfinite(lo) & np.isfinite(hi)
    ax.vlines(x[has_ci], lo[has_ci], hi[has_ci], colors=colour[has_ci], alpha=0.35, linewidth=1.2)
    ax.scatter(x, est["estimate"], c=colour, s=10, zorder=3)
    ax.axhline(0, color="black", linewidth=0.8)
    if median is None and len(est):
        median = float(est["estimate"].median())
    if median is not None:
        ax.axhline(median, color=OKABE_ITO["bluish_green"], linewidth=1.2, linestyle="--",
                   label=f"median {median:,.3g}".replace("-", "\u2212"))
    from matplotlib.lines import Line2D

    median_text = f"median {median:,.3g}".replace("-", "\u2212") if median is not None else "median"

    handles = [Line2D([], [], marker="o", linestyle="", color=OKABE_ITO["vermillion"], label=f"p < {alpha:g}, negative"),
               Line2D([], [], marker="o", linestyle="", color=OKABE_ITO["blue"], label=f"p < {alpha:g}, positive"),
               Line2D([], [], marker="o", linestyle="", color="#777777", label="not significant"),
               Line2D([], [], color=OKABE_ITO["bluish_green"], linestyle="--", label=median_text)]
    ax.legend(handles=handles, loc="upper left", fontsize=8, ncol=2)
    ax.set_ylabel(f"Estimate{f' ({unit_label})' if unit_label else ''}")
    if title:
        ax.set_title(title, fontsize=11)
    # choices panel
    for i, (c, v) in enumerate(levels):
        mask = est[c].astype(str).to_numpy() == v
        ax2.scatter(x[mask], np.full(mask.sum(), i), marker="|", s=40, color=colour[mask])
    ax2.set_yticks(range(len(levels)))
    ax2.set_yticklabels([f"{LABELS.get(c, c)}: {v}" for c, v in levels], fontsize=7)
    ax2.set_ylim(len(levels) - 0.5, -0.5)
    ax2.set_xlabel(f"Specifications, sorted by estimate (n = {len(est)})")
    from matplotlib.ticker import MaxNLocator

    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="x", visible=False)
    ax2.grid(False)
    for i, (c, _) in enumerate(levels):
        if i and levels[i - 1][0] != c:
            ax2.axhline(i - 0.5, color="#cccccc", linewidth=0.6)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from ..atomic import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
