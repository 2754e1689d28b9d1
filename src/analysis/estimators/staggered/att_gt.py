"""Callaway & Sant'Anna (2021) group-time average treatment effects ATT(g,t).

Follows R ``did`` 2.5.0 (``att_gt`` / ``compute.att_gt``) and ``DRDID`` 1.x for balanced
panels:

* comparison group: never-treated (``gname`` 0/NaN) or not-yet-treated
  (``G > max(t, base) + anticipation``, own cohort excluded);
* base period ``"varying"`` (pre-periods: t vs t-1; post: g-1-anticipation) or
  ``"universal"`` (always g-1-anticipation; the base cell is reported as 0 with no SE);
* estimators: ``"dr"`` doubly robust as R did uses it (Sant'Anna & Zhao 2020,
  ``DRDID::drdid_panel``: logit score, OLS outcome regression; this is what reproduces the
  R did figures), ``"dr_imp"`` the improved DR (``drdid_imp_panel``: propensity score by
  inverse probability tilting, weighted outcome regression; same point estimate without
  covariates), ``"ipw"``
  (normalised IPW, ``std_ipw_did_panel``) and ``"reg"`` (outcome regression, ``reg_did_panel``);
* influence functions per unit; analytic SEs ``sqrt(mean(psi^2)/n)`` (clustered at the unit,
  or at a coarser time-invariant ``clustervars`` column by summing within cluster);
* multiplier bootstrap (Rademacher weights, IQR-based SE, sup-t uniform band) as ``mboot``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InputError, choices_message
from analysis.results import Design, EstimationResult

_CONTROL = ("nevertreated", "notyettreated")
_EST = ("dr", "dr_imp", "ipw", "reg")
_BASE = ("varying", "universal")


# --------------------------------------------------------------------------------------
# 2x2 panel DiD estimators with influence functions (DRDID)
# --------------------------------------------------------------------------------------
def _wls(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> np.ndarray:
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    return beta


def _logit(D: np.ndarray, X: np.ndarray, w: np.ndarray, maxit: int = 100) -> np.ndarray:
    beta = np.zeros(X.shape[1])
    for _ in range(maxit):
        p = 1.0 / (1.0 + np.exp(-(X @ beta)))
        grad = X.T @ (w * (D - p))
        H = (X * (w * p * (1 - p))[:, None]).T @ X
        step = np.linalg.solve(H, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    return beta


def _ipt(D: np.ndarray, X: np.ndarray, w: np.ndarray, maxit: int = 200) -> np.ndarray:
    """Calibrated propensity score (Graham, Pinto & Egel 2012) as DRDID ``loss.ps.cal``.

    Minimises mean(w * (-D * x'g + (1-D) * exp(x'g))) by Newton's method (convex).
    Start from the logit fit as DRDID does.
    """
    g = _logit(D, X, w)
    n = len(D)

    def loss(gam):
        xb = X @ gam
        return -np.mean(np.where(D == 1, xb, -np.exp(xb)) * w)

    for _ in range(maxit):
        xb = X @ g
        e = np.exp(xb)
        grad = -np.mean((np.where(D == 1, 1.0, -e) * w)[:, None] * X, axis=0)
        H = (X * (np.where(D == 1, 0.0, e) * w)[:, None]).T @ X / n
        step = np.linalg.solve(H, grad)
        t = 1.0
        f0 = loss(g)
        while loss(g - t * step) > f0 + 1e-14 and t > 1e-8:
            t /= 2
        g = g - t * step
        if np.max(np.abs(t * step)) < 1e-12:
            break
    return g


def drdid_imp_panel(dy, D, X, w=None):
    """Improved locally efficient DR DiD (Sant'Anna & Zhao 2020), panel. Returns (att, psi)."""
    n = len(dy)
    w = np.ones(n) if w is None else w / np.mean(w)
    gam = _ipt(D, X, w)
    ps = np.minimum(1.0 / (1.0 + np.exp(-(X @ gam))), 1 - 1e-6)
    wc = w * ps / (1 - ps)
    ctrl = D == 0
    beta = _wls(dy[ctrl], X[ctrl], wc[ctrl])
    out = X @ beta
    w_t = w * D
    w_c = w * ps * (1 - D) / (1 - ps)
    a_t = w_t * (dy - out)
    a_c = w_c * (dy - out)
    eta_t = np.mean(a_t) / np.mean(w_t)
    eta_c = np.mean(a_c) / np.mean(w_c)
    psi = (a_t - w_t * eta_t) / np.mean(w_t) - (a_c - w_c * eta_c) / np.mean(w_c)
    return eta_t - eta_c, psi


def drdid_panel(dy, D, X, w=None):
    """Locally efficient DR DiD (Sant'Anna & Zhao 2020 eq. 3.1, DRDID ``drdid_panel``):
    logit propensity score, OLS outcome regression on controls. Returns (att, psi)."""
    n = len(dy)
    w = np.ones(n) if w is None else w / np.mean(w)
    gam = _logit(D, X, w)
    p_raw = 1.0 / (1.0 + np.exp(-(X @ gam)))
    ps = np.minimum(p_raw, 1 - 1e-6)
    ctrl = D == 0
    beta = _wls(dy[ctrl], X[ctrl], w[ctrl])
    out = X @ beta
    w_t = w * D
    w_c = w * ps * (1 - D) / (1 - ps)
    a_t = w_t * (dy - out)
    a_c = w_c * (dy - out)
    eta_t = np.mean(a_t) / np.mean(w_t)
    eta_c = np.mean(a_c) / np.mean(w_c)
    w_ols = w * (1 - D)
    XpX_inv = np.linalg.inv((w_ols[:, None] * X).T @ X / n)
    alr_wols = (w_ols * (dy - out))[:, None] * X @ XpX_inv
    score = (w * (D - ps))[:, None] * X
    vcov = np.linalg.inv((X * (w * p_raw * (1 - p_raw))[:, None]).T @ X)
    alr_ps = score @ (vcov * n)
    inf_t = ((a_t - w_t * eta_t) - alr_wols @ np.mean(w_t[:, None] * X, axis=0)) / np.mean(w_t)
    M2 = np.mean((w_c * (dy - out - eta_c))[:, None] * X, axis=0)
    M3 = np.mean(w_c[:, None] * X, axis=0)
    inf_c = ((a_c - w_c * eta_c) + alr_ps @ M2 - alr_wols @ M3) / np.mean(w_c)
    return eta_t - eta_c, inf_t - inf_c


def reg_did_panel(dy, D, X, w=None):
    """Outcome-regression DiD (Heckman, Ichimura & Todd 1997), panel. Returns (att, psi)."""
    n = len(dy)
    w = np.ones(n) if w is None else w / np.mean(w)
    ctrl = D == 0
    beta = _wls(dy[ctrl], X[ctrl], w[ctrl])
    out = X @ beta
    w_t = w * D
    w_c = w * D
    r_t = w_t * dy
    r_c = w_c * out
    eta_t = np.mean(r_t) / np.mean(w_t)
    eta_c = np.mean(r_c) / np.mean(w_c)
    w_ols = w * (1 - D)
    XpX_inv = np.linalg.inv((w_ols[:, None] * X).T @ X / n)
    alr = (w_ols * (dy - out))[:, None] * X @ XpX_inv
    inf_t = (r_t - w_t * eta_t) / np.mean(w_t)
    M1 = np.mean(w_c[:, None] * X, axis=0)
    inf_c = ((r_c - w_c * eta_c) + alr @ M1) / np.mean(w_c)
    return eta_t - eta_c, inf_t - inf_c


def std_ipw_did_panel(dy, D, X, w=None):
    """Normalised (Hajek) IPW DiD (Abadie 2005), panel. Returns (att, psi)."""
    n = len(dy)
    w = np.ones(n) if w is None else w / np.mean(w)
    gam = _logit(D, X, w)
    p_raw = 1.0 / (1.0 + np.exp(-(X @ gam)))
    ps = np.minimum(p_raw, 1 - 1e-6)
    w_t = w * D
    w_c = w * ps * (1 - D) / (1 - ps)
    a_t = w_t * dy
    a_c = w_c * dy
    eta_t = np.mean(a_t) / np.mean(w_t)
    eta_c = np.mean(a_c) / np.mean(w_c)
    score = (w * (D - ps))[:, None] * X
    vcov = np.linalg.inv((X * (w * p_raw * (1 - p_raw))[:, None]).T @ X)
    alr_ps = score @ (vcov * n)
    inf_t = (a_t - w_t * eta_t) / np.mean(w_t)
    inf_c = (a_c - w_c * eta_c) / np.mean(w_c)
    M2 = np.mean((w_c * (dy - eta_c))[:, None] * X, axis=0) / np.mean(w_c)
    inf_c = inf_c + alr_ps @ M2
    return eta_t - eta_c, inf_t - inf_c


_ESTIMATORS = {"dr": drdid_panel, "dr_imp": drdid_imp_panel, "reg": reg_did_panel, "ipw": std_ipw_did_panel}


# --------------------------------------------------------------------------------------
# multiplier bootstrap
# --------------------------------------------------------------------------------------
def _cluster_sum(psi: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    if cluster is None:
        return psi
    codes, uniq = pd.factorize(cluster)
    out = np.zeros((len(uniq),) + psi.shape[1:])
    np.add.at(out, codes, psi)
    return out


def analytic_se(psi: np.ndarray, cluster: np.ndarray | None = None) -> np.ndarray:
    """SE from an (n x k) influence-function matrix, as R did: sqrt(mean(psi^2)/n).

    With a coarser ``cluster`` (one label per unit) the per-cluster sums are used.
    """
    psi = np.atleast_2d(psi.T).T
    n = psi.shape[0]
    if cluster is None:
        return np.sqrt(np.sum(psi**2, axis=0)) / n
    s = _cluster_sum(psi, cluster)
    return np.sqrt(np.sum(s**2, axis=0)) / n


def mboot(psi: np.ndarray, *, biters: int = 1000, alp: float = 0.05, seed: int = 0,
          cluster: np.ndarray | None = None) -> tuple[np.ndarray, float, np.ndarray]:
    """Multiplier bootstrap as R did ``mboot`` (Rademacher weights).

    Returns (se, uniform critical value, bootstrap draws of sqrt(n)*(theta*-theta)).
    Columns with zero variance get se NaN and are skipped in the sup-t statistic.
    """
    psi = np.atleast_2d(psi.T).T
    if cluster is not None:
        # R: average the influence function within cluster, n = number of clusters
        codes, uniq = pd.factorize(cluster)
        counts = np.bincount(codes).astype(float)
        psi = _cluster_sum(psi, cluster) / counts[:, None]
    n = psi.shape[0]
    rng = np.random.default_rng(seed)
    V = rng.choice(np.array([-1.0, 1.0]), size=(biters, n))
    bres = math.sqrt(n) * (V @ psi) / n
    q75 = np.quantile(bres, 0.75, axis=0, method="inverted_cdf")
    q25 = np.quantile(bres, 0.25, axis=0, method="inverted_cdf")
    bsigma = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    ok = bsigma > math.sqrt(np.finfo(float).eps) * 10
    se = np.where(ok, bsigma / math.sqrt(n), np.nan)
    if ok.any():
        bT = np.max(np.abs(bres[:, ok] / bsigma[ok]), axis=1)
        crit = float(np.quantile(bT, 1 - alp, method="inverted_cdf"))
    else:
        crit = float("nan")
    return se, crit, bres


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    units: np.ndarray
    times: np.ndarray
    Y: np.ndarray  # n x T
    G: np.ndarray  # n (0 = never -> inf)
    X: np.ndarray  # n x k (intercept + covariates, base-period values)
    cluster: np.ndarray | None


def _prepare(data, yname, tname, idname, gname, covariates, clustervars) -> _Prepared:
    cols = [yname, tname, idname, gname, *covariates] + (
        [clustervars] if clustervars else [])
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise InputError(f"column(s) not found: {', '.join(missing)}")
    df = data[cols].copy()
    df[gname] = pd.to_numeric(df[gname], errors="coerce").fillna(0)
    df[tname] = pd.to_numeric(df[tname], errors="raise")
    if df[[yname, *covariates]].isna().any().any():
        bad = df.loc[df[[yname, *covariates]].isna().any(axis=1), idname].unique()
        df = df[~df[idname].isin(bad)]
        if df.empty:
            raise InputError("no complete observations")
    if df.duplicated([idname, tname]).any():
        raise InputError(f"duplicate ({idname}, {tname}) rows: panel must have one row per unit-period")
    if df.groupby(idname)[gname].nunique().max() > 1:
        raise InputError(f"{gname} must be constant within each unit")
    wide = df.pivot(index=idname, columns=tname, values=yname)
    if wide.isna().any().any():
        # balance the panel as R did (panel=TRUE drops units with missing periods)
        wide = wide.dropna()
    if len(wide) == 0:
        raise InputError("no unit is observed in every period (balanced panel required)")
    times = np.asarray(wide.columns, dtype=float)
    first = df.sort_values(tname).groupby(idname).first().loc[wide.index]
    G = first[gname].to_numpy(dtype=float)
    if covariates:
        Xc = first[list(covariates)].to_numpy(dtype=float)
        X = np.column_stack([np.ones(len(G)), Xc])
    else:
        X = np.ones((len(G), 1))
    cl = first[clustervars].to_numpy() if clustervars and clustervars != idname else None
    return _Prepared(np.asarray(wide.index), times, wide.to_numpy(dtype=float), G, X, cl)


class AttGtResult(EstimationResult):
    """Group-time ATTs with influence functions; input to :func:`aggte`."""

    def __init__(self, *args, groups, times, inffunc, G, cluster, options, crit_val, **kw):
        super().__init__(*args, **kw)
        self.groups = np.asarray(groups, dtype=float)
        self.times = np.asarray(times, dtype=float)
        self.inffunc = inffunc
        self.G = G
        self.cluster = cluster
        self.options = options
        self.crit_val = crit_val

    @property
    def n_units(self) -> int:
        return self.inffunc.shape[0]

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:  # tidy group/time table
        ci = self.conf_int(level)
        return pd.DataFrame({
            "group": self.groups.astype(int), "time": self.times.astype(int),
            "att": self.params.to_numpy(), "se": self.std_errors.to_numpy(),
            "ci_lower": ci["lower"].to_numpy(), "ci_upper": ci["upper"].to_numpy(),
        }, index=self.params.index)

    def pretest(self):
        from analysis.estimators.staggered.pretest import pretest
        return pretest(self)


def _last_treated_as_control(P: _Prepared, G: np.ndarray, anticipation: int):
    """Without never-treated units, R ``did`` (``pre_process_did``) makes the last-treated
    cohort the comparison group: periods from its first treated period (less anticipation) on
    are dropped and its units count as never treated."""
    g_last = float(G.max())
    keep_t = P.times < g_last - anticipation
    if keep_t.sum() < 2:
        raise InputError(f"no never-treated units, and fewer than two periods before the last "
                         f"cohort's first treated period ({g_last:g}): nothing to compare")
    order = np.argsort(P.times)
    if not np.array_equal(order, np.arange(len(P.times))):  # pragma: no cover - wide_panel sorts
        raise InputError("internal: periods are not sorted")
    G = np.where(G == g_last, np.inf, G)
    P = _Prepared(P.units, P.times[keep_t], P.Y[:, keep_t], G, P.X, P.cluster)
    note = (f"no never-treated units: the last-treated cohort (g={g_last:g}) is the comparison "
            f"group and periods from {g_last - anticipation:g} on are dropped (as R did)")
    return P, G, note


def att_gt(
    data: pd.DataFrame, *, yname: str, tname: str, idname: str, gname: str,
    xformla: Sequence[str] | None = None, covariates: Sequence[str] = (),
    control_group: str = "nevertreated", est_method: str = "dr",
    base_period: str = "varying", anticipation: int = 0, clustervars: str | None = None,
    bstrap: bool = False, biters: int = 1000, cband: bool = False, alp: float = 0.05,
    seed: int = 0, panel: bool = True,
) -> AttGtResult:
    """Callaway & Sant'Anna (2021) ATT(g,t) on a balanced panel (R ``did::att_gt`` defaults
    except ``bstrap=False, cband=False``: analytic SEs unless asked).

    ``gname`` holds each unit's first treated period; 0 or missing = never treated.
    ``xformla``/``covariates``: names of time-invariant covariates (base-period values used).
    """
    if control_group not in _CONTROL:
        raise InputError(choices_message("control_group", control_group, _CONTROL))
    if est_method not in _EST:
        raise InputError(choices_message("est_method", est_method, _EST))
    if base_period not in _BASE:
        raise InputError(choices_message("base_period", base_period, _BASE))
    if not panel:
        raise InputError("repeated cross-sections (panel=False) are not implemented")
    covs = tuple(xformla) if xformla else tuple(covariates)
    covs = tuple(c for c in covs if c not in ("1", ""))
    P = _prepare(data, yname, tname, idname, gname, covs, clustervars)
    tlist = np.sort(P.times)
    G = np.where(P.G == 0, np.inf, P.G)
    warns: list[str] = []
    early = np.isfinite(G) & (G <= tlist[0] + anticipation)
    if early.any():
        warns.append(f"dropped {int(early.sum())} unit(s) already treated in the first period")
        keep = ~early
        P = _Prepared(P.units[keep], P.times, P.Y[keep], P.G[keep], P.X[keep],
                      None if P.cluster is None else P.cluster[keep])
        G = G[keep]
    if not np.isfinite(G).any():
        raise InputError("no treated cohort")
    if not np.isinf(G).any():
        if control_group == "nevertreated":
            raise InputError("no never-treated units; use control_group='notyettreated' (the "
                             "last-treated cohort is then the comparison group)")
        P, G, note = _last_treated_as_control(P, G, anticipation)
        warns.append(note)
        tlist = np.sort(P.times)
    glist = np.sort(np.unique(G[np.isfinite(G)]))
    if len(glist) == 0:
        raise InputError("no treated cohort left besides the last-treated comparison cohort")
    n = len(G)
    est = _ESTIMATORS[est_method]
    tcol = {t: j for j, t in enumerate(tlist)}
    tfac = 0 if base_period == "universal" else 1
    out_g, out_t, atts, infs = [], [], [], []
    for g in glist:
        pre_g = np.nonzero(tlist + anticipation < g)[0]
        if len(pre_g) == 0:
            continue
        g_base = pre_g[-1]
        for ti in range(len(tlist) - tfac):
            tcur = tlist[ti + tfac]
            pret = ti if base_period == "varying" else g_base
            if g <= tcur:
                pret = g_base
            if base_period == "universal" and pret == ti + tfac:
                out_g.append(g); out_t.append(tcur); atts.append(0.0)
                infs.append(np.zeros(n))
                continue
            tbase = tlist[pret]
            if control_group == "nevertreated":
                C = np.isinf(G)
            else:
                C = np.isinf(G) | ((G > max(tcur, tbase) + anticipation) & (G != g))
            Dg = G == g
            sel = Dg | C
            if Dg.sum() == 0 or C.sum() == 0:
                warns.append(f"no units for g={g:g}, t={tcur:g}")
                out_g.append(g); out_t.append(tcur); atts.append(np.nan)
                infs.append(np.zeros(n))
                continue
            dy = P.Y[sel, tcol[tcur]] - P.Y[sel, tcol[tbase]]
            att, psi = est(dy, Dg[sel].astype(float), P.X[sel])
            full = np.zeros(n)
            full[sel] = (n / sel.sum()) * psi
            out_g.append(g); out_t.append(tcur); atts.append(att); infs.append(full)
    inffunc = np.column_stack(infs)
    cl = P.cluster
    se = analytic_se(inffunc, cl)
    crit = stats.norm.ppf(1 - alp / 2)
    if bstrap:
        se_b, crit_b, _ = mboot(inffunc, biters=biters, alp=alp, seed=seed, cluster=cl)
        se = se_b
        if cband:
            crit = crit_b
    se = np.where(se <= math.sqrt(np.finfo(float).eps) * 10, np.nan, se)
    names = [f"g={g:g},t={t:g}" for g, t in zip(out_g, out_t)]
    params = pd.Series(atts, index=names)
    ses = pd.Series(se, index=names)
    ci = pd.DataFrame({"lower": params - crit * ses, "upper": params + crit * ses})
    inference = ("multiplier bootstrap" + (" (uniform band)" if cband else "")
                 if bstrap else "analytic influence function")
    design = Design(
        estimator=f"callaway_santanna_{est_method}", inference=inference,
        n_units=n, n_treated_units=int(np.isfinite(G).sum()), n_periods=len(tlist),
        n_clusters=(len(np.unique(cl)) if cl is not None else n),
        cluster=clustervars or idname, control_pool=control_group,
        years=(int(tlist[0]), int(tlist[-1])), outcome=yname,
        extra={"base_period": base_period, "anticipation": anticipation,
               "covariates": list(covs), "critical_value": float(crit)},
    )
    options = dict(yname=yname, tname=tname, idname=idname, gname=gname,
                   control_group=control_group, est_method=est_method,
                   base_period=base_period, anticipation=anticipation, bstrap=bstrap,
                   biters=biters, cband=cband, alp=alp, seed=seed, tlist=tlist)
    return AttGtResult(
        params, ses, design, ci=ci, ci_level=1 - alp, warnings=warns, nobs=n * len(tlist),
        groups=out_g, times=out_t, inffunc=inffunc, G=G, cluster=cl, options=options,
        crit_val=float(crit),
    )
