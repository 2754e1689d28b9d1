"""Plots for staggered-adoption estimators: Bacon decomposition scatter, event-study overlay."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def bacon_plot(result, ax=None):
    """Goodman-Bacon scatter: 2x2 estimate against weight, by comparison type, with the TWFE
    coefficient as a horizontal line. ``result`` is the output of ``bacon()``."""
    comp = pd.DataFrame(result.details["components"])
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for typ, f in comp.groupby("type"):
        ax.scatter(f["weight"], f["estimate"], label=typ)
    ax.axhline(result.details["twfe"], color="k", lw=1, ls="--", label="TWFE")
    ax.set_xlabel("weight")
    ax.set_ylabel("2x2 DiD estimate")
    ax.legend(frameon=False, fontsize=8)
    return ax


def event_study_overlay(series: dict, ax=None):
    """Overlay event studies: ``series`` maps a label to a frame with event_time, estimate,
    ci_lower, ci_upper (rows with missing CI are drawn without bars)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    k = len(series)
    for i, (label, f) in enumerate(series.items()):
        f = pd.DataFrame(f).sort_values("event_time")
        x = f["event_time"].astype(float) + (i - (k - 1) / 2) * 0.08
        lo = (f["estimate"] - f["ci_lower"]).fillna(0)
        hi = (f["ci_upper"] - f["estimate"]).fillna(0)
        ax.errorbar(x, f["estimate"], yerr=[lo, hi], fmt="o", capsize=2, label=label)
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("periods since adoption")
    ax.set_ylabel("effect")
    ax.legend(frameon=False, fontsize=8)
    return ax
