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
(``s_g = Σ_g D̃_p (r_y - tau·d̃) - b_p(tau)·Σ_g D̃_p²``), so the squared SE is a quadratic in
``tau`` with three coefficients per assignment, and both statistics invert cheaply. Draws are
processed in blocks (memory bounded whatever the number of clusters and draws; the result does
not depend on the block size). (The CR1 factor is common to all cluster-permutation assignments
and omitted.)

Placebo units shaped like the treated units (``shaped``, built by
:mod:`analysis.inference.placebo_units`): instead of permuting clusters' adoption times, each
placebo assignment treats groups of control clusters of the treated clusters' sizes, each group
one cluster of the placebo regression (its scores summed; CR1 factor for its number of
clusters). The real treated units stay in the data as controls with untreated outcomes
``y - tau·D`` under the sharp null.

Observation weights (weighted least squares, ``sqrt_weights``): ``partial`` and ``resid_y`` are
then the weighted partialled design with rows scaled by ``sqrt(w)`` (as the estimators'
``PanelDesign.absorb`` returns it), and the raw placebo treatment columns are scaled by
``sqrt(w)`` too, so that every inner product above is the weighted one
(``b_p = D_p'W r_y / D_p'W M_w D_p``) and the cluster scores are the weighted scores.

The smallest attainable p-value is ``1 / (number of assignments)``.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import InputError
from .inversion import StudentizedDraws, invert_pvalue


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


def _enumerated_assignments(adoption: np.ndarray) -> np.ndarray:
    g = len(adoption)
    values = np.unique(adoption)
    if len(values) == 2:
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
        return rows[order]
    perms = {tuple(p) for p in itertools.permutations(adoption)}
    return np.array(sorted(perms, key=lambda r: r != tuple(adoption)))


def iter_placebo_assignments(adoption: np.ndarray, reps: int, seed: int, chunk: int = 2000):
    """Blocks of at most ``chunk`` rows of :func:`placebo_assignments` (same rows, same order,
    same random stream), so that memory stays bounded. Yields ``(block, enumerated)``."""
    adoption = np.asarray(adoption, dtype=float)
    g = len(adoption)
    chunk = max(1, int(chunk))
    if count_assignments(adoption) <= reps + 1:
        rows = _enumerated_assignments(adoption)
        for start in range(0, len(rows), chunk):
            yield rows[start:start + chunk], True
        return
    rng = np.random.default_rng(seed)
    done = 0
    while done < reps + 1:
        m = min(chunk, reps + 1 - done)
        block = np.empty((m, g))
        block[:] = adoption
        for i in range(m):
            if done + i:
                rng.shuffle(block[i])  # = rng.permutation(adoption): the same random stream
        done += m
        yield block, False


def placebo_assignments(adoption: np.ndarray, reps: int, seed: int) -> tuple[np.ndarray, bool]:
    """Matrix (P x G) of placebo adoption times; row 0 is the actual assignment.

    ``adoption`` holds each cluster's adoption time (``inf`` for never treated).
    """
    blocks = list(iter_placebo_assignments(adoption, reps, seed, chunk=max(reps + 1, 1)))
    return np.concatenate([b for b, _ in blocks]), blocks[0][1]


@dataclass
class ShapedAssignments:
    """Placebo assignments of whole groups of control clusters (placebo units shaped like the
    treated units, :mod:`.placebo_units`). ``members`` (P x sum(sizes)) holds cluster codes,
    consecutive blocks of ``sizes`` forming one placebo unit each; a placebo unit is treated
    from ``adoption_time`` on and is one cluster of the placebo regression."""

    members: np.ndarray
    sizes: tuple[int, ...]
    adoption_time: float
    enumerated: bool

    def blocks(self, chunk: int):
        for start in range(0, len(self.members), chunk):
            yield self.members[start:start + chunk]


#: elements (rows x draws) of one block of placebo treatment columns; bounds the memory
_BLOCK_ELEMENTS = 2 ** 23


