"""aggte (simple/group/dynamic/calendar) vs R did 2.5.0 on mpdta."""

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.staggered.aggte import aggte

from mpdta_cases import REF, SCEN, _fit, mpdta  # noqa: F401  (mpdta is a fixture)


@pytest.mark.parametrize("scenario", list(SCEN))
@pytest.mark.parametrize("kind", ["simple", "group", "dynamic", "calendar"])
def test_aggte_matches_r(mpdta, scenario, kind):
    ref = pd.read_csv(REF / "r_did_v2.5.0_reference" / "ref_aggte.csv")
    ref = ref[(ref.scenario == scenario) & (ref.type == kind)]
    a = aggte(_fit(mpdta, **SCEN[scenario]), kind)
    assert a.params["ATT"] == pytest.approx(ref.overall_att.iloc[0], abs=1e-6)
    assert a.std_errors["ATT"] == pytest.approx(ref.overall_se.iloc[0], rel=1e-4)
    if kind != "simple":
        np.testing.assert_allclose(a.params.to_numpy()[1:], ref.att_egt.to_numpy(), atol=1e-6)
        np.testing.assert_allclose(a.std_errors.to_numpy()[1:], ref.se_egt.to_numpy(), rtol=1e-4)
        labels = [float(x.split("=")[1]) for x in a.params.index[1:]]
        np.testing.assert_array_equal(labels, ref.egt.to_numpy())


def test_headline_values(mpdta):
    r = _fit(mpdta)
    assert aggte(r, "simple").params["ATT"] == pytest.approx(-0.0399512752, abs=1e-9)
    assert aggte(r, "dynamic").params["ATT"] == pytest.approx(-0.0772398215, abs=1e-9)


def test_balance_e(mpdta):
    a = aggte(_fit(mpdta), "dynamic", balance_e=1)
    assert list(a.params.index) == ["ATT", "e=-2", "e=-1", "e=0", "e=1"]
    np.testing.assert_allclose(a.params.to_numpy()[1:], [0.0065, -0.0028, -0.0066, -0.0510], atol=5e-5)
    assert a.params["ATT"] == pytest.approx(-0.0288, abs=5e-5)


def test_min_max_e(mpdta):
    a = aggte(_fit(mpdta), "dynamic", min_e=-1, max_e=1)
    assert list(a.params.index) == ["ATT", "e=-1", "e=0", "e=1"]
    assert a.params["ATT"] == pytest.approx(np.mean([a.params["e=0"], a.params["e=1"]]))
    assert len(a.details["table"]) == 3
