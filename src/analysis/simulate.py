"""Simulated panels with a known effect and unequal cluster sizes (for tests and power checks).

``simulate_panel`` draws a balanced unit x year panel: clusters of unequal size (the
treatment-assignment units), unit and year effects, a cluster-level shock per year (so errors
are correlated within clusters, the reason to cluster), idiosyncratic noise, and a constant
treatment effect ``effect`` from ``adoption`` on for the units of ``n_treated_clusters``
randomly chosen clusters. Deterministic given ``seed``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def cluster_sizes(n_clusters: int, *, max_size: int = 6, seed: int = 0) -> np.ndarray:
    """Unequal cluster sizes 1..max_size (at least one of each extreme when possible)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_size + 1, size=n_clusters)
    if n_clusters >= 2:
        sizes[0], sizes[1] = max_size, 1
    return sizes


def simulate_panel(
    *,
    n_clusters: int = 30,
    n_treated_clusters: int = 4,
    sizes: np.ndarray | None = None,
    years: range = range(2010, 2019),
    adoption: int = 2015,
    effect: float = 1.0,
    cluster_sd: float = 1.0,
    unit_sd: float = 1.0,
    noise_sd: float = 1.0,
    ar: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Long panel with columns unit, cluster, year, y, treated (0/1 row status), x (covariate).

    The cluster-year shock follows an AR(1) with coefficient ``ar`` (serial correlation).
    """
    rng = np.random.default_rng(seed)
    if sizes is None:
        sizes = cluster_sizes(n_clusters, seed=seed + 1)
    sizes = np.asarray(sizes)
    years = np.asarray(list(years))
    T = len(years)
    treated_clusters = rng.choice(n_clusters, size=n_treated_clusters, replace=False)
    unit_cluster = np.repeat(np.arange(n_clusters), sizes)
    n_units = len(unit_cluster)
    shock = np.empty((n_clusters, T))
    shock[:, 0] = rng.normal(0, cluster_sd, n_clusters)
    for t in range(1, T):
        shock[:, t] = ar * shock[:, t - 1] + np.sqrt(1 - ar**2) * rng.normal(0, cluster_sd, n_clusters)
    unit_fe = rng.normal(0, unit_sd, n_units)
    year_fe = rng.normal(0, 1, T)
    treated_unit = np.isin(unit_cluster, treated_clusters)
    post = years >= adoption
    d = (treated_unit[:, None] & post[None, :]).astype(int)
    x = rng.normal(0, 1, (n_units, T))
    y = (unit_fe[:, None] + year_fe[None, :] + shock[unit_cluster] + 0.5 * x
         + effect * d + rng.normal(0, noise_sd, (n_units, T)))
    return pd.DataFrame({
        "unit": np.repeat(np.arange(n_units), T),
        "cluster": np.repeat(unit_cluster, T),
        "year": np.tile(years, n_units),
        "y": y.ravel(),
        "treated": d.ravel(),
        "x": x.ravel(),
    })