def randomization_inference(
    *,
    resid_y: np.ndarray,
    treatment: np.ndarray,
    partial: Callable[[np.ndarray], np.ndarray],
    time: np.ndarray,
    cluster_codes: np.ndarray,
    cluster_adoption: np.ndarray | None = None,
    reps: int = 9999,
    seed: int = 0,
    level: float = 0.95,
    null: float = 0.0,
    chunk: int = 2000,
    ci: bool = True,
    statistic: str = "t",
    shaped: ShapedAssignments | None = None,
    sqrt_weights: np.ndarray | None = None,
) -> RandomizationResult:
    """Randomization p-value and interval for the DiD coefficient.

    ``resid_y``: outcome partialled of the nuisance terms; ``treatment``: actual 0/1 column;
    ``partial``: projection off the nuisance terms of an ``n x P`` matrix; ``time`` and
    ``cluster_codes`` per row; ``cluster_adoption`` per cluster (``inf`` = never treated):
    placebo assignments permute it. With ``shaped`` the placebo assignments are those groups of
    control clusters instead (the actual assignment is ``treatment`` with its clusters).
    ``statistic``: ``"t"`` (coefficient over its cluster-robust SE, "RI-t", recommended by
    MacKinnon & Webb 2020 when treated and placebo clusters differ in size) or ``"coef"``.
    Draws are processed in blocks of at most ``chunk`` (fewer for long panels): memory is
    bounded and the result does not depend on ``chunk``. ``sqrt_weights``: square roots of the
    observation weights of a weighted fit (see the module docstring); ``None`` = unweighted.
    """
    if statistic not in ("t", "coef"):
        raise InputError(f"unknown randomization statistic {statistic!r}; valid choices: coef, t")
    from scipy import sparse

    n_rows = len(resid_y)
    cluster_codes = np.asarray(cluster_codes)
    g = int(np.max(cluster_codes)) + 1
    # cluster-sum operator (g x n): row c holds the rows of cluster c in ascending order, the
    # arrays scipy builds from the (cluster, row) coordinates, without the coordinate format
    order = np.argsort(cluster_codes, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(cluster_codes, minlength=g))]
    C = sparse.csr_matrix((np.ones(n_rows), order, indptr), shape=(g, n_rows))
    chunk = max(1, min(int(chunk), _BLOCK_ELEMENTS // max(n_rows, 1)))
    d = np.asarray(treatment, dtype=float)
    d_perp = partial(d[:, None])[:, 0]

    def stats_block(Dp, merge_members=None, sizes=None):
        """b, dd and the three quadratic forms of the cluster scores for a block of columns."""
        Dp_perp = partial(Dp)
        if sqrt_weights is not None:
            Dp = Dp * sqrt_weights[:, None]
        denom = np.einsum("np,np->p", Dp, Dp_perp)
        with np.errstate(divide="ignore", invalid="ignore"):
            b = (Dp.T @ resid_y) / denom
            dd = (Dp.T @ d_perp) / denom
            if statistic != "t":
                return b, dd, None
            # cluster scores of the placebo regression, linear in the null value tau:
            # s_g(tau) = U_g - tau*V_g with U = (A0 - b*B)/denom, V = (A1 - dd*B)/denom
            A0 = np.asarray(C @ (Dp_perp * resid_y[:, None])) / denom
            A1 = np.asarray(C @ (Dp_perp * d_perp[:, None])) / denom
            B = np.asarray(C @ (Dp_perp * Dp_perp)) / denom
        U = A0 - b[None, :] * B
        V = A1 - dd[None, :] * B
        quad = [np.einsum("gp,gp->p", U, U), np.einsum("gp,gp->p", U, V),
                np.einsum("gp,gp->p", V, V)]
        if merge_members is not None:
            # each placebo unit is one cluster: replace its members' squared scores by the
            # square of their sum
            cols = np.arange(len(merge_members))[:, None]
            Um, Vm = U.T[cols, merge_members], V.T[cols, merge_members]  # p x sum(sizes)
            starts = np.r_[0, np.cumsum(sizes)[:-1]]
            Us, Vs = np.add.reduceat(Um, starts, axis=1), np.add.reduceat(Vm, starts, axis=1)
            quad[0] += np.einsum("pj,pj->p", Us, Us) - np.einsum("pj,pj->p", Um, Um)
            quad[1] += np.einsum("pj,pj->p", Us, Vs) - np.einsum("pj,pj->p", Um, Vm)
            quad[2] += np.einsum("pj,pj->p", Vs, Vs) - np.einsum("pj,pj->p", Vm, Vm)
        return b, dd, quad

    parts = []
    if shaped is None:
        if cluster_adoption is None:
            raise InputError("randomization inference needs cluster adoption times or placebo units")
        if np.isfinite(cluster_adoption).sum() < 1:
            raise InputError("randomization inference needs at least one treated cluster")
        enumerated = False
        for block, enumerated in iter_placebo_assignments(cluster_adoption, reps, seed, chunk):
            Dp = (time[:, None] >= block[:, cluster_codes].T).astype(float)  # n x P
            parts.append(stats_block(Dp))
    else:
        enumerated = shaped.enumerated
        parts.append(stats_block(d[:, None]))  # the actual assignment, its own clusters
        post = (np.asarray(time, dtype=float) >= shaped.adoption_time).astype(float)
        for members in shaped.blocks(chunk):
            mask = np.zeros((len(members), g), dtype=bool)
            np.put_along_axis(mask, members, True, axis=1)
            Dp = mask[:, cluster_codes].T * post[:, None]
            part = stats_block(Dp, members, shaped.sizes)
            if part[2] is not None:
                # CR1 factor G/(G-1): the placebo regression has fewer clusters than the actual
                g_p = g - sum(shaped.sizes) + len(shaped.sizes)
                ratio = (g_p / (g_p - 1)) / (g / (g - 1))
                part[2][:] = [q * ratio for q in part[2]]
            parts.append(part)
    b = np.concatenate([p[0] for p in parts])
    dd = np.concatenate([p[1] for p in parts])
    valid = np.isfinite(b) & np.isfinite(dd)
    if statistic == "t":
        Q = [np.concatenate([p[2][i] for p in parts])[valid] for i in range(3)]
    b, dd = b[valid], dd[valid]
    estimate = float(b[0])
    n = len(b)

    draws = StudentizedDraws(b, dd, Q if statistic == "t" else None)

    def stats_at(tau: float) -> tuple[np.ndarray, float]:
        if statistic == "coef":
            return draws.numerator(tau), abs(estimate - tau)
        stat = draws(tau)
        return stat, float(stat[0])

    def pvalue(tau: float) -> float:
        values, observed = stats_at(tau)
        return np.count_nonzero(values >= observed * (1 - 1e-10) - 1e-14) / n

    p = pvalue(null)
    lo, hi = float("nan"), float("nan")
    if ci:
        spread = float(np.std(b[1:])) if n > 2 else abs(estimate) or 1.0
        lo, hi = invert_pvalue(pvalue, estimate, spread or 1.0, alpha=1 - level)
    return RandomizationResult(estimate, p, lo, hi, n, enumerated, 1.0 / n, level, null)
