"""HonestDiD sensitivity (Rambachan & Roth 2023): optimal FLCI for Delta^SD(M) and the ARP
hybrid confidence set for Delta^RM(Mbar), as in the R package HonestDiD (see the module
docstring for the exact constructions).

The issue's "with Mbar = 0 the honest set equals the usual interval" does not hold for the ARP
hybrid set; the exact statement tested (test_rm_mbar_zero_closed_form) is its closed form when
the pre-period moment is slack and independent: b0 -/+ se * Phi^{-1}(Phi(c) - a2 (Phi(c) - 1/2)),
slightly wider than b0 -/+ z_{0.975} se. No numbers from the HonestDiD vignette (Medicaid example)
are tested: they were not available offline to copy exactly, and none are typed from memory.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.errors import InputError
from analysis.results import Design, EstimationResult
from analysis.sensitivity.honest_did import breakdown_value, honest_did, honest_did_from_result

BETA = np.array([0.05, -0.02, 0.03, 0.9, 1.1])  # event times -4,-3,-2 | 0,1 (ref -1)
SIGMA = np.diag([0.04, 0.04, 0.04, 0.05, 0.06]) + 0.005


def test_rm_mbar_zero_closed_form():
    """Exact statement at Mbar = 0 (post-period violations are zero, delta_post = 0).

    One pre and one post period, independent coefficients, and a large pre-period change
    (beta_{-2} = -5, sd 0.1) so that only the component with the matching sign is not rejected
    and its pre-period moment is slack. The hybrid test then reduces to: eta = |b0 - theta| / se,
    truncation [0, c_LF] (vlo = 0 from the mirrored moment, vup = the least-favourable critical
    value), second-stage size (alpha - kappa) / (1 - kappa). So the set is
    b0 -/+ se * Phi^{-1}(Phi(c) - a2 (Phi(c) - 1/2)): slightly *wider* than the conventional
    b0 -/+ z_{0.975} se, not equal to it (ARP's hybrid set is not the conventional CI at Mbar = 0).
    """
    from analysis.sensitivity.honest_did import _N_GRID, _REFINE_STEPS, _RMSet

    b = np.array([-5.0, 0.9])
    S = np.diag([0.01, 0.05])
    se = np.sqrt(0.05)
    t = honest_did(b, S, 1, 1, grid=[0.0])
    row = t[t.M == 0].iloc[0]
    rm = _RMSet(b, S, 1, 1, np.array([1.0]), 0.0, 0.05, seed=0)
    # the component whose pre-period moment is slack accepts theta = b0; the other has eta = 50
    (c,) = [test.lf_cv for _, y0, a, test in rm.parts if test.accepts(y0 - 0.9 * a)]
    a2 = (0.05 - 0.005) / (1 - 0.005)
    h = se * stats.norm.ppf(stats.norm.cdf(c) - a2 * (stats.norm.cdf(c) - 0.5))
    # numerical tolerance = the grid spacing / 2**_REFINE_STEPS of the theta grid
    id_width = 0.0
    tol = (id_width + 40 * se) / (_N_GRID - 1) / 2 ** _REFINE_STEPS
    assert row.lb == pytest.approx(0.9 - h, abs=tol)
    assert row.ub == pytest.approx(0.9 + h, abs=tol)
    assert h > stats.norm.ppf(0.975) * se
    # c_LF: 1 - kappa quantile of max(|Z1|, Z2) (independent) up to simulation error of 1000 draws
    c_exact = optimize_root(lambda x: (2 * stats.norm.cdf(x) - 1) * stats.norm.cdf(x) - 0.995)
    assert abs(c - c_exact) < 0.5
    orig = t[t.method == "original"].iloc[0]
    assert (orig.lb, orig.ub) == pytest.approx((0.9 - 1.959963984540054 * se, 0.9 + 1.959963984540054 * se))


def optimize_root(f):
    from scipy import optimize
    return optimize.brentq(f, 0.0, 10.0)


def test_rm_vertex_enumeration_matches_linear_programs():
    """The dual vertices are enumerated when few; the LP path (HonestDiD's) gives the same set."""
    from analysis.sensitivity import honest_did as mod

    l_vec = np.array([0.5, 0.5])
    fast = mod._RMSet(BETA, SIGMA, 3, 2, l_vec, 1.0, 0.05, seed=0)
    thetas = np.linspace(-0.5, 2.5, 25)
    acc_fast = [fast.accepts(th) for th in thetas]
    for *_, test in fast.parts:
        test.V = None  # force linear programs (same lf_cv)
    acc_lp = [fast.accepts(th) for th in thetas]
    assert acc_fast == acc_lp
    assert any(acc_fast) and not all(acc_fast)


def test_rm_sets_widen_with_mbar_and_breakdown():
    """Delta^RM(Mbar) is nested in Mbar; the ARP sets widen on this grid. (ARP sets are not
    guaranteed nested for arbitrarily close Mbar: the conditioning event and the simulated
    least-favourable critical value change with Mbar.)"""
    grid = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
    t = honest_did(BETA, SIGMA, 3, 2, grid=grid)
    g = t[t.method != "original"]
    assert np.all(np.diff(g.ub.to_numpy()) >= 0) and np.all(np.diff(g.lb.to_numpy()) <= 0)
    bd = breakdown_value(t)
    excl = (g.lb > 0) | (g.ub < 0)
    assert bd == 1.0
    assert excl[g.M <= bd].all() and not excl[g.M == 1.5].iloc[0]


def test_rm_coverage_simulation():
    """beta = tau + delta with delta in Delta^RM(1) at its boundary (post change = largest pre
    change); the hybrid test accepts the true theta in >= 93% of 300 draws."""
    from analysis.sensitivity.honest_did import _RMSet

    delta = np.array([-0.2, -0.1, 0.1])  # positions -2, -1 | 1: pre changes 0.1, 0.1; post 0.1
    tau = np.array([0.0, 0.0, 0.5])
    S = np.array([[0.01, 0.004, 0.002], [0.004, 0.01, 0.003], [0.002, 0.003, 0.02]])
    rng = np.random.default_rng(5)
    draws = rng.multivariate_normal(tau + delta, S, size=300)
    hits = [_RMSet(d, S, 2, 1, np.array([1.0]), 1.0, 0.05, seed=0).accepts(0.5) for d in draws]
    assert np.mean(hits) >= 0.93


def _min_variance_trend_invariant(sigma, num_pre, l_vec):
    """Closed form for M = 0: minimise Var(w'b_pre + l'b_post) s.t. the estimator is unbiased
    under any linear trend (w' t_pre + l' t_post = 0, positions -T_pre..-1 | 1..T_post)."""
    num_post = len(l_vec)
    t_pre = np.arange(-num_pre, 0.0)
    t_post = np.arange(1.0, num_post + 1)
    # KKT system for (w, lambda)
    S11, S12 = sigma[:num_pre, :num_pre], sigma[:num_pre, num_pre:]
    K = np.block([[2 * S11, t_pre[:, None]], [t_pre[None, :], np.zeros((1, 1))]])
    rhs = np.concatenate([-2 * S12 @ l_vec, [-l_vec @ t_post]])
    w = np.linalg.solve(K, rhs)[:num_pre]
    return np.concatenate([w, l_vec])


def test_smoothness_m0_is_linear_extrapolation_closed_form():
    """M = 0 (Delta^SD(0): exactly linear trends): the optimal FLCI is the minimum-variance
    trend-invariant estimator +/- z_{1-alpha/2} sd.  With one pre period this is the plain
    linear extrapolation beta_0 + beta_{-2}."""
    z = stats.norm.ppf(0.975)
    for l_vec in ([1.0, 0.0], [0.5, 0.5], [0.0, 1.0]):
        t = honest_did(BETA, SIGMA, 3, 2, method="smoothness", grid=[0.0], l_vec=l_vec)
        v = _min_variance_trend_invariant(SIGMA, 3, np.array(l_vec))
        est, se = v @ BETA, np.sqrt(v @ SIGMA @ v)
        m0 = t[t.M == 0].iloc[0]
        assert (m0.lb, m0.ub) == pytest.approx((est - z * se, est + z * se), abs=1e-9)
    b1, s1 = BETA[2:4], SIGMA[2:4, 2:4]
    t = honest_did(b1, s1, 1, 1, method="smoothness", grid=[0.0])
    est, se = b1.sum(), np.sqrt(s1.sum())
    assert (t.lb.iloc[1], t.ub.iloc[1]) == pytest.approx((est - z * se, est + z * se), abs=1e-12)


def test_smoothness_flci_is_optimal_and_widens():
    from analysis.sensitivity.honest_did import _fold_normal_cv, _sd_bias_basis
    from scipy import optimize

    grid = [0.0, 0.01, 0.05, 0.1, 0.5]
    t = honest_did(BETA, SIGMA, 3, 2, method="smoothness", grid=grid, l_vec=[0.5, 0.5])
    g = t[t.method != "original"]
    length = (g.ub - g.lb).to_numpy()
    assert np.all(np.diff(length) >= -1e-9)
    # brute-force check of optimality over the affine estimators (2 free pre weights; the
    # third is fixed by linear-trend invariance)
    T = _sd_bias_basis(3, 2)
    slope, D = T[:, 0], T[:, 1:]
    l_vec = np.array([0.5, 0.5])
    for M, half in zip(grid[2:], length[2:] / 2):
        def f(x):
            w = np.array([x[0], x[1], 0.0])
            w[2] = -(np.concatenate([w, l_vec]) @ slope) / slope[2]
            v = np.concatenate([w, l_vec])
            sd = np.sqrt(v @ SIGMA @ v)
            return sd * _fold_normal_cv(M * np.abs(v @ D).sum() / sd, 0.05)
        best = min(optimize.minimize(f, x0, method="Nelder-Mead",
                                     options={"xatol": 1e-10, "fatol": 1e-12}).fun
                   for x0 in ([0, 0], [0, 1], [1, -1]))
        assert half == pytest.approx(best, rel=1e-6)
        assert half <= best + 1e-9


def test_smoothness_flci_coverage_simulation():
    """betahat ~ N(beta, Sigma) with beta = tau + delta, delta in Delta^SD(M) chosen adversarially
    (the worst-case bias direction for the FLCI's own weights): coverage >= 0.93 in 300 draws."""
    from analysis.sensitivity.honest_did import _flci_weights, _sd_bias_basis

    M, l_vec = 0.05, np.array([1.0, 0.0])
    v, sd, bias, half = _flci_weights(SIGMA, 3, l_vec, M, 0.05)
    T = _sd_bias_basis(3, 2)
    d = M * np.sign(v @ T[:, 1:])  # second differences at the bound, worst case for v
    delta = T[:, 1:] @ d + 0.02 * T[:, 0]  # plus an arbitrary linear trend
    assert v @ delta == pytest.approx(bias, rel=1e-6)
    tau = np.array([0, 0, 0, 0.7, 0.4])
    beta = tau + delta
    rng = np.random.default_rng(11)
    draws = rng.multivariate_normal(beta, SIGMA, size=300)
    est = draws @ v
    covered = np.abs(est - l_vec @ tau[3:]) <= half
    assert covered.mean() >= 0.93


def test_from_result_and_errors():
    es = pd.DataFrame({"event_time": [-4, -3, -2, -1, 0, 1],
                       "estimate": [0.05, -0.02, 0.03, 0.0, 0.9, 1.1]})
    d = Design(estimator="event study", inference="cluster", n_units=10, n_treated_units=3, n_periods=6)
    r = EstimationResult({"x": 1.0}, {"x": 0.1}, d, details={"event_study": es.to_dict("records"),
                                                             "vcov": SIGMA})
    t = honest_did_from_result(r, grid=[0.0])
    direct = honest_did(BETA, SIGMA, 3, 2, grid=[0.0])
    pd.testing.assert_frame_equal(t, direct)
    assert t[t.method == "original"].iloc[0].lb == pytest.approx(0.9 - stats.norm.ppf(0.975) * np.sqrt(0.055))
    with pytest.raises(InputError):
        honest_did(BETA, SIGMA, 2, 2)
    with pytest.raises(InputError):
        honest_did(BETA, SIGMA, 3, 2, method="nope")


def test_event_study_result_carries_its_covariance_for_honest_did():
    """B's event study exposes details['vcov'], so no sigma needs to be passed by hand."""
    from analysis.estimators.event_study import event_study
    from analysis.sensitivity.honest_did import honest_did_from_result
    from analysis.simulate import simulate_panel

    data = simulate_panel(seed=3)
    res = event_study(data, unit="unit", time="year", outcome="y", treated="treated",
                      cluster="cluster", inference="cluster")
    table = honest_did_from_result(res, method="relative_magnitude", grid=[0.0, 1.0])
    assert len(res.details["vcov"]) == len(res.details["vcov_terms"])
    first_post = next(r for r in res.details["event_study"] if r["event_time"] == 0)
    row = table[table["method"] == "original"].iloc[0]
    z = 1.959963984540054
    assert row["lb"] == pytest.approx(first_post["estimate"] - z * first_post["se"], rel=1e-9)
    rm0 = table[table["M"] == 0.0].iloc[0]
    assert rm0["lb"] <= first_post["estimate"] <= rm0["ub"]
