"""Treated vs control trends and event-study figures (stable file names for the report)."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd


def _style():
    import matplotlib

    matplotlib.use("Agg", force=False)
    try:
        from .style import apply_style

        apply_style()
    except ImportError:  # pragma: no cover
        pass


def _save(fig, path) -> Path:
    from ..atomic import atomic_path

    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def group_means(frame: pd.DataFrame, index_year: int | None = None) -> pd.DataFrame:
    """Mean outcome per year of treated and control municipalities (optionally indexed so that
    ``index_year`` = 100). ``frame`` is an analysis frame (``outcome``, ``treated_group``)."""
    if "treated_group" in frame.columns:
        frame = frame.assign(y=frame["outcome"], treated=frame["treated_group"].astype(bool))
    means = frame.groupby(["year", "treated"])["y"].mean().unstack("treated")
    means = means.rename(columns={True: "treated", False: "control"})
    if index_year is not None:
        means = means / means.loc[index_year] * 100
    return means


def trends_figure(frame: pd.DataFrame, label: str, unit_label: str, path: str | os.PathLike,
                  index_year: int | None = None) -> Path:
    """Treated vs control means by year, pilot period 2015-2016 shaded."""
    _style()
    import matplotlib.pyplot as plt

    means = group_means(frame, index_year)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.axvspan(2014.5, 2016.5, color="0.9", label="pilot period")
    ax.plot(means.index, means["treated"], color="#D55E00", marker="o", label="pilot municipalities")
    ax.plot(means.index, means["control"], color="#0072B2", marker="s", linestyle="--", label="controls")
    ax.set_xlabel("year")
    ax.set_ylabel(unit_label)
    ax.set_title(label if index_year is None else f"{label} (index {index_year} = 100)", fontsize=10)
    ax.legend(frameon=False)
    return _save(fig, path)


def event_study_figure(rows: list[dict], label: str, unit_label: str, path: str | os.PathLike) -> Path:
    """Event-study coefficients with confidence intervals (reference year 2014 = 0)."""
    _style()
    import matplotlib.pyplot as plt

    es = pd.DataFrame(rows).sort_values("event_time")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.axhline(0, color="0.4", linewidth=0.8)
    ax.axvline(-0.5, color="0.6", linestyle=":")
    if es["ci_low"].notna().any():
        ax.vlines(es["event_time"], es["ci_low"], es["ci_high"], color="#0072B2")
    ax.plot(es["event_time"], es["estimate"], "o", color="#0072B2")
    ax.set_xlabel("years since 2015 (reference 2014)")
    ax.set_ylabel(f"effect, {unit_label}")
    ax.set_title(f"Event study: {label}", fontsize=10)
    return _save(fig, path)
