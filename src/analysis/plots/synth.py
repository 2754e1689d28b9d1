"""Synthetic control / SDID figures: treated vs synthetic path, gap plot, placebo gaps.

Inputs are :class:`analysis.results.EstimationResult` objects from
:func:`analysis.estimators.synthetic_control.synthetic_control` or
:func:`analysis.estimators.sdid.synthetic_did` (``details["path"]``, ``details["placebo"]``).
Colour-blind palette and styles from :mod:`analysis.plots.style`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .style import CONTROL_COLOR, SYNTHETIC, TREATED, TREATED_COLOR, apply_style


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        apply_style()
        _, ax = plt.subplots()
    return ax


def _path(result) -> pd.DataFrame:
    if "path" not in result.details:
        raise InputError("result has no details['path'] (not a synthetic control / SDID result)")
    return pd.DataFrame(result.details["path"])


def _mark_adoption(ax, result):
    t0 = result.details.get("adoption_time")
    if t0 is not None:
        ax.axvline(t0 - 0.5, color="#777777", linestyle="--", linewidth=1)


def plot_path(result, *, ax=None, ylabel: str | None = None, xlabel: str = "Year"):
    """Treated outcome and its synthetic counterpart by period."""
    ax = _axes(ax)
    p = _path(result)
    ax.plot(p.time, p.treated, **TREATED)
    ax.plot(p.time, p.synthetic, **SYNTHETIC)
    _mark_adoption(ax, result)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or result.design.outcome or "Outcome")
    ax.legend()
    return ax


def plot_gap(result, *, ax=None, ylabel: str = "Gap (treated − synthetic)", xlabel: str = "Year"):
    """Gap between the treated unit and its synthetic control by period."""
    ax = _axes(ax)
    p = _path(result)
    ax.plot(p.time, p.gap, color=TREATED_COLOR, marker="o", label="Treated − synthetic")
    ax.axhline(0, color="black", linewidth=0.8)
    _mark_adoption(ax, result)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_placebo_gaps(result, *, ax=None, max_pre_rmspe_ratio: float | None = 5.0,
                      ylabel: str = "Gap (unit − synthetic)", xlabel: str = "Year"):
    """In-space placebo gaps (grey) with the treated gap highlighted (ADH 2010, Fig. 4-7).

    Placebos whose pre-period RMSPE exceeds ``max_pre_rmspe_ratio`` times the treated unit's
    are dropped (ADH's convention); ``None`` keeps all.
    """
    pl = result.details.get("placebo")
    if pl is None or "gaps" not in pl:
        raise InputError("result has no in-space placebo gaps: estimate with inference='placebo'")
    ax = _axes(ax)
    p = _path(result)
    times = np.asarray(pl["times"])
    t0 = result.details.get("adoption_time", np.inf)
    pre = times < t0
    tr_pre = np.sqrt(np.mean(p.gap.to_numpy()[pre] ** 2))
    shown = 0
    gaps = pl["gaps"]  # by donor (single-unit placebos) or a list (shaped placebo groups)
    for gap in (gaps.values() if isinstance(gaps, dict) else gaps):
        g = np.asarray(gap)
        if max_pre_rmspe_ratio is not None and np.sqrt(np.mean(g[pre] ** 2)) > max_pre_rmspe_ratio * tr_pre:
            continue
        ax.plot(times, g, color=CONTROL_COLOR, alpha=0.35, linewidth=1,
                label=("Placebo (donor)" if isinstance(gaps, dict) else "Placebo group")
                if shown == 0 else None)
        shown += 1
    ax.plot(p.time, p.gap, color=TREATED_COLOR, linewidth=2.5, label="Treated")
    ax.axhline(0, color="black", linewidth=0.8)
    _mark_adoption(ax, result)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"In-space placebos (p = {pl['p_value']:.3f}, min {pl['min_p_value']:.3f})")
    ax.legend()
    return ax
