"""Wild cluster restricted bootstrap: algebra, enumeration, inversion, determinism, and
exactness with period effects that are not nested in the clusters."""
import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.estimators import did as did_module
from analysis.estimators.did import twfe_did
from analysis.estimators.event_study import event_study
from analysis.inference.wild_bootstrap import draw_weights, resolve_weights, wild_cluster_bootstrap
from analysis.simulate import simulate_panel


def brute_force_pvalue(X, y, codes, k, b0, V):
    """Loop over draws: restricted fit, y*, refit, CR1 t (the textbook algorithm)."""
    G = codes.max() + 1
    XtXi = np.linalg.inv(X.T @ X)

    def tstat(yy, null):
        b = XtXi @ X.T @ yy
        e = yy - X @ b
        s = np.zeros((G, X.shape[1]))
        np.add.at(s, codes, X * e[:, None])
        V_ = XtXi @ s.T @ s @ XtXi
        return (b[k] - null) / np.sqrt(V_[k, k])

    t0 = tstat(y, b0)
    others = [j for j in range(X.shape[1]) if j != k]
    Xr = X[:, others]
    yr = y - b0 * X[:, k]
    g = np.linalg.lstsq(Xr, yr, rcond=None)[0]
    ur = yr - Xr @ g
    ts = [tstat(Xr @ g + b0 * X[:, k] + ur * v[codes], b0) for v in V]
    return np.mean(np.abs(ts) >= abs(t0) * (1 - 1e-10))


def test_vectorised_equals_brute_force():
    rng = np.random.default_rng(0)
    n, G = 120, 9
    codes = rng.integers(0, G, n)
    codes[:G] = np.arange(G)
    X = np.column_stack([rng.normal(size=n), np.ones(n), rng.normal(size=n)])
    y = X @ [0.3, 1, -1] + rng.normal(size=n) + rng.normal(size=G)[codes]
    V, _ = draw_weights(G, 199, "webb", 1)
    for b0 in (0.0, 0.5):
        res = wild_cluster_bootstrap(X, y, codes, coefs=[0], null=b0, reps=199, weights="webb",
                                     seed=1, ci=False)[0]
        assert res.p_value == pytest.approx(brute_force_pvalue(X, y, codes, 0, b0, V), abs=1e-12)


def test_interval_bounds_are_where_the_test_rejects():
    df = simulate_panel(n_clusters=20, n_treated_clusters=5, seed=3)
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated",
                 cluster="cluster", inference="wild", reps=999, seed=4)
    wb = r.details["wild_bootstrap"]
    lo, hi = wb["ci_low"], wb["ci_high"]
    assert lo < r.params["att"] < hi
    assert r.conf_int().loc["att", "lower"] == lo
    # p at the bounds is at the 5% threshold (discrete p-value: just inside / outside)
    from analysis.estimators.did import fwl_fit, prepare_panel
    des = prepare_panel(df, unit="unit", time="year", outcome="y", treated="treated", cluster="cluster")
    fit = fwl_fit(des, des.frame[["treated"]].to_numpy(float), des.k_absorbed())
    width = hi - lo
    for b, inside in ((lo + 0.01 * width, True), (lo - 0.01 * width, False),
                      (hi - 0.01 * width, True), (hi + 0.01 * width, False)):
        p = wild_cluster_bootstrap(fit.X, fit.y, des.cluster_codes, null=b, reps=999, seed=4,
                                   absorbed=des.bootstrap_absorbed()[0], ci=False)[0].p_value
        assert (p > 0.05) == inside


def test_enumeration_and_auto_weights():
    assert resolve_weights("auto", 8) == "webb" and resolve_weights("auto", 30) == "rademacher"
    V, full = draw_weights(4, 9999, "webb", 0)
    assert full and V.shape == (6**4, 4)
    V, full = draw_weights(13, 999, "rademacher", 0)
    assert not full and V.shape == (999, 13)
    with pytest.raises(InputError, match="valid choices"):
        resolve_weights("mammen", 5)


