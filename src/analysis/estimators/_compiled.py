"""Compiled (numba) inner loops of the weight solvers; the Python versions are the reference.

Each kernel runs the iterations of its reference loop (:mod:`analysis.estimators.sdid`,
:mod:`analysis.estimators.synthetic_control`) and is tested against it
(``tests/test_fast_paths.py``): :func:`simplex_lsq` and :func:`frank_wolfe_direct` line by line;
:func:`frank_wolfe_incremental` the same Frank-Wolfe iterates with the gradient updated in
O(weights) per iteration. No ``fastmath``: every sum has one order written in the code, so
the results do not depend on the CPU's vector width. The argmin scan of the incremental path
runs its eight lanes as one LLVM vector (:mod:`analysis.estimators._lanes`): the scalar scan's
operations lane by lane, so its bits. Compiled on first use and cached on disk
(``cache=True``).
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import overload

from analysis.estimators._lanes import is_lane_vector, lane_scan


#: weights (columns of ``A``) up to which :func:`frank_wolfe` keeps the weights x weights matrix
#: of vertex gradients (8 bytes x weights^2: 32 MB at 2,000)
INCREMENTAL_MAX_WEIGHTS = 2000
#: gradients within this fraction of ``max |H|`` of the smallest are near-ties, recomputed as
#: the direct loop computes them (on the real panel's problems the updated gradient stays within
#: 1.2e-14 x max |H| of the exact one)
NEAR_TIE = 1e-11


@njit(cache=True)
def frank_wolfe(A, b, lam, eta, zeta2, min_decrease2, max_iter):  # pragma: no cover - compiled
    """Frank-Wolfe on ``zeta2·|lam|^2 + |A lam - b|^2 / N0`` over the simplex (synthdid's
    ``sc.weight.fw``): the iterates of :func:`analysis.estimators.sdid.frank_wolfe`'s reference
    loop (same vertex, step, stopping rule and cap). Returns ``(lam, iterations, last
    decrease)``; modifies ``lam``.

    :func:`frank_wolfe_incremental` when its set-up (``rows x weights^2``) costs less than the
    iterations it may save (``max_iter > weights``) and its matrix is small enough;
    :func:`frank_wolfe_direct` otherwise. The path depends only on the shape and ``max_iter``.
    """
    n_weights = A.shape[1]
    if n_weights <= INCREMENTAL_MAX_WEIGHTS and max_iter > n_weights:
        return frank_wolfe_incremental(A, b, lam, eta, zeta2, min_decrease2, max_iter)
    return frank_wolfe_direct(A, b, lam, eta, zeta2, min_decrease2, max_iter)


@njit(inline="always")
def _dot(x, y, n):  # pragma: no cover - compiled
    """``sum(x[:n] * y[:n])`` in one fixed order: eight interleaved partial sums (independent
    chains, so not bound by the latency of one addition), combined pairwise, then the tail."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    m = n - n % 8
    for c in range(0, m, 8):
        s0 += x[c] * y[c]
        s1 += x[c + 1] * y[c + 1]
        s2 += x[c + 2] * y[c + 2]
        s3 += x[c + 3] * y[c + 3]
        s4 += x[c + 4] * y[c + 4]
        s5 += x[c + 5] * y[c + 5]
        s6 += x[c + 6] * y[c + 6]
        s7 += x[c + 7] * y[c + 7]
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for c in range(m, n):
        s += x[c] * y[c]
    return s


@njit(inline="always")
def _first_equal(x, n, value):  # pragma: no cover - compiled
    """First index ``c`` with ``x[c] == value`` (0 if none: only when ``x`` holds no number)."""
    for c in range(n):
        if x[c] == value:
            return c
    return 0


