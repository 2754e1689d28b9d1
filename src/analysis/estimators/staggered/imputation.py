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


class _FESolver:
    """Solve the normal equations of Y_it = a_i + b_t (b_first = 0) on the cells in mask M,
    via the Schur complement on the period block (O(n T^2), no dense design matrix)."""

    def __init__(self, M: np.ndarray):
        self.M = M.astype(float)
        self.c = self.M.sum(axis=1)
        self.cinv = np.where(self.c > 0, 1.0 / np.where(self.c > 0, self.c, 1), 0.0)
        M1 = self.M[:, 1:]
        S = np.diag(M1.sum(axis=0)) - M1.T @ (M1 * self.cinv[:, None])
        self.Sinv = np.linalg.pinv(S)

    def solve_rhs(self, ra: np.ndarray, rb: np.ndarray):
        M1 = self.M[:, 1:]
        b1 = self.Sinv @ (rb - M1.T @ (ra * self.cinv))
        a = (ra - M1 @ b1) * self.cinv
        return a, np.concatenate([[0.0], b1])

    def project(self, W: np.ndarray):
        """(a, b) = (Z0'Z0)^-1 Z' W for an n x T array W of cell values."""
        return self.solve_rhs(W.sum(axis=1), W[:, 1:].sum(axis=0))


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
    unit_has0 = untreated.any(axis=1)
    ok = treated & unit_has0[:, None]  # always-treated units have no untreated data
    warns = []
    if (treated & ~ok).any():
        warns.append(f"{int((treated & ~ok).sum())} treated observation(s) of always-treated units dropped")
    fe = _FESolver(untreated)
    a, b = fe.project(np.where(untreated, Y, 0.0))
    fit = a[:, None] + b[None, :]
    tau = np.where(ok, Y - fit, np.nan)
    resid0 = np.where(untreated, Y - fit, 0.0)
    # conservative residuals for treated obs: tau minus its cohort x horizon mean
    Gm = np.broadcast_to(G[:, None], E.shape)
    cellmean = pd.Series(tau[ok]).groupby([Gm[ok], E[ok]]).transform("mean").to_numpy()
    eps_tr = np.zeros_like(Y)
    eps_tr[ok] = tau[ok] - cellmean
    hs = np.unique(E[ok]) if horizons is None else np.asarray(horizons, dtype=float)
    targets = [("att", ok)] + [(f"e={h:g}", ok & (E == h)) for h in hs]
    names, est, se, rows = [], [], [], []
    z = stats.norm.ppf(1 - alp / 2)
    for name, m in targets:
        if not m.any():
            continue
        W1 = m / m.sum()
        av, bv = fe.project(W1)
        V0 = -np.where(untreated, av[:, None] + bv[None, :], 0.0)
        contrib = (W1 * eps_tr).sum(axis=1) + (V0 * resid0).sum(axis=1)
        est.append(float(np.nansum(W1 * np.where(ok, tau, 0.0))))
        se.append(float(np.sqrt((contrib**2).sum()))); names.append(name)
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
