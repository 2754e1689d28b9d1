"""Compiled (numba) inner loops of the weight solvers; the Python versions are the reference.

Each kernel is a line-by-line transcription of its reference loop in
:mod:`analysis.estimators.sdid` and is tested against it (``tests/test_fast_paths.py``).
Compiled on first use and cached on disk (``cache=True``).
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def frank_wolfe(A, b, lam, eta, zeta2, min_decrease2, max_iter):  # pragma: no cover - compiled
    """Frank-Wolfe on ``zeta2·|lam|^2 + |A lam - b|^2 / N0`` over the simplex (synthdid's
    ``sc.weight.fw``). Returns ``(lam, iterations, last decrease)``; modifies ``lam``."""
    n0, t0 = A.shape
    ax = np.zeros(n0)
    for r in range(n0):
        acc = 0.0
        for c in range(t0):
            acc += A[r, c] * lam[c]
        ax[r] = acc
    grad = np.empty(t0)
    derr = np.empty(n0)
    prev2 = 0.0
    prev1 = 0.0
    t = 0
    while t < max_iter and (t < 2 or prev2 - prev1 > min_decrease2):
        t += 1
        for c in range(t0):
            grad[c] = eta * lam[c]
        for r in range(n0):
            e = ax[r] - b[r]
            for c in range(t0):
                grad[c] += e * A[r, c]
        i = 0
        for c in range(1, t0):
            if grad[c] < grad[i]:
                i = c
        xx = 0.0
        gl = 0.0
        for c in range(t0):
            xx += lam[c] * lam[c]
            gl += grad[c] * lam[c]
        if not (lam[i] == 1.0 and xx == 1.0):
            dd = 0.0
            for r in range(n0):
                derr[r] = A[r, i] - ax[r]
                dd += derr[r] * derr[r]
            num = gl - grad[i]
            den = dd + eta * (1.0 - 2.0 * lam[i] + xx)
            step = num / den
            if step > 1.0:
                step = 1.0
            if step < 0.0 or step != step:
                step = 0.0
            for c in range(t0):
                lam[c] = lam[c] * (1.0 - step)
            lam[i] += step
            for r in range(n0):
                ax[r] = ax[r] + step * derr[r]
            xx = 0.0
            for c in range(t0):
                xx += lam[c] * lam[c]
        ee = 0.0
        for r in range(n0):
            e = ax[r] - b[r]
            ee += e * e
        val = zeta2 * xx + ee / n0
        prev2 = prev1
        prev1 = val
    return lam, t, prev2 - prev1


@njit(cache=True)
def _equality_lsq(a, b, support, ns):  # pragma: no cover - compiled
    """``argmin ||b - a[:, S] z||`` s.t. ``sum(z) = 1`` (minimum-norm if not unique)."""
    k = a.shape[0]
    z = np.empty(ns)
    if ns == 1:
        z[0] = 1.0
        return z
    base = support[0]
    rest = np.empty((k, ns - 1))
    rhs = np.empty(k)
    for r in range(k):
        rhs[r] = b[r] - a[r, base]
        for c in range(1, ns):
            rest[r, c - 1] = a[r, support[c]] - a[r, base]
    y = np.linalg.lstsq(rest, rhs, -1.0)[0]
    total = 0.0
    for c in range(ns - 1):
        z[c + 1] = y[c]
        total += y[c]
    z[0] = 1.0 - total
    return z


@njit(cache=True)
def simplex_lsq(a, b, tol, max_iter):  # pragma: no cover - compiled
    """Active-set simplex least squares; transcription of
    :func:`analysis.estimators.synthetic_control.simplex_lsq` (the reference).
    Returns ``(w, iterations)``; ``iterations = -1`` if ``max_iter`` was reached."""
    k, n = a.shape
    w = np.zeros(n)
    best = 0
    best_val = np.inf
    for c in range(n):
        acc = 0.0
        for r in range(k):
            d = b[r] - a[r, c]
            acc += d * d
        if acc < best_val:
            best_val = acc
            best = c
    w[best] = 1.0
    support = np.empty(n, np.int64)
    in_support = np.zeros(n, np.bool_)
    support[0] = best
    in_support[best] = True
    ns = 1
    resid = np.empty(k)
    grad = np.empty(n)
    for it in range(1, max_iter + 1):
        for r in range(k):
            acc = -b[r]
            for s in range(ns):
                acc += a[r, support[s]] * w[support[s]]
            resid[r] = acc
        for c in range(n):
            acc = 0.0
            for r in range(k):
                acc += a[r, c] * resid[r]
            grad[c] = acc
        nu = 0.0
        for s in range(ns):
            nu -= grad[support[s]]
        nu /= ns
        j = -1
        slack_j = np.inf
        for c in range(n):
            if not in_support[c]:
                sl = grad[c] + nu
                if sl < slack_j:
                    slack_j = sl
                    j = c
        if j < 0 or slack_j >= -tol:
            return w, it
        support[ns] = j
        in_support[j] = True
        ns += 1
        while True:
            z = _equality_lsq(a, b, support, ns)
            positive = True
            for s in range(ns):
                if z[s] <= 0.0:
                    positive = False
            if positive:
                for s in range(ns):
                    w[support[s]] = z[s]
                break
            step = np.inf
            for s in range(ns):
                if z[s] <= 0.0:
                    ws = w[support[s]]
                    q = ws / (ws - z[s])
                    if q < step:
                        step = q
            blocking = -1
            blocking_val = np.inf
            for s in range(ns):
                ws = w[support[s]] + step * (z[s] - w[support[s]])
                w[support[s]] = ws
                if z[s] <= 0.0 and ws < blocking_val:
                    blocking_val = ws
                    blocking = s
            kept = 0
            total = 0.0
            for s in range(ns):
                u = support[s]
                if s != blocking and w[u] > 1e-15:
                    support[kept] = u
                    kept += 1
                    total += w[u]
                else:
                    w[u] = 0.0
                    in_support[u] = False
            ns = kept
            for s in range(ns):
                w[support[s]] /= total
            if ns == 1:
                break
    return w, -1


def warm() -> None:
    """Compile every kernel once for the argument types the solvers pass (or load it from the
    on-disk cache). Compiling takes seconds per kernel, most for :func:`simplex_lsq`; calling
    this once before parallel runs start saves each of them compiling the same kernels."""
    a = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    b = np.array([0.4, 0.6])
    simplex_lsq(a, b, 1e-12, 100)
    frank_wolfe(np.ascontiguousarray(a.T), np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.5]),
                1.0, 1.0, 1e-12, 10)
