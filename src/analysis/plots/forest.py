"""Forest plot of the headline estimates across models and outcomes.

One panel per unit kind (euros per inhabitant, percentage points, per 1,000 inhabitants), so
numbers in different units never share an axis. Each row is one (model, outcome): the
headline estimate with its 95% confidence interval under the headline inference, the marker
telling the verdict (filled: effect; open: no detectable effect; grey diamond: inconclusive).
The PNG is deterministic (no timestamp or software metadata).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..formatting import MINUS

#: Panel order and titles by unit kind.
UNIT_TITLES = {
    "eur_per_capita": {"en": "Euros per inhabitant", "fi": "Euroa asukasta kohden", "sv": "Euro per invånare"},
    "percent": {"en": "Percentage points", "fi": "Prosenttiyksikköä", "sv": "Procentenheter"},
    "per_1000": {"en": "Per 1,000 inhabitants", "fi": "1\u00a0000 asukasta kohden", "sv": "Per 1\u00a0000 invånare"},
    "persons": {"en": "Persons", "fi": "Henkilöä", "sv": "Personer"},
    "visits_per_capita": {"en": "Visits per inhabitant", "fi": "Käyntiä asukasta kohden",
                          "sv": "Besök per invånare"},
}
VERDICT_GROUPS = {
    "effect": {"en": "Effect", "fi": "Vaikutus", "sv": "Effekt"},
    "no_detectable_effect": {"en": "No detectable effect", "fi": "Ei havaittavaa vaikutusta",
                             "sv": "Ingen påvisbar effekt"},
    "inconclusive": {"en": "Inconclusive", "fi": "Ei johtopäätöstä", "sv": "Ingen slutsats"},
}


@dataclass(frozen=True)
class ForestRow:
    """One row of the forest plot."""

    label: str
    unit_kind: str
    estimate: float
    ci_low: float
    ci_high: float
    verdict: str


def _group(verdict: str) -> str:
    return verdict if verdict in ("effect", "no_detectable_effect") else "inconclusive"


def forest_figure(rows: Sequence[ForestRow], path: str | Path, lang: str = "en") -> Path | None:
    """Draw ``rows`` (rows with a non-finite estimate or interval are left out) and save a PNG
    at ``path``; return the path, or ``None`` when nothing is left to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .style import CONTROL_COLOR, TREATED_COLOR, apply_style
    from .trends import _save

    rows = [r for r in rows if all(isinstance(x, (int, float)) and math.isfinite(x)
                                   for x in (r.estimate, r.ci_low, r.ci_high))]
    if not rows:
        return None
    kinds = [k for k in UNIT_TITLES if any(r.unit_kind == k for r in rows)]
    kinds += sorted({r.unit_kind for r in rows} - set(kinds))
    panels = [(k, [r for r in rows if r.unit_kind == k]) for k in kinds]
    apply_style()
    plt.rcParams["axes.unicode_minus"] = True
    heights = [len(p) + 1.2 for _, p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, 0.5 * sum(heights) + 0.7),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    style = {"effect": dict(marker="s", color=TREATED_COLOR, markerfacecolor=TREATED_COLOR),
             "no_detectable_effect": dict(marker="o", color=CONTROL_COLOR, markerfacecolor="white"),
             "inconclusive": dict(marker="D", color="#666666", markerfacecolor="#BBBBBB")}
    seen = set()
    for ax, (kind, items) in zip(axes[:, 0], panels):
        ys = list(range(len(items)))[::-1]
        for y, r in zip(ys, items):
            g = _group(r.verdict)
            st = style[g]
            ax.plot([r.ci_low, r.ci_high], [y, y], color=st["color"], linewidth=2.0, solid_capstyle="butt")
            ax.plot([r.estimate], [y], linestyle="none", markersize=7, markeredgewidth=1.5,
                    label=VERDICT_GROUPS[g][lang] if g not in seen else None, **st)
            seen.add(g)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(ys, [r.label for r in items])
        ax.set_ylim(-0.7, len(items) - 0.3)
        ax.set_title(UNIT_TITLES.get(kind, {}).get(lang, kind), loc="left", fontsize=11)
        ax.tick_params(axis="y", labelsize=9)
        ax.tick_params(axis="x", labelsize=9)
        ax.grid(axis="y", visible=False)
        lo = min(min(r.ci_low for r in items), 0.0)
        hi = max(max(r.ci_high for r in items), 0.0)
        pad = 0.08 * (hi - lo or 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        if lang != "en":
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
                lambda x, _pos: f"{x:g}".replace("-", MINUS).replace(".", ",")))
    handles, labels = [], []
    for ax in axes[:, 0]:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    order = [VERDICT_GROUPS[g][lang] for g in ("effect", "no_detectable_effect", "inconclusive")]
    pairs = sorted(zip(labels, handles), key=lambda p: order.index(p[0]))
    fig.legend([h for _, h in pairs], [lab for lab, _ in pairs], loc="lower center", ncol=3, frameon=False,
               fontsize=9, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _save(fig, path)
