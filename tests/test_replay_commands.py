"""Every estimate row of a run's results.json carries the `kuntakokeilu estimate` command that
reproduces it: run each command in the run folder and compare estimate, SE, CI and p-value."""
from __future__ import annotations

import json
import math
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import evaluation

FIELDS = ("estimate", "se", "ci_low", "ci_high", "p_value")
CLI = Path(sys.executable).with_name("kuntakokeilu")


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


def _replay(run_dir: Path) -> int:
    res = json.loads((run_dir / "results.json").read_text())
    rows = [r for r in res["estimates"] if r.get("command")]
    blocks = [b for b in (res.get("event_study"), res.get("pretrend")) if isinstance(b, dict) and b.get("command")]
    assert rows
    for row in rows:
        words = shlex.split(row["command"])
        assert words[:2] == ["kuntakokeilu", "estimate"] and (run_dir / words[2]).is_file()
        out = subprocess.run([str(CLI), *words[1:]], cwd=run_dir, capture_output=True, text=True, check=True)
        got = json.loads(out.stdout)
        for f in FIELDS:
            assert _same(got[f], row[f]), (row["id"], f, got[f], row[f])
    for block in blocks:
        words = shlex.split(block["command"])
        out = subprocess.run([str(CLI), *words[1:]], cwd=run_dir, capture_output=True, text=True, check=True)
        details = json.loads(out.stdout)["details"]
        if "rows" in block:
            assert details["event_study"] == block["rows"]
        elif block.get("test") == "F":
            assert _same(details["pretrend"]["p_value"], block["p_value"])
    return len(rows)


@pytest.mark.slow
def test_every_row_of_real_runs_replays(panel_path, tmp_path):
    small = dict(ri_reps=99, wild_reps=99, seed=7, panel_path=panel_path)
    evaluation.evaluate_model("housing_services", "social_health_costs_eur_per_capita", output_dir=tmp_path / "h",
                              covariates=["share_65_plus"], placebo_reps=19, size_draws=20, **small)
    evaluation.evaluate_model("kela_cooperation", "social_assistance_eur_per_capita", output_dir=tmp_path / "k",
                              end_year=2016, estimators=["twfe", "sdid", "sc"], inference=["placebo"],
                              placebo_reps=19, size_draws=20, **small)
    evaluation.robustness("housing_services", "social_health_costs_eur_per_capita", output_dir=tmp_path / "r",
                          control_pools=["same_region"], mde_reps=100, breaks_keep=True, **small)
    n = sum(_replay(tmp_path / d) for d in ("h", "k", "r"))
    assert n >= 12
    res = json.loads((tmp_path / "h" / "results.json").read_text())
    assert res["schema"] == 2 and res["headline"] in {r["id"] for r in res["estimates"]}
    assert res["headline_reason"]
    assert (tmp_path / "h" / "frame.parquet").is_file()


REPLAY_GRID = """
settings: {placebo_draws: 19, ri_reps: 99, sdid_reps: 19}
choices:
  control_pool: [default]
  start_year: [2010]
  end_year: [2016, 2018]
  estimator: [twfe, event-study]
  transform: [level]
  weighting: [none, population]
  covariates: [none]
  breaks: [exclude]
"""


@pytest.mark.slow
def test_event_study_and_weighted_multiverse_rows_replay(panel_path, tmp_path):
    """Every estimated row of a multiverse run -- event-study averages (term att) and
    population-weighted rows included -- is reproduced by its own command."""
    import math

    import pandas as pd

    from analysis.cli import main

    grid = tmp_path / "grid.yaml"
    grid.write_text(REPLAY_GRID)
    out = tmp_path / "mv"
    assert main(["multiverse", "--model", "integrated_welfare", "--outcome",
                 "social_health_costs_eur_per_capita", "--grid", str(grid), "--panel",
                 str(panel_path), "--scheduler", "inline", "--out", str(out), "--quiet"]) == 0
    rows = pd.read_parquet(out / "specifications.parquet")
    rows = rows[rows["status"] == "estimated"]
    assert set(zip(rows["estimator"], rows["weighting"])) == {
        (e, w) for e in ("twfe", "event-study") for w in ("none", "population")}
    for _, row in rows.iterrows():
        words = shlex.split(row["command"])
        assert ("--weights" in words) == (row["weighting"] == "population")
        got = json.loads(subprocess.run([str(CLI), *words[1:]], cwd=out, capture_output=True,
                                        text=True, check=True).stdout)
        for f in FIELDS:
            want = row[f]
            want = None if want is None or (isinstance(want, float) and math.isnan(want)) else float(want)
            assert _same(got[f], want), (row["spec_id"], f, got[f], want)


def test_evaluation_fits_nothing_itself():
    """Orchestration only: no regression, resampling or placebo drawing in the notebook calls."""
    source = Path(evaluation.__file__).read_text()
    for word in ("PanelOLS", "lstsq", "np.random", "default_rng", "linearmodels", "statsmodels",
                 ".pinv(", "scipy", "import numpy"):
        assert word not in source, word


def test_pipeline_does_not_import_the_notebook_calls():
    import re

    import analysis.pipeline as pipeline

    pattern = re.compile(r"(from\s+\.+evaluation|analysis\.evaluation|from\s+\.+\s+import\s+.*\bevaluation\b)")
    for path in Path(pipeline.__file__).parent.glob("*.py"):
        assert not pattern.search(path.read_text()), path.name
