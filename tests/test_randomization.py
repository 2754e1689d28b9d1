"""Randomization inference: exact enumeration, minimum p-value, inversion."""
import math

import numpy as np
import pytest

from analysis.estimators.did import did_2x2, twfe_did
from analysis.inference.randomization import count_assignments, placebo_assignments
from analysis.simulate import simulate_panel


def test_enumeration_counts_and_actual_first():
    adopt = np.array([2015, np.inf, np.inf, 2015, np.inf, np.inf])
    rows, full = placebo_assignments(adopt, reps=999, seed=0)
    assert full and len(rows) == math.comb(6, 2) == count_assignments(adopt)
    assert np.array_equal(rows[0], adopt)
    rows, full = placebo_assignments(np.r_[np.full(4, 2015.0), np.full(40, np.inf)], reps=99, seed=0)
    assert not full and len(rows) == 100
    assert (np.isfinite(rows).sum(axis=1) == 4).all()  # number of treated clusters kept


def test_exact_pvalue_matches_brute_force_and_min_p():
    df = simulate_panel(n_clusters=10, n_treated_clusters=2, effect=0.0, seed=4)
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated",
                 cluster="cluster", inference="ri", reps=9999)
    ri = r.details["randomization"]
    assert ri["enumerated"] and ri["n_assignments"] == math.comb(10, 2)
    assert r.details["min_p_value"] == pytest.approx(1 / 45)
    # brute force: refit TWFE with each placebo pair of clusters treated
    import itertools
    post = df.year >= 2015
    coefs, tstats = [], []
    for pair in itertools.combinations(range(10), 2):
        d = (df.cluster.isin(pair) & post).astype(int)
        fit = twfe_did(df.assign(treated=d), unit="unit", time="year", outcome="y",
                       treated="treated", cluster="cluster")
        coefs.append(fit.params["att"])
        tstats.append(fit.tstats["att"])
    obs = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated", cluster="cluster")
    p_t = np.mean(np.abs(tstats) >= abs(obs.tstats["att"]) * (1 - 1e-10))
    assert r.pvalues["att"] == pytest.approx(p_t)  # RI-t (default)
    assert r.details["randomization"]["statistic"] == "t"
    r_coef = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated",
                      cluster="cluster", inference="ri", ri_statistic="coef")
    p_b = np.mean(np.abs(coefs) >= abs(obs.params["att"]) * (1 - 1e-10))
    assert r_coef.pvalues["att"] == pytest.approx(p_b)


def test_interval_covers_estimate_and_2x2_ri():
    df = simulate_panel(n_clusters=30, n_treated_clusters=4, effect=2.0, seed=6)
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated",
                 cluster="cluster", inference="ri", reps=999, seed=1)
    ci = r.conf_int()
    assert ci.loc["att", "lower"] < r.params["att"] < ci.loc["att", "upper"]
    assert not r.details["randomization"]["enumerated"]
    assert r.details["min_p_value"] == pytest.approx(1 / 1000)
    r2 = did_2x2(df, unit="unit", time="year", outcome="y", treated="treated",
                 cluster="cluster", inference="ri", reps=999, seed=1)
    assert r2.params["att"] == pytest.approx(r.params["att"], rel=1e-8)  # balanced block design


def test_one_treated_cluster_ri_reports_min_p():
    df = simulate_panel(n_clusters=12, n_treated_clusters=1, seed=2)
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated",
                 cluster="cluster", inference="ri")
    assert r.details["min_p_value"] == pytest.approx(1 / 12)
    assert r.pvalues["att"] >= 1 / 12
