"""The shared results object: accessors, JSON, intervals."""
import json
import math

import pandas as pd
import pytest

from analysis.results import Design, EstimationResult


def make_result(**kwargs):
    design = Design("did", "cluster", 10, 2, 5, n_clusters=10, n_treated_clusters=2, cluster="unit")
    return EstimationResult({"att": 1.0}, {"att": 0.5}, design, **kwargs)


def test_normal_interval_and_pvalue():
    r = make_result()
    ci = r.conf_int()
    assert ci.loc["att", "lower"] == pytest.approx(1 - 1.959964 * 0.5, abs=1e-6)
    assert r.pvalues["att"] == pytest.approx(0.0455003, abs=1e-6)


def test_method_interval_is_returned_at_its_level():
    ci = pd.DataFrame({"lower": [0.1], "upper": [3.0]}, index=["att"])
    r = make_result(ci=ci, ci_level=0.9)
    assert r.conf_int(0.9).loc["att", "upper"] == 3.0
    assert r.conf_int(0.95).loc["att", "upper"] != 3.0


def test_json_has_no_nan():
    design = Design("sc", "placebo", 18, 1, 43)
    r = EstimationResult({"att": 1.0}, {"att": float("nan")}, design, pvalues={"att": 0.05})
    d = json.loads(r.to_json())
    assert d["coefficients"][0]["std_error"] is None
    assert "Estimator: sc" in r.summary
    assert math.isnan(r.std_errors["att"])


def test_atomic_write_leaves_normal_permissions_and_no_temp_on_failure(tmp_path):
    import os

    from analysis import atomic

    target = atomic.write_text(tmp_path / "a.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~umask)
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(tmp_path / "b.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
