"""Wald pre-test of parallel trends (R ``did``: the "P-value for pre-test of parallel trends
assumption" printed by ``summary(att_gt)``): H0 all pre-treatment ATT(g,t) = 0,
W = n * att_pre' V_pre^{-1} att_pre ~ chi2(#pre cells), V = psi'psi / n."""
from __future__ import annotations

import numpy as np
from scipy import stats


def pretest(res) -> dict:
    """Return {"W", "df", "pvalue", "pvalue_rounded"} (NaN with a note if not computable)."""
    att = res.params.to_numpy(dtype=float)
    se = res.std_errors.to_numpy(dtype=float)
    pre = np.nonzero((res.groups > res.times) & ~np.isnan(se) & ~np.isnan(att))[0]
    n = res.inffunc.shape[0]
    if len(pre) == 0:
        return {"W": float("nan"), "df": 0, "pvalue": float("nan"), "note": "no pre-periods"}
    V = res.inffunc[:, pre].T @ res.inffunc[:, pre] / n
    if np.linalg.cond(V) > 1 / np.finfo(float).eps:
        return {"W": float("nan"), "df": len(pre), "pvalue": float("nan"),
                "note": "singular covariance of pre-period ATT(g,t)"}
    a = att[pre]
    W = float(n * a @ np.linalg.solve(V, a))
    p = float(stats.chi2.sf(W, len(pre)))
    return {"W": W, "df": int(len(pre)), "pvalue": p, "pvalue_rounded": round(p, 5)}