@njit(inline="always")
def _argmin_dot_scalar(x, y, n):  # pragma: no cover - compiled
    """``(argmin(x), x @ y)`` in one pass: the first index of the smallest ``x[c]`` (as a
    strict-``<`` scan finds it; the minimum is exact in any order) and the dot product in
    :func:`_dot`'s order."""
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = np.inf
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    m = n - n % 8
    for c in range(0, m, 8):
        v = x[c]
        m0 = v if v < m0 else m0
        s0 += v * y[c]
        v = x[c + 1]
        m1 = v if v < m1 else m1
        s1 += v * y[c + 1]
        v = x[c + 2]
        m2 = v if v < m2 else m2
        s2 += v * y[c + 2]
        v = x[c + 3]
        m3 = v if v < m3 else m3
        s3 += v * y[c + 3]
        v = x[c + 4]
        m4 = v if v < m4 else m4
        s4 += v * y[c + 4]
        v = x[c + 5]
        m5 = v if v < m5 else m5
        s5 += v * y[c + 5]
        v = x[c + 6]
        m6 = v if v < m6 else m6
        s6 += v * y[c + 6]
        v = x[c + 7]
        m7 = v if v < m7 else m7
        s7 += v * y[c + 7]
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    m0 = m0 if m0 < m1 else m1
    m2 = m2 if m2 < m3 else m3
    m4 = m4 if m4 < m5 else m5
    m6 = m6 if m6 < m7 else m7
    m0 = m0 if m0 < m2 else m2
    m4 = m4 if m4 < m6 else m6
    lo = m0 if m0 < m4 else m4
    for c in range(m, n):
        v = x[c]
        lo = v if v < lo else lo
        s += v * y[c]
    return _first_equal(x, n, lo), s


@njit(inline="always")
def _scan_lanes(x, y, n, tol):  # pragma: no cover - compiled
    """:func:`_scan` on contiguous arrays, its lanes as vectors (:func:`._lanes.lane_scan`):
    the minimum and the sum by :func:`_argmin_dot_scalar`'s operations in its order (so the
    same bits); its first index from the index where each lane first reached its minimum (a
    lane's minimum below ``inf`` is first reached at its first element equal to it; elements
    after the lanes come later), :func:`_first_equal` when the minimum is ``inf``."""
    m = n - n % 8
    lo, b, i, sums = lane_scan(x, y, m)
    s0, s1, s2, s3, s4, s5, s6, s7 = sums
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for c in range(m, n):
        v = x[c]
        s += v * y[c]
        if v < lo:
            b = lo
            lo = v
            i = c
        elif v < b:
            b = v
    if not lo < np.inf:
        i = _first_equal(x, n, lo)
    return i, s, b <= x[i] + tol


@njit(inline="always")
def _scan_scalar(x, y, n, tol):  # pragma: no cover - compiled
    """:func:`_scan` on any arrays: :func:`_argmin_dot_scalar`, then a count."""
    i, s = _argmin_dot_scalar(x, y, n)
    thr = x[i] + tol
    near = 0
    for c in range(n):
        if x[c] <= thr:
            near += 1
    return i, s, near > 1


def _scan(x, y, n, tol):  # pragma: no cover - compiled
    """``(i, x @ y, crowded)``: :func:`_argmin_dot_scalar`'s index ``i = argmin(x)`` and sum
    (the same bits), and ``crowded`` False only if no other ``x[c] <= x[i] + tol`` (True
    may be a false alarm). Vector lanes on contiguous arrays of 8 elements or more (there
    ``crowded`` compares the second smallest ``x[c]``, counting repeats, with ``x[i] + tol``);
    a count otherwise."""
    raise NotImplementedError("compiled only")


@overload(_scan, inline="always")
def _scan_impl(x, y, n, tol):  # pragma: no cover - compiled
    if is_lane_vector(x) and is_lane_vector(y):
        return lambda x, y, n, tol: _scan_lanes(x, y, n, tol)
    return lambda x, y, n, tol: _scan_scalar(x, y, n, tol)


@njit(inline="always")
def _resolve_near_tie(A, ax, b, lam, eta, grad, i, crowded, tol):  # pragma: no cover - compiled
    """The vertex among ``grad[c] <= grad[i] + tol`` whose gradient, recomputed from ``A lam``
    in the direct loop's order, is smallest (the first on ties). Where columns are equal up to
    rounding (two units whose pre-period paths differ by a constant are equal after centring),
    the updated gradients, which carry their own rounding, would break the tie independently
    of the direct loop; recomputed, the tie usually falls as in the direct loop (not always:
    the recomputed gradients differ by rounding, too, and the state ``A lam`` by a few ulps)."""
    n0, t0 = A.shape
    if not crowded:  # no other gradient up to grad[i] + tol: the loop below would return i
        return i
    thr = grad[i] + tol
    best = i
    best_g = np.inf
    for c in range(t0):
        if grad[c] <= thr:
            g = eta * lam[c]
            for r in range(n0):
                g += (ax[r] - b[r]) * A[r, c]
            if g < best_g:
                best = c
                best_g = g
    return best


