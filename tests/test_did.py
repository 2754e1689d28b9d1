"""2x2 and TWFE DiD against Card & Krueger (1994), tests/reference/card_krueger/REFERENCE.md."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.estimators.did import did_2x2, fwl_fit, prepare_panel, twfe_did
from analysis.simulate import simulate_panel

REF = Path(__file__).parent / "reference" / "card_krueger" / "public.dat"
COLS = ("SHEET CHAIN CO_OWNED STATE SOUTHJ CENTRALJ NORTHJ PA1 PA2 SHORE NCALLS EMPFT EMPPT NMGRS "
        "WAGE_ST INCTIME FIRSTINC BONUS PCTAFF MEALS OPEN HRSOPEN PSODA PFRY PENTREE NREGS NREGS11 "
        "TYPE2 STATUS2 DATE2 NCALLS2 EMPFT2 EMPPT2 NMGRS2 WAGE_ST2 INCTIME2 FIRSTIN2 SPECIAL2 "
        "MEALS2 OPEN2R HRSOPEN2 PSODA2 PFRY2 PENTREE2 NREGS2 NREGS112").split()


@pytest.fixture(scope="module")
def ck():
    d = pd.read_csv(REF, sep=r"\s+", header=None, names=COLS, na_values=".")
    d["fte1"] = d.EMPFT + d.NMGRS + 0.5 * d.EMPPT
    d["fte2"] = d.EMPFT2 + d.NMGRS2 + 0.5 * d.EMPPT2
    return d


def to_long(w, wave2="fte2"):
    # SHEET is not unique in the public file (store 407 appears twice): use the row number
    a = pd.DataFrame({"store": w.index, "wave": 0, "fte": w.fte1, "nj_post": 0})
    b = pd.DataFrame({"store": w.index, "wave": 1, "fte": w[wave2], "nj_post": w.STATE.astype(int)})
    return pd.concat([a, b], ignore_index=True)


def test_table3_row4_balanced_2x2(ck):
    bal = ck.dropna(subset=["fte1", "fte2"])
    assert len(bal) == 384  # 75 PA + 309 NJ
    r = did_2x2(to_long(bal), unit="store", time="wave", outcome="fte", treated="nj_post")
    # paper: 2.75 (1.34); clusters = stores, so CR1 is HC1 on the change regression
    assert round(r.params["att"], 2) == 2.75
    assert round(r.std_errors["att"], 2) == 1.34
    assert r.design.n_treated_units == 309 and r.design.n_units == 384


def test_table4_col_i_regression(ck):
    d = ck.copy()
    d["fte2x"] = np.where(d.STATUS2 == 3, 0.0, d.fte2)  # 6 closed stores enter with FTE 0
    s = d[d.fte1.notna() & d.fte2x.notna() & d.WAGE_ST.notna()
          & (d.WAGE_ST2.notna() | (d.STATUS2 == 3))]
    assert len(s) == 357
    r = did_2x2(to_long(s, "fte2x"), unit="store", time="wave", outcome="fte",
                treated="nj_post", inference="iid")
    # paper: 2.33 (1.19), classical OLS SE; standard error of regression 8.79
    assert round(r.params["att"], 2) == 2.33
    assert round(r.std_errors["att"], 2) == 1.19
    assert round(r.details["sigma"], 2) == 8.79


def test_twfe_equals_2x2_on_balanced_sample(ck):
    bal = ck.dropna(subset=["fte1", "fte2"])
    long = to_long(bal)
    r = twfe_did(long, unit="store", time="wave", outcome="fte", treated="nj_post")
    assert r.params["att"] == pytest.approx(2.75, abs=1e-9)
    # CR1 with store effects nested in store clusters: K = 1 regressor + 2 periods = 3,
    # q = G/(G-1)(N-1)/(N-K) = 384/383 * 767/765 (the reghdfe / fixest convention)
    n, g = 768, 384
    two = did_2x2(long, unit="store", time="wave", outcome="fte", treated="nj_post")
    # the 2x2 change regression has N = G = 384, K = 2; same sandwich, different q
    q_twfe = g / (g - 1) * (n - 1) / (n - 3)
    q_2x2 = g / (g - 1) * (g - 1) / (g - 2)
    assert r.std_errors["att"] == pytest.approx(two.std_errors["att"] * np.sqrt(q_twfe / q_2x2), rel=1e-9)
    assert "K=3" in r.design.extra["small_sample"]


def test_cluster_se_matches_panelols_and_fwl():
    df = simulate_panel(n_clusters=20, n_treated_clusters=5, seed=2)
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated",
                 cluster="cluster", covariates=["x"])
    des = prepare_panel(df, unit="unit", time="year", outcome="y", treated="treated",
                        cluster="cluster", covariates=["x"])
    fit = fwl_fit(des, df.sort_values(["unit", "year"])[["treated", "x"]].to_numpy(float), des.k_absorbed())
    assert r.params.to_numpy() == pytest.approx(fit.beta, rel=1e-8)
    # K = 2 regressors + 9 years; N = units * 9
    assert f"K={2 + 9}" in r.design.extra["small_sample"]
    assert r.df_resid == 19
    assert r.design.n_clusters == 20 and r.design.n_treated_clusters == 5


def test_unbalanced_panel_absorption_matches_dummies():
    df = simulate_panel(n_clusters=12, n_treated_clusters=4, seed=5).sample(frac=0.85, random_state=1)
    # keep every treated unit with a pre-period
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated", cluster="cluster")
    X = pd.get_dummies(df[["unit", "year"]].astype(str), drop_first=True).astype(float)
    X.insert(0, "att", df.treated.astype(float))
    X.insert(1, "const", 1.0)
    beta = np.linalg.lstsq(X.to_numpy(), df.y.to_numpy(), rcond=None)[0]
    assert r.params["att"] == pytest.approx(beta[0], rel=1e-7)


def test_one_treated_cluster_warns_and_hides_se():
    df = simulate_panel(n_clusters=15, n_treated_clusters=1, seed=1)
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated", cluster="cluster")
    assert np.isnan(r.std_errors["att"]) and np.isnan(r.pvalues["att"])
    assert "1 treated cluster: cluster-robust SE not reported; use placebo inference" in r.warnings
    with pytest.raises(InputError, match="1 treated cluster"):
        twfe_did(df, unit="unit", time="year", outcome="y", treated="treated",
                 cluster="cluster", inference="wild")


def test_few_treated_clusters_warning_and_bad_inference():
    df = simulate_panel(n_clusters=15, n_treated_clusters=3, seed=1)
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated", cluster="cluster")
    assert any("3 treated clusters" in w for w in r.warnings)
    with pytest.raises(InputError, match="valid choices"):
        twfe_did(df, unit="unit", time="year", outcome="y", treated="treated", inference="hc9")


def test_result_object_is_complete():
    df = simulate_panel(n_clusters=15, n_treated_clusters=4, seed=1)
    r = did_2x2(df, unit="unit", time="year", outcome="y", treated="treated", cluster="cluster")
    d = r.to_dict()
    assert d["design"]["years"] == [2010, 2018]
    assert d["design"]["cluster"] == "cluster"
    assert set(r.to_frame().columns) >= {"estimate", "std_error", "pvalue", "ci_lower", "ci_upper"}
    assert "att" in r.summary


def test_2x2_wild_and_twfe_ri_with_covariates():
    df = simulate_panel(n_clusters=20, n_treated_clusters=5, effect=2.0, seed=9)
    r = did_2x2(df, unit="unit", time="year", outcome="y", treated="treated", cluster="cluster",
                inference="wild", reps=999, covariates=["x"])
    ci = r.conf_int()
    assert ci.loc["att", "lower"] < r.params["att"] < ci.loc["att", "upper"]
    assert r.details["wild_bootstrap"]["weights"] == "rademacher"  # 20 clusters >= 12
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated", cluster="cluster",
                 inference="ri", reps=499, covariates=["x"])
    assert 0 < r.pvalues["att"] <= 1 and "x" in r.params.index


def test_staggered_adoption_warns_and_2x2_refuses():
    df = simulate_panel(n_clusters=12, n_treated_clusters=4, seed=3)
    first = df.loc[df.treated == 1, "unit"].iloc[0]
    df.loc[(df.unit == first) & (df.year == 2015), "treated"] = 0
    r = twfe_did(df, unit="unit", time="year", outcome="y", treated="treated")
    assert any(w.startswith("staggered adoption") for w in r.warnings)
    with pytest.raises(InputError, match="one adoption time"):
        did_2x2(df, unit="unit", time="year", outcome="y", treated="treated")
