"""Placebo assignments of the joint test and each specification's estimates under them.

Under the null of no effect anywhere, a placebo draw gives treatment to control municipalities
grouped like the pilot units; the real treated municipalities leave the panel. Each draw is
applied to every specification (Simonsohn, Simmons & Nelson 2020, § 4: the same null datasets
for the whole curve): in a specification's placebo frame the placebo units are the treated
group and that specification's own control set (less the placebo units) the comparison.

Placebo units are shaped like the pilot units (:mod:`analysis.inference.placebo_units`,
``nearest``: as many placebo units as treated clusters, with the same sizes, each a group of
neighbouring municipalities), as in every other placebo-based procedure of the project.
Assignments are drawn over the *placebo pool*: municipalities that are controls of the default
pool in every window of the grid, so that every draw can be applied to every specification.

The estimate of a specification on a placebo frame is its estimator's: for TWFE and the
event-study average on a balanced panel they are linear in the outcome and are computed for a
block of draws at once by the Frisch-Waugh-Lovell identity (without covariates: the
difference in the pre/post change of unit means; tests check both against ``twfe_did`` and
``event_study``); SDID re-solves its weights on every draw (``sdid_tau``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import study
from ..errors import InputError

#: without coordinates in the frames: each treated cluster is replaced by one control municipality
INTERIM_CONSTRUCTION = "cluster"


def placebo_units_settings(frame: pd.DataFrame | None = None):
    """:class:`~analysis.inference.placebo_units.PlaceboUnits` (``nearest``) when the module
    exists and ``frame`` has the centroid columns, else ``None`` (cluster-level reassignment)."""
    try:
        from ..inference.placebo_units import PlaceboUnits
    except ImportError:
        return None
    settings = PlaceboUnits(construction="nearest")
    if frame is not None and not {settings.x, settings.y} <= set(frame.columns):
        return None
    return settings


def describe_construction(frame: pd.DataFrame | None = None) -> dict:
    s = placebo_units_settings(frame)
    if s is None:
        return {"construction": INTERIM_CONSTRUCTION,
                "description": "each treated cluster is replaced by one control municipality drawn "
                               "at random (cluster-level reassignment)"}
    return {**s.to_dict(), "description": s.describe()}


def draw_assignments(pool: list[str], cluster_sizes: list[int], n_draws: int, seed: int,
                     units: pd.DataFrame | None = None) -> np.ndarray:
    """Placebo assignments: a ``draws x len(pool)`` int matrix, 0 = not placebo-treated,
    ``j`` = member of placebo unit ``j`` (1-based). With ``units`` (one row per pool
    municipality with its centroid ``x``, ``y``) placebo units are shaped like the pilot units
    (:func:`analysis.inference.placebo_units.draw_placebo_units`, ``nearest``: the same sizes,
    neighbouring municipalities; all assignments when there are at most ``n_draws``);
    otherwise one municipality per treated cluster. The construction is chosen here only."""
    g = len(cluster_sizes)
    if len(pool) < sum(cluster_sizes) + 2:
        raise InputError(f"placebo pool of {len(pool)} municipalities is too small for the "
                         f"layout {list(cluster_sizes)}")
    settings = placebo_units_settings(units)
    if settings is not None and units is not None:
        from ..inference.placebo_units import draw_placebo_units

        data = units[units["kunta"].isin(pool)].drop_duplicates("kunta")
        draws = draw_placebo_units(data, unit="kunta", sizes=cluster_sizes, reps=n_draws, seed=seed,
                                   placebo_units=settings)
        labels = draws.labels() + 1                       # 0 = none, j = placebo unit j
        order = pd.Index(draws.units).get_indexer(pool)
        return labels[:, order].astype(np.int16)
    rng = np.random.default_rng(seed)
    out = np.zeros((n_draws, len(pool)), dtype=np.int16)
    for d in range(n_draws):
        chosen = rng.choice(len(pool), size=g, replace=False)
        out[d, chosen] = np.arange(1, g + 1)
    return out


class SpecPanel:
    """A specification's balanced outcome cube over its controls and the placebo pool."""

    def __init__(self, frame: pd.DataFrame, donor: pd.DataFrame, pool: list[str], outcome: str,
                 covariates=()):
        controls = frame.loc[frame["treated_group"] == 0]
        extra = donor[donor["kunta"].isin(pool) & ~donor["kunta"].isin(controls["kunta"])]
        rows = pd.concat([controls, extra], ignore_index=True).sort_values(["kunta", "year"])
        self.units = pd.Index(rows["kunta"].unique())
        self.years = np.sort(rows["year"].unique())
        n_u, n_t = len(self.units), len(self.years)
        if len(rows) != n_u * n_t:
            raise InputError("placebo draws need a balanced panel")
        self.Y = rows[outcome].to_numpy(dtype=float).reshape(n_u, n_t)
        self.X = np.stack([rows[c].to_numpy(dtype=float).reshape(n_u, n_t) for c in covariates],
                          axis=2) if covariates else None
        self.is_control = self.units.isin(controls["kunta"].unique())
        self.pool_index = self.units.get_indexer(pool)
        if (self.pool_index < 0).any():
            raise InputError("a placebo-pool municipality is missing from the specification's window")
        self.post = self.years >= study.ADOPTION_YEAR
        self.ref = int(np.flatnonzero(self.years == study.REFERENCE_YEAR)[0])

    def membership(self, assign: np.ndarray) -> np.ndarray:
        """Per draw and unit: placebo unit label (0 = none)."""
        labels = np.zeros((assign.shape[0], len(self.units)), dtype=np.int16)
        labels[:, self.pool_index] = assign
        return labels


