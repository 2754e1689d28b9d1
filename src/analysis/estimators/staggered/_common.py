"""Shared helpers for the staggered estimators: balanced wide panel from a long frame."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import InputError


def wide_panel(data: pd.DataFrame, *, yname: str, tname: str, idname: str, gname: str):
    """Return (units, times, Y[n,T], G[n] with never-treated = inf). Balanced panel required:
    units with a missing outcome in any period are dropped."""
    missing = [c for c in (yname, tname, idname, gname) if c not in data.columns]
    if missing:
        raise InputError(f"column(s) not found: {', '.join(missing)}")
    df = data[[yname, tname, idname, gname]].copy()
    df[gname] = pd.to_numeric(df[gname], errors="coerce").fillna(0)
    if df.duplicated([idname, tname]).any():
        raise InputError(f"duplicate ({idname}, {tname}) rows")
    if df.groupby(idname)[gname].nunique().max() > 1:
        raise InputError(f"{gname} must be constant within each unit")
    wide = df.pivot(index=idname, columns=tname, values=yname).dropna()
    if wide.empty:
        raise InputError("no unit observed in every period (balanced panel required)")
    g = df.groupby(idname)[gname].first().loc[wide.index].to_numpy(dtype=float)
    G = np.where(g == 0, np.inf, g)
    return np.asarray(wide.index), np.asarray(wide.columns, dtype=float), wide.to_numpy(float), G


def twoway_demean(M: np.ndarray) -> np.ndarray:
    """Two-way within transform of an (n, T[, k]) balanced array."""
    return M - M.mean(axis=1, keepdims=True) - M.mean(axis=0, keepdims=True) + M.mean(axis=(0, 1), keepdims=True)


def twfe_beta(Y: np.ndarray, D: np.ndarray) -> float:
    """Static TWFE coefficient of D (balanced panel)."""
    y, d = twoway_demean(Y), twoway_demean(D.astype(float))
    return float((d * y).sum() / (d * d).sum())
