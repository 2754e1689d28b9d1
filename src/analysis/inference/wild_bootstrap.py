"""Wild cluster restricted bootstrap (WCR) with p-values and intervals by test inversion.

Cameron, Gelbach & Miller (2008); MacKinnon & Webb (2017); Webb (2023) six-point weights;
the vectorised algebra follows Roodman, MacKinnon, Nielsen & Webb (2019), "Fast and wild:
Bootstrap inference in Stata using boottest", Stata Journal 19(1).

The model is OLS ``y = X b + F f + u``. ``X`` and ``y`` come partialled of the absorbed effects
nested in the clusters (unit effects within clusters of units, Frisch-Waugh-Lovell): within a
unit the bootstrap errors ``v_g u_r`` are one multiple of ``u_r``, whose unit means are zero, so
the unit dummies absorb nothing of them. Absorbed effects that are not nested in the clusters
(period effects) are regressors of the bootstrap model, as boottest treats fixed effects that
are not nested in the clusters (Roodman et al. 2019): ``F`` holds their columns (the period dummies
partialled of the unit effects; ``T - 1`` columns) and ``X``, ``y`` are partialled of ``F`` too.
Then ``X'F = 0``, ``(Z'Z)^-1`` of ``Z = [X, F]`` is block diagonal, and the bootstrap of the
model with ``F`` as regressors costs ``T - 1`` more columns in the cluster-level terms below;
its p-values and intervals equal those of the dummy-variable regression refitted draw by draw.
For a null ``b_k = b0`` the restricted residuals are ``u_r(b0) = M_{[X_-k, F]} (y - b0 x_k)``,
linear in ``b0``. Bootstrap samples ``y* = X_-k g_r + F f_r + b0 x_k + v_g u_r`` with one weight
``v_g`` per cluster. With ``a`` the k-th row of ``(Z'Z)^-1 Z'`` (a column of ``X (X'X)^-1``),
every bootstrap numerator and CR1 cluster score is a linear function of the ``B x G`` weight
matrix and ``b0``:

    b*_k - b0 = Σ_g v_g c_g(b0),     s*_g = v_g c_g(b0) - Σ_h v_h P_g'Q_h(b0)

(``c_g = a_g'u_r,g``, ``P_g = Z_g'a_g``, ``Q_h = (Z'Z)^-1 Z_h'u_r,h``; the ``F`` part of
``Σ_h v_h Q_h`` holds the coefficients of ``v ⊙ u_r`` on the period effects, in a balanced panel
its period means), so the bootstrap t-statistics for any ``b0`` cost ``O(B)`` once five
``B``-vectors are stored; the test is inverted by bisection. The CR1 factor is common to the
original and bootstrap t and cancels. The p-value is symmetric: ``mean(|t*| >= |t|)``.

Weights: Rademacher (±1); Webb six-point (±√(1/2), ±1, ±√(3/2)), used automatically when there
are fewer than 12 clusters (Rademacher has only 2^G distinct draws). When the number of distinct
weight vectors (2^G or 6^G) is at most ``reps``, all of them are enumerated (exact bootstrap).
The result states the weights and why (``weights_reason``).

Few treated clusters (MacKinnon & Webb 2017, "Wild bootstrap inference for wildly different
cluster sizes", J. Appl. Econometrics 32(2); 2018, "The wild bootstrap for few (treated)
clusters", Econometrics J. 21(2)): when only ``G1`` of ``G`` clusters are treated, the restricted
bootstrap (WCR) under-rejects, severely so for ``G1`` below about 5 (its intervals become very
wide or unbounded) and the unrestricted one over-rejects; with one treated cluster WCR is
unreliable and the estimators refuse it. Given ``n_treated_clusters``, the result carries that
warning. Weight draws are processed in blocks, so memory stays bounded (a few hundred MB at
30,000 clusters and 9,999 draws) and the result does not depend on the block size: the blocks are
consecutive rows of the same random stream.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import InputError, choices_message
from .inversion import StudentizedDraws, invert_pvalue

WEIGHTS = ("auto", "rademacher", "webb")
WEBB_BELOW = 12  # clusters: use Webb weights below this number when weights="auto"
#: treated clusters below which WCR is known to be unreliable (MacKinnon & Webb 2017, 2018)
FEW_TREATED_CLUSTERS = 5
_WEBB_POINTS = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
#: elements (draws x clusters) of one block of weights
_BLOCK_ELEMENTS = 2 ** 22
#: relative eigenvalue cut-off of the absorbed columns' Gram matrix (collinear directions, e.g.
#: a period observed only by units seen once, are left out, as in the within transformation)
ABSORBED_RCOND = 1e-10


@dataclass
class WildBootstrapResult:
    """Bootstrap p-value and test-inversion interval for one coefficient."""

    estimate: float
    p_value: float
    ci_low: float
    ci_high: float
    null: float
    weights: str
    reps: int
    n_clusters: int
    enumerated: bool
    level: float = 0.95
    extra: dict = field(default_factory=dict)
    weights_reason: str = ""
    warnings: list[str] = field(default_factory=list)
    n_treated_clusters: int | None = None

    def to_dict(self) -> dict:
        return {
            "estimate": self.estimate, "p_value": self.p_value, "ci_low": self.ci_low,
            "ci_high": self.ci_high, "null": self.null, "weights": self.weights,
            "weights_reason": self.weights_reason, "reps": self.reps,
            "n_clusters": self.n_clusters, "n_treated_clusters": self.n_treated_clusters,
            "enumerated": self.enumerated, "level": self.level, "warnings": list(self.warnings),
        }


def resolve_weights(weights: str, n_clusters: int) -> str:
    if weights not in WEIGHTS:
        raise InputError(choices_message("bootstrap weights", weights, WEIGHTS))
    if weights == "auto":
        return "webb" if n_clusters < WEBB_BELOW else "rademacher"
    return weights


def weights_reason(requested: str, scheme: str, n_clusters: int, enumerated: bool) -> str:
    """Why these weights (stated in every result)."""
    if requested != "auto":
        why = f"{scheme} weights as requested"
    elif scheme == "webb":
        why = (f"Webb six-point weights: {n_clusters} clusters (< {WEBB_BELOW}); Rademacher weights "
               f"give only 2^{n_clusters} = {2 ** n_clusters} distinct bootstrap samples, too few "
               "for a smooth bootstrap distribution (Webb 2023; MacKinnon & Webb 2018)")
    else:
        why = (f"Rademacher weights: {n_clusters} clusters (>= {WEBB_BELOW}), enough distinct "
               "samples; Rademacher is the recommended default (Davidson & Flachaire 2008; "
               "MacKinnon & Webb 2017)")
    if enumerated:
        why += "; every distinct weight vector enumerated (exact bootstrap distribution)"
    return why


def few_treated_warning(n_treated: int | None, n_clusters: int) -> list[str]:
    if n_treated is None or n_treated >= FEW_TREATED_CLUSTERS:
        return []
    return [f"{n_treated} treated of {n_clusters} clusters: the wild cluster restricted bootstrap "
            "is known to under-reject with this few treated clusters (MacKinnon & Webb 2017, "
            "2018), with very wide or unbounded intervals; read it with the size table and "
            "prefer randomization inference over placebo units"]


def _enumerable(n_points: int, n_clusters: int, reps: int) -> bool:
    """True when ``n_points ** n_clusters <= reps`` (all weight vectors can be enumerated)."""
    return n_clusters * np.log(n_points) <= np.log(max(reps, 1)) + 1e-9 and n_points ** n_clusters <= reps


def iter_weights(n_clusters: int, reps: int, weights: str, seed: int, chunk: int):
    """Blocks of the ``B x G`` weight matrix of :func:`draw_weights` (same rows, same random
    stream); yields ``(block, enumerated)``."""
    points = np.array([-1.0, 1.0]) if weights == "rademacher" else _WEBB_POINTS
    chunk = max(1, int(chunk))
    if _enumerable(len(points), n_clusters, reps):
        grid = np.array(list(itertools.product(range(len(points)), repeat=n_clusters)))
        for start in range(0, len(grid), chunk):
            yield points[grid[start:start + chunk]], True
        return
    rng = np.random.default_rng(seed)
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        yield points[rng.integers(0, len(points), size=(m, n_clusters))], False


def draw_weights(n_clusters: int, reps: int, weights: str, seed: int) -> tuple[np.ndarray, bool]:
    """``B x G`` weight matrix; full enumeration when it has at most ``reps`` rows."""
    blocks = list(iter_weights(n_clusters, reps, weights, seed, chunk=max(reps, 1)))
    return np.concatenate([b for b, _ in blocks]), blocks[0][1]


def _cluster_sum(values: np.ndarray, codes: np.ndarray, g: int) -> np.ndarray:
    """Sums of the rows of ``values`` (a vector or a matrix) within each cluster."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=g)
    out = np.empty((g, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=g)
    return out


def wild_cluster_bootstrap(
    X: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray,
    *,
    absorbed: np.ndarray | None = None,
    coefs: Sequence[int] = (0,),
    null: float = 0.0,
    reps: int = 9999,
    weights: str = "auto",
    seed: int = 0,
    level: float = 0.95,
    ci: bool = True,
    n_treated_clusters: int | None = None,
    chunk: int | None = None,
) -> list[WildBootstrapResult]:
    """WCR bootstrap for each coefficient index in ``coefs`` of the OLS of ``y`` on ``X`` (and
    ``absorbed``).

    ``X`` and ``y`` are partialled of the absorbed effects nested in the clusters (unit effects
    within clusters of units); ``absorbed`` (``n x m``, optional) holds the columns of absorbed
    effects that are not nested in the clusters (period dummies), in the same row metric. They
    are regressors of the bootstrap model whose coefficients are not tested; ``X`` and ``y`` are
    partialled of them here (nothing changes when they already are). ``clusters`` are labels or
    codes per row. Returns one :class:`WildBootstrapResult` per coefficient (same weight draws).
    ``n_treated_clusters`` (optional) adds the few-treated-clusters warning. ``chunk``: draws per
    block (default: as many as fit in about 32 MB of weights); the result does not depend on it.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    _, codes = np.unique(np.asarray(clusters), return_inverse=True)
    codes = codes.ravel()
    g = int(codes.max()) + 1
    if g < 2:
        raise InputError("the wild cluster bootstrap needs at least 2 clusters")
    if reps < 1:
        raise InputError(f"reps must be positive, got {reps}")
    scheme = resolve_weights(weights, g)
    F = FtFi = None
    if absorbed is not None:
        F = np.asarray(absorbed, dtype=float)
        F = F[:, None] if F.ndim == 1 else F
        if F.shape[0] != X.shape[0]:
            raise InputError(f"absorbed has {F.shape[0]} rows, X has {X.shape[0]}")
        if not np.all(np.isfinite(F)):
            raise InputError("absorbed has missing or infinite values")
        if F.shape[1] == 0:
            F = None
        else:
            FtFi = np.linalg.pinv(F.T @ F, rcond=ABSORBED_RCOND, hermitian=True)
            X = X - F @ (FtFi @ (F.T @ X))
            y = y - F @ (FtFi @ (F.T @ y))
    if chunk is None:  # a block of weights and its (draws x regressors) products
        chunk = max(1, _BLOCK_ELEMENTS // max(g, X.shape[1] + (0 if F is None else F.shape[1])))
    XtXi = np.linalg.pinv(X.T @ X)
    beta = XtXi @ (X.T @ y)
    resid = y - X @ beta
    alpha = 1 - level
    prepared = []
    for k in coefs:
        a = X @ XtXi[k]  # k-th row of (X'X)^-1 X' (= of the model with the absorbed columns)
        se_unres = np.sqrt(np.sum(_cluster_sum(a * resid, codes, g) ** 2))
        others = [j for j in range(X.shape[1]) if j != k]
        if others:
            Xr = X[:, others]
            proj = np.linalg.pinv(Xr.T @ Xr) @ Xr.T
            u0 = y - Xr @ (proj @ y)
            u1 = X[:, k] - Xr @ (proj @ X[:, k])
        else:
            u0, u1 = y.copy(), X[:, k].copy()
        P = _cluster_sum(X * a[:, None], codes, g)  # G x K
        c0, c1 = _cluster_sum(a * u0, codes, g), _cluster_sum(a * u1, codes, g)
        Q0 = _cluster_sum(X * u0[:, None], codes, g) @ XtXi  # G x K (symmetric XtXi)
        Q1 = _cluster_sum(X * u1[:, None], codes, g) @ XtXi
        if F is not None:
            # the absorbed columns are orthogonal to X, so (Z'Z)^-1 for Z = [X, F] is block
            # diagonal and their P and Q terms are further columns of the same algebra
            P = np.hstack([P, _cluster_sum(F * a[:, None], codes, g)])
            Q0 = np.hstack([Q0, _cluster_sum(F * u0[:, None], codes, g) @ FtFi])
            Q1 = np.hstack([Q1, _cluster_sum(F * u1[:, None], codes, g) @ FtFi])
        prepared.append((k, se_unres, P, c0, c1, Q0, Q1, {n: [] for n in
                                                          ("N0", "N1", "D00", "D01", "D11")}))
    n_draws = 0
    enumerated = False
    for V, enumerated in iter_weights(g, int(reps), scheme, seed, chunk):
        n_draws += len(V)
        for _, _, P, c0, c1, Q0, Q1, acc in prepared:
            S0 = V * c0 - (V @ Q0) @ P.T
            S1 = V * c1 - (V @ Q1) @ P.T
            acc["N0"].append(V @ c0)
            acc["N1"].append(V @ c1)
            acc["D00"].append(np.einsum("bg,bg->b", S0, S0))
            acc["D01"].append(np.einsum("bg,bg->b", S0, S1))
            acc["D11"].append(np.einsum("bg,bg->b", S1, S1))
    reason = weights_reason(weights, scheme, g, enumerated)
    warn = few_treated_warning(n_treated_clusters, g)
    out = []
    for k, se_unres, _, _, _, _, _, acc in prepared:
        N0, N1, D00, D01, D11 = (np.concatenate(acc[n]) for n in ("N0", "N1", "D00", "D01", "D11"))
        bk = float(beta[k])

        t_star = StudentizedDraws(N0, N1, (D00, D01, D11))  # the draws' t at a null value

        def pvalue(b0: float, t_star=t_star, bk=bk, se_unres=se_unres) -> float:
            t_obs = abs(bk - b0) / se_unres
            values = t_star(b0)
            return np.count_nonzero(values >= t_obs * (1 - 1e-10)) / len(values)

        p = pvalue(null)
        lo, hi = (float("nan"), float("nan"))
        if ci:
            lo, hi = invert_pvalue(pvalue, bk, se_unres, alpha=alpha)
        out.append(
            WildBootstrapResult(bk, p, lo, hi, null, scheme, n_draws, g, enumerated, level,
                                weights_reason=reason, warnings=list(warn),
                                n_treated_clusters=n_treated_clusters)
        )
    return out
