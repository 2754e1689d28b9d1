"""Inference across specifications (Simonsohn, Simmons & Nelson 2020, "Specification curve
analysis", Nature Human Behaviour 4: 1208-1214).

Descriptive curve statistics come from each specification's own inference (its row). The joint
test compares three statistics of the observed curve with their distributions over placebo
draws, each draw applied to every specification (matrix ``B``: row 0 observed, rows 1..D
placebo, one column per specification):

- the median estimate (two-sided: ``|median_d| >= |median_0|``);
- the share of specifications significant and positive, and significant and negative
  (one-sided: ``share_d >= share_0``);
- the share significant in either direction.

Significance inside the test is the specification's randomization p-value over the same draws,
``p_ds = #{d' : |B_d's| >= |B_ds|} / (D + 1)``, so that observed and placebo curves are judged
alike. Joint p-values are ``(1 + #{d >= 1 : stat_d >= stat_0}) / (D + 1)``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def rank_pvalues(B: np.ndarray) -> np.ndarray:
    """Per cell the two-sided randomization p-value of its column (draws x specifications)."""
    A = np.abs(B)
    n = A.shape[0]
    out = np.empty_like(A)
    for s in range(A.shape[1]):
        col = np.sort(A[:, s])
        out[:, s] = (n - np.searchsorted(col, A[:, s] * (1 - 1e-12) - 1e-14, side="left")) / n
    return out


def joint_test(B: np.ndarray, alpha: float = 0.05) -> dict:
    """Observed curve statistics, their placebo distributions' summaries and joint p-values."""
    B = np.asarray(B, dtype=float)
    if B.ndim != 2 or B.shape[0] < 2 or B.shape[1] < 1:
        return {"reason": "no specification has placebo draws"}
    P = rank_pvalues(B)
    sig = P < alpha
    stats = {
        "median_estimate": np.median(B, axis=1),
        "share_significant_positive": np.mean(sig & (B > 0), axis=1),
        "share_significant_negative": np.mean(sig & (B < 0), axis=1),
        "share_significant": np.mean(sig, axis=1),
    }
    n = B.shape[0]
    out: dict = {"draws": int(n - 1), "n_specifications": int(B.shape[1]), "alpha": alpha,
                 "significance": "randomization p-value over the joint test's placebo draws",
                 "statistics": {}}
    for name, values in stats.items():
        obs, placebo = float(values[0]), values[1:]
        if name == "median_estimate":
            exceed = np.abs(placebo) >= abs(obs) * (1 - 1e-12) - 1e-14
            sided = "two-sided"
        else:
            exceed = placebo >= obs - 1e-12
            sided = "one-sided (greater)"
        out["statistics"][name] = {
            "observed": obs, "p_value": float((1 + exceed.sum()) / n), "test": sided,
            "placebo_mean": float(placebo.mean()),
            "placebo_q025": float(np.quantile(placebo, 0.025)),
            "placebo_q975": float(np.quantile(placebo, 0.975)),
        }
    return out


def curve_summary(rows: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Descriptive statistics of the estimated specifications from their own inference."""
    est = rows[rows["status"] == "estimated"]
    if est.empty:
        return {"n_estimated": 0}
    p = est["p_value"]
    has_p = p.notna()
    sig = has_p & (p < alpha)
    out = {
        "n_estimated": int(len(est)),
        "median_estimate": float(est["estimate"].median()),
        "min_estimate": float(est["estimate"].min()),
        "max_estimate": float(est["estimate"].max()),
        "share_negative": float((est["estimate"] < 0).mean()),
        "n_with_p_value": int(has_p.sum()),
        "share_significant_positive": float((sig & (est["estimate"] > 0)).sum() / max(has_p.sum(), 1)),
        "share_significant_negative": float((sig & (est["estimate"] < 0)).sum() / max(has_p.sum(), 1)),
        "alpha": alpha,
        "by_estimator": {},
    }
    for name, g in est.groupby("estimator", sort=True):
        gp = g["p_value"]
        out["by_estimator"][name] = {
            "n": int(len(g)), "median_estimate": float(g["estimate"].median()),
            "share_significant": (float((gp < alpha).sum() / gp.notna().sum())
                                  if gp.notna().any() else None),
        }
    return out


def clean(obj):
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
