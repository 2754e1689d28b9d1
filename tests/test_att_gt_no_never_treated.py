"""Callaway & Sant'Anna without never-treated units, as R ``did``: the last-treated cohort is
the comparison group and its treated periods are dropped (``did::pre_process_did``)."""
import json

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.errors import InputError
from analysis.estimators.staggered.aggte import aggte

from mpdta_cases import REF, _fit


@pytest.fixture(scope="module")
def no_never():
    d = pd.read_csv(REF / "mpdta.csv")
    return d[d["first.treat"] != 0].reset_index(drop=True)


def test_last_treated_cohort_is_the_comparison_group(no_never):
    r = _fit(no_never, control_group="notyettreated")
    g_last = no_never["first.treat"].max()  # 2007 in mpdta
    # R: periods >= 2007 dropped, cohort 2007 recoded as never treated
    manual = no_never[no_never["year"] < g_last].copy()
    manual.loc[manual["first.treat"] == g_last, "first.treat"] = 0
    ref = _fit(manual, control_group="notyettreated")
    assert set(r.groups) == {2004, 2006}
    assert max(r.times) < g_last
    np.testing.assert_allclose(r.params.to_numpy(), ref.params.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.std_errors.to_numpy(), ref.std_errors.to_numpy(), rtol=0, atol=1e-12)
    assert any("last-treated cohort" in w for w in r.warnings)
    a, b = aggte(r, "simple"), aggte(ref, "simple")
    assert float(a.params.iloc[0]) == pytest.approx(float(b.params.iloc[0]), abs=1e-12)


def test_never_treated_control_without_never_treated_is_an_input_error(no_never):
    with pytest.raises(InputError, match="no never-treated units"):
        _fit(no_never, control_group="nevertreated")


def test_command_line_notyet_without_never_treated(no_never, tmp_path, capsys):
    path = tmp_path / "no_never.csv"
    no_never.to_csv(path, index=False)
    code = main(["estimate", str(path), "--unit", "countyreal", "--time", "year",
                 "--outcome", "lemp", "--cohort", "first.treat", "--method", "cs",
                 "--control", "notyet", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    expected = aggte(_fit(no_never, control_group="notyettreated"), "simple")
    assert out["estimate"] == pytest.approx(float(expected.params.iloc[0]), abs=1e-12)
    code = main(["estimate", str(path), "--unit", "countyreal", "--time", "year",
                 "--outcome", "lemp", "--cohort", "first.treat", "--method", "cs",
                 "--control", "never", "--json"])
    assert code == 2
    assert "no never-treated units" in capsys.readouterr().err
