"""Every fast path pinned to its reference path, on the real panel and on simulated panels.

Fast paths: TWFE and event study by the within transformation (reference: linearmodels
``PanelOLS``); SDID weights by the compiled Frank-Wolfe loops, direct and with the gradient
updated incrementally (reference: the loop in Python, a transcription of R
``synthdid:::sc.weight.fw``); synthetic-control weights by the exact
active-set solver (reference: non-negative least squares polished by SLSQP); panel models.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.design import analysis_frame
from analysis.estimators.did import prepare_panel, twfe_did
from analysis.estimators.event_study import event_study

KW = dict(unit="kunta", time="year", outcome="outcome", treated="treated", cluster="cluster")
# (model, outcome, covariates): treated clusters 8, 4 and 11
REAL_CASES = [
    ("integrated_welfare", "social_health_costs_eur_per_capita", ("share_65_plus",)),
    ("housing_services", "social_health_costs_eur_per_capita", ()),
    ("youth_guarantee", "unemployment_rate", ("population",)),
]


@pytest.fixture(scope="module")
def frames(panel):
    return {(m, o): analysis_frame(panel, m, o, covariates=list(c)) for m, o, c in REAL_CASES}


def _same(fast, ref, tol=1e-10):
    """Coefficients and SEs equal to ``tol`` relative to the largest magnitude."""
    assert list(fast.params.index) == list(ref.params.index)
    scale = max(1.0, float(np.abs(ref.params).max()))
    np.testing.assert_allclose(fast.params, ref.params, rtol=0, atol=tol * scale)
    np.testing.assert_allclose(fast.std_errors, ref.std_errors, rtol=tol, atol=0)


@pytest.mark.parametrize("model,outcome,covariates", REAL_CASES)
def test_twfe_within_equals_panelols_on_real_panel(frames, model, outcome, covariates):
    df = frames[(model, outcome)]
    fast = twfe_did(df, covariates=covariates, **KW)
    ref = twfe_did(df, covariates=covariates, engine="linearmodels", **KW)
    _same(fast, ref)
    assert fast.design.extra["small_sample"] == ref.design.extra["small_sample"]


@pytest.mark.parametrize("model,outcome,covariates", REAL_CASES[:2])
def test_event_study_within_equals_panelols_on_real_panel(frames, model, outcome, covariates):
    df = frames[(model, outcome)]
    fast = event_study(df, covariates=covariates, **KW)
    ref = event_study(df, covariates=covariates, engine="linearmodels", **KW)
    _same(fast, ref)
    assert fast.details["pretrend"]["p_value"] == pytest.approx(
        ref.details["pretrend"]["p_value"], rel=1e-8)


def _unbalanced(seed, n_units=120, years=range(2006, 2019), drop=0.2):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        treated = i < 20
        cluster = i // 3 if i < 30 else i
        a = rng.normal()
        for t in years:
            d = int(treated and t >= 2015)
            x = rng.normal() + 0.1 * t
            rows.append({"unit": i, "year": t, "cluster": cluster, "treated": d, "x": x,
                         "y": a + 0.3 * (t - 2006) + 1.5 * d + 0.5 * x + rng.normal()})
    df = pd.DataFrame(rows)
    keep = rng.random(len(df)) > drop
    keep |= df["year"].isin([2006, 2014, 2016]).to_numpy()  # every unit keeps a pre and post year
    return df[keep].reset_index(drop=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_within_equals_panelols_on_unbalanced_panels(seed):
    df = _unbalanced(seed)
    kw = dict(unit="unit", time="year", outcome="y", treated="treated", cluster="cluster")
    assert not prepare_panel(df, **kw).balanced
    _same(twfe_did(df, covariates=["x"], **kw),
          twfe_did(df, covariates=["x"], engine="linearmodels", **kw))
    _same(event_study(df, covariates=["x"], **kw),
          event_study(df, covariates=["x"], engine="linearmodels", **kw))


def test_within_drops_absorbed_covariates_like_panelols():
    df = _unbalanced(3)
    df["unit_level"] = df["unit"] * 0.5          # absorbed by the unit effects
    df["x_copy"] = 2.0 * df["x"]                 # collinear with x
    kw = dict(unit="unit", time="year", outcome="y", treated="treated", cluster="cluster",
              covariates=["x", "unit_level", "x_copy"])
    fast = twfe_did(df, **kw)
    ref = twfe_did(df, engine="linearmodels", **kw)
    assert list(fast.params.index) == ["att", "x"]
    _same(fast, ref)


def test_bad_engine_is_a_clear_error():
    from analysis.errors import InputError

    with pytest.raises(InputError, match="engine"):
        twfe_did(_unbalanced(0), unit="unit", time="year", outcome="y", treated="treated",
                 engine="fast")


# --- SDID: compiled Frank-Wolfe against the Python loop -----------------------------------
def _sdid_matrix(frame):
    """Unit x year matrix with controls first, and (N0, T0), for a frame with one adoption."""
    wide = frame.pivot(index="kunta", columns="year", values="outcome").dropna()
    treated = frame.loc[frame["treated"] == 1, "kunta"].unique()
    order = [u for u in wide.index if u not in set(treated)] + [u for u in wide.index if u in set(treated)]
    first = frame.loc[frame["treated"] == 1, "year"].min()
    return wide.loc[order].to_numpy(float), len(order) - len(treated), int((wide.columns < first).sum())


@pytest.mark.parametrize("model,outcome,covariates", REAL_CASES)
def test_sdid_compiled_weights_equal_python_loop_on_real_panel(frames, model, outcome, covariates):
    from analysis.estimators.sdid import sdid_fit_weights

    Y, n0, t0 = _sdid_matrix(frames[(model, outcome)])
    fast = sdid_fit_weights(Y, n0, t0)
    ref = sdid_fit_weights(Y, n0, t0, engine="python")
    np.testing.assert_allclose(fast.omega, ref.omega, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.lam, ref.lam, rtol=0, atol=1e-12)
    assert fast.convergence()["unit_weights"]["iterations"] == ref.convergence()["unit_weights"]["iterations"]
    assert fast.converged == ref.converged


def _fw_problem(Y):
    """The kernel's arguments as :func:`analysis.estimators.sdid.frank_wolfe` prepares them."""
    Y = Y - Y.mean(axis=0)
    return np.ascontiguousarray(Y[:, :-1]), np.ascontiguousarray(Y[:, -1])


