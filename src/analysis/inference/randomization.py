"""Randomization inference: re-assign treatment to placebo clusters (Fisher 1935; Young 2019;
MacKinnon & Webb 2020 "Randomization inference for difference-in-differences with few treated
clusters").

The assignment unit is the cluster (the treatment-assignment unit, e.g. a municipality group):
a placebo assignment permutes the clusters' adoption times (never-treated = no adoption), so it
keeps the number of treated clusters and the adoption-time mix; whole clusters move together, so
the group structure is kept. All distinct assignments are enumerated when there are at most
``reps`` of them (exact test); otherwise ``reps`` are drawn with the seed and the actual
assignment is counted once, ``p = (1 + #{|stat_p| >= |stat|}) / (reps + 1)``.

The statistic is the cluster-robust t-statistic of the DiD coefficient ("RI-t", default;
MacKinnon & Webb 2020 show it is more reliable than the coefficient when treated clusters
differ in size from the placebo clusters) or the coefficient itself (``statistic="coef"``).
With ``r_y`` the residual of ``y`` on the nuisance terms
(unit and period effects, covariates) and ``partial`` that projection, a placebo treatment
column ``D_p`` gives ``b_p = D_p'r_y / D_p'partial(D_p)`` (Frisch-Waugh-Lovell). Under the sharp
null of a constant effect ``tau`` (``y - tau·D`` untreated outcomes) the placebo statistic is
``b_p - tau·d_p`` with ``d_p = D_p'partial(D) / D_p'partial(D_p)`` and the observed one is
``b - tau``: the p-value is cheap for any ``tau`` and the interval is its inversion. For RI-t the placebo cluster scores are linear in ``tau`` too
(``s_g = Σ_g D̃_p (r_y - tau·d̃) - b_p(tau)·Σ_g D̃_p²``), so both statistics invert cheaply.
(The CR1 factor is common to all assignments and omitted.)
The smallest attainable p-value is ``1 / (number of assignments)``.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import InputError
from .inversion import invert_pvalue


@dataclass
class RandomizationResult:
    estimate: float
    p_value: float
    ci_low: float
    ci_high: float
    n_assignments: int
    enumerated: bool
    min_p_value: float
    level: float = 0.95
    null: float = 0.0

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in (
            "estimate", "p_value", "ci_low", "ci_high", "n_assignments", "enumerated",
            "min_p_value", "level", "null")}


def count_assignments(adoption: np.ndarray) -> int:
    """Number of distinct permutations of the clusters' adoption-time vector (multinomial)."""
    _, counts = np.unique(adoption, return_counts=True)
    total = math.factorial(len(adoption))
    for c in counts:
        total //= math.factorial(int(c))
    return total


def placebo_assignments(adoption: np.ndarray, reps: int, seed: int) -> tuple[np.ndarray, bool]:
    """Matrix (P x G) of placebo adoption times; row 0 is the actual assignment.

    ``adoption`` holds each cluster's adoption time (``inf`` for never treated).
    """
    adoption = np.asarray(adoption, dtype=float)
    g = len(adoption)
    values, counts = np.unique(adoption, return_counts=True)
    n_total = count_assignments(adoption)
    if n_total <= reps + 1 and len(values) == 2:
        # one adoption time: choose which clusters are treated
        treated_value = values[np.isfinite(values)][0] if np.isfinite(values).any() else values[0]
        n_treated = int((adoption == treated_value).sum())
        other = values[values != treated_value][0]
        rows = []
        for combo in itertools.combinations(range(g), n_treated):
            row = np.full(g, other)
            row[list(combo)] = treated_value
            rows.append(row)
        rows = np.array(rows)
        actual = np.all(rows == adoption, axis=1)
        order = np.r_[np.flatnonzero(actual), np.flatnonzero(~actual)]
        return rows[order], True
    if n_total <= reps + 1:
        perms = {tuple(p) for p in itertools.permutations(adoption)}
        rows = np.array(sorted(perms, key=lambda r: r != tuple(adoption)))
        return rows, True
    rng = np.random.default_rng(seed)
    rows = np.empty((reps + 1, g))
    rows[0] = adoption
    for r in range(1, reps + 1):
        rows[r] = rng.permutation(adoption)
    return rows, False


