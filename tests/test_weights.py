"""Observation (population) weights in TWFE and the event study: weighted least squares.

References: linearmodels ``PanelOLS(weights=...)`` (coefficients; the clustered covariance up to
its stated degrees-of-freedom factor), the dummy-variable weighted regression for the within
transformation and the wild bootstrap, and simulated panels with a known population-weighted
effect. Randomization inference with weights is pinned to weighted refits in
``tests/test_randomization.py``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.estimators.did import did_2x2, fwl_fit, prepare_panel, twfe_did
from analysis.estimators.event_study import event_study
from analysis.estimators.within import WithinTransform
from analysis.simulate import simulate_panel

KW = dict(unit="unit", time="year", outcome="y", treated="treated", cluster="cluster")
TOL = 1e-10  # the within-vs-PanelOLS tolerance of tests/test_fast_paths.py


def _weighted(df, seed=0):
    """A population-like weight per row: unit size times a trend, varying within units."""
    rng = np.random.default_rng(seed)
    units = df["unit"].unique()
    base = dict(zip(units, np.exp(rng.normal(9, 1.2, len(units)))))
    return df.assign(w=df["unit"].map(base) * (1 + 0.03 * (df["year"] - 2010))
                     * np.exp(rng.normal(0, 0.1, len(df))))


def _panels():
    df = _weighted(simulate_panel(n_clusters=20, n_treated_clusters=5, effect=1.5, seed=2))
    unbalanced = df.sample(frac=0.85, random_state=1)
    keep = unbalanced.groupby("unit")["year"].transform("min") < 2015  # a pre-period each
    return {"balanced": df, "unbalanced": unbalanced[keep]}


def _panelols(df, regressors):
    from linearmodels.panel import PanelOLS

    d = df.set_index(["unit", "year"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PanelOLS(d["y"], d[regressors], entity_effects=True, time_effects=True,
                        weights=d["w"]).fit(cov_type="clustered", clusters=d[["cluster"]],
                                            group_debias=False, debiased=False)


@pytest.mark.parametrize("layout", ["balanced", "unbalanced"])
def test_weighted_within_transform_equals_dummy_regression(layout):
    df = _panels()[layout].sort_values(["unit", "year"])
    uc, _ = pd.factorize(df["unit"], sort=True)
    tc, _ = pd.factorize(df["year"], sort=True)
    w = df["w"].to_numpy()
    M = df[["y", "x", "treated"]].to_numpy(float)
    got = WithinTransform(uc, tc, weights=w).transform(M)
    F = pd.get_dummies(df[["unit", "year"]].astype(str), drop_first=True).astype(float)
    F.insert(0, "const", 1.0)
    F = F.to_numpy()
    sw = np.sqrt(w)[:, None]
    coef = np.linalg.lstsq(F * sw, M * sw, rcond=None)[0]
    np.testing.assert_allclose(got, M - F @ coef, rtol=0, atol=TOL * np.abs(M).max())


@pytest.mark.parametrize("seed", range(6))
def test_unbalanced_within_transform_equals_dummy_regression(seed):
    """Unweighted and weighted, unbalanced panels of different shapes: the exact projection
    (the period-effects Gram matrix has no spurious near-zero direction)."""
    df = _weighted(simulate_panel(n_clusters=14 + 3 * seed, n_treated_clusters=4, seed=seed),
                   seed=seed).sample(frac=0.9, random_state=seed).sort_values(["unit", "year"])
    uc, _ = pd.factorize(df["unit"], sort=True)
    tc, _ = pd.factorize(df["year"], sort=True)
    M = df[["y", "treated"]].to_numpy(float)
    F = pd.get_dummies(df[["unit", "year"]].astype(str), drop_first=True).astype(float)
    F.insert(0, "const", 1.0)
    F = F.to_numpy()
    for w in (None, df["w"].to_numpy()):
        sw = np.ones((len(df), 1)) if w is None else np.sqrt(w)[:, None]
        want = M - F @ np.linalg.lstsq(F * sw, M * sw, rcond=None)[0]
        got = WithinTransform(uc, tc, weights=w).transform(M)
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL * np.abs(M).max())


@pytest.mark.parametrize("layout", ["balanced", "unbalanced"])
def test_weighted_twfe_equals_panelols(layout):
    df = _panels()[layout]
    r = twfe_did(df, covariates=["x"], weights="w", **KW)
    lm = _panelols(df, ["treated", "x"])
    scale = max(1.0, float(np.abs(lm.params).max()))
    np.testing.assert_allclose(r.params.to_numpy(), lm.params.to_numpy(), rtol=0, atol=TOL * scale)
    # CR1 = linearmodels' clustered covariance (weighted scores) times the CR1 factor q, after
    # removing linearmodels' own factor n / (n - absorbed effects), absorbed = units + periods - 1
    des = prepare_panel(df, covariates=["x"], weights="w", **KW)
    n, absorbed = des.n_obs, des.n_units + des.n_periods - 1
    q = fwl_fit(des, des.frame[["treated", "x"]].to_numpy(float), des.k_absorbed()).small_sample.factor
    want = np.sqrt(np.diag(lm.cov.to_numpy()) * q * (n - absorbed) / n)
    np.testing.assert_allclose(r.std_errors.to_numpy(), want, rtol=TOL)
    # the reference path inside the estimator agrees too
    ref = twfe_did(df, covariates=["x"], weights="w", engine="linearmodels", **KW)
    np.testing.assert_allclose(ref.params, r.params, rtol=0, atol=TOL * scale)
    assert r.design.extra["weights"]["column"] == "w"
    assert "Weights: observation weights 'w'" in r.summary
    # weights matter here: the unweighted fit differs
    assert abs(twfe_did(df, covariates=["x"], **KW).params["att"] - r.params["att"]) > 1e-3


@pytest.mark.parametrize("layout", ["balanced", "unbalanced"])
def test_weighted_event_study_equals_panelols(layout):
    df = _panels()[layout]
    r = event_study(df, weights="w", **KW)
    terms = [t for t in r.params.index if t.startswith("event_time=")]
    f = df.assign(**{t: ((df.groupby("unit")["treated"].transform("max") == 1)
                         & (df["year"] - 2015 == int(t.split("=")[1]))).astype(float)
                     for t in terms})
    lm = _panelols(f, terms)
    scale = max(1.0, float(np.abs(lm.params).max()))
    np.testing.assert_allclose(r.params[terms].to_numpy(), lm.params.to_numpy(), rtol=0,
                               atol=TOL * scale)
    ref = event_study(df, weights="w", engine="linearmodels", **KW)
    np.testing.assert_allclose(ref.params, r.params, rtol=0, atol=TOL * scale)
    # the average term: mean of the post-period coefficients, SE sqrt(a'Va)
    post = [t for t in terms if int(t.split("=")[1]) >= 0]
    assert r.params["att"] == pytest.approx(r.params[post].mean(), rel=1e-12)
    V = np.asarray(r.details["vcov"])
    idx = [r.details["vcov_terms"].index(t) for t in post]
    a = np.full(len(idx), 1 / len(idx))
    assert r.std_errors["att"] == pytest.approx(np.sqrt(a @ V[np.ix_(idx, idx)] @ a), rel=1e-12)


def _cube(effects, weights, years=range(2010, 2019), adoption=2015, seed=0):
    """Noise-free panel: unit and year effects, unit-specific constant effects after adoption."""
    rng = np.random.default_rng(seed)
    rows = []
    year_fx = {t: rng.normal() for t in years}
    for i, (tau, w) in enumerate(zip(effects, weights)):
        a = rng.normal(0, 5)
        for t in years:
            d = int(not np.isnan(tau) and t >= adoption)
            rows.append({"unit": i, "cluster": i, "year": t, "treated": d, "w": w,
                         "y": a + year_fx[t] + (tau if d else 0.0)})
    return pd.DataFrame(rows)


def test_known_effect_population_weighted_average():
    """Common adoption, balanced, unit-constant weights: weighted TWFE and the event-study
    average recover the population-weighted mean of the unit effects; unweighted, the mean."""
    rng = np.random.default_rng(5)
    tau = np.r_[rng.normal(-100, 40, 8), np.full(30, np.nan)]
    pop = np.exp(rng.normal(10, 1, len(tau)))
    df = _cube(tau, pop)
    treated = ~np.isnan(tau)
    want_w = float(np.sum(tau[treated] * pop[treated]) / pop[treated].sum())
    want_u = float(tau[treated].mean())
    assert abs(want_w - want_u) > 5  # a case where weighting matters
    for fit in (twfe_did, event_study):
        assert fit(df, weights="w", **KW).params["att"] == pytest.approx(want_w, abs=1e-8)
        assert fit(df, **KW).params["att"] == pytest.approx(want_u, abs=1e-8)


def test_known_effect_recovered_under_heteroskedastic_noise():
    """Errors with variance proportional to 1/w: WLS is unbiased for the constant effect and
    its 95% interval covers it in about 95% of simulated panels."""
    covered, estimates = 0, []
    for seed in range(40):
        df = _weighted(simulate_panel(n_clusters=40, n_treated_clusters=12, effect=2.0,
                                      seed=100 + seed), seed=seed)
        noise = np.random.default_rng(seed).normal(0, 1, len(df)) / np.sqrt(df["w"] / df["w"].mean())
        r = twfe_did(df.assign(y=df["y"] + noise), weights="w", **KW)
        lo, hi = r.conf_int().loc["att"]
        covered += lo <= 2.0 <= hi
        estimates.append(r.params["att"])
    assert abs(np.mean(estimates) - 2.0) < 3 * np.std(estimates) / np.sqrt(len(estimates))
    assert covered >= 33  # 40 draws, nominal 95%: P(covered < 33) < 0.5% at true coverage 95%


def test_constant_weights_equal_unweighted_for_every_inference():
    df = simulate_panel(n_clusters=14, n_treated_clusters=4, effect=1.0, seed=3).assign(w=7.5)
    for inference in ("cluster", "wild", "ri"):
        a = twfe_did(df, inference=inference, reps=199, **KW)
        b = twfe_did(df, inference=inference, reps=199, weights="w", **KW)
        pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=1e-8, atol=1e-10)
    a = event_study(df, inference="wild", reps=199, **KW)
    b = event_study(df, inference="wild", reps=199, weights="w", **KW)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=1e-8, atol=1e-10)


def test_weighted_wild_bootstrap_runs_on_the_weighted_partialled_design():
    """The WCR bootstrap of weighted TWFE is the bootstrap of the weighted design with the unit
    effects (nested in the clusters) partialled by the weighted dummy-variable regression and the
    period dummies, partialled the same way, as regressors; rows scaled by sqrt(w). The same
    convention as the unweighted estimator (analysis.inference.wild_bootstrap)."""
    from analysis.inference.wild_bootstrap import wild_cluster_bootstrap

    df = _panels()["unbalanced"].sort_values(["unit", "year"])
    r = twfe_did(df, covariates=["x"], weights="w", inference="wild", reps=499, seed=4, **KW)
    U = pd.get_dummies(df["unit"].astype(str)).astype(float).to_numpy()
    T = pd.get_dummies(df["year"].astype(str), drop_first=True).astype(float).to_numpy()
    sw = np.sqrt(df["w"].to_numpy())[:, None]
    M = np.column_stack([df[["treated", "x"]].to_numpy(float), T, df["y"].to_numpy(float)])
    part = (M - U @ np.linalg.lstsq(U * sw, M * sw, rcond=None)[0]) * sw
    ref = wild_cluster_bootstrap(part[:, :-1], part[:, -1], df["cluster"].to_numpy(), coefs=[0],
                                 reps=499, seed=4)[0]
    assert r.pvalues["att"] == pytest.approx(ref.p_value, abs=1e-12)
    lo, hi = r.conf_int().loc["att"]
    assert lo == pytest.approx(ref.ci_low, rel=1e-6) and hi == pytest.approx(ref.ci_high, rel=1e-6)


def test_event_study_wild_average_is_the_bootstrap_of_the_average():
    df = _panels()["balanced"]
    r = event_study(df, weights="w", inference="wild", reps=499, seed=2, **KW)
    boot = r.details["wild_bootstrap"]["att"]
    assert boot["estimate"] == pytest.approx(r.params["att"], rel=1e-10)
    lo, hi = r.conf_int().loc["att"]
    assert lo < r.params["att"] < hi and 0 <= r.pvalues["att"] <= 1
    assert np.isnan(r.std_errors["att"])  # bootstrap: interval and p-value, no SE
    assert r.details["cluster_se"]["att"] > 0


@pytest.mark.parametrize("bad, fragment", [
    (np.nan, "missing values"), (0.0, "zero or negative"), (-3.0, "zero or negative"),
    (np.inf, "infinite"),
])
def test_bad_weights_are_clear_errors(bad, fragment):
    df = _panels()["balanced"].copy()
    df.loc[df.index[[3, 7]], "w"] = bad
    for fit in (twfe_did, event_study):
        with pytest.raises(InputError, match=fragment):
            fit(df, weights="w", **KW)


def test_weights_column_must_exist_and_be_numeric():
    df = _panels()["balanced"]
    with pytest.raises(InputError, match="not in the data"):
        twfe_did(df, weights="population", **KW)
    with pytest.raises(InputError, match="numeric"):
        twfe_did(df.assign(w="many"), weights="w", **KW)


def test_estimators_without_weights_refuse_them():
    df = _panels()["balanced"]
    with pytest.raises(InputError, match="twfe, event-study"):
        did_2x2(df, weights="w", **KW)


# --- the command line and the settings object ------------------------------------------------
@pytest.fixture(scope="module")
def weighted_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "frame.parquet"
    _panels()["balanced"].rename(columns={"w": "population"}).to_parquet(path)
    return path


BASE = ["--unit", "unit", "--time", "year", "--outcome", "y", "--treated", "treated",
        "--cluster", "cluster"]


@pytest.mark.parametrize("method", ["twfe", "event-study"])
def test_command_line_weights_reproduce_the_spec(weighted_file, capsys, monkeypatch, method):
    import json
    import shlex

    from analysis.cli import main
    from analysis.spec import EstimateSpec, estimate_record

    spec = EstimateSpec(method, unit="unit", outcome="y", weights="population")
    expected = estimate_record(method, spec.fit(pd.read_parquet(weighted_file)), spec.inference)
    words = shlex.split(spec.command("frame.parquet"))
    assert words[words.index("--weights") + 1] == "population"
    monkeypatch.chdir(weighted_file.parent)
    capsys.readouterr()
    assert main(words[1:]) == 0
    got = json.loads(capsys.readouterr().out)
    for key in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        assert got[key] == expected[key], key
    assert got["details"]["observation_weights"]["column"] == "population"
    unweighted = EstimateSpec(method, unit="unit", outcome="y", weights="none")
    assert unweighted.weights is None and "--weights" not in unweighted.command()


@pytest.mark.parametrize("extra, fragment", [
    (["--method", "twfe", "--weights", "pop"], "valid choices: cluster, none, population"),
    (["--method", "twfe", "--weights", "webb"], "--bootstrap-weights"),
    (["--method", "sdid", "--weights", "population"], "twfe, event-study"),
    (["--method", "did", "--weights", "population"], "twfe, event-study"),
    (["--method", "twfe", "--weights", "y_bad"], "zero or negative"),
    (["--method", "twfe", "--weights", "y_missing"], "missing values"),
    (["--method", "twfe", "--bootstrap-weights", "gauss"], "invalid choice"),
])
def test_bad_weights_on_the_command_line_exit_2(weighted_file, tmp_path, capsys, extra, fragment):
    from analysis.cli import main

    path = tmp_path / "frame.parquet"
    df = pd.read_parquet(weighted_file)
    df["y_bad"] = np.where(df["year"] == 2012, 0.0, df["population"])
    df["y_missing"] = np.where(df["year"] == 2013, np.nan, df["population"])
    df.to_parquet(path)
    capsys.readouterr()
    try:
        code = main(["estimate", str(path), *BASE, *extra, "--json"])
    except SystemExit as exc:  # argparse choices
        code = exc.code
    assert code == 2
    captured = capsys.readouterr()
    assert fragment in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


@pytest.mark.parametrize("estimator,layout", [("twfe", "balanced"), ("twfe", "unbalanced"),
                                              ("event-study", "balanced")])
def test_batched_placebo_estimates_equal_the_weighted_estimators(estimator, layout):
    """The joint test's batched weighted estimates (analysis.estimators.batched) are the
    weighted single-fit estimators' att on every placebo frame. (The event study dates a unit's
    adoption by its first observed treated period, so on unbalanced panels it differs from a
    calendar adoption year wherever a placebo unit lacks that year: balanced here.)"""
    from analysis.estimators import batched

    df = _panels()[layout]
    data = df[df.groupby("unit")["treated"].transform("max") == 0].drop(columns="treated")
    units = np.sort(data["unit"].unique())
    rng = np.random.default_rng(1)
    P = np.zeros((3, len(units)), dtype=bool)
    S = np.ones((3, len(units)), dtype=bool)
    for d in range(3):
        pick = rng.choice(len(units), 6, replace=False)
        P[d, pick[:4]] = True
        S[d, pick[4:]] = False
    fn = batched.twfe_placebo if estimator == "twfe" else batched.event_study_placebo
    got = fn(data, unit="unit", time="year", outcome="y", placebo=P, included=S,
             adoption_time=2015, covariates=["x"], weights="w")
    single = twfe_did if estimator == "twfe" else event_study
    for d in range(3):
        f = data[data["unit"].isin(units[S[d]])].copy()
        f["treated"] = (f["unit"].isin(units[P[d]]) & (f["year"] >= 2015)).astype(int)
        f["cluster"] = f["unit"]
        want = single(f, covariates=["x"], weights="w", **KW).params["att"]
        assert got[d] == pytest.approx(want, rel=1e-9, abs=1e-9)
