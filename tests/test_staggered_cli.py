"""kuntakokeilu estimate --method cs|sa|imputation|bacon (JSON), in-process."""
import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main

MPDTA = Path(__file__).parent / "reference" / "mpdta" / "mpdta.csv"
BASE = ["estimate", str(MPDTA), "--unit", "countyreal", "--time", "year", "--outcome", "lemp",
        "--cohort", "first.treat", "--json"]


def _run(capsys, *extra):
    rc = main(BASE + list(extra))
    out = capsys.readouterr().out
    return rc, (json.loads(out) if rc == 0 else None)


def test_cs_json(capsys):
    rc, j = _run(capsys, "--method", "cs")
    assert rc == 0
    assert j["estimate"] == pytest.approx(-0.0399512751551763, abs=1e-6)
    assert j["se"] == pytest.approx(0.0120340127701854, rel=1e-4)
    assert len(j["details"]["att_gt"]) == 12
    assert set(j["details"]["att_gt"][0]) == {"group", "time", "att", "se"}
    aggs = j["details"]["aggregations"]
    assert {"simple", "dynamic", "group", "calendar"} <= set(aggs)
    assert len(aggs["dynamic"]) == 7 and len(aggs["group"]) == 3 and len(aggs["calendar"]) == 4
    assert j["details"]["pretest"]["pvalue_rounded"] == pytest.approx(0.16812)


def test_cs_notyet_dynamic(capsys):
    rc, j = _run(capsys, "--method", "cs", "--control", "notyet", "--aggregate", "dynamic")
    assert rc == 0
    assert j["estimate"] == pytest.approx(-0.0773993140, abs=1e-6)
    assert j["se"] == pytest.approx(0.0195602, rel=1e-4)


def test_cs_reg_covariate(capsys):
    rc, j = _run(capsys, "--method", "cs", "--est", "reg", "--covariates", "lpop")
    assert rc == 0
    ref = pd.read_csv(MPDTA.parent / "r_did_v2.5.0_reference" / "ref_aggte.csv")
    r = ref[(ref.scenario == "mpdta_nev_reg_cov") & (ref.type == "simple")]
    assert j["estimate"] == pytest.approx(r.overall_att.iloc[0], abs=1e-6)


@pytest.mark.parametrize("method", ["sa", "imputation", "bacon"])
def test_other_methods(capsys, method):
    rc, j = _run(capsys, "--method", method)
    assert rc == 0
    assert j["method"] == method and j["estimate"] is not None
    if method == "bacon":
        assert j["estimate"] == pytest.approx(-0.036549, abs=1e-6)
        w = sum(c["weight"] for c in j["details"]["components"])
        assert w == pytest.approx(1.0)


def test_cohort_from_treated(tmp_path, capsys):
    d = pd.read_csv(MPDTA)
    d["D"] = ((d["first.treat"] > 0) & (d.year >= d["first.treat"])).astype(int)
    f = tmp_path / "p.csv"
    d.drop(columns="first.treat").to_csv(f, index=False)
    rc = main(["estimate", str(f), "--unit", "countyreal", "--time", "year", "--outcome", "lemp",
               "--treated", "D", "--method", "cs", "--json"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["estimate"] == pytest.approx(-0.0399512751551763, abs=1e-6)


def test_bad_input_exit_2(capsys):
    assert main(BASE[:-3] + ["--cohort", "nope", "--method", "cs"]) == 2
    assert main(BASE + ["--method", "cs", "--inference", "wild"]) == 2
