"""Estimators' batched form: one estimate per placebo assignment, many assignments at once.

Placebo-based inference across many specifications (the specification curve's joint test,
Simonsohn, Simmons & Nelson 2020) re-estimates each specification on every placebo frame: the
same panel with treatment given to placebo units and the comparison set of that frame. The
functions here return, for a block of such frames, exactly what the single-fit estimator
returns on each of them (tests pin every one to it):

- :func:`twfe_placebo` = ``twfe_did(...).params["att"]``;
- :func:`event_study_placebo` = the event-study average ``att`` (mean of the post-period
  event-time coefficients of ``event_study``);
- :func:`synthetic_did_placebo` = ``synthetic_did(...).params["att"]``
  (:func:`synthetic_did_placebo_fits`: with each fit's Frank-Wolfe convergence);
- :func:`synthetic_control_placebo` = ``synthetic_control(...).params["att"]`` (treated group
  averaged into one unit, predictors the pre-period outcomes).

A block is given by two ``draws x units`` boolean matrices over the sorted unit labels of
``data``: ``placebo`` (units treated from ``adoption_time`` on in that frame) and ``included``
(units in that frame: the placebo units and their comparison units; default every unit).

TWFE and the event study are weighted least squares with unit and period effects
(``weights``: a column of observation weights, ``None`` for OLS). After partialling out the
unit effects within each unit (weighted means), the normal equations of the period effects,
the treatment terms and the covariates are sums of per-unit blocks over the frame's units, so
for a block of frames they are matrix products of the membership matrices with the stacked
per-unit blocks (Frisch-Waugh-Lovell); each frame's system is then solved exactly. Cells
missing from an unbalanced panel carry weight zero. SDID and synthetic control re-solve
their weights on each frame with the estimators' own solvers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, require_columns

if TYPE_CHECKING:
    from .sdid import PlaceboFits


@dataclass(frozen=True)
class PanelCube:
    """A long panel as ``units x periods`` arrays (missing cells: weight 0)."""

    units: pd.Index
    times: np.ndarray
    y: np.ndarray              # U x T
    w: np.ndarray              # U x T observation weights (0 = cell missing)
    X: np.ndarray | None       # U x T x k covariates

    @classmethod
    def from_frame(cls, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
                   covariates: Sequence[str] = (), weights: str | None = None) -> "PanelCube":
        covariates = list(covariates or ())
        need = [unit, time, outcome, *covariates] + ([weights] if weights else [])
        require_columns(data, need)
        if data.duplicated([unit, time]).any():
            raise InputError(f"duplicate ({unit}, {time}) rows")
        rows = data.dropna(subset=[outcome, *covariates] + ([weights] if weights else []))
        ui, units = pd.factorize(rows[unit], sort=True)
        ti, times = pd.factorize(rows[time], sort=True)
        shape = (len(units), len(times))
        y = np.zeros(shape)
        y[ui, ti] = rows[outcome].to_numpy(dtype=float)
        w = np.zeros(shape)
        if weights:
            wv = rows[weights].to_numpy(dtype=float)
            if (wv < 0).any() or not np.isfinite(wv).all():
                raise InputError(f"weights column {weights!r} must be finite and non-negative")
            w[ui, ti] = wv
        else:
            w[ui, ti] = 1.0
        X = None
        if covariates:
            X = np.zeros((*shape, len(covariates)))
            X[ui, ti, :] = rows[covariates].to_numpy(dtype=float)
        return cls(pd.Index(units), np.asarray(times, dtype=float), y, w, X)

    @property
    def balanced(self) -> bool:
        return bool((self.w > 0).all())


def _membership(cube: PanelCube, placebo, included) -> tuple[np.ndarray, np.ndarray]:
    P = np.atleast_2d(np.asarray(placebo, dtype=bool))
    if P.shape[1] != len(cube.units):
        raise InputError(f"placebo assignments have {P.shape[1]} columns; the panel has "
                         f"{len(cube.units)} units")
    if included is None:
        S = np.ones_like(P)
    else:
        S = np.atleast_2d(np.asarray(included, dtype=bool)) | P
    if S.shape != P.shape:
        raise InputError("placebo and included assignments must have the same shape")
    if not P.any(axis=1).all():
        raise InputError("every placebo assignment needs at least one placebo unit")
    if ((S & ~P).sum(axis=1) < 1).any():
        raise InputError("every placebo assignment needs at least one comparison unit")
    return P, S


def _regression(cube: PanelCube, P: np.ndarray, S: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Coefficients of the treatment terms ``P_i * Q_t`` (``Q``: periods x m) per frame, by
    weighted least squares with unit and period effects and the cube's covariates."""
    U, T = cube.y.shape
    w = cube.w
    tot = w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(tot > 0, 1.0 / tot, 0.0)

    def within(M):  # U x T x c: deviations from each unit's weighted mean
        mean = np.einsum("ut,utc->uc", w, M) * inv
        return M - mean[:, None, :]

    D = np.broadcast_to(np.eye(T)[None, :, 1:], (U, T, T - 1))        # period dummies (one dropped)
    F = D if cube.X is None else np.concatenate([D, cube.X], axis=2)   # terms every unit carries
    F = within(F)
    Qt = within(np.broadcast_to(Q[None], (U, T, Q.shape[1])))
    y = within(cube.y[:, :, None])[:, :, 0]
    f, m = F.shape[2], Q.shape[1]
    wF, wQ = w[:, :, None] * F, w[:, :, None] * Qt
    FF = np.einsum("utf,utg->ufg", wF, F).reshape(U, f * f)
    FQ = np.einsum("utf,utm->ufm", wF, Qt).reshape(U, f * m)
    QQ = np.einsum("utm,utn->umn", wQ, Qt).reshape(U, m * m)
    Fy = np.einsum("utf,ut->uf", wF, y)
    Qy = np.einsum("utm,ut->um", wQ, y)
    Sf, Pf = S.astype(float), P.astype(float)
    n = len(P)
    A = np.empty((n, f + m, f + m))
    A[:, :f, :f] = (Sf @ FF).reshape(n, f, f)
    A[:, :f, f:] = (Pf @ FQ).reshape(n, f, m)
    A[:, f:, :f] = np.transpose(A[:, :f, f:], (0, 2, 1))
    A[:, f:, f:] = (Pf @ QQ).reshape(n, m, m)
    b = np.concatenate([Sf @ Fy, Pf @ Qy], axis=1)
    try:
        beta = np.linalg.solve(A, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # a covariate absorbed by the effects on some frame's units
        beta = np.stack([_solve_dropping_absorbed(A[d], b[d]) for d in range(n)])
    return beta[:, f:]


def _solve_dropping_absorbed(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One frame's normal equations; where singular (a covariate fully absorbed by the unit and
    period effects on that frame's units, which ``twfe_did`` drops), the minimum-norm
    least-squares solution, which leaves the identified coefficients unchanged."""
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(A, b, rcond=None)[0]


def twfe_placebo(data: pd.DataFrame, *, unit: str, time: str, outcome: str, placebo,
                 adoption_time: float, included=None, covariates: Sequence[str] = (),
                 weights: str | None = None, cube: PanelCube | None = None) -> np.ndarray:
    """``twfe_did``'s ``att`` on each placebo frame: treatment ``1[placebo unit, t >=
    adoption_time]``, unit and period effects, ``covariates``, observation ``weights``."""
    cube = cube or PanelCube.from_frame(data, unit=unit, time=time, outcome=outcome,
                                        covariates=covariates, weights=weights)
    P, S = _membership(cube, placebo, included)
    post = (cube.times >= adoption_time).astype(float)[:, None]
    if post.all() or not post.any():
        raise InputError(f"adoption time {adoption_time} leaves no pre- or no post-period")
    return _regression(cube, P, S, post)[:, 0]


def event_study_placebo(data: pd.DataFrame, *, unit: str, time: str, outcome: str, placebo,
                        adoption_time: float, included=None, covariates: Sequence[str] = (),
                        weights: str | None = None, ref: int = -1,
                        cube: PanelCube | None = None) -> np.ndarray:
    """The event-study average ``att`` (mean of the coefficients of event times >= 0;
    reference event time ``ref``) on each placebo frame."""
    cube = cube or PanelCube.from_frame(data, unit=unit, time=time, outcome=outcome,
                                        covariates=covariates, weights=weights)
    P, S = _membership(cube, placebo, included)
    rel = cube.times - adoption_time
    if ref not in set(rel.astype(int)):
        raise InputError(f"reference event time {ref} is not a period of the panel")
    keep = [j for j, e in enumerate(rel) if e != ref]
    Q = np.eye(len(rel))[:, keep]
    post = [i for i, j in enumerate(keep) if rel[j] >= 0]
    if not post:
        raise InputError("the panel has no period at or after the adoption time")
    return _regression(cube, P, S, Q)[:, post].mean(axis=1)


def _balanced_outcome(cube: PanelCube, what: str) -> np.ndarray:
    if not cube.balanced:
        raise InputError(f"{what} needs a balanced panel (every unit in every period)")
    return cube.y


def synthetic_did_placebo(data: pd.DataFrame, *, unit: str, time: str, outcome: str, placebo,
                          adoption_time: float, included=None,
                          cube: PanelCube | None = None) -> np.ndarray:
    """``synthetic_did``'s ``att`` on each placebo frame (Arkhangelsky et al. 2021): unit and
    time weights re-solved on every frame (:func:`analysis.estimators.sdid.placebo_fits`, the
    solver of the estimator's own placebo standard error)."""
    return synthetic_did_placebo_fits(data, unit=unit, time=time, outcome=outcome,
                                      placebo=placebo, adoption_time=adoption_time,
                                      included=included, cube=cube).estimates


def synthetic_did_placebo_fits(data: pd.DataFrame, *, unit: str, time: str, outcome: str,
                               placebo, adoption_time: float, included=None,
                               cube: PanelCube | None = None) -> PlaceboFits:
    """:func:`synthetic_did_placebo` with, per frame, whether its Frank-Wolfe weights
    converged before R synthdid's iteration cap (:class:`analysis.estimators.sdid.PlaceboFits`)."""
    from .sdid import PlaceboFits, placebo_fits

    cube = cube or PanelCube.from_frame(data, unit=unit, time=time, outcome=outcome)
    P, S = _membership(cube, placebo, included)
    Y = _balanced_outcome(cube, "synthetic DiD")
    t0 = int(np.sum(cube.times < adoption_time))
    if t0 < 2:
        raise InputError("synthetic DiD needs at least 2 pre-treatment periods")
    C = S & ~P
    if (C.sum(axis=1) < 2).any():
        raise InputError("synthetic DiD needs at least 2 control units in every placebo frame")
    n_treated = P.sum(axis=1)
    out = np.empty(len(P))
    converged = np.empty(len(P), bool)
    for k in np.unique(n_treated):  # placebo_fits takes one number of treated units at a time
        at = np.flatnonzero(n_treated == k)
        rows = (np.r_[np.flatnonzero(C[d]), np.flatnonzero(P[d])] for d in at)
        fits = placebo_fits(Y, rows, int(k), t0)
        out[at] = fits.estimates
        converged[at] = fits.converged
    return PlaceboFits(out, converged)


def synthetic_control_placebo(data: pd.DataFrame, *, unit: str, time: str, outcome: str, placebo,
                              adoption_time: float, included=None, v_method: str = "nested",
                              n_starts: int = 1, seed: int = 0, solver: str = "active-set",
                              cube: PanelCube | None = None) -> np.ndarray:
    """``synthetic_control``'s ``att`` on each placebo frame (Abadie, Diamond & Hainmueller
    2010; placebo units averaged into one treated unit, the pre-period outcomes as predictors,
    V by pre-period MSPE): the average post-period gap."""
    from .synthetic_control import V_METHODS, _fit_one

    if v_method not in V_METHODS:
        raise InputError(f"v_method must be one of {', '.join(V_METHODS)}, got {v_method!r}")
    cube = cube or PanelCube.from_frame(data, unit=unit, time=time, outcome=outcome)
    P, S = _membership(cube, placebo, included)
    Y = _balanced_outcome(cube, "synthetic control").T        # T x U
    times = cube.times
    pre = times < adoption_time
    if not pre.any() or pre.all():
        raise InputError(f"adoption time {adoption_time} leaves no pre- or no post-period")
    Xall = Y[pre]                                              # predictors: pre-period outcomes
    out = np.empty(len(P))
    for d in range(len(P)):
        members = np.flatnonzero(S[d])
        donors = np.flatnonzero(S[d] & ~P[d])
        treated = np.flatnonzero(P[d])
        if len(donors) < 2:
            raise InputError("synthetic control needs at least 2 donors in every placebo frame")
        scale = Xall[:, members].std(axis=1, ddof=1)
        scale[~(scale > 0)] = 1.0
        fit = _fit_one(Y[:, treated].mean(axis=1), Y[:, donors], Xall[:, treated].mean(axis=1),
                       Xall[:, donors], scale, times, adoption_time, pre, v_method, seed, n_starts,
                       solver)
        out[d] = fit["att"]
    return out