def _fw_reference(A, b, lam0, zeta, min_decrease, max_iter):
    from analysis.estimators.sdid import frank_wolfe

    return frank_wolfe(np.column_stack([A, b]), zeta, intercept=False, weights=lam0.copy(),
                       min_decrease=min_decrease, max_iter=max_iter, engine="python")


def _fw_kernels(A, b, lam0, zeta, min_decrease, max_iter):
    """(name, lam, iterations, converged) of each compiled Frank-Wolfe path."""
    from analysis.estimators import _compiled

    args = (A.shape[0] * zeta ** 2, zeta ** 2, min_decrease ** 2, max_iter)
    out = []
    for name in ("frank_wolfe_direct", "frank_wolfe_incremental"):
        lam, it, last = getattr(_compiled, name)(A, b, lam0.copy(), *args)
        out.append((name, lam, it, it < max_iter or last <= min_decrease ** 2))
    return out


def _placebo_problems(Y, n0, t0, draws, seed):
    """SDID unit- and time-weight problems of placebo fits (as ``sdid.placebo_fits`` solves
    them: a random control set, the last ``n_treated`` controls placebo-treated), each with its
    first-pass start."""
    from analysis.estimators.sdid import _collapsed

    rng = np.random.default_rng(seed)
    n1 = Y.shape[0] - n0
    problems = []
    for _ in range(draws):
        Yp = Y[:n0][rng.permutation(n0)]
        m0 = n0 - n1
        sigma = float(np.std(np.diff(Yp[:m0, :t0], axis=1), ddof=1))
        Yc = _collapsed(Yp, m0, t0)
        n_post = Y.shape[1] - t0
        problems.append((Yc[:, :t0].T, (n1 * n_post) ** 0.25 * sigma, 1e-5 * sigma))  # unit
        problems.append((Yc[:m0, :], 1e-6 * sigma, 1e-5 * sigma))                      # time
    return problems


