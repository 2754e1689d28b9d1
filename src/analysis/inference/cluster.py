"""Cluster-robust (CR1) covariance with every small-sample choice explicit.

For OLS ``y = X b + u`` with ``G`` clusters (Liang & Zeger 1986; Cameron & Miller 2015)::

    V = q · (X'X)^-1 (Σ_g X_g' u_g u_g' X_g) (X'X)^-1,   q = G/(G-1) · (N-1)/(N-K)

and t-statistics are referred to ``t(G-1)``. ``K`` counts the estimated coefficients *including
absorbed fixed effects, except those nested within the clusters*: with unit and period effects
and clusters that contain whole units (the treatment-assignment unit, a municipality or a
municipality group), the unit effects are nested and count as one intercept, so
``K = (number of regressors) + (number of periods)``; if units are not nested in clusters,
``K = regressors + units + periods - 1``.

This is exactly the default of Stata ``reghdfe ..., vce(cluster c)`` (``dof(all)``: absorbed
effects nested in the cluster variable are not counted) and of R ``fixest::feols`` with the
default ``ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE, t.df = "min")``, i.e. also of
pyfixest ``feols(..., vcov={"CRV1": c})`` (equal to machine precision on simulated panels;
``benchmarks/bench_did.py`` prints both). linearmodels ``PanelOLS`` (7.1) with
``cov_type="clustered"`` and absorbed entity effects gives a different number even with
``debiased=False``: its covariance is further scaled for the absorbed unit effects (on the
2-period Card-Krueger panel its SE is sqrt(2) times larger, 1.891 instead of 1.338), so the
estimators take the coefficients from ``PanelOLS`` and compute this CR1 on the partialled
design (Frisch-Waugh-Lovell).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SmallSample:
    """The small-sample choices behind one cluster-robust covariance."""

    n_obs: int
    n_params: int  # K, including non-nested absorbed effects
    n_clusters: int

    @property
    def factor(self) -> float:
        """q = G/(G-1) · (N-1)/(N-K) (CR1)."""
        g, n, k = self.n_clusters, self.n_obs, self.n_params
        if g < 2 or n <= k:
            return float("nan")
        return g / (g - 1) * (n - 1) / (n - k)

    @property
    def df(self) -> int:
        """Degrees of freedom of the t reference distribution: G - 1."""
        return self.n_clusters - 1

    def describe(self) -> str:
        return (
            f"CR1: q = G/(G-1)*(N-1)/(N-K) with G={self.n_clusters}, N={self.n_obs}, "
            f"K={self.n_params}; t({self.df}) reference"
        )


def cluster_scores(X: np.ndarray, resid: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Cluster sums of ``x_i u_i`` (G x K)."""
    out = np.zeros((n_clusters, X.shape[1]))
    np.add.at(out, codes, X * resid[:, None])
    return out


def cr1_covariance(
    X: np.ndarray, resid: np.ndarray, codes: np.ndarray, *, n_params: int, bread: np.ndarray | None = None
) -> tuple[np.ndarray, SmallSample]:
    """CR1 covariance of OLS coefficients; ``codes`` are cluster codes 0..G-1.

    ``X`` may be the regressors after partialling out absorbed effects (Frisch-Waugh-Lovell);
    ``n_params`` is ``K`` as described in the module docstring.
    """
    codes = np.asarray(codes)
    g = int(codes.max()) + 1
    if bread is None:
        bread = np.linalg.pinv(X.T @ X)
    scores = cluster_scores(X, resid, codes, g)
    meat = scores.T @ scores
    ss = SmallSample(n_obs=len(resid), n_params=n_params, n_clusters=g)
    return ss.factor * bread @ meat @ bread, ss


def nested(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True if every ``inner`` group lies within one ``outer`` group (e.g. unit within cluster)."""
    import pandas as pd

    return bool((pd.Series(outer).groupby(np.asarray(inner)).nunique() <= 1).all())
