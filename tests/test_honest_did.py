"""HonestDiD sensitivity (Rambachan & Roth 2023) in the constructions documented in the module.

Exact statement tested for the issue's "with Mbar = 0 the honest set equals the usual interval":
under Delta^RM(0) post-period violations are zero, so the robust interval for the first
post-period effect equals the conventional interval beta_0 -/+ z_{0.975} se(beta_0) (to 1e-12,
since the plug-in construction adds zero bias at Mbar = 0).
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


def test_mbar_zero_equals_conventional_interval():
    t = honest_did(BETA, SIGMA, 3, 2, grid=[0.0, 0.5, 1.0])
    z = stats.norm.ppf(0.975)
    se = np.sqrt(SIGMA[3, 3])
    row = t[t.M == 0].iloc[0]
    assert row.lb == pytest.approx(0.9 - z * se, abs=1e-12)
    assert row.ub == pytest.approx(0.9 + z * se, abs=1e-12)
    orig = t[t.method == "original"].iloc[0]
    assert (orig.lb, orig.ub) == pytest.approx((row.lb, row.ub))


def test_sets_widen_with_mbar_and_breakdown():
    t = honest_did(BETA, SIGMA, 3, 2, grid=np.linspace(0, 10, 101))
    g = t[t.method != "original"]
    assert np.all(np.diff(g.ub.to_numpy()) >= 0) and np.all(np.diff(g.lb.to_numpy()) <= 0)
    bd = breakdown_value(t)
    # D = max |diff(0.05,-0.02,0.03,0)| = 0.07; excluded while 0.9 - 0.07 Mbar - z se > 0
    z, se = stats.norm.ppf(0.975), np.sqrt(SIGMA[3, 3])
    exact = (0.9 - z * se) / 0.07
    assert bd <= exact < bd + 0.1 + 1e-9


def test_smoothness_flci():
    t = honest_did(BETA, SIGMA, 3, 2, method="smoothness", grid=[0.0, 0.05])
    a = np.array([0, 0, 1.0, 1.0, 0])  # beta_0 + 1 * beta_{-2} (last lead before the reference)
    est, se = a @ BETA, np.sqrt(a @ SIGMA @ a)
    m0 = t[t.M == 0].iloc[0]
    z = stats.norm.ppf(0.975)
    assert (m0.lb, m0.ub) == pytest.approx((est - z * se, est + z * se))
    m1 = t[t.M == 0.05].iloc[0]
    assert m1.ub - m1.lb > m0.ub - m0.lb
    # coverage of the FLCI critical value: P(|N(b,1)| <= cv) = 0.95
    half = (m1.ub - m1.lb) / 2 / se
    b = 0.05 / se
    assert stats.norm.cdf(half - b) - stats.norm.cdf(-half - b) == pytest.approx(0.95, abs=1e-8)


def test_from_result_and_errors():
    es = pd.DataFrame({"event_time": [-4, -3, -2, -1, 0, 1],
                       "estimate": [0.05, -0.02, 0.03, 0.0, 0.9, 1.1]})
    d = Design(estimator="event study", inference="cluster", n_units=10, n_treated_units=3, n_periods=6)
    r = EstimationResult({"x": 1.0}, {"x": 0.1}, d, details={"event_study": es.to_dict("records"),
                                                             "vcov": SIGMA})
    t = honest_did_from_result(r, grid=[0.0])
    assert t[t.M == 0].iloc[0].lb == pytest.approx(0.9 - stats.norm.ppf(0.975) * np.sqrt(0.055))
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
    row = table[table["M"] == 0.0].iloc[0]
    z = 1.959963984540054
    assert row["lb"] == pytest.approx(first_post["estimate"] - z * first_post["se"], rel=1e-9)