def test_deterministic_given_seed():
    df = simulate_panel(n_clusters=25, n_treated_clusters=6, seed=8)
    kw = dict(unit="unit", time="year", outcome="y", treated="treated", cluster="cluster",
              inference="wild", reps=499)
    a = twfe_did(df, seed=1, **kw).to_frame()
    b = twfe_did(df, seed=1, **kw).to_frame()
    assert a.equals(b)


def test_chunked_equals_unchunked_and_weights_stated():
    """Blocks of weight draws give identical results for a seed; the result says which weights
    and why, and warns with few treated clusters (MacKinnon & Webb 2017, 2018)."""
    rng = np.random.default_rng(0)
    n, g = 600, 40
    codes = rng.integers(0, g, n)
    X = np.column_stack([(codes < 3).astype(float), rng.normal(size=n)])
    y = 0.3 * X[:, 0] + X[:, 1] + rng.normal(size=n)
    full = wild_cluster_bootstrap(X, y, codes, coefs=[0, 1], reps=999, seed=5, chunk=10_000,
                                  n_treated_clusters=3)
    small = wild_cluster_bootstrap(X, y, codes, coefs=[0, 1], reps=999, seed=5, chunk=7,
                                   n_treated_clusters=3)
    for a, b in zip(full, small):
        assert (a.p_value, a.ci_low, a.ci_high) == (b.p_value, b.ci_low, b.ci_high)
    V, _ = draw_weights(g, 999, "rademacher", 5)
    assert full[0].reps == len(V) == 999
    assert "Rademacher" in full[0].weights_reason and "40 clusters" in full[0].weights_reason
    assert any("under-reject" in w for w in full[0].warnings)
    few = wild_cluster_bootstrap(X[:60], y[:60], codes[:60] % 8, reps=99, seed=1,
                                 n_treated_clusters=6)[0]
    assert few.weights == "webb" and "2^8" in few.weights_reason and not few.warnings


def test_few_treated_warning_in_estimator_result():
    df = simulate_panel(n_clusters=30, n_treated_clusters=3, seed=2)
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated",
                 cluster="cluster", inference="wild", reps=199, seed=1)
    assert r.details["wild_bootstrap"]["weights_reason"].startswith("Rademacher")
    assert any("MacKinnon & Webb" in w and "3 treated of 30" in w for w in r.warnings)


# ---- period effects as regressors (Roodman, MacKinnon, Nielsen & Webb 2019, boottest) --------
KW = dict(unit="unit", time="year", outcome="y", treated="treated", cluster="cluster")
EXACT = 1e-10  # rounding only: the same weight draws on the same model


def _panel(layout: str, weighted: bool, seed: int = 3) -> pd.DataFrame:
    df = simulate_panel(n_clusters=20, n_treated_clusters=5, effect=1.5, seed=seed)
    if weighted:  # population-like weights: unit size times a trend, varying within units
        rng = np.random.default_rng(seed)
        units = df["unit"].unique()
        base = dict(zip(units, np.exp(rng.normal(9, 1.2, len(units)))))
        df = df.assign(w=df["unit"].map(base) * (1 + 0.03 * (df["year"] - 2010))
                       * np.exp(rng.normal(0, 0.1, len(df))))
    if layout == "unbalanced":
        df = df.sample(frac=0.85, random_state=1)
        df = df[df.groupby("unit")["year"].transform("min") < 2015].sort_values(["unit", "year"])
    return df


def _dummies(df):
    units = pd.get_dummies(df["unit"].astype(str)).astype(float).to_numpy()
    periods = pd.get_dummies(df["year"].astype(str), drop_first=True).astype(float).to_numpy()
    sw = np.sqrt(df["w"].to_numpy())[:, None] if "w" in df else np.ones((len(df), 1))
    return units, periods, sw


