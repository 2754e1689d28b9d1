"""Sun & Abraham (2021) interaction-weighted (IW) event-study estimator (balanced panel).

Regression of the outcome on unit and period fixed effects and cohort x relative-period
indicators (relative period -1 omitted), with the never-treated units as control (or, if there
are none, the last-treated cohort, dropping periods from its adoption on). The cohort-specific
effects CATT(g,e) are averaged over cohorts with cohort-size weights (as fixest ``sunab``).
Cluster-robust (unit) CR1 covariance as fixest (fixed effects nested in clusters not counted).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InputError
from analysis.estimators.staggered._common import twoway_demean, wide_panel
from analysis.results import Design, EstimationResult


def sun_abraham(data: pd.DataFrame, *, yname: str, tname: str, idname: str, gname: str,
                alp: float = 0.05) -> EstimationResult:
    """IW event study. Params: ``att`` (cohort-size weighted average of post CATT(g,e)) then
    ``e=...``; ``details["catt"]`` the cohort-specific coefficients, ``details["event_study"]``."""
    _, times, Y, G = wide_panel(data, yname=yname, tname=tname, idname=idname, gname=gname)
    keep = ~(np.isfinite(G) & (G <= times[0]))
    Y, G = Y[keep], G[keep]
    warns = []
    if not np.isinf(G).any():
        last = G.max()
        warns.append(f"no never-treated units: cohort {last:g} used as control, periods >= {last:g} dropped")
        tk = times < last
        Y, times = Y[:, tk], times[tk]
        G = np.where(G == last, np.inf, G)
    n, T = Y.shape
    cohorts = np.unique(G[np.isfinite(G)])
    cells, cols = [], []
    for g in cohorts:
        for t in times:
            e = t - g
            if e == -1:
                continue
            cells.append((g, e))
            cols.append(((G == g)[:, None] & (times == t)[None, :]).astype(float))
    if not cells:
        raise InputError("no treated cohort")
    Xw = np.stack(cols, axis=2)  # n, T, K
    Xd = twoway_demean(Xw).reshape(n * T, -1)
    yd = twoway_demean(Y).reshape(n * T)
    XtX_inv = np.linalg.pinv(Xd.T @ Xd)
    b = XtX_inv @ Xd.T @ yd
    u = yd - Xd @ b
    K = Xd.shape[1]
    scores = (Xd * u[:, None]).reshape(n, T, K).sum(axis=1)
    c = n / (n - 1) * (n * T - 1) / (n * T - K)
    V = c * XtX_inv @ (scores.T @ scores) @ XtX_inv
    share = {g: (G == g).sum() for g in cohorts}
    cell_g = np.array([g for g, _ in cells])
    cell_e = np.array([e for _, e in cells])
    names, est, se, rows = [], [], [], []
    post = cell_e >= 0
    w = np.where(post, [share[g] for g in cell_g], 0.0)
    w = w / w.sum()
    names.append("att"); est.append(float(w @ b)); se.append(float(np.sqrt(w @ V @ w)))
    for e in np.unique(cell_e):
        m = cell_e == e
        w = np.where(m, [share[g] for g in cell_g], 0.0)
        w = w / w.sum()
        names.append(f"e={e:g}"); est.append(float(w @ b)); se.append(float(np.sqrt(w @ V @ w)))
        rows.append({"event_time": float(e), "estimate": est[-1], "se": se[-1]})
    z = stats.norm.ppf(1 - alp / 2)
    for r in rows:
        r["ci_lower"], r["ci_upper"] = r["estimate"] - z * r["se"], r["estimate"] + z * r["se"]
    rows.append({"event_time": -1.0, "estimate": 0.0, "se": None, "ci_lower": None, "ci_upper": None})
    rows.sort(key=lambda r: r["event_time"])
    catt = [{"group": float(g), "event_time": float(e), "estimate": float(bb), "se": float(np.sqrt(V[i, i]))}
            for i, (g, e, bb) in enumerate(zip(cell_g, cell_e, b))]
    design = Design(estimator="sun_abraham_iw", inference="cluster-robust CR1 (unit)",
                    n_units=n, n_treated_units=int(np.isfinite(G).sum()), n_periods=T,
                    n_clusters=n, cluster=idname, control_pool="never treated", outcome=yname,
                    years=(int(times[0]), int(times[-1])))
    return EstimationResult(dict(zip(names, est)), dict(zip(names, se)), design, nobs=n * T,
                            df_resid=n - 1, warnings=warns,
                            details={"event_study": rows, "catt": catt})
