"""Honest confidence sets for event-study effects (Rambachan & Roth 2023, REStud 90(5)).

Event-study coefficients ``beta = tau + delta`` with ``delta`` the (unknown) violation of
parallel trends, normalised to 0 in the reference period (-1). ``delta_pre = beta_pre`` is
identified; the restriction on ``delta_post`` bounds the bias of ``theta = l' tau_post``.

Implemented constructions (stated exactly):

* ``method="relative_magnitude"`` (Delta^RM(Mbar)): post-period changes in the trend
  violation are at most ``Mbar`` times the largest pre-period change
  ``D = max_s |delta_{s+1} - delta_s|`` (including the step into the reference period).
  Then ``|delta_k| <= k * Mbar * D`` for post period k = 1, 2, ... and the bias of
  ``l' beta_post`` is at most ``Mbar * D * sum_k |l_k| k``. The interval is the
  *plug-in* union of conventional intervals over the estimated identified set:
  ``l'beta_post -/+ (Mbar * D_hat * sum |l_k| k + z_{1-alpha/2} se)``. It ignores sampling
  error in ``D_hat``; with ``Mbar = 0`` it equals the conventional interval exactly.
* ``method="smoothness"`` (Delta^SD(M)): second differences of delta bounded by ``M``. The
  optimal fixed-length confidence interval of Armstrong & Kolesar (2018), as HonestDiD's
  ``findOptimalFLCI``: over affine estimators ``w'beta_pre + l'beta_post`` (no constant;
  Delta^SD is centrosymmetric) choose ``w`` minimising the half-length
  ``sd(w) * cv_alpha(bias(w) / sd(w))``, ``cv_alpha(b)`` the 1-alpha quantile of ``|N(b, 1)|``
  and ``bias(w) = M * sum_j |c_j(w)|`` the exact worst-case bias (``c`` the estimator's
  loading on the second differences; ``w`` must remove linear trends). The problem is convex
  and solved directly with SLSQP (two starts, analytic gradients) instead of HonestDiD's
  grid over the sd bound, which gives the same optimum up to solver tolerance. ``M = 0`` gives
  the minimum-variance linear-trend-extrapolation estimator -/+ ``z_{1-alpha/2} sd``.

The breakdown value is the largest ``Mbar`` (``M``) on the grid whose interval excludes 0.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import InputError, choices_message

METHODS = ("relative_magnitude", "smoothness")


def _fold_normal_cv(bias: float, alpha: float) -> float:
    """1-alpha quantile of |N(bias, 1)|."""
    b = abs(bias)
    f = lambda c: stats.norm.cdf(c - b) - stats.norm.cdf(-c - b) - (1 - alpha)
    hi = b + stats.norm.ppf(1 - alpha / 2) + 10
    return float(optimize.brentq(f, 0.0, hi))


# ---------------------------------------------------------------------------------------------
# Smoothness: optimal fixed-length confidence interval (Armstrong & Kolesar 2018; HonestDiD
# findOptimalFLCI).  Positions: pre periods -T_pre..-1, reference 0 (delta_0 = 0), post 1..T_post.
# ---------------------------------------------------------------------------------------------

def _fold_normal_cv_grad(bias: float, alpha: float) -> tuple[float, float]:
    """cv_alpha(b) and its derivative d cv / d b (implicit function theorem)."""
    b = abs(bias)
    c = _fold_normal_cv(b, alpha)
    p, q = stats.norm.pdf(c - b), stats.norm.pdf(c + b)
    return c, float((p - q) / (p + q)) if p + q > 0 else 1.0


def _sd_bias_basis(num_pre: int, num_post: int) -> np.ndarray:
    """Matrix T with delta (without delta_0) = T @ (slope, second differences).

    ``slope = delta_1 - delta_0``; second differences ``delta_{t+1} - 2 delta_t + delta_{t-1}``
    for t = -T_pre+1 .. T_post-1.  Delta^SD(M) = {|second differences| <= M}, slope free.
    """
    n = num_pre + num_post + 1  # with delta_0
    z = num_pre  # index of position 0
    R = np.zeros((n, n))
    R[0, z] = 1.0
    R[1, z], R[1, z + 1] = -1.0, 1.0
    for r, t in enumerate(range(1, n - 1), start=2):
        R[r, t - 1], R[r, t], R[r, t + 1] = 1.0, -2.0, 1.0
    full = np.linalg.solve(R, np.eye(n))[:, 1:]  # delta = full @ (slope, d)
    return np.delete(full, z, axis=0)


def _flci_weights(sigma: np.ndarray, num_pre: int, l_vec: np.ndarray, M: float, alpha: float):
    """Optimal FLCI for Delta^SD(M): affine estimator ``w'beta_pre + l'beta_post``.

    Minimises the half-length ``sd(w) * cv_alpha(M B(w) / sd(w))`` with
    ``B(w) = sum_j |c_j(w)|`` the worst-case bias per unit M (``c`` the coefficients of the
    estimator's bias on the second differences) subject to invariance to linear trends
    (coefficient on the slope = 0).  The objective is convex (perspective of the convex ``cv``
    composed with convex ``B`` and ``sd``); solved with SLSQP with auxiliary ``u >= |c|``.
    Returns ``(v, sd, worst_bias, half_length)`` with ``v`` the weights on all coefficients.
    """
    num_post = l_vec.size
    T = _sd_bias_basis(num_pre, num_post)
    slope_row, D = T[:, 0], T[:, 1:]
    nd = D.shape[1]
    post_pos = np.arange(1, num_post + 1)
    pre_pos = np.arange(-num_pre, 0)

    def full(w):
        return np.concatenate([w, l_vec])

    def sd_of(w):
        v = full(w)
        return float(np.sqrt(max(v @ sigma @ v, 0.0)))

    # start: linear extrapolation of the last pre-period slope
    w0 = np.zeros(num_pre)
    w0[-1] = float(l_vec @ post_pos)
    u0 = np.abs(full(w0) @ D) + 1e-9

    if M == 0:
        # minimum variance subject to linear-trend invariance (closed form, Lagrange)
        S11, S12 = sigma[:num_pre, :num_pre], sigma[:num_pre, num_pre:]
        a, c0 = pre_pos.astype(float), float(l_vec @ post_pos)
        Si = np.linalg.pinv(S11)
        base = -Si @ S12 @ l_vec
        lam = (-c0 - a @ base) / (a @ Si @ a)
        w = base + lam * (Si @ a)
        s = sd_of(w)
        z = stats.norm.ppf(1 - alpha / 2)
        return full(w), s, 0.0, z * s

    def obj(x):
        w, u = x[:num_pre], x[num_pre:]
        v = full(w)
        s = np.sqrt(max(v @ sigma @ v, 1e-300))
        B = M * u.sum()
        c, dc = _fold_normal_cv_grad(B / s, alpha)
        f = s * c
        df_dB, df_ds = dc, c - (B / s) * dc
        grad_w = df_ds * (sigma @ v)[:num_pre] / s
        grad_u = np.full(nd, df_dB * M)
        return f, np.concatenate([grad_w, grad_u])

    cons = [
        {"type": "eq", "fun": lambda x: np.array([full(x[:num_pre]) @ slope_row]),
         "jac": lambda x: np.concatenate([slope_row[:num_pre], np.zeros(nd)])[None, :]},
        {"type": "ineq", "fun": lambda x: x[num_pre:] - full(x[:num_pre]) @ D,
         "jac": lambda x: np.hstack([-D[:num_pre].T, np.eye(nd)])},
        {"type": "ineq", "fun": lambda x: x[num_pre:] + full(x[:num_pre]) @ D,
         "jac": lambda x: np.hstack([D[:num_pre].T, np.eye(nd)])},
    ]
    best = None
    starts = [np.concatenate([w0, u0])]
    # also start from the minimum-variance (M = 0) solution
    v_mv = _flci_weights(sigma, num_pre, l_vec, 0.0, alpha)[0]
    starts.append(np.concatenate([v_mv[:num_pre], np.abs(v_mv @ D) + 1e-9]))
    for x0 in starts:
        res = optimize.minimize(obj, x0, jac=True, constraints=cons, method="SLSQP",
                                options={"maxiter": 500, "ftol": 1e-12})
        w = res.x[:num_pre]
        v = full(w)
        # exact evaluation at the returned (feasible-projected) weights
        bias = M * float(np.abs(v @ D).sum())
        s = sd_of(w)
        half = s * _fold_normal_cv(bias / s, alpha)
        if abs(v @ slope_row) < 1e-7 and (best is None or half < best[3]):
            best = (v, s, bias, half)
    return best


def _check(betahat, sigma, num_pre, num_post, l_vec):
    betahat = np.asarray(betahat, float).ravel()
    sigma = np.asarray(sigma, float)
    if betahat.size != num_pre + num_post:
        raise InputError(f"betahat has {betahat.size} elements; expected num_pre + num_post = "
                         f"{num_pre + num_post} (reference period excluded)")
    if sigma.shape != (betahat.size, betahat.size):
        raise InputError(f"sigma must be {betahat.size}x{betahat.size}, got {sigma.shape}")
    if num_pre < 1 or num_post < 1:
        raise InputError("need at least one pre-period and one post-period coefficient")
    l = np.zeros(num_post) if l_vec is None else np.asarray(l_vec, float).ravel()
    if l_vec is None:
        l[0] = 1.0
    if l.size != num_post:
        raise InputError(f"l_vec must have num_post = {num_post} elements")
    return betahat, sigma, l


def honest_did(
    betahat: Sequence[float],
    sigma: np.ndarray,
    num_pre: int,
    num_post: int,
    *,
    method: str = "relative_magnitude",
    grid: Sequence[float] | None = None,
    l_vec: Sequence[float] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Robust confidence sets for ``theta = l' tau_post`` over a grid of Mbar (or M).

    ``betahat`` are the event-study coefficients ordered by event time without the reference
    period (-1): ``num_pre`` leads (e.g. -5..-2) then ``num_post`` lags (0, 1, ...); ``sigma``
    their covariance. ``l_vec`` defaults to the first post period. Returns a DataFrame with
    columns ``M`` (Mbar or M), ``lb``, ``ub``, ``method`` plus the conventional interval as
    the row ``M = NaN`` labelled ``"original"``.
    """
    if method not in METHODS:
        raise InputError(choices_message("HonestDiD method", method, METHODS))
    b, S, l = _check(betahat, sigma, num_pre, num_post, l_vec)
    pre, post = b[:num_pre], b[num_pre:]
    k = np.arange(1, num_post + 1)
    z = stats.norm.ppf(1 - alpha / 2)
    if grid is None:
        grid = np.linspace(0, 2, 11) if method == "relative_magnitude" else np.linspace(0, 0.1, 11)
    grid = np.asarray(list(grid), float)
    if np.any(grid < 0):
        raise InputError("Mbar / M must be non-negative")
    theta = float(l @ post)
    se = float(np.sqrt(l @ S[num_pre:, num_pre:] @ l))
    rows = [{"M": np.nan, "lb": theta - z * se, "ub": theta + z * se, "method": "original"}]
    if method == "relative_magnitude":
        path = np.concatenate([pre, [0.0]])  # delta_pre then reference period 0
        D = float(np.max(np.abs(np.diff(path)))) if len(path) > 1 else 0.0
        slope = float(np.abs(l) @ k)
        for m in grid:
            h = m * D * slope
            rows.append({"M": m, "lb": theta - h - z * se, "ub": theta + h + z * se,
                         "method": "relative_magnitude (plug-in)"})
    else:
        for m in grid:
            v, sd_v, bias, half = _flci_weights(S, num_pre, l, float(m), alpha)
            est = float(v @ b)
            rows.append({"M": m, "lb": est - half, "ub": est + half,
                         "method": "smoothness (optimal FLCI)"})
    return pd.DataFrame(rows)


def breakdown_value(table: pd.DataFrame, null: float = 0.0) -> float:
    """Largest M on the grid (from 0 upward, contiguous) whose interval excludes ``null``;
    ``NaN`` if even M = 0 includes it."""
    t = table[table["method"] != "original"].sort_values("M")
    out = np.nan
    for m, lb, ub in t[["M", "lb", "ub"]].itertuples(index=False):
        if lb <= null <= ub:
            break
        out = m
    return float(out)


def honest_did_from_result(result: Any, *, sigma: np.ndarray | None = None, reference: int | None = None,
                           **kwargs) -> pd.DataFrame:
    """Run :func:`honest_did` on an event-study :class:`EstimationResult`.

    Coefficients come from ``result.details["event_study"]`` (records or DataFrame with
    ``event_time`` and ``estimate``); the covariance from ``sigma`` if given, else
    ``result.details["vcov"]`` or ``result.cov`` (rows/columns in event-time order).
    """
    es = result.details.get("event_study")
    if es is None:
        raise InputError("result has no details['event_study']: run an event study first")
    if reference is None:
        reference = int(result.details.get("reference_event_time", -1))
    if reference != -1:
        raise InputError(f"honest_did assumes reference event time -1, got {reference}")
    es = pd.DataFrame(es)
    es = es[es["event_time"] != reference].sort_values("event_time")
    if sigma is None:
        sigma = result.details.get("vcov", getattr(result, "cov", None))
    if sigma is None:
        raise InputError("no covariance matrix of the event-study coefficients: pass sigma=")
    sigma = np.asarray(pd.DataFrame(sigma).to_numpy() if not isinstance(sigma, np.ndarray) else sigma, float)
    if sigma.shape[0] == len(es) + 1:  # includes a (zero) reference row/column
        keep = np.array([True] * sigma.shape[0])
        ordered = sorted(list(es["event_time"]) + [reference])
        keep[ordered.index(reference)] = False
        sigma = sigma[np.ix_(keep, keep)]
    num_pre = int((es["event_time"] < reference).sum())
    return honest_did(es["estimate"].to_numpy(), sigma, num_pre, len(es) - num_pre, **kwargs)
