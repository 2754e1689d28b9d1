"""Randomization inference: re-assign treatment to placebo clusters (Fisher 1935; Young 2019;
MacKinnon & Webb 2020 "Randomization inference for difference-in-differences with few treated
clusters").

The assignment unit is the cluster (the treatment-assignment unit, e.g. a municipality group):
a placebo assignment permutes the clusters' adoption times (never-treated = no adoption), so it
keeps the number of treated clusters and the adoption-time mix; whole clusters move together, so
the group structure is kept. All distinct assignments are enumerated when there are at most
``reps`` of them (exact test); otherwise ``reps`` are drawn with the seed and the actual
assignment is counted once, ``p = (1 + #{|stat_p| >= |stat|}) / (reps + 1)``.

The statistic is the DiD coefficient. With ``r_y`` the residual of ``y`` on the nuisance terms
(unit and period effects, covariates) and ``partial`` that projection, a placebo treatment
column ``D_p`` gives ``b_p = D_p'r_y / D_p'partial(D_p)`` (Frisch-Waugh-Lovell). Under the sharp
null of a constant effect ``tau`` (``y - tau·D`` untreated outcomes) the placebo statistic is
``b_p - tau·d_p`` with ``d_p = D_p'partial(D) / D_p'partial(D_p)`` and the observed one is
``b - tau``: the p-value is cheap for any ``tau`` and the interval is its inversion.
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
) -> RandomizationResult:
    """Randomization p-value and interval for the DiD coefficient.

    ``resid_y``: outcome partialled of the nuisance terms; ``treatment``: actual 0/1 column;
    ``partial``: projection off the nuisance terms of an ``n x P`` matrix; ``time`` and
    ``cluster_codes`` per row; ``cluster_adoption`` per cluster (``inf`` = never treated).
    """
    if np.isfinite(cluster_adoption).sum() < 1:
        raise InputError("randomization inference needs at least one treated cluster")
    rows, enumerated = placebo_assignments(cluster_adoption, reps, seed)
    d = np.asarray(treatment, dtype=float)
    d_perp = partial(d[:, None])[:, 0]
    b_list, dd_list = [], []
    for start in range(0, len(rows), chunk):
        block = rows[start:start + chunk]
        Dp = (time[:, None] >= block[:, cluster_codes].T).astype(float)  # n x P
        Dp_perp = partial(Dp)
        denom = np.einsum("np,np->p", Dp, Dp_perp)
        with np.errstate(divide="ignore", invalid="ignore"):
            b_list.append((Dp.T @ resid_y) / denom)
            dd_list.append((Dp.T @ d_perp) / denom)
    b = np.concatenate(b_list)
    dd = np.concatenate(dd_list)
    valid = np.isfinite(b) & np.isfinite(dd)
    b, dd = b[valid], dd[valid]
    estimate = float(b[0])
    n = len(b)

    def pvalue(tau: float) -> float:
        stat = np.abs(b - tau * dd)
        return float(np.mean(stat >= abs(estimate - tau) * (1 - 1e-10) - 1e-14))

    p = pvalue(null)
    lo, hi = float("nan"), float("nan")
    if ci:
        spread = float(np.std(b[1:])) if n > 2 else abs(estimate) or 1.0
        lo, hi = invert_pvalue(pvalue, estimate, spread or 1.0, alpha=1 - level)
    return RandomizationResult(estimate, p, lo, hi, n, enumerated, 1.0 / n, level, null)
