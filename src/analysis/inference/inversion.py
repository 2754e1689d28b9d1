"""Confidence intervals by test inversion: the set of null values a test does not reject."""
from __future__ import annotations

import math
from typing import Callable


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
