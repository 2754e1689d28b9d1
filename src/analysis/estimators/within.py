"""The within transformation: partial out unit and/or period effects exactly.

For a panel with unit codes ``i`` and period codes ``t`` (any order, balanced or not),
``transform(M)`` returns the residuals of regressing each column of ``M`` on the unit and/or
period dummies (Frisch-Waugh-Lovell), without forming the dummies for the units:

- units only: subtract unit means; periods only: subtract period means;
- both, balanced panel sorted by unit then period: subtract unit means, then period means;
- both, unbalanced: subtract unit means, then project out the unit-demeaned period dummies
  ``D`` (``n x (T-1)``, first period left out): ``M - D (D'D)^+ D' M``. Exact (no iteration);
  ``T`` is small in a panel.

With observation weights ``w`` (``weights=``, positive) the projection is the weighted one of
weighted least squares: ``M - F (F'WF)^+ F'W M`` for the effect dummies ``F``, computed the same
way: subtract weighted unit means, then project out the weighted-unit-demeaned period dummies in
the ``W`` metric, ``M - D (D'WD)^+ D'W M`` (exact for balanced and unbalanced panels alike: with
weights that vary within units, one pass of weighted unit and period demeaning is not exact).
The result is the residual of the weighted regression; :attr:`WithinTransform.sqrt_weights`
rescales it so that ordinary least squares on ``sqrt(w)·transform(M)`` is weighted least squares
(Frisch-Waugh-Lovell with weights; as linearmodels ``PanelOLS(weights=...)``).
"""
from __future__ import annotations

import numpy as np

#: relative eigenvalue cut-off of the period-effects Gram matrix: below it a direction counts as
#: collinear (a period observed only by units seen once); far above rounding noise
RCOND = 1e-10


def group_demean(M: np.ndarray, codes: np.ndarray, n_groups: int,
                 weights: np.ndarray | None = None) -> np.ndarray:
    """Columns of ``M`` minus their group means (``codes`` in ``0..n_groups-1``); with
    ``weights``, minus their weighted group means."""
    totals = np.bincount(codes, weights=weights, minlength=n_groups)
    sums = np.empty((n_groups, M.shape[1]))
    for j in range(M.shape[1]):
        column = M[:, j] if weights is None else M[:, j] * weights
        sums[:, j] = np.bincount(codes, weights=column, minlength=n_groups)
    return M - (sums / np.where(totals > 0, totals, 1)[:, None])[codes]


class WithinTransform:
    """Exact partialling of unit and/or period effects for one panel layout."""

    def __init__(self, unit_codes: np.ndarray, time_codes: np.ndarray, *,
                 unit_effects: bool = True, time_effects: bool = True,
                 weights: np.ndarray | None = None) -> None:
        self.unit_codes = np.asarray(unit_codes)
        if weights is not None:
            weights = np.asarray(weights, dtype=float)
            if weights.shape != self.unit_codes.shape:
                raise ValueError("one weight per row is needed")
            if not (np.all(np.isfinite(weights)) and np.all(weights > 0)):
                raise ValueError("weights must be finite and positive")
        self.weights = weights
        self.time_codes = np.asarray(time_codes)
        self.n_units = int(self.unit_codes.max()) + 1
        self.n_periods = int(self.time_codes.max()) + 1
        self.unit_effects = unit_effects
        self.time_effects = time_effects
        n = len(self.unit_codes)
        self.sorted_balanced = (
            n == self.n_units * self.n_periods
            and np.array_equal(self.unit_codes, np.repeat(np.arange(self.n_units), self.n_periods))
            and np.array_equal(self.time_codes, np.tile(np.arange(self.n_periods), self.n_units))
        )
        self._basis: tuple[np.ndarray, np.ndarray] | None = None

    def transform(self, M: np.ndarray) -> np.ndarray:
        M = np.asarray(M, dtype=float)
        if M.ndim == 1:
            return self.transform(M[:, None])[:, 0]
        if not self.unit_effects and not self.time_effects:
            return M.copy()
        w = self.weights
        if not self.time_effects:
            return group_demean(M, self.unit_codes, self.n_units, w)
        if not self.unit_effects:
            return group_demean(M, self.time_codes, self.n_periods, w)
        if w is not None:
            within = group_demean(M, self.unit_codes, self.n_units, w)
            dt, dt_pinv = self.period_basis()
            return within - dt @ (dt_pinv @ ((dt * w[:, None]).T @ within))
        if self.sorted_balanced:
            cube = M.reshape(self.n_units, self.n_periods, -1)
            cube = cube - cube.mean(axis=1, keepdims=True)
            cube = cube - cube.mean(axis=0, keepdims=True)
            return cube.reshape(M.shape)
        within = group_demean(M, self.unit_codes, self.n_units)
        dt, dt_pinv = self.period_basis()
        return within - dt @ (dt_pinv @ (dt.T @ within))

    @property
    def sqrt_weights(self) -> np.ndarray | None:
        """``sqrt(w)`` per row (``None`` without weights): OLS on ``sqrt(w)·transform(M)`` is
        the weighted least squares of the effects model."""
        return None if self.weights is None else np.sqrt(self.weights)

    def period_basis(self) -> tuple[np.ndarray, np.ndarray]:
        """(Weighted-)unit-demeaned period dummies ``D`` and ``pinv(D'WD)`` (computed once)."""
        if self._basis is None:
            n = len(self.time_codes)
            w = self.weights
            # the first period's dummy is left out: beside the unit effects the T period dummies
            # have one exact linear dependency (they sum to one), and a pseudo-inverse cannot
            # tell that zero eigenvalue from rounding noise reliably
            dummies = np.zeros((n, self.n_periods))
            dummies[np.arange(n), self.time_codes] = 1.0
            dt = group_demean(dummies[:, 1:], self.unit_codes, self.n_units, w)
            gram = dt.T @ dt if w is None else (dt * w[:, None]).T @ dt
            self._basis = (dt, np.linalg.pinv(gram, rcond=RCOND, hermitian=True))
        return self._basis

    def effects_not_nested(self, units_nested: bool) -> np.ndarray:
        """Columns spanning the absorbed effects that are not nested in the clusters, in the
        (weighted) metric of :meth:`transform`: with unit effects nested in the clusters, the
        (weighted-)unit-demeaned period dummies (:meth:`period_basis`); otherwise the unit and
        period dummies themselves (``n x (N + T - 1)``). :meth:`transform` leaves columns
        orthogonal (in the ``W`` metric) to them. The wild cluster bootstrap keeps these effects
        as regressors (Roodman, MacKinnon, Nielsen & Webb 2019, boottest)."""
        n = len(self.unit_codes)
        if units_nested and self.unit_effects:
            if not self.time_effects:
                return np.empty((n, 0))
            return self.period_basis()[0]
        blocks = []
        if self.unit_effects:
            units = np.zeros((n, self.n_units))
            units[np.arange(n), self.unit_codes] = 1.0
            blocks.append(units)
        if self.time_effects:
            periods = np.zeros((n, self.n_periods))
            periods[np.arange(n), self.time_codes] = 1.0
            blocks.append(periods[:, 1:] if self.unit_effects else periods)
        return np.hstack(blocks) if blocks else np.empty((n, 0))
