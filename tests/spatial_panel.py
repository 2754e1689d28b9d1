"""A simulated panel with spatially correlated shocks and treated clusters of neighbouring units.

Units sit at random points of a 300 x 600 km rectangle with a region label (a 3 x 4 grid of
blocks). Each year adds a smooth random field (a sum of low-frequency cosines) on top of unit
effects and iid noise, so neighbouring units share shocks: the situation where scattered
placebo units understate the variance of a treated group of neighbours.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree


def spatial_panel(n_units=300, years=range(2006, 2015), sizes=(8, 5, 3), field_sd=1.0,
                  noise_sd=0.3, effect=0.0, adoption=2012, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, y = rng.random(n_units) * 300, rng.random(n_units) * 600
    region = (x // 100).astype(int) * 4 + (y // 150).astype(int)
    years = list(years)
    alpha = rng.normal(scale=2.0, size=n_units)
    k = 6
    out = np.empty((n_units, len(years)))
    for t in range(len(years)):
        w = rng.normal(scale=1 / 120, size=(k, 2))
        phase = rng.uniform(0, 2 * np.pi, k)
        amp = rng.normal(scale=field_sd * np.sqrt(2 / k), size=k)
        field = (amp * np.cos(np.outer(x, w[:, 0]) + np.outer(y, w[:, 1]) + phase)).sum(axis=1)
        out[:, t] = alpha + field + rng.normal(scale=noise_sd, size=n_units)
    # treated clusters: a random seed unit and its nearest neighbours, disjoint
    tree = cKDTree(np.column_stack([x, y]))
    cluster = np.arange(n_units)
    taken = np.zeros(n_units, bool)
    for j, size in enumerate(sizes):
        while True:
            s = rng.integers(n_units)
            _, idx = tree.query([x[s], y[s]], k=size)
            idx = np.atleast_1d(idx)
            if not taken[idx].any():
                break
        taken[idx] = True
        cluster[idx] = 10_000 + j
    units = pd.DataFrame({"unit": np.arange(n_units), "x": x, "y": y, "region": region,
                          "cluster": cluster, "treated_group": taken.astype(int)})
    df = units.loc[units.index.repeat(len(years))].reset_index(drop=True)
    df["year"] = np.tile(years, n_units)
    df["outcome"] = out.ravel()
    df["treated"] = ((df.treated_group == 1) & (df.year >= adoption)).astype(int)
    df["outcome"] += effect * df["treated"]
    return df
