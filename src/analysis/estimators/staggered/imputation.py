"""Borusyak, Jaravel & Spiess (2024) imputation estimator (balanced panel, unit + period FE).

Step 1: fit Y_it = a_i + b_t on untreated observations (never treated and not yet treated,
minus ``anticipation`` periods). Step 2: tau_it = Y_it - a_i - b_t for treated observations.
Step 3: average tau (overall and by horizon). The estimator is linear in Y (weights v_it), and
its SE is BJS's conservative clustered variance sum_i (sum_t v_it e_it)^2, with e_it the
step-1 residuals for untreated observations and tau_it minus its cohort x horizon mean for
treated ones (BJS Theorem 3 with the default cohort-by-horizon partition).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InputError
from analysis.estimators.staggered._common import wide_panel
from analysis.results import Design, EstimationResult


def _fe_design(n, T):
    U = np.kron(np.eye(n), np.ones((T, 1)))
    Tm = np.kron(np.ones((n, 1)), np.eye(T))[:, 1:]
    return np.hstack([U, Tm])


def imputation(data: pd.DataFrame, *, yname: str, tname: str, idname: str, gname: str,
               anticipation: int = 0, horizons=None, alp: float = 0.05) -> EstimationResult:
    """Params: ``att`` (mean of all treated tau_it) then ``e=...`` for each horizon >= 0."""
    _, times, Y, G = wide_panel(data, yname=yname, tname=tname, idname=idname, gname=gname)
    n, T = Y.shape
    E = times[None, :] - G[:, None]  # event time (-inf for never treated)
    treated = E >= 0
    untreated = E < -anticipation
    if not treated.any():
        raise InputError("no treated observation")
    y = Y.reshape(-1)
    Z = _fe_design(n, T)
    tr, un = treated.reshape(-1), untreated.reshape(-1)
    Z0, Z1 = Z[un], Z[tr]
    # units treated in every observed period have no untreated data: not imputable
    unit_has0 = untreated.any(axis=1)
    ok1 = np.repeat(unit_has0, T)[tr]
    warns = []
    if not ok1.all():
        warns.append(f"{int((~ok1).sum())} treated observation(s) of always-treated units dropped")
    Z0tZ0_pinv = np.linalg.pinv(Z0.T @ Z0)
    coef = Z0tZ0_pinv @ Z0.T @ y[un]
    tau = y[tr] - Z1 @ coef
    resid0 = y[un] - Z0 @ coef
    e_tr = E.reshape(-1)[tr]
    g_tr = np.repeat(G, T)[tr]
    unit_idx = np.repeat(np.arange(n), T)
    # conservative residuals for treated obs: tau minus its cohort x horizon mean
    cell = pd.Series(tau[ok1]).groupby([g_tr[ok1], e_tr[ok1]]).transform("mean").to_numpy()
    eps_tr = np.zeros(tr.sum()); eps_tr[ok1] = tau[ok1] - cell
    hs = np.unique(e_tr[ok1]) if horizons is None else np.asarray(horizons, dtype=float)
    targets = [("att", ok1)] + [(f"e={h:g}", ok1 & (e_tr == h)) for h in hs]
    names, est, se, rows = [], [], [], []
    z = stats.norm.ppf(1 - alp / 2)
    for name, m in targets:
        if not m.any():
            continue
        w1 = m / m.sum()
        v0 = -Z0 @ (Z0tZ0_pinv @ (Z1.T @ w1))
        contrib = np.zeros(n)
        np.add.at(contrib, unit_idx[tr], w1 * eps_tr)
        np.add.at(contrib, unit_idx[un], v0 * resid0)
        est.append(float(w1 @ tau)); se.append(float(np.sqrt((contrib**2).sum()))); names.append(name)
        if name != "att":
            rows.append({"event_time": float(name[2:]), "estimate": est[-1], "se": se[-1],
                         "ci_lower": est[-1] - z * se[-1], "ci_upper": est[-1] + z * se[-1]})
    design = Design(estimator="imputation_bjs", inference="BJS conservative clustered (unit)",
                    n_units=n, n_treated_units=int(np.isfinite(G).sum()), n_periods=T,
                    n_clusters=n, cluster=idname, control_pool="never and not-yet treated",
                    outcome=yname, years=(int(times[0]), int(times[-1])),
                    extra={"anticipation": anticipation})
    return EstimationResult(dict(zip(names, est)), dict(zip(names, se)), design, nobs=n * T,
                            warnings=warns, details={"event_study": rows})