@njit(cache=True)
def frank_wolfe_incremental(A, b, lam, eta, zeta2, min_decrease2, max_iter):  # pragma: no cover - compiled
    """:func:`frank_wolfe` with the gradient updated, not recomputed: with ``H[j] = A'(A e_j -
    b) + eta e_j`` (the gradient at vertex ``j``, computed once), the step ``lam <- (1-s) lam +
    s e_i`` moves the gradient to ``(1-s) grad + s H[i]``: O(weights) per iteration instead of
    O(rows x weights); near-ties of the smallest gradient are resolved on the gradient computed
    as the direct loop does (:func:`_resolve_near_tie`). ``|lam|^2`` is updated in O(1)
    (recomputed when ``lam[i] == 1``, where the reference tests for a vertex); ``A lam`` is
    updated as in the reference and the objective computed from the residual ``A lam - b``
    itself (the stopping rule compares small decreases). Sums in fixed orders (:func:`_dot`,
    :func:`_scan`): the same bits on every run and CPU."""
    n0, t0 = A.shape
    ax = np.zeros(n0)
    for r in range(n0):
        acc = 0.0
        for c in range(t0):
            acc += A[r, c] * lam[c]
        ax[r] = acc
    H = np.zeros((t0, t0))
    for j in range(t0):
        Hj = H[j]
        for r in range(n0):
            e = A[r, j] - b[r]
            Ar = A[r]
            for c in range(t0):
                Hj[c] += e * Ar[c]
        Hj[j] += eta
    tie = 0.0
    for j in range(t0):
        for c in range(t0):
            tie = max(tie, abs(H[j, c]))
    tie *= NEAR_TIE
    grad = np.empty(t0)
    for c in range(t0):
        grad[c] = eta * lam[c]
    for r in range(n0):
        e = ax[r] - b[r]
        Ar = A[r]
        for c in range(t0):
            grad[c] += e * Ar[c]
    xx = 0.0
    for c in range(t0):
        xx += lam[c] * lam[c]
    err = np.empty(n0)
    derr = np.empty(n0)
    prev2 = 0.0
    prev1 = 0.0
    t = 0
    wide = t0 >= 8  # below, the vector lanes would run no full vector
    while t < max_iter and (t < 2 or prev2 - prev1 > min_decrease2):
        t += 1
        if wide:
            i, gl, crowded = _scan(grad, lam, t0, tie)
        else:
            i, gl, crowded = _scan_scalar(grad, lam, t0, tie)
        i = _resolve_near_tie(A, ax, b, lam, eta, grad, i, crowded, tie)
        li = lam[i]
        if li == 1.0:
            xx = 0.0
            for c in range(t0):
                xx += lam[c] * lam[c]
        if not (li == 1.0 and xx == 1.0):
            for r in range(n0):
                derr[r] = A[r, i] - ax[r]
            dd = _dot(derr, derr, n0)
            num = gl - grad[i]
            den = dd + eta * (1.0 - 2.0 * li + xx)
            step = num / den
            if step > 1.0:
                step = 1.0
            if step < 0.0 or step != step:
                step = 0.0
            keep = 1.0 - step
            Hi = H[i]
            for c in range(t0):
                lam[c] = lam[c] * keep
                grad[c] = keep * grad[c] + step * Hi[c]
            lam[i] += step
            for r in range(n0):
                ax[r] = ax[r] + step * derr[r]
            xx = keep * keep * xx + step * (2.0 * keep * li + step)
        for r in range(n0):
            err[r] = ax[r] - b[r]
        val = zeta2 * xx + _dot(err, err, n0) / n0
        prev2 = prev1
        prev1 = val
    return lam, t, prev2 - prev1


@njit(cache=True)
def frank_wolfe_direct(A, b, lam, eta, zeta2, min_decrease2, max_iter):  # pragma: no cover - compiled
    """:func:`frank_wolfe` recomputing the gradient ``A'(A lam - b) + eta lam`` in every
    iteration: O(rows x weights) per iteration, no extra memory."""
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
