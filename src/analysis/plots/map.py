"""Orientation map: pilot municipalities and comparison municipalities, one panel per model.

Polygons from the National Land Survey of Finland's municipal division (GeoJSON, WGS 84) are
drawn with matplotlib alone (no GIS dependency): longitude is scaled by the cosine of 64° N,
which keeps Finland's shape within a few percent at this scale.
"""
from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np

#: Colours (Okabe–Ito, as in :mod:`analysis.plots.style`) for the three roles on the map.
ROLE_STYLE = {
    "pilot": {"facecolor": "#D55E00", "label": "pilot municipality"},
    "comparison": {"facecolor": "#9ecae1", "label": "comparison municipality"},
    "other": {"facecolor": "#f2f2f2", "label": "not in the comparison"},
}
CREDIT = ("Boundaries: National Land Survey of Finland, municipal division 1.1.2023 "
          "(kuntajako 4500k), CC BY 4.0")
_COS = math.cos(math.radians(64.0))


def _rings(geometry: dict) -> list[np.ndarray]:
    kind, coords = geometry["type"], geometry["coordinates"]
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    return [np.asarray(poly[0], dtype=float) * (_COS, 1.0) for poly in polygons]


def read_boundaries(path: str | Path, code: str = "NATCODE") -> dict[str, list[np.ndarray]]:
    """``{code: [outer ring (x, y), ...]}`` from a GeoJSON feature collection."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {str(f["properties"][code]): _rings(f["geometry"]) for f in data["features"]}


def pilot_map(municipalities: dict[str, list[np.ndarray]], panels: list[tuple[str, dict[str, str]]],
              path: str | Path, regions: dict[str, list[np.ndarray]] | None = None,
              credit: str = CREDIT, ncols: int = 3):
    """Write a small-multiples map: one panel per ``(title, {code: role})``; roles as ROLE_STYLE.

    Drawn under matplotlib's default style whatever the global settings, so the file is the same
    byte for byte for the same input."""
    import matplotlib
    import matplotlib.style

    with matplotlib.style.context("default"):
        return _draw(municipalities, panels, path, regions, credit, ncols)


def _draw(municipalities, panels, path, regions, credit, ncols):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    nrows = max(1, math.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.45 * ncols, 4.1 * nrows), squeeze=False)
    for ax, (title, roles) in zip(axes.flat, panels):
        for role in ("other", "comparison", "pilot"):
            polys = [ring for code, rings in municipalities.items()
                     if roles.get(code, "other") == role for ring in rings]
            if polys:
                ax.add_collection(PolyCollection(polys, facecolors=ROLE_STYLE[role]["facecolor"],
                                                 edgecolors="white" if role != "other" else "#bdbdbd",
                                                 linewidths=0.15))
        if regions:
            ax.add_collection(PolyCollection([r for rings in regions.values() for r in rings],
                                             facecolors="none", edgecolors="#525252", linewidths=0.35))
        ax.autoscale_view()
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(textwrap.fill(title, 24), fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_axis_off()
    handles = [Patch(facecolor=s["facecolor"], edgecolor="#999999", label=s["label"])
               for s in ROLE_STYLE.values()]
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, fontsize=8,
               bbox_to_anchor=(0.5, 0.03))
    fig.text(0.5, 0.005, credit, ha="center", va="bottom", fontsize=6.5, color="#555555")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.95, bottom=0.08, wspace=0.02, hspace=0.12)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, metadata={"Software": None})
    plt.close(fig)
    return path
