"""Wild cluster restricted bootstrap: algebra, enumeration, inversion, determinism."""
import numpy as np
import pytest

from analysis.errors import InputError
from analysis.estimators.did import twfe_did
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
                                   ci=False)[0].p_value
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
