"""One figure style for the whole evaluation: readable in print and on screen.

Colour-blind-safe palette (Okabe & Ito 2008), treated vs control marked by colour *and*
marker/line style (so that a greyscale print still separates them), font sizes that survive
being scaled to a page width. Call :func:`apply_style` once before plotting; use
:data:`TREATED` / :data:`CONTROL` (keyword dicts for ``plot``) for the two groups.
"""
from __future__ import annotations

from typing import Any

#: Okabe-Ito colour-blind-safe palette.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
PALETTE = [OKABE_ITO[k] for k in ("blue", "vermillion", "bluish_green", "orange",
                                  "reddish_purple", "sky_blue", "yellow", "black")]

TREATED_COLOR = OKABE_ITO["vermillion"]
CONTROL_COLOR = OKABE_ITO["blue"]
SYNTHETIC_COLOR = OKABE_ITO["bluish_green"]
#: Keyword arguments for ``Axes.plot`` of the treated (pilot) series.
TREATED: dict[str, Any] = {"color": TREATED_COLOR, "marker": "o", "linestyle": "-",
                           "linewidth": 2.0, "markersize": 5, "label": "Pilot (treated)"}
#: Keyword arguments for ``Axes.plot`` of the comparison series.
CONTROL: dict[str, Any] = {"color": CONTROL_COLOR, "marker": "s", "linestyle": "--",
                           "linewidth": 2.0, "markersize": 5, "label": "Comparison (control)"}
#: Keyword arguments for a synthetic-control path.
SYNTHETIC: dict[str, Any] = {"color": SYNTHETIC_COLOR, "marker": None, "linestyle": ":",
                             "linewidth": 2.2, "label": "Synthetic control"}
#: Shading of the pilot period 2015-2016 (``Axes.axvspan``).
PILOT_PERIOD: dict[str, Any] = {"color": "#999999", "alpha": 0.15, "linewidth": 0,
                                "label": "Pilot period 2015–2016"}
FIGSIZE = (7.0, 4.2)   # inches: fits an A4 text width at ~100 % scale
DPI = 150


def apply_style(context: str = "paper") -> None:
    """Set seaborn/matplotlib defaults: white grid, Okabe-Ito palette, legible font sizes."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context=context, style="whitegrid", palette=PALETTE, font_scale=1.1)
    mpl.rcParams.update({
        "figure.figsize": FIGSIZE,
        "figure.dpi": 100,
        "savefig.dpi": DPI,
        "savefig.bbox": "tight",
        "axes.titlesize": 13,
        "axes.labelsize": 12,
        "xtick.labelsize": 11,
        "ytick.labelsize": 11,
        "legend.fontsize": 10,
        "legend.frameon": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "lines.linewidth": 2.0,
    })


def mark_pilot_period(ax, start: float = 2014.5, end: float = 2016.5) -> None:
    """Shade the pilot years on a year axis (event-time users pass -0.5, 1.5)."""
    ax.axvspan(start, end, **PILOT_PERIOD)
