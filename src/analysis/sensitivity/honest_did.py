"""Honest confidence sets for event-study effects (Rambachan & Roth 2023, REStud 90(5)).

Event-study coefficients ``beta = tau + delta`` with ``delta`` the (unknown) violation of
parallel trends, normalised to 0 in the reference period (-1). ``delta_pre = beta_pre`` is
identified; the restriction on ``delta_post`` bounds the bias of ``theta = l' tau_post``.

Implemented constructions (stated exactly; they are *simpler* than the R ``HonestDiD``
defaults, which use the conditional/hybrid ARP test for relative magnitudes and an
optimised FLCI for smoothness):

* ``method="relative_magnitude"`` (Delta^RM(Mbar)): post-period changes in the trend
  violation are at most ``Mbar`` times the largest pre-period change
  ``D = max_s |delta_{s+1} - delta_s|`` (including the step into the reference period).
  Then ``|delta_k| <= k * Mbar * D`` for post period k = 1, 2, ... and the bias of
  ``l' beta_post`` is at most ``Mbar * D * sum_k |l_k| k``. The interval is the
  *plug-in* union of conventional intervals over the estimated identified set:
  ``l'beta_post -/+ (Mbar * D_hat * sum |l_k| k + z_{1-alpha/2} se)``. It ignores sampling
  error in ``D_hat``; with ``Mbar = 0`` it equals the conventional interval exactly.
* ``method="smoothness"`` (Delta^SD(M)): second differences of delta bounded by ``M``. The
  affine estimator ``l'(beta_post + k * beta_{-1})`` (linear extrapolation of the last
  pre-period slope) has worst-case bias ``M * sum_k |l_k| k(k+1)/2``; the fixed-length CI is
  ``estimate -/+ se * cv_alpha(bias / se)`` with ``cv_alpha(b)`` the 1-alpha quantile of
  ``|N(b, 1)|`` (Armstrong & Kolesar 2018 FLCI for this fixed estimator, not optimised over
  affine estimators). ``M = 0`` gives the linear-trend-extrapolation interval.

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
        # estimator: l'(beta_post + k * beta_{-1})  (beta_{-1} is the last lead; delta_0 = 0)
        a = np.zeros(b.size)
        a[num_pre:] = l
        a[num_pre - 1] += float(l @ k)
        est = float(a @ b)
        se_a = float(np.sqrt(a @ S @ a))
        bias_coef = float(np.abs(l) @ (k * (k + 1) / 2))
        for m in grid:
            cv = _fold_normal_cv(m * bias_coef / se_a, alpha) if se_a > 0 else 0.0
            rows.append({"M": m, "lb": est - se_a * cv, "ub": est + se_a * cv,
                         "method": "smoothness (FLCI, linear extrapolation)"})
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