@pytest.mark.parametrize("model,outcome,covariates", REAL_CASES[1:])
def test_frank_wolfe_paths_equal_python_loop_on_placebo_problems(frames, model, outcome, covariates):
    """Both compiled paths run the reference's iterates on the real panel's placebo problems
    (5 pre-periods, as the multiverse's windows, and the full window): the same iteration
    counts and convergence flags, weights equal to rounding; the 10,000-iteration second passes
    included."""
    from analysis.estimators.sdid import MAX_ITER, _sparsify

    Y, n0, t0 = _sdid_matrix(frames[(model, outcome)])
    capped = 0
    for window in (slice(t0 - 5, None), slice(None)):
        Yw = Y[:, window]
        t0w = t0 - (window.start or 0)
        for Yc, zeta, min_dec in _placebo_problems(Yw, n0, t0w, draws=2, seed=7):
            A, b = _fw_problem(Yc)
            start = np.full(A.shape[1], 1.0 / A.shape[1])
            first, _ = _fw_reference(A, b, start, zeta, min_dec, 100)
            for lam0, max_iter in ((start, 100), (_sparsify(first), MAX_ITER)):
                ref, rep = _fw_reference(A, b, lam0, zeta, min_dec, max_iter)
                capped += max_iter == MAX_ITER and rep.iterations == MAX_ITER
                for name, lam, it, converged in _fw_kernels(A, b, lam0, zeta, min_dec, max_iter):
                    assert it == rep.iterations, (name, A.shape, max_iter)
                    assert converged == rep.converged, (name, A.shape, max_iter)
                    np.testing.assert_allclose(lam, ref, rtol=0, atol=1e-12, err_msg=name)
    assert capped  # second passes that run to R synthdid's cap are among them


FW_SHAPES = [(1, 1), (3, 2), (5, 7), (5, 8), (5, 9), (4, 17), (10, 40), (19, 38), (40, 6), (2, 300)]


@pytest.mark.parametrize("shape,start", [(s, "uniform") for s in FW_SHAPES]
                         + [(s, "vertex") for s in FW_SHAPES]
                         + [(s, "ties") for s in FW_SHAPES if s[1] % 2 == 0])