def _regression_draws(panel: SpecPanel, P: np.ndarray, S: np.ndarray, dummies: np.ndarray,
                      terms: list[int]) -> np.ndarray:
    """OLS with unit and period effects on every draw's unit set at once.

    Units ``S`` (draws x units, 0/1) enter the regression; placebo units ``P`` carry the
    treatment regressors ``P_i * dummies`` (periods x m). With ``~`` the within-unit
    demeaning and bars the means over ``S``, the two-way-demeaned normal equations are
    ``sum_S Z~'Z~ - n_S Zbar'Zbar`` and ``sum_S Z~'y~ - n_S Zbar'ybar`` (Frisch-Waugh-Lovell);
    both are sums of per-unit terms, i.e. matrix products with the membership matrices.
    Returns the mean of the coefficients ``terms`` per draw.
    """
    Y = panel.Y - panel.Y.mean(axis=1, keepdims=True)                       # U x T
    q = dummies - dummies.mean(axis=0, keepdims=True)                          # T x m
    n_d, n_u = P.shape
    m = q.shape[1]
    Pf, Sf = P.astype(float), S.astype(float)
    nP, nS = Pf.sum(axis=1), Sf.sum(axis=1)                                    # D
    ySum_S, ySum_P = Sf @ Y, Pf @ Y                                            # D x T
    qq = q.T @ q                                                               # m x m
    if panel.X is None:
        k = 0
    else:
        X = panel.X - panel.X.mean(axis=1, keepdims=True)                      # U x T x k
        k = X.shape[2]
    A = np.zeros((n_d, m + k, m + k))
    b = np.zeros((n_d, m + k))
    zbar_q = (nP / nS)[:, None, None] * q[None, :, :]                          # D x T x m
    ybar = ySum_S / nS[:, None]                                                # D x T
    A[:, :m, :m] = nP[:, None, None] * qq[None] - nS[:, None, None] * np.einsum("dtm,dtn->dmn", zbar_q, zbar_q)
    b[:, :m] = ySum_P @ q - nS[:, None] * np.einsum("dtm,dt->dm", zbar_q, ybar)
    if k:
        U, T = Y.shape
        XS = (Sf @ X.reshape(U, T * k)).reshape(n_d, T, k)                     # sums over S
        XP = (Pf @ X.reshape(U, T * k)).reshape(n_d, T, k)
        xbar = XS / nS[:, None, None]
        G = np.einsum("utk,utl->ukl", X, X).reshape(U, k * k)
        h = np.einsum("utk,ut->uk", X, Y)
        A[:, m:, m:] = (Sf @ G).reshape(n_d, k, k) - nS[:, None, None] * np.einsum("dtk,dtl->dkl", xbar, xbar)
        qx = np.einsum("tm,dtk->dmk", q, XP) - nS[:, None, None] * np.einsum("dtm,dtk->dmk", zbar_q, xbar)
        A[:, :m, m:] = qx
        A[:, m:, :m] = np.transpose(qx, (0, 2, 1))
        b[:, m:] = Sf @ h - nS[:, None] * np.einsum("dtk,dt->dk", xbar, ybar)
    try:
        beta = np.linalg.solve(A, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # a covariate absorbed by the effects in some draw
        beta = np.stack([_solve_dropping_absorbed(A[d], b[d]) for d in range(n_d)])
    return beta[:, terms].mean(axis=1)


def _solve_dropping_absorbed(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Normal equations of one draw; where they are singular (a covariate fully absorbed by the
    unit and period effects on that draw's units, as ``twfe_did`` drops it), the
    minimum-norm least-squares solution, which leaves the identified coefficients unchanged."""
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(A, b, rcond=None)[0]


def placebo_estimates(estimator: str, panel: SpecPanel, assign: np.ndarray) -> np.ndarray:
    """The estimator's estimate on each placebo frame of ``assign`` (a block of draws)."""
    labels = panel.membership(assign)
    P = labels > 0
    C = panel.is_control[None, :] & ~P
    Y = panel.Y
    if estimator in ("twfe", "event-study"):
        n_t = len(panel.years)
        if estimator == "twfe":
            dummies = panel.post.astype(float)[:, None]
            terms = [0]
        else:
            others = [t for t in range(n_t) if t != panel.ref]
            dummies = np.eye(n_t)[:, others]
            terms = [j for j, t in enumerate(others) if panel.post[t]]
        return _regression_draws(panel, P, P | C, dummies, terms)
    out = np.empty(len(assign))
    if estimator == "sdid":
        from ..estimators.sdid import sdid_tau

        t0 = int(np.sum(~panel.post))
        for d in range(len(assign)):
            rows = np.r_[np.flatnonzero(C[d]), np.flatnonzero(P[d])]
            out[d] = float(sdid_tau(Y[rows], int(C[d].sum()), t0)[0])
        return out
    raise InputError(f"estimator {estimator!r} has no placebo draws in the joint test; "
                     "valid choices: twfe, event-study, sdid")
