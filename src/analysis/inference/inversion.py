"""Confidence intervals by test inversion: the set of null values a test does not reject."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np


def invert_pvalue(
    pvalue: Callable[[float], float],
    estimate: float,
    scale: float,
    *,
    alpha: float = 0.05,
    tol: float = 1e-6,
    max_expand: int = 60,
) -> tuple[float, float]:
    """Lower and upper bound of ``{b0 : pvalue(b0) > alpha}`` around ``estimate``.

    Searches outward from the estimate in steps of ``scale`` (e.g. a standard error) until the
    test rejects, then bisects to ``tol · scale``. Returns ``inf`` bounds if the test never
    rejects within ``2**max_expand`` steps (e.g. with too few randomizations to reach ``alpha``).
    """
    if not math.isfinite(estimate):
        return float("nan"), float("nan")
    if not (math.isfinite(scale) and scale > 0):
        scale = max(abs(estimate), 1.0)
    if pvalue(estimate) <= alpha:
        # the point estimate itself is rejected (possible with discrete tests): no interval
        return float("nan"), float("nan")

    def bound(direction: int) -> float:
        inside, step = estimate, scale
        outside = None
        for _ in range(max_expand):
            cand = estimate + direction * step
            if pvalue(cand) <= alpha:
                outside = cand
                break
            inside, step = cand, step * 2
        if outside is None:
            return direction * float("inf")
        while abs(outside - inside) > tol * scale:
            mid = 0.5 * (inside + outside)
            if pvalue(mid) <= alpha:
                outside = mid
            else:
                inside = mid
        return 0.5 * (inside + outside)

    return bound(-1), bound(+1)


class StudentizedDraws:
    """Per draw, ``|a - tau*b| / sqrt(max(q0 - 2*tau*q1 + tau*tau*q2, 0))`` (0 where the
    variance is not positive) as a function of the null value ``tau``: the bootstrap or
    randomization statistics of a test whose score is linear in ``tau``, evaluated at the many
    null values of :func:`invert_pvalue`. ``variance``: ``(q0, q1, q2)``, or ``None`` for a
    test on the coefficient alone (:meth:`numerator`). The arrays are reused from one call to
    the next."""

    def __init__(self, a: np.ndarray, b: np.ndarray,
                 variance: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
        self.a, self.b, self.variance = a, b, variance
        n = len(a)
        self._num, self._var, self._stat = np.empty(n), np.empty(n), np.empty(n)

    def numerator(self, tau: float) -> np.ndarray:
        """``|a - tau*b|`` (valid until the next call)."""
        num = self._num
        np.multiply(self.b, tau, out=num)
        np.subtract(self.a, num, out=num)
        np.abs(num, out=num)
        return num

    def __call__(self, tau: float) -> np.ndarray:
        """The statistics at ``tau`` (valid until the next call)."""
        q0, q1, q2 = self.variance
        num, var, stat = self.numerator(tau), self._var, self._stat
        np.multiply(q1, 2 * tau, out=var)
        np.subtract(q0, var, out=var)
        np.multiply(q2, tau * tau, out=stat)
        np.add(var, stat, out=var)
        np.maximum(var, 0.0, out=var)
        np.sqrt(var, out=var)
        stat.fill(0.0)
        np.divide(num, var, out=stat, where=var > 0)
        return stat
