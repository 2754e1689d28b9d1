"""The estimators' batched placebo form returns the single-fit estimators' estimates."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.errors import InputError
from analysis.estimators import batched
from analysis.estimators.did import twfe_did
from analysis.estimators.event_study import event_study
from analysis.estimators.sdid import synthetic_did
from analysis.estimators.synthetic_control import synthetic_control

ADOPTION = 2015


def _panel(n_units=30, years=range(2009, 2019), seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        a, slope = rng.normal(100, 10), rng.normal(2, 0.5)
        for t in years:
            rows.append({"kunta": f"{i:03d}", "year": t,
                         "y": a + slope * (t - 2009) + rng.normal(0, 3),
                         "x1": rng.normal(0, 1) + 0.1 * t, "pop": rng.uniform(1e3, 5e4)})
    return pd.DataFrame(rows)


def _draws(units, n_draws=4, seed=0, n_placebo=3, n_excluded=0):
    rng = np.random.default_rng(seed)
    P = np.zeros((n_draws, len(units)), dtype=bool)
    S = np.ones((n_draws, len(units)), dtype=bool)
    for d in range(n_draws):
        pick = rng.choice(len(units), n_placebo + n_excluded, replace=False)
        P[d, pick[:n_placebo]] = True
        S[d, pick[n_placebo:]] = False
    return P, S


def _frame(data, units, P, S, d):
    keep = [u for u, s in zip(units, S[d]) if s]
    chosen = {u for u, p in zip(units, P[d]) if p}
    f = data[data["kunta"].isin(keep)].copy()
    f["treated"] = (f["kunta"].isin(chosen) & (f["year"] >= ADOPTION)).astype(int)
    f["cluster"] = f["kunta"]
    return f


@pytest.mark.parametrize("covariates", [(), ("x1",)])
@pytest.mark.parametrize("estimator", ["twfe", "event-study"])
@pytest.mark.parametrize("unbalanced", [False, True])
def test_regressions_equal_the_single_fit_estimators(estimator, covariates, unbalanced):
    data = _panel()
    if unbalanced:
        data = data.drop(index=[3, 17, 48, 120, 121]).reset_index(drop=True)
    units = sorted(data["kunta"].unique())
    P, S = _draws(units, n_excluded=5)
    fn = batched.twfe_placebo if estimator == "twfe" else batched.event_study_placebo
    got = fn(data, unit="kunta", time="year", outcome="y", placebo=P, included=S,
             adoption_time=ADOPTION, covariates=covariates)
    for d in range(len(P)):
        kw = dict(unit="kunta", time="year", outcome="y", treated="treated",
                  covariates=list(covariates), cluster="cluster")
        f = _frame(data, units, P, S, d)
        want = (twfe_did(f, **kw).params["att"] if estimator == "twfe"
                else event_study(f, **kw).params["att"])
        assert got[d] == pytest.approx(want, rel=1e-9, abs=1e-9)


def _wls_reference(f, estimator, covariates, weights):
    """Weighted least squares with unit and period dummies (statsmodels WLS)."""
    X = pd.get_dummies(f[["kunta", "year"]].astype(str), drop_first=True).astype(float)
    rel = f["year"] - ADOPTION
    if estimator == "twfe":
        terms = ["att"]
        X["att"] = f["treated"].astype(float)
    else:
        ever = f.groupby("kunta")["treated"].transform("max").astype(bool)
        terms = [f"e{e}" for e in sorted(rel.unique()) if e >= 0]
        for e in sorted(rel.unique()):
            if e != -1:
                X[f"e{e}"] = (ever & (rel == e)).astype(float)
    for c in covariates:
        X[c] = f[c]
    X = sm.add_constant(X)
    fit = sm.WLS(f["y"].to_numpy(), X.to_numpy(), weights=f[weights].to_numpy()).fit()
    params = pd.Series(fit.params, index=X.columns)
    return float(params[terms].mean())


@pytest.mark.parametrize("covariates", [(), ("x1",)])
@pytest.mark.parametrize("estimator", ["twfe", "event-study"])
def test_weighted_regressions_equal_weighted_least_squares_and_the_weighted_estimators(
        estimator, covariates):
    data = _panel(n_units=20).drop(index=[5, 77]).reset_index(drop=True)
    units = sorted(data["kunta"].unique())
    P, S = _draws(units, n_draws=3, n_excluded=3)
    fn = batched.twfe_placebo if estimator == "twfe" else batched.event_study_placebo
    got = fn(data, unit="kunta", time="year", outcome="y", placebo=P, included=S,
             adoption_time=ADOPTION, covariates=covariates, weights="pop")
    unweighted = fn(data, unit="kunta", time="year", outcome="y", placebo=P, included=S,
                    adoption_time=ADOPTION, covariates=covariates)
    for d in range(len(P)):
        f = _frame(data, units, P, S, d)
        want = _wls_reference(f, estimator, covariates, "pop")
        assert got[d] == pytest.approx(want, rel=1e-8, abs=1e-8)
        kw = dict(unit="kunta", time="year", outcome="y", treated="treated",
                  covariates=list(covariates), cluster="cluster", weights="pop")
        fit = twfe_did(f, **kw) if estimator == "twfe" else event_study(f, **kw)
        assert got[d] == pytest.approx(fit.params["att"], rel=1e-9, abs=1e-9)
    assert not np.allclose(got, unweighted)


@pytest.mark.parametrize("placebo_form, estimator, n_units, draws", [
    (batched.synthetic_did_placebo, synthetic_did, 25, dict(n_excluded=4)),
    (batched.synthetic_control_placebo, synthetic_control, 12, dict(n_placebo=2, n_excluded=2)),
], ids=["sdid", "sc"])
def test_weight_solving_estimators_equal_the_estimator(placebo_form, estimator, n_units, draws):
    data = _panel(n_units=n_units, years=range(2010, 2017))
    units = sorted(data["kunta"].unique())
    P, S = _draws(units, n_draws=3, **draws)
    got = placebo_form(data, unit="kunta", time="year", outcome="y", placebo=P, included=S,
                       adoption_time=ADOPTION)
    for d in range(len(P)):
        f = _frame(data, units, P, S, d)
        want = estimator(f, unit="kunta", time="year", outcome="y", treated="treated",
                         inference="none").params["att"]
        assert got[d] == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_bad_assignments_are_refused():
    data = _panel(n_units=6)
    units = sorted(data["kunta"].unique())
    kw = dict(unit="kunta", time="year", outcome="y", adoption_time=ADOPTION)
    with pytest.raises(InputError, match="columns"):
        batched.twfe_placebo(data, placebo=np.ones((2, 3), dtype=bool), **kw)
    with pytest.raises(InputError, match="at least one placebo unit"):
        batched.twfe_placebo(data, placebo=np.zeros((2, len(units)), dtype=bool), **kw)
    with pytest.raises(InputError, match="comparison unit"):
        batched.twfe_placebo(data, placebo=np.ones((1, len(units)), dtype=bool), **kw)
    with pytest.raises(InputError, match="balanced"):
        P = np.zeros((1, len(units)), dtype=bool)
        P[0, 0] = True
        batched.synthetic_did_placebo(data.iloc[1:], placebo=P, **kw)
