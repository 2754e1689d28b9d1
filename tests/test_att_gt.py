"""Callaway-Sant'Anna ATT(g,t) vs R did 2.5.0 on mpdta (tests/reference/mpdta)."""

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.estimators.staggered.aggte import aggte
from analysis.estimators.staggered.att_gt import att_gt
from analysis.estimators.staggered.pretest import pretest

from mpdta_cases import REF, SCEN, _fit, mpdta  # noqa: F401  (mpdta is a fixture)


@pytest.mark.parametrize("scenario", list(SCEN))
def test_att_gt_matches_r(mpdta, scenario):
    ref = pd.read_csv(REF / "r_did_v2.5.0_reference" / "ref_attgt.csv")
    ref = ref[ref.scenario == scenario]
    f = _fit(mpdta, **SCEN[scenario]).to_frame()
    assert len(f) == 12
    np.testing.assert_array_equal(f.group.to_numpy(), ref.group.to_numpy())
    np.testing.assert_array_equal(f.time.to_numpy(), ref.t.to_numpy())
    np.testing.assert_allclose(f.att.to_numpy(), ref.att.to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(f.se.to_numpy(), ref.se.to_numpy(), rtol=1e-4)


@pytest.mark.parametrize("scenario", list(SCEN))
def test_pretest_matches_r(mpdta, scenario):
    ref = pd.read_csv(REF / "r_did_v2.5.0_reference" / "ref_pretest.csv").set_index("scenario")
    pt = pretest(_fit(mpdta, **SCEN[scenario]))
    assert pt["W"] == pytest.approx(ref.loc[scenario, "W"], rel=1e-6)
    assert pt["pvalue_rounded"] == pytest.approx(ref.loc[scenario, "Wpval"], abs=1e-5)
    assert pt["df"] == 5


def test_dr_covariates_docs_values(mpdta):  # R did "dr" = DRDID::drdid_panel
    """DR with ~lpop, never and not-yet treated: 4-d.p. figures of did's att_gt docs."""
    r = _fit(mpdta, covariates=["lpop"]).to_frame()
    exp = [-0.0145, -0.0764, -0.1404, -0.1069, -0.0005, -0.0062, 0.0010, -0.0413,
           0.0267, -0.0046, -0.0284, -0.0288]
    np.testing.assert_allclose(r.att.to_numpy(), exp, atol=5e-5)
    assert pretest(_fit(mpdta, covariates=["lpop"]))["pvalue_rounded"] == pytest.approx(0.23267, abs=1e-5)
    r = _fit(mpdta, covariates=["lpop"], control_group="notyettreated")
    exp = [-0.0212, -0.0816, -0.1382, -0.1069, -0.0075, -0.0046, 0.0087, -0.0413,
           0.0269, -0.0042, -0.0284, -0.0288]
    np.testing.assert_allclose(r.to_frame().att.to_numpy(), exp, atol=5e-5)
    assert pretest(r)["pvalue_rounded"] == pytest.approx(0.23326, abs=1e-5)


def test_bootstrap_se_and_uniform_band(mpdta):
    ref = pd.read_csv(REF / "r_did_v2.5.0_reference" / "ref_attgt.csv")
    ref = ref[ref.scenario == "mpdta_nev_dr"]
    r = _fit(mpdta, bstrap=True, cband=True, biters=2000, seed=1)
    np.testing.assert_allclose(r.std_errors.to_numpy(), ref.se.to_numpy(), rtol=0.10)
    assert r.crit_val > 1.96
    ci = r.conf_int(0.95)
    width = ci["upper"] - ci["lower"]
    assert (width > 2 * 1.959964 * r.std_errors).all()
    a = aggte(r, "dynamic")
    aci = a.conf_int(0.95).iloc[1:]
    assert ((aci["upper"] - aci["lower"]) > 2 * 1.959964 * a.std_errors.iloc[1:]).all()
    assert a.std_errors["ATT"] == pytest.approx(0.019965, rel=0.10)


def test_universal_base_period(mpdta):
    r = _fit(mpdta, base_period="universal").to_frame()
    # reference cells (t = g-1) are 0 with no SE; post cells identical to varying
    ref_cells = r[r.time == r.group - 1]
    assert (ref_cells.att == 0).all() and ref_cells.se.isna().all()
    v = _fit(mpdta).to_frame()
    post = r[r.time >= r.group].att.to_numpy()
    np.testing.assert_allclose(post, v[v.time >= v.group].att.to_numpy(), atol=1e-12)
    # long difference: ATT(2007, 2004) = change 2004 vs 2006 base
    assert len(r) == 15


def test_anticipation_shifts_base(mpdta):
    r = _fit(mpdta, anticipation=1).to_frame()
    assert set(r.group) == {2006, 2007}  # 2004 has no clean pre-period with 1 anticipation period


def test_bad_options(mpdta):
    with pytest.raises(InputError):
        _fit(mpdta, est_method="foo")
    with pytest.raises(InputError):
        _fit(mpdta, control_group="x")
    with pytest.raises(InputError):
        att_gt(mpdta, yname="nope", tname="year", idname="countyreal", gname="first.treat")


def test_improved_dr_equals_dr_without_covariates(mpdta):
    a = _fit(mpdta, est_method="dr_imp").params.to_numpy()
    b = _fit(mpdta).params.to_numpy()
    np.testing.assert_allclose(a, b, atol=1e-10)
    c = _fit(mpdta, est_method="dr_imp", covariates=["lpop"]).params.to_numpy()
    d = _fit(mpdta, covariates=["lpop"]).params.to_numpy()
    np.testing.assert_allclose(c, d, atol=5e-4)  # same estimand, different nuisance fits
