"""The within transformation: partial out unit and/or period effects exactly.

For a panel with unit codes ``i`` and period codes ``t`` (any order, balanced or not),
``transform(M)`` returns the residuals of regressing each column of ``M`` on the unit and/or
period dummies (Frisch-Waugh-Lovell), without forming the dummies for the units:

- units only: subtract unit means; periods only: subtract period means;
- both, balanced panel sorted by unit then period: subtract unit means, then period means;
- both, unbalanced: subtract unit means, then project out the unit-demeaned period dummies
  ``D`` (``n x T``): ``M - D (D'D)^+ D' M``. Exact (no iteration); ``T`` is small in a panel.
"""
from __future__ import annotations

import numpy as np


def group_demean(M: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Columns of ``M`` minus their group means (``codes`` in ``0..n_groups-1``)."""
    counts = np.bincount(codes, minlength=n_groups)
    sums = np.empty((n_groups, M.shape[1]))
    for j in range(M.shape[1]):
        sums[:, j] = np.bincount(codes, weights=M[:, j], minlength=n_groups)
    return M - (sums / np.maximum(counts, 1)[:, None])[codes]


class WithinTransform:
    """Exact partialling of unit and/or period effects for one panel layout."""

    def __init__(self, unit_codes: np.ndarray, time_codes: np.ndarray, *,
                 unit_effects: bool = True, time_effects: bool = True) -> None:
        self.unit_codes = np.asarray(unit_codes)
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
        if not self.time_effects:
            return group_demean(M, self.unit_codes, self.n_units)
        if not self.unit_effects:
            return group_demean(M, self.time_codes, self.n_periods)
        if self.sorted_balanced:
            cube = M.reshape(self.n_units, self.n_periods, -1)
            cube = cube - cube.mean(axis=1, keepdims=True)
            cube = cube - cube.mean(axis=0, keepdims=True)
            return cube.reshape(M.shape)
        within = group_demean(M, self.unit_codes, self.n_units)
        dt, dt_pinv = self.period_basis()
        return within - dt @ (dt_pinv @ (dt.T @ within))

    def period_basis(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit-demeaned period dummies ``D`` and ``pinv(D'D)`` (computed once)."""
        if self._basis is None:
            n = len(self.time_codes)
            dummies = np.zeros((n, self.n_periods))
            dummies[np.arange(n), self.time_codes] = 1.0
            dt = group_demean(dummies, self.unit_codes, self.n_units)
            self._basis = (dt, np.linalg.pinv(dt.T @ dt, hermitian=True))
        return self._basis