def period_dummies_as_regressors(df, X_raw, **kw):
    """The reference: unit effects partialled (weighted dummy regression, rows scaled by
    sqrt(w)), the period dummies, partialled the same way, as columns of X."""
    units, periods, sw = _dummies(df)
    M = np.column_stack([X_raw, periods, df["y"].to_numpy(float)])
    part = (M - units @ np.linalg.lstsq(units * sw, M * sw, rcond=None)[0]) * sw
    return wild_cluster_bootstrap(part[:, :-1], part[:, -1], df["cluster"].to_numpy(), **kw)


@pytest.mark.parametrize("layout", ["balanced", "unbalanced"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("covariates", [(), ("x",)])
def test_twfe_wild_equals_bootstrap_with_period_dummies(layout, weighted, covariates):
    df = _panel(layout, weighted)
    weights = "w" if weighted else None
    r = twfe_did(df, covariates=list(covariates), weights=weights, inference="wild", reps=999,
                 seed=4, **KW)
    X_raw = df[["treated", *covariates]].to_numpy(float)
    ref = period_dummies_as_regressors(df, X_raw, coefs=[0], reps=999, seed=4)[0]
    lo, hi = r.conf_int().loc["att"]
    assert r.pvalues["att"] == pytest.approx(ref.p_value, abs=EXACT)
    assert lo == pytest.approx(ref.ci_low, abs=EXACT) and hi == pytest.approx(ref.ci_high, abs=EXACT)
    assert r.details["wild_bootstrap"]["estimate"] == pytest.approx(ref.estimate, abs=EXACT)


@pytest.mark.parametrize("layout", ["balanced", "unbalanced"])
def test_bootstrap_without_the_period_columns_differs(layout):
    """The test above has power: partialling the period effects out of the bootstrap errors'
    model (the period means of v_g u_r kept) gives a different interval on the same draws."""
    df = _panel(layout, weighted=True)
    des = did_module.prepare_panel(df, weights="w", **KW)
    fit = did_module.fwl_fit(des, des.frame[["treated"]].to_numpy(float), des.k_absorbed())
    kw = dict(reps=999, seed=4)
    exact = wild_cluster_bootstrap(fit.X, fit.y, des.cluster_codes,
                                   absorbed=des.bootstrap_absorbed()[0], **kw)[0]
    partialled = wild_cluster_bootstrap(fit.X, fit.y, des.cluster_codes, **kw)[0]
    assert abs(exact.ci_low - partialled.ci_low) + abs(exact.ci_high - partialled.ci_high) > 1e-3


@pytest.mark.parametrize("layout", ["balanced", "unbalanced"])
def test_equals_textbook_bootstrap_of_the_dummy_variable_model(layout):
    """Refit y* on treatment, unit and period dummies draw by draw (weighted least squares)."""
    df = _panel(layout, weighted=True)
    units, periods, sw = _dummies(df)
    X = np.column_stack([df["treated"].to_numpy(float), units, periods]) * sw
    y = df["y"].to_numpy(float) * sw[:, 0]
    codes = pd.factorize(df["cluster"], sort=True)[0]
    V, _ = draw_weights(codes.max() + 1, 199, "rademacher", 7)
    for b0 in (0.0, 1.0):
        r = twfe_did(df, weights="w", inference="wild", reps=199, seed=7, **KW)
        p = r.pvalues["att"] if b0 == 0.0 else None
        if p is None:
            des = did_module.prepare_panel(df, weights="w", **KW)
            fit = did_module.fwl_fit(des, des.frame[["treated"]].to_numpy(float), 0)
            p = wild_cluster_bootstrap(fit.X, fit.y, des.cluster_codes, null=b0, reps=199, seed=7,
                                       absorbed=des.bootstrap_absorbed()[0], ci=False)[0].p_value
        assert p == pytest.approx(brute_force_pvalue(X, y, codes, 0, b0, V), abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_event_study_wild_equals_bootstrap_with_period_dummies(weighted):
    df = _panel("unbalanced", weighted)
    r = event_study(df, weights="w" if weighted else None, inference="wild", reps=499, seed=2,
                    **KW)
    # adoption: a unit's first treated year in the (unbalanced) panel
    adoption = df["year"].where(df["treated"] == 1).groupby(df["unit"]).transform("min")
    rel = (df["year"] - adoption).to_numpy()
    treated_unit = ~np.isnan(rel)
    terms = [int(e) for e in sorted(set(rel[treated_unit])) if e != -1]
    X_raw = np.column_stack([(treated_unit & (rel == e)).astype(float) for e in terms])
    ref = period_dummies_as_regressors(df, X_raw, coefs=range(len(terms)), reps=499, seed=2)
    for e, b in zip(terms, ref):
        name = f"event_time={e}"
        assert r.pvalues[name] == pytest.approx(b.p_value, abs=EXACT)
        assert r.conf_int().loc[name, "lower"] == pytest.approx(b.ci_low, abs=EXACT)
        assert r.conf_int().loc[name, "upper"] == pytest.approx(b.ci_high, abs=EXACT)
    post = [i for i, e in enumerate(terms) if e >= 0]
    A = np.eye(len(terms))
    A[post[0]] = 0.0
    A[post[0], post] = 1.0 / len(post)
    avg = period_dummies_as_regressors(df, X_raw @ np.linalg.inv(A), coefs=[post[0]], reps=499,
                                       seed=2)[0]
    assert r.pvalues["att"] == pytest.approx(avg.p_value, abs=EXACT)
    assert r.conf_int().loc["att", "upper"] == pytest.approx(avg.ci_high, abs=EXACT)


def test_absorbed_columns_are_partialled_inside():
    """X and y need not be partialled of ``absorbed``: the bootstrap is that of the OLS on
    [X, absorbed] either way."""
    df = _panel("unbalanced", weighted=False)
    units, periods, sw = _dummies(df)
    M = df[["treated", "y"]].to_numpy(float)
    part = M - units @ np.linalg.lstsq(units, M, rcond=None)[0]
    per = periods - units @ np.linalg.lstsq(units, periods, rcond=None)[0]
    kw = dict(reps=499, seed=3)
    a = wild_cluster_bootstrap(part[:, :1], part[:, 1], df["cluster"], absorbed=per, **kw)[0]
    b = wild_cluster_bootstrap(np.column_stack([part[:, :1], per]), part[:, 1], df["cluster"],
                               **kw)[0]
    assert (a.p_value, a.ci_low) == pytest.approx((b.p_value, b.ci_low), abs=EXACT)
    with pytest.raises(InputError, match="rows"):
        wild_cluster_bootstrap(part[:, :1], part[:, 1], df["cluster"], absorbed=per[:-1], **kw)
    per[3, 2] = np.nan
    with pytest.raises(InputError, match="missing or infinite"):
        wild_cluster_bootstrap(part[:, :1], part[:, 1], df["cluster"], absorbed=per, **kw)


def test_units_not_nested_in_clusters_keep_unit_dummies(monkeypatch):
    """Clusters that split units: unit and period dummies are bootstrap regressors (the
    textbook bootstrap of the dummy-variable model); beyond the size cap, a warning says the
    bootstrap partials them out."""
    df = _panel("balanced", weighted=False)
    df = df.assign(cluster=(df["unit"].astype("category").cat.codes * 3 + df["year"]) % 17)
    units, periods, _ = _dummies(df)
    X = np.column_stack([df["treated"].to_numpy(float), units, periods])
    codes = pd.factorize(df["cluster"], sort=True)[0]
    V, _ = draw_weights(17, 199, "rademacher", 5)
    r = twfe_did(df, inference="wild", reps=199, seed=5, **KW)
    assert r.pvalues["att"] == pytest.approx(
        brute_force_pvalue(X, df["y"].to_numpy(float), codes, 0, 0.0, V), abs=1e-12)
    assert not any("approximation" in w for w in r.warnings)
    monkeypatch.setattr(did_module, "BOOTSTRAP_DUMMY_ELEMENTS", 10)
    r = twfe_did(df, inference="wild", reps=199, seed=5, **KW)
    assert any("not nested in the clusters" in w and "approximation" in w for w in r.warnings)
