"""Simulated staggered panel with heterogeneous, dynamic effects (for tests and benchmarks)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_staggered(n_units: int = 300, periods=range(2001, 2011), cohorts=(2004, 2006, 2008),
                       seed: int = 0, noise: float = 0.1) -> tuple[pd.DataFrame, dict]:
    """Long panel (unit, year, y, cohort; 0 = never). Effect of cohort g at event time e>=0:
    (1 + e) * slope_g, slope = 0.5, 0.3, 0.1 for the cohorts in order (earlier cohorts larger
    and growing effects: the case where TWFE is biased). Returns (frame, truth) where truth
    holds the true overall ATT over treated observations and the event-time ATTs."""
    rng = np.random.default_rng(seed)
    periods = np.asarray(list(periods))
    groups = np.array(list(cohorts) + [0])
    g = groups[rng.integers(0, len(groups), n_units)]
    slope = {c: s for c, s in zip(cohorts, np.linspace(0.5, 0.1, len(cohorts)))}
    a = rng.normal(0, 1, n_units)
    b = np.cumsum(rng.normal(0.1, 0.1, len(periods)))
    eff = np.zeros((n_units, len(periods)))
    for i in range(n_units):
        for j, t in enumerate(periods):
            if g[i] and t >= g[i]:
                eff[i, j] = (1 + t - g[i]) * slope[g[i]]
    y = a[:, None] + b[None, :] + eff + rng.normal(0, noise, (n_units, len(periods)))
    unit = np.repeat(np.arange(1, n_units + 1), len(periods))
    df = pd.DataFrame({"unit": unit, "year": np.tile(periods, n_units), "y": y.reshape(-1),
                       "cohort": np.repeat(g, len(periods))})
    E = periods[None, :] - np.where(g == 0, 10**6, g)[:, None]
    tr = E >= 0
    truth = {"att": float(eff[tr].mean()),
             "event": {int(e): float(eff[tr & (E == e)].mean()) for e in np.unique(E[tr])}}
    return df, truth