def randomization_inference(
    *,
    resid_y: np.ndarray,
    treatment: np.ndarray,
    partial: Callable[[np.ndarray], np.ndarray],
    time: np.ndarray,
    cluster_codes: np.ndarray,
    cluster_adoption: np.ndarray,
    reps: int = 9999,
    seed: int = 0,
    level: float = 0.95,
    null: float = 0.0,
    chunk: int = 2000,
    ci: bool = True,
    statistic: str = "t",
) -> RandomizationResult:
    """Randomization p-value and interval for the DiD coefficient.

    ``resid_y``: outcome partialled of the nuisance terms; ``treatment``: actual 0/1 column;
    ``partial``: projection off the nuisance terms of an ``n x P`` matrix; ``time`` and
    ``cluster_codes`` per row; ``cluster_adoption`` per cluster (``inf`` = never treated).
    ``statistic``: ``"t"`` (coefficient over its cluster-robust SE, "RI-t", recommended by
    MacKinnon & Webb 2020 when treated and placebo clusters differ in size) or ``"coef"``.
    """
    if statistic not in ("t", "coef"):
        raise InputError(f"unknown randomization statistic {statistic!r}; valid choices: coef, t")
    from scipy import sparse

    n_rows = len(resid_y)
    g = int(np.max(cluster_codes)) + 1
    C = sparse.csr_matrix((np.ones(n_rows), (cluster_codes, np.arange(n_rows))), shape=(g, n_rows))
    if np.isfinite(cluster_adoption).sum() < 1:
        raise InputError("randomization inference needs at least one treated cluster")
    rows, enumerated = placebo_assignments(cluster_adoption, reps, seed)
    d = np.asarray(treatment, dtype=float)
    d_perp = partial(d[:, None])[:, 0]
    b_list, dd_list, A0_list, A1_list, B_list = [], [], [], [], []
    for start in range(0, len(rows), chunk):
        block = rows[start:start + chunk]
        Dp = (time[:, None] >= block[:, cluster_codes].T).astype(float)  # n x P
        Dp_perp = partial(Dp)
        denom = np.einsum("np,np->p", Dp, Dp_perp)
        with np.errstate(divide="ignore", invalid="ignore"):
            b_list.append((Dp.T @ resid_y) / denom)
            dd_list.append((Dp.T @ d_perp) / denom)
            if statistic == "t":
                # cluster scores of the placebo regression, linear in the null value tau:
                # s_g = A0_g - tau*A1_g - b_p(tau) * B_g, all divided by denom
                A0_list.append(np.asarray(C @ (Dp_perp * resid_y[:, None])) / denom)
                A1_list.append(np.asarray(C @ (Dp_perp * d_perp[:, None])) / denom)
                B_list.append(np.asarray(C @ (Dp_perp * Dp_perp)) / denom)
    b = np.concatenate(b_list)
    dd = np.concatenate(dd_list)
    valid = np.isfinite(b) & np.isfinite(dd)
    if statistic == "t":
        A0, A1, B = (np.concatenate(m, axis=1)[:, valid] for m in (A0_list, A1_list, B_list))
    b, dd = b[valid], dd[valid]
    estimate = float(b[0])
    n = len(b)

    def stats_at(tau: float) -> tuple[np.ndarray, float]:
        num = b - tau * dd
        if statistic == "coef":
            return np.abs(num), abs(estimate - tau)
        scores = A0 - tau * A1 - num[None, :] * B
        se = np.sqrt(np.sum(scores * scores, axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(se > 0, np.abs(num) / se, 0.0)
        return t, float(t[0])

    def pvalue(tau: float) -> float:
        stat, observed = stats_at(tau)
        return float(np.mean(stat >= observed * (1 - 1e-10) - 1e-14))

    p = pvalue(null)
    lo, hi = float("nan"), float("nan")
    if ci:
        spread = float(np.std(b[1:])) if n > 2 else abs(estimate) or 1.0
        lo, hi = invert_pvalue(pvalue, estimate, spread or 1.0, alpha=1 - level)
    return RandomizationResult(estimate, p, lo, hi, n, enumerated, 1.0 / n, level, null)