def test_frank_wolfe_paths_equal_python_loop_on_generated_problems(shape, start):
    """Generated problems around the kernels' edges: fewer than, exactly and more than the
    eight lanes of their sums, and a start at a vertex (the reference's vertex test). "ties":
    every column twice (columns c and c + n/2 equal, their gradients tied): which of two equal
    columns gets the weight depends on the last bit of each path's sums (numpy's too), so there
    the weight of each pair is compared."""
    rows, n = shape
    rng = np.random.default_rng(rows * 1000 + n)
    A = rng.normal(size=(rows, n)).cumsum(axis=0) * 50.0
    if start == "ties":
        A[:, n // 2:] = A[:, : n // 2]
    b = A @ rng.dirichlet(np.ones(n)) + rng.normal(scale=5.0, size=rows)
    lam0 = np.full(n, 1.0 / n)
    if start == "vertex":
        lam0 = np.zeros(n)
        lam0[n // 2] = 1.0

    def compared(w):
        return w[: n // 2] + w[n // 2:] if start == "ties" else w

    for max_iter in (3, 100, 2000):
        ref, rep = _fw_reference(A, b, lam0, 2.0, 1e-6, max_iter)
        for name, lam, it, converged in _fw_kernels(A, b, lam0, 2.0, 1e-6, max_iter):
            assert it == rep.iterations and converged == rep.converged, (name, max_iter)
            np.testing.assert_allclose(compared(lam), compared(ref), rtol=0, atol=1e-12,
                                       err_msg=name)


@pytest.mark.parametrize("n", [6, 40, 236])
def test_incremental_path_near_ties_of_columns_equal_up_to_rounding(n):
    """Units whose pre-period paths differ by a constant have equal columns after centring, up
    to the last bits (as pairs of municipalities of the real panel's upper-secondary share).
    Which of two such columns takes the weight is decided by rounding in every implementation;
    the incremental path decides near-ties on the gradient computed as the direct loop computes
    it (usually the direct loop's choice: on the real panel's placebo fits, all of them). Either
    way the iterations and each pair's weight agree to rounding."""
    from analysis.estimators import _compiled

    rng = np.random.default_rng(n)
    half = rng.normal(size=(5, n // 2)).cumsum(axis=0) * 0.8
    Y = np.column_stack([half, half + rng.uniform(-3, 3, n // 2), rng.normal(size=5)])
    A, b = _fw_problem(Y)
    assert 0 < np.abs(A[:, : n // 2] - A[:, n // 2:]).max() < 1e-13  # equal up to rounding
    lam0 = np.full(n, 1.0 / n)
    args = (n * 0.04, 0.04, 1e-16, 3000)
    direct = _compiled.frank_wolfe_direct(A, b, lam0.copy(), *args)
    incremental = _compiled.frank_wolfe_incremental(A, b, lam0.copy(), *args)
    assert incremental[1] == direct[1]

    def pairs(w):
        return w[: n // 2] + w[n // 2:]

    np.testing.assert_allclose(pairs(incremental[0]), pairs(direct[0]), rtol=0, atol=1e-12)


#: sha256 of (weights, iterations as int64, last decrease) of the kernel on each saved problem
FW_PINNED = {
    0: "c2638fc78278444e",
    1: "770108a01da84c1f",
    2: "e0c9d73ee6e3fa8c",
    3: "440f884e61c0f0a2",
    4: "55c58e823a9bb3fb",
    5: "9f5f2c48b3528ac9",
}


@pytest.mark.parametrize("k", sorted(FW_PINNED))
def test_frank_wolfe_kernel_bits_pinned_on_saved_placebo_problems(k):
    """The compiled kernel's results on real placebo problems (tests/fixtures/frank_wolfe) are
    pinned bit for bit, so a change of the kernel cannot move a published SDID number unseen
    (sums in fixed orders, no ``fastmath``: the bits do not depend on the CPU's vector width).
    The same problems run the Python reference's iterates (same iteration count, weights to
    rounding)."""
    import hashlib
    from pathlib import Path

    from analysis.estimators import _compiled

    saved = np.load(Path(__file__).parent / "fixtures" / "frank_wolfe" / "placebo_problems.npz")
    A, b, lam0 = saved[f"A{k}"], saved[f"b{k}"], saved[f"lam{k}"]
    eta, zeta2, min_decrease2 = saved[f"scalars{k}"]
    lam, it, last = _compiled.frank_wolfe(A, b, lam0.copy(), eta, zeta2, min_decrease2, 10_000)
    digest = hashlib.sha256(lam.tobytes() + np.int64(it).tobytes() + np.float64(last).tobytes())
    assert digest.hexdigest()[:16] == FW_PINNED[k]
    ref, rep = _fw_reference(A, b, lam0, np.sqrt(zeta2), np.sqrt(min_decrease2), 10_000)
    assert rep.iterations == it
    np.testing.assert_allclose(lam, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cpu", ["x86-64", "haswell"])
def test_frank_wolfe_kernel_bits_equal_on_narrower_vector_units(cpu, tmp_path):
    """Compiled for an SSE2-only (``x86-64``) or AVX2 (``haswell``) CPU instead of this one, the
    kernel gives the pinned bits on the saved problems: its eight-lane vectors are split into
    the registers the CPU has, lane by lane, with the same operations."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import hashlib, sys\n"
        "import numpy as np\n"
        "from analysis.estimators import _compiled\n"
        "s = np.load(sys.argv[1])\n"
        "for k in range(6):\n"
        "    eta, zeta2, md2 = s[f'scalars{k}']\n"
        "    lam, it, last = _compiled.frank_wolfe(s[f'A{k}'], s[f'b{k}'], s[f'lam{k}'].copy(),\n"
        "                                          eta, zeta2, md2, 10_000)\n"
        "    print(hashlib.sha256(lam.tobytes() + np.int64(it).tobytes()\n"
        "                         + np.float64(last).tobytes()).hexdigest()[:16])\n")
    env = {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": "",
           "NUMBA_CACHE_DIR": str(tmp_path)}
    saved = Path(__file__).parent / "fixtures" / "frank_wolfe" / "placebo_problems.npz"
    out = subprocess.run([sys.executable, "-c", script, str(saved)], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == [FW_PINNED[k] for k in sorted(FW_PINNED)]


_SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, np.inf, -np.inf, np.nan]


def _vector(n):
    values = st.one_of(st.sampled_from(_SPECIAL), st.floats(-1e6, 1e6),
                       st.floats(allow_nan=True, allow_infinity=True))
    return st.lists(values, min_size=n, max_size=n).map(lambda v: np.array(v, dtype=np.float64))


def _pair():
    return st.integers(1, 41).flatmap(lambda n: st.tuples(_vector(n), _vector(n)))


def _bits(value):
    """The value's bits; any NaN as one NaN (LLVM does not keep a NaN's sign and payload
    through arithmetic: which of two NaN operands an addition returns depends on the operand
    order the compiler chose, in the scalar code as in the vector code)."""
    return b"nan" if np.isnan(value) else np.float64(value).tobytes()


@given(pair=_pair(), tol=st.sampled_from([0.0, 1e-11, 1.0, 1e300, np.inf, np.nan]),
       ties=st.booleans())
@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
def test_vector_lane_scans_equal_scalar_scans_bit_for_bit(pair, tol, ties):
    """The Frank-Wolfe kernel's scan written in vector lanes (``_scan`` on contiguous arrays)
    returns the scalar scan's index and the bits of its sum on generated vectors: NaN, infinities,
    signed zeros, repeated values, lengths below, at and off multiples of the eight lanes.
    ``crowded`` is False only if no other element lies within ``tol`` of the minimum (the
    near-tie test then has nothing to resolve)."""
    x, y = pair
    if ties:  # repeated minima in several lanes
        x = np.where(np.arange(x.size) % 3 == 0, np.nanmin(np.append(x, 0.0)), x)
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    n = x.size
    i_ref, s_ref = _scalar_argmin_dot(x, y, n)
    i, s, crowded = _vector_scan(x, y, n, tol)
    assert i == i_ref and _bits(s) == _bits(s_ref)
    with np.errstate(invalid="ignore"):
        near = int(np.sum(x <= x[i] + tol))
    assert crowded or near <= 1


def _compile_scans():
    from numba import njit

    from analysis.estimators import _compiled

    return (njit(lambda x, y, n: _compiled._argmin_dot_scalar(x, y, n)),
            njit(lambda x, y, n, tol: _compiled._scan(x, y, n, tol)))


_scalar_argmin_dot, _vector_scan = _compile_scans()


def test_frank_wolfe_is_deterministic_and_picks_its_path_by_shape():
    """The same inputs give the same bits; :func:`frank_wolfe` runs the incremental path when
    ``max_iter`` exceeds the number of weights (and they fit in memory), the direct one
    otherwise."""
    from analysis.estimators import _compiled

    rng = np.random.default_rng(3)
    A = rng.normal(size=(5, 60)).cumsum(axis=0)
    b = A[:, :4].mean(axis=1)
    lam0 = np.full(60, 1 / 60)
    args = (A, b)
    kw = (60 * 0.25, 0.25, 1e-14)
    runs = [_compiled.frank_wolfe(*args, lam0.copy(), *kw, 500) for _ in range(3)]
    for lam, it, last in runs[1:]:
        assert lam.tobytes() == runs[0][0].tobytes() and it == runs[0][1] and last == runs[0][2]
    inc = _compiled.frank_wolfe_incremental(*args, lam0.copy(), *kw, 500)
    assert runs[0][0].tobytes() == inc[0].tobytes()
    direct = _compiled.frank_wolfe_direct(*args, lam0.copy(), *kw, 60)
    assert _compiled.frank_wolfe(*args, lam0.copy(), *kw, 60)[0].tobytes() == direct[0].tobytes()
    assert _compiled.INCREMENTAL_MAX_WEIGHTS >= 2000


def test_sdid_reports_the_iteration_cap(frames):
    from analysis.estimators.sdid import convergence_warning, sdid_fit_weights

    Y, n0, t0 = _sdid_matrix(frames[("integrated_welfare", "social_health_costs_eur_per_capita")])
    capped = sdid_fit_weights(Y, n0, t0, max_iter=5)
    rep = capped.convergence()["unit_weights"]
    assert rep["iterations"] == 5 and rep["converged"] is False
    assert rep["last_decrease"] > rep["threshold"]
    assert "unit weights stopped at the 5-iteration cap" in convergence_warning(capped)
    # on this panel R synthdid's 10,000-iteration cap stops the unit weights early: reported
    default = sdid_fit_weights(Y, n0, t0)
    assert default.convergence()["unit_weights"]["converged"] is False
    assert convergence_warning(sdid_fit_weights(Y, n0, t0, max_iter=2_000_000)) is None


# --- synthetic control: exact active-set solver against NNLS + SLSQP ----------------------
@pytest.mark.parametrize("n_donors", [6, None])
def test_sc_active_set_equals_slsqp_on_real_panel(frames, n_donors):
    """6 donors, 7 pre-periods: a unique solution, equal weights. Full pool (238 donors): the
    treated mean is inside the donors' hull, many exact fits; the same fitted path."""
    from analysis.estimators.synthetic_control import simplex_lsq, simplex_weights

    frame = frames[("integrated_welfare", "social_health_costs_eur_per_capita")]
    Y, n0, t0 = _sdid_matrix(frame)
    x0, x1 = Y[:n0, :t0].T, Y[n0:, :t0].mean(axis=0)
    if n_donors:
        x0 = x0[:, :n_donors]
    v = np.ones(t0)
    fast = simplex_weights(x1, x0, v)
    python, _ = simplex_lsq(x0, x1, compiled=False)
    ref = simplex_weights(x1, x0, v, solver="slsqp")

    def loss(w):
        r = x1 - x0 @ w
        return r @ r

    np.testing.assert_allclose(fast, python, rtol=0, atol=1e-12)
    assert fast.min() >= 0 and fast.sum() == pytest.approx(1.0, abs=1e-12)
    assert loss(fast) <= loss(ref) * (1 + 1e-9) + 1e-18  # the exact optimum is never worse
    if n_donors:
        np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-6)
    else:
        np.testing.assert_allclose(x0 @ fast, x0 @ ref, rtol=1e-8)


def test_sc_placebo_p_value_same_with_both_solvers(frames):
    from analysis.estimators.synthetic_control import synthetic_control

    frame = frames[("housing_services", "social_health_costs_eur_per_capita")]
    keep = sorted(frame.loc[frame["treated_group"] == 0, "kunta"].unique())[:40]
    small = frame[frame["kunta"].isin(keep) | (frame["treated_group"] == 1)]
    kw = dict(unit="kunta", time="year", outcome="outcome", treated="treated", v_method="equal")
    fast = synthetic_control(small, **kw)
    ref = synthetic_control(small, solver="slsqp", **kw)
    assert fast.params["att"] == pytest.approx(ref.params["att"], rel=1e-6)
    assert fast.pvalues["att"] == ref.pvalues["att"]


# --- panel models: FE with unit and year effects is the TWFE regression -------------------
@pytest.mark.parametrize("model,outcome,covariates", REAL_CASES[:1])
def test_panel_fe_equals_twfe_on_real_panel(frames, model, outcome, covariates):
    from analysis.estimators.panel_models import panel_regression

    df = frames[(model, outcome)]
    fe = panel_regression(df, unit="kunta", time="year", outcome="outcome", cluster="cluster",
                          regressors=["treated", *covariates], model="fe", time_effects=True)
    twfe = twfe_did(df, covariates=covariates, **KW)
    np.testing.assert_allclose(fe.params.to_numpy(), twfe.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(fe.std_errors.to_numpy(), twfe.std_errors.to_numpy(), rtol=1e-10)


def test_sdid_result_reports_convergence():
    from analysis.estimators.sdid import synthetic_did

    rng = np.random.default_rng(0)
    n, T = 25, 12
    y = rng.normal(size=(n, 1)) + rng.normal(size=T).cumsum() + rng.normal(scale=0.3, size=(n, T))
    unit, year = np.repeat(np.arange(n), T), np.tile(np.arange(2006, 2006 + T), n)
    d = ((unit >= n - 2) & (year >= 2015)).astype(int)
    df = pd.DataFrame({"unit": unit, "year": year, "y": y.ravel() + d, "d": d})
    r = synthetic_did(df, unit="unit", time="year", outcome="y", treated="d", inference="none")
    conv = r.details["convergence"]
    assert set(conv) == {"unit_weights", "time_weights"}
    assert conv["unit_weights"]["iterations"] >= 1 and "converged" in conv["time_weights"]


# --- panel validation: integer-code path pinned to the grouped (pandas) path ------------------
def _generated_panel(seed, *, string_units, shuffle, all_treated=False, float_time=False):
    rng = np.random.default_rng(seed)
    n_units, years = 40, np.arange(2008, 2019)
    units = np.repeat(np.arange(n_units), len(years))
    year = np.tile(years, n_units).astype(float if float_time else int)
    adopt = rng.choice([2012.0, 2015.0, np.inf], n_units) if not all_treated else \
        rng.choice([2012.0, 2015.0], n_units)
    df = pd.DataFrame({"unit": units, "year": year, "y": rng.normal(size=len(units)),
                       "d": (year >= adopt[units]).astype(int)})
    if string_units:
        df["unit"] = "u" + (df["unit"] * 7 % n_units).astype(str)  # label order != row order
    return df.sample(frac=1, random_state=seed) if shuffle else df


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("string_units", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("float_time", [False, True])
def test_adoption_times_and_validation_equal_grouped_path(seed, string_units, shuffle, float_time):
    from analysis.estimators import panel_data

    df = _generated_panel(seed, string_units=string_units, shuffle=shuffle, float_time=float_time)
    kw = dict(unit="unit", time="year", treated="d")
    pd.testing.assert_series_equal(panel_data.adoption_times(df, **kw),
                                   panel_data._adoption_grouped(df, **kw))
    got = panel_data.validate_panel(df, outcome="y", **kw)
    ref = df[["unit", "year", "y", "d"]].sort_values(["unit", "year"], kind="mergesort")
    pd.testing.assert_frame_equal(got, ref.reset_index(drop=True))


def test_adoption_times_all_treated_keeps_the_time_dtype():
    from analysis.estimators import panel_data

    df = _generated_panel(3, string_units=False, shuffle=True, all_treated=True)
    kw = dict(unit="unit", time="year", treated="d")
    pd.testing.assert_series_equal(panel_data.adoption_times(df, **kw),
                                   panel_data._adoption_grouped(df, **kw))


@pytest.mark.parametrize("problem", ["no_pre", "switch_off", "duplicate"])
def test_adoption_problems_raise_the_grouped_path_errors(problem):
    from analysis.errors import InputError
    from analysis.estimators import panel_data

    df = _generated_panel(4, string_units=True, shuffle=True)
    treated_unit = df.loc[df["d"] == 1, "unit"].iloc[0]
    rows = df["unit"] == treated_unit
    if problem == "no_pre":
        df.loc[rows, "d"] = 1
    elif problem == "switch_off":
        df.loc[rows & (df["year"] == df.loc[rows, "year"].max()), "d"] = 0
    else:
        df = pd.concat([df, df.iloc[:1]])
    kw = dict(unit="unit", time="year", treated="d")
    with pytest.raises(InputError) as fast:
        panel_data.validate_panel(df, outcome="y", **kw)
    if problem != "duplicate":
        with pytest.raises(InputError) as ref:
            panel_data._adoption_grouped(df, **kw)
        assert str(fast.value) == str(ref.value)


@pytest.mark.parametrize("problem", [None, "varying", "missing"])
def test_placebo_unit_attributes_by_codes_equal_grouped_path(problem):
    from analysis.errors import InputError
    from analysis.inference import placebo_units as pu

    rng = np.random.default_rng(5)
    units = rng.permutation(np.repeat(np.arange(30), 4))
    xy = rng.normal(size=(30, 2))
    df = pd.DataFrame({"u": units, "x": xy[units, 0], "y": xy[units, 1], "r": units % 4})
    if problem == "varying":
        df.loc[df.index[3], "x"] += 1.0
    elif problem == "missing":
        df.loc[df["u"] == df["u"].iloc[0], "y"] = np.nan
    if problem is None:
        fast = pu.unit_attributes(df, "u", ("x", "y", "r"))
        ref = df.groupby("u", sort=True)[["x", "y", "r"]].first()
        pd.testing.assert_frame_equal(fast, ref)
    else:
        assert pu._unit_attributes_by_codes(df, "u", ("x", "y")) is None
        with pytest.raises(InputError):
            pu.unit_attributes(df, "u", ("x", "y"))


@pytest.mark.parametrize("string_units", [False, True])
def test_prepare_panel_codes_equal_pandas_factorize(string_units):
    from analysis.estimators.did import _factorize

    df = _generated_panel(6, string_units=string_units, shuffle=True)
    df["cl"] = df["unit"].map(lambda u: hash(str(u)) % 9)
    for col in ("unit", "year", "cl"):
        codes, labels = _factorize(df[col])
        ref_codes, ref_labels = pd.factorize(df[col], sort=True)
        np.testing.assert_array_equal(codes, ref_codes)
        pd.testing.assert_index_equal(labels, ref_labels)
    design = prepare_panel(df, unit="unit", time="year", outcome="y", treated="d", cluster="unit")
    ref_nested = bool((pd.Series(design.cluster_codes).groupby(design.unit_codes).nunique() <= 1).all())
    assert design.units_nested_in_clusters == ref_nested
    adopt = design.frame["unit"].map(design.adoption).to_numpy(dtype=float)
    adopt = np.where(np.isnan(adopt), np.inf, adopt)
    ref = pd.Series(adopt).groupby(design.cluster_codes).first().to_numpy()
    np.testing.assert_array_equal(design.cluster_adoption, ref)


@pytest.mark.parametrize("model,outcome,covariates", REAL_CASES[:2])
def test_sdid_outcome_matrix_equals_pivot_on_real_panel(frames, model, outcome, covariates,
                                                        monkeypatch):
    from analysis.estimators import sdid

    df = frames[(model, outcome)]
    fast = sdid.synthetic_did(df, **KW, inference="placebo", reps=20)
    monkeypatch.setattr(sdid, "_unit_time_codes", lambda *a, **k: None)  # the pivot path
    ref = sdid.synthetic_did(df, **KW, inference="placebo", reps=20)
    assert fast.params.equals(ref.params) and fast.std_errors.equals(ref.std_errors)
    assert fast.details == ref.details


def test_sdid_placebo_fits_equal_sdid_tau_and_report_convergence(frames):
    from analysis.estimators.sdid import MAX_ITER, placebo_fits, sdid_fit_weights, sdid_tau

    Y, N0, T0 = _sdid_matrix(frames[REAL_CASES[1][:2]])
    rng = np.random.default_rng(0)
    rows = [rng.permutation(N0) for _ in range(4)]
    fits = placebo_fits(Y, rows, 3, T0)
    for r, est, ok in zip(rows, fits.estimates, fits.converged):
        assert est == sdid_tau(Y[r], N0 - 3, T0)[0]
        assert ok == sdid_fit_weights(Y[r], N0 - 3, T0).converged
    assert fits.convergence() == {"fits": 4, "not_converged": int((~fits.converged).sum()),
                                 "max_iter": MAX_ITER}


@pytest.mark.parametrize("model,outcome,covariates", REAL_CASES)
def test_code_paths_equal_grouped_paths_on_real_panel(frames, model, outcome, covariates):
    """Validation, adoption times, placebo-unit attributes and design codes on the real frames
    (string labels) and on their integer-coded copies (as the size simulation passes them)."""
    from analysis.estimators import panel_data
    from analysis.estimators.did import _factorize
    from analysis.inference import placebo_units as pu

    df = frames[(model, outcome)].copy()
    df.attrs = {}
    coded = df.assign(kunta=pd.factorize(df["kunta"], sort=True)[0],
                      cluster=pd.factorize(df["cluster"], sort=True)[0])
    for data in (df, coded, coded.sample(frac=1, random_state=0)):
        kw = dict(unit="kunta", time="year", treated="treated")
        pd.testing.assert_series_equal(panel_data.adoption_times(data, **kw),
                                       panel_data._adoption_grouped(data, **kw))
        got = panel_data.validate_panel(data, outcome="outcome", cluster="cluster", **kw)
        ref = data[["kunta", "year", "outcome", "treated", "cluster"]].sort_values(
            ["kunta", "year"], kind="mergesort").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, ref)
        for col in ("kunta", "year", "cluster"):
            codes, labels = _factorize(data[col])
            ref_codes, ref_labels = pd.factorize(data[col], sort=True)
            np.testing.assert_array_equal(codes, ref_codes)
            pd.testing.assert_index_equal(labels, ref_labels)
        attrs = pu.unit_attributes(data, "kunta", ("x", "y"))
        pd.testing.assert_frame_equal(attrs, data.groupby("kunta", sort=True)[["x", "y"]].first())
