"""Event-study plot: coefficients with confidence intervals around adoption (seaborn/matplotlib)."""
from __future__ import annotations

from typing import Any

import pandas as pd


def event_study_frame(result: Any) -> pd.DataFrame:
    """The tidy event-study table of a result (``details["event_study"]``) as a DataFrame."""
    rows = result.details["event_study"] if hasattr(result, "details") else result
    return pd.DataFrame(rows).astype({"estimate": float})


def plot_event_study(result: Any, *, ax=None, title: str | None = None,
                     xlabel: str = "years relative to adoption", ylabel: str | None = None):
    """Point estimates with interval bars; the reference period is drawn at 0 without a bar."""
    import matplotlib.pyplot as plt

    try:
        from .style import apply_style, TREATED_COLOR
        apply_style()
        color = TREATED_COLOR
    except Exception:  # pragma: no cover - style module optional
        color = "#D55E00"
    frame = event_study_frame(result)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    lo = frame["ci_low"].astype(float)
    hi = frame["ci_high"].astype(float)
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.axvline(-0.5, color="0.5", linestyle=":", linewidth=0.8)
    ax.errorbar(frame["event_time"], frame["estimate"],
                yerr=[frame["estimate"] - lo, hi - frame["estimate"]],
                fmt="o", color=color, capsize=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or getattr(getattr(result, "design", None), "outcome", None) or "effect")
    if title:
        ax.set_title(title)
    return ax
