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


def _with_weights(df, seed=0):
    """A population-like observation weight per row (varies across units and years)."""
    rng = np.random.default_rng(seed)
    units = df["unit"].unique()
    base = dict(zip(units, np.exp(rng.normal(9, 1, len(units)))))
    return df.assign(w=df["unit"].map(base) * (1 + 0.02 * (df["year"] - 2010))
                     * np.exp(rng.normal(0, 0.05, len(df))))


@pytest.mark.parametrize("weights", [None, "w"])
def test_exact_pvalue_matches_brute_force_and_min_p(weights):
    df = _with_weights(simulate_panel(n_clusters=10, n_treated_clusters=2, effect=0.0, seed=4))
    kw_w = {"weights": weights}
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated",
                 cluster="cluster", inference="ri", reps=9999, **kw_w)
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
                       treated="treated", cluster="cluster", **kw_w)
        coefs.append(fit.params["att"])
        tstats.append(fit.tstats["att"])
    obs = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated", cluster="cluster",
                   **kw_w)
    p_t = np.mean(np.abs(tstats) >= abs(obs.tstats["att"]) * (1 - 1e-10))
    assert r.pvalues["att"] == pytest.approx(p_t)  # RI-t (default)
    assert r.details["randomization"]["statistic"] == "t"
    r_coef = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated",
                      cluster="cluster", inference="ri", ri_statistic="coef", **kw_w)
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


def _shaped_panel(seed=1, n=24, effect=0.0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    units = pd.DataFrame({"unit": range(n), "x": rng.random(n) * 10, "y": rng.random(n) * 10})
    units["cluster"] = units.unit
    units.loc[:2, "cluster"] = 100  # treated cluster of 3 units
    units.loc[3:4, "cluster"] = 101  # treated cluster of 2 units
    df = units.merge(pd.DataFrame({"year": range(2010, 2016)}), how="cross")
    df["treated"] = ((df.cluster >= 100) & (df.year >= 2014)).astype(int)
    df["out"] = rng.normal(size=len(df)) + df.x * 0.1 * (df.year - 2010) + effect * df.treated
    return df


@pytest.mark.parametrize("weights", [None, "w"])
def test_placebo_units_ri_matches_brute_force(weights):
    """Shaped RI-t = share of refitted TWFE t-statistics with each placebo group one cluster
    (with observation weights: the refits are weighted too)."""
    from analysis.inference.placebo_units import PlaceboUnits, draw_placebo_units

    df = _with_weights(_shaped_panel(effect=0.8), seed=3)
    kw = dict(unit="unit", time="year", outcome="out", treated="treated", cluster="cluster",
              weights=weights)
    pu = PlaceboUnits("nearest")
    r = twfe_did(df, inference="ri", placebo_units=pu, reps=99999, **kw)
    ri = r.details["randomization"]
    draws = draw_placebo_units(df[df.cluster < 100], unit="unit", sizes=(3, 2), reps=99999,
                               placebo_units=pu)
    assert ri["enumerated"] and ri["n_assignments"] == draws.n_draws + 1
    assert ri["placebo_units"]["sizes"] == [3, 2]
    tstats, coefs = [], []
    for row in draws.members:
        members = draws.units[row]
        cl = df.cluster.copy()
        cl[df.unit.isin(members[:3])] = 200
        cl[df.unit.isin(members[3:])] = 201
        dp = (df.unit.isin(members) & (df.year >= 2014)).astype(int)
        fit = twfe_did(df.assign(treated=dp, cluster=cl), **kw)
        tstats.append(fit.tstats["att"])
        coefs.append(fit.params["att"])
    obs = twfe_did(df, **kw)
    p_t = (1 + np.sum(np.abs(tstats) >= abs(obs.tstats["att"]) * (1 - 1e-10))) / (len(tstats) + 1)
    assert r.pvalues["att"] == pytest.approx(p_t)
    assert r.pvalues["att"] < 0.5  # a discriminating case
    rc = twfe_did(df, inference="ri", placebo_units=pu, reps=99999, ri_statistic="coef", **kw)
    p_b = (1 + np.sum(np.abs(coefs) >= abs(obs.params["att"]) * (1 - 1e-10))) / (len(coefs) + 1)
    assert rc.pvalues["att"] == pytest.approx(p_b)
    if weights is None:
        r2 = did_2x2(df, inference="ri", placebo_units=pu, reps=99999, **kw)
        assert r2.pvalues["att"] == pytest.approx(p_t)  # balanced block design: same regression


def test_chunked_equals_unchunked(monkeypatch):
    """Blocks of draws give identical p-values and intervals for a seed (bounded memory)."""
    from analysis.inference import randomization
    from analysis.inference.placebo_units import PlaceboUnits

    df = simulate_panel(n_clusters=30, n_treated_clusters=4, effect=1.0, seed=6)
    kw = dict(unit="unit", time="year", outcome="y", treated="treated", cluster="cluster",
              inference="ri", reps=999, seed=3)
    shaped = _shaped_panel(n=60, effect=0.5)
    kws = dict(unit="unit", time="year", outcome="out", treated="treated", cluster="cluster",
               inference="ri", reps=999, seed=3, placebo_units=PlaceboUnits())
    full = [twfe_did(df, **kw).to_frame(), twfe_did(shaped, **kws).to_frame()]
    monkeypatch.setattr(randomization, "_BLOCK_ELEMENTS", 7 * len(df))
    small = [twfe_did(df, **kw).to_frame(), twfe_did(shaped, **kws).to_frame()]
    for a, b in zip(full, small):
        assert a[["estimate", "pvalue", "ci_lower", "ci_upper"]].equals(
            b[["estimate", "pvalue", "ci_lower", "ci_upper"]])
