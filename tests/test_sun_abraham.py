"""Sun-Abraham IW: recovers heterogeneous dynamic effects where TWFE is biased."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators.staggered.aggte import aggte
from analysis.estimators.staggered.att_gt import att_gt
from analysis.estimators.staggered.bacon import bacon
from analysis.estimators.staggered.simulate import simulate_staggered
from analysis.estimators.staggered.sun_abraham import sun_abraham

KW = dict(yname="y", tname="year", idname="unit", gname="cohort")


@pytest.fixture(scope="module")
def sim():
    return simulate_staggered(n_units=200, seed=3)


def test_twfe_biased_cs_sa_recover(sim):
    d, truth = sim
    twfe = bacon(d, **KW).params["att"]
    assert abs(twfe - truth["att"]) > 0.4  # TWFE badly biased here
    sa = sun_abraham(d, **KW)
    cs = aggte(att_gt(d, **KW), "simple")
    assert sa.params["att"] == pytest.approx(truth["att"], abs=0.05)
    assert cs.params["ATT"] == pytest.approx(truth["att"], abs=0.05)
    for e, v in truth["event"].items():
        assert sa.params[f"e={e}"] == pytest.approx(v, abs=0.08)
    pre = [sa.params[k] for k in sa.params.index if k.startswith("e=-")]
    assert np.max(np.abs(pre)) < 0.1


def test_mpdta_equals_cs_post_effects():
    """No covariates, never-treated controls: SA post CATT(g,e) = CS ATT(g,t) (both are
    long differences against g-1), so the IW event study equals CS dynamic for e >= 0."""
    d = pd.read_csv(Path(__file__).parent / "reference" / "mpdta" / "mpdta.csv")
    kw = dict(yname="lemp", tname="year", idname="countyreal", gname="first.treat")
    sa = sun_abraham(d, **kw)
    dyn = aggte(att_gt(d, **kw), "dynamic")
    for e in range(4):
        assert sa.params[f"e={e}"] == pytest.approx(dyn.params[f"e={e}"], abs=1e-10)
    assert sa.params["att"] == pytest.approx(-0.0399512751551763, abs=1e-9)  # = CS simple
    assert (sa.std_errors > 0).all()
