"""Shared set-up of the R ``did`` 2.5.0 reference tests on mpdta (tests/reference/mpdta)."""
from pathlib import Path

import pandas as pd
import pytest

from analysis.estimators.staggered.att_gt import att_gt

REF = Path(__file__).parent / "reference" / "mpdta"
# reference scenario name (column `scenario` of the R outputs) -> att_gt options
SCEN = {
    "mpdta_nev_dr": {},
    "mpdta_nev_ipw": {"est_method": "ipw"},
    "mpdta_nyt_dr": {"control_group": "notyettreated"},
    "mpdta_nev_reg_cov": {"est_method": "reg", "covariates": ["lpop"]},
}


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(REF / "mpdta.csv")


def _fit(d, **kw):
    return att_gt(d, yname="lemp", tname="year", idname="countyreal", gname="first.treat", **kw)
