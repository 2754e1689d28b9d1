"""A Sotkanet indicator fetched (from the recorded responses, through the local server) flows
through ``kuntakokeilu panel`` into the panel, an analysis frame and an estimation run.

Everything happens in a temporary project root (a copy of ``data/raw`` and
``data/reference``); the real ``data/`` is never written.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from http_server import RecordedApiServer

from analysis import paths
from analysis.errors import InputError
from analysis.live.config import add_entry, configured_series, read_config

REAL = paths.project_root()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Temporary project root with fetched Sotkanet 127 and 171 snapshots declared as panel variables."""
    root = tmp_path_factory.mktemp("project")
    for sub in ("raw", "reference"):
        shutil.copytree(REAL / "data" / sub, root / "data" / sub)
    shutil.copy2(REAL / "data" / "fetched_sources.yaml", root / "data" / "fetched_sources.yaml")
    env = {**os.environ, "KUNTAKOKEILU_ROOT": str(root)}
    with RecordedApiServer() as server:
        env["KUNTAKOKEILU_SOTKANET_URL"] = server.sotkanet_url
        for indicator, variable, aggregation, unit in (
                (127, "population", "sum", "persons"),
                (171, "sotkanet_171_share", "population_weighted_mean", "percent")):
            subprocess.run(
                [sys.executable, "-m", "analysis.cli", "fetch", "sotkanet", "--indicator", str(indicator),
                 "--years", "2019,2023", "--quiet", "--panel-variable", variable, "--aggregation", aggregation,
                 "--unit", unit, "--label", f"Sotkanet {indicator}"],
                env=env, check=True, capture_output=True, text=True)
    done = subprocess.run([sys.executable, "-m", "analysis.cli", "panel"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root, done.stdout


def test_config_is_empty_by_default():
    assert read_config(REAL / "data" / "fetched_sources.yaml") == []
    assert configured_series(REAL / "data" / "fetched_sources.yaml") == []


def test_fetched_series_are_declared_and_loaded(project):
    root, _ = project
    series = {s.name: s for s in configured_series(root / "data" / "fetched_sources.yaml")}
    assert set(series) == {"population", "sotkanet_171_share"}
    s171 = series["sotkanet_171_share"]
    assert s171.division_year == 2023 and s171.aggregation == "population_weighted_mean"
    assert s171.frame.set_index(["kunta", "year"])["value"].to_dict()[("091", 2019)] == 7.4
    assert "fetched snapshot sotkanet_171_" in s171.source


def test_panel_command_uses_the_fetched_snapshots(project):
    root, stdout = project
    assert "adding 2 fetched series" in stdout
    panel = pd.read_parquet(root / "data" / "processed" / "panel.parquet")
    p = panel.set_index(["kunta", "year"])
    # new variable: recorded Sotkanet 171 values for the five cities, missing elsewhere
    assert p.loc[("091", 2019), "sotkanet_171_share"] == 7.4
    assert p.loc[("564", 2023), "sotkanet_171_share"] == 7.8
    assert panel["sotkanet_171_share"].notna().sum() == 10
    # built-in variable: the fetched population replaces/extends it where it has data
    assert p.loc[("091", 2023), "population"] == 674500  # Helsinki 2023, recorded response
    assert p.loc[("049", 2019), "population"] == 289731
    codebook = pd.read_csv(root / "data" / "processed" / "codebook.csv")
    text = codebook.to_string()
    assert "sotkanet_171_share" in text and "fetched snapshot sotkanet_171_" in text


def test_fetched_population_flows_into_an_estimation_run(project):
    from analysis.design import analysis_frame
    from analysis.estimators.did import twfe_did

    root, _ = project
    panel = pd.read_parquet(root / "data" / "processed" / "panel.parquet")
    frame = analysis_frame(panel, "youth_guarantee", "population")
    helsinki = frame[(frame["kunta"] == "091")].set_index("year")
    assert helsinki.loc[2023, "outcome"] == 674500 and helsinki.loc[2023, "treated"] == 1
    frame = frame.assign(log_population=np.log(frame["outcome"]))
    result = twfe_did(frame, unit="kunta", time="year", outcome="log_population", treated="treated",
                      cluster="cluster")
    assert np.isfinite(result.params["att"]) and result.design.n_treated_units > 0


def test_bad_config_entries_are_input_errors(tmp_path):
    cfg = tmp_path / "fetched_sources.yaml"
    cfg.write_text("series:\n  - name: x\n    snapshot: s.csv\n    kind: sotkanet\n")
    with pytest.raises(InputError, match="missing key"):
        read_config(cfg)
    cfg.write_text("series:\n  - {name: x, snapshot: s.csv, kind: excel, aggregation: sum, unit: u, "
                   "label_en: a, label_fi: b}\n")
    with pytest.raises(InputError, match="unknown kind 'excel'"):
        read_config(cfg)
    cfg.write_text("series: [\n")
    with pytest.raises(InputError, match="not valid YAML"):
        read_config(cfg)


def test_undeclared_snapshot_is_refused(tmp_path):
    (tmp_path / "raw").mkdir()
    shutil.copy2(REAL / "data" / "raw" / "MANIFEST.csv", tmp_path / "raw" / "MANIFEST.csv")
    cfg = tmp_path / "fetched_sources.yaml"
    add_entry({"name": "x", "snapshot": "sotkanet_1_20260101T000000Z.csv", "kind": "sotkanet",
               "aggregation": "sum", "unit": "u", "label_en": "a", "label_fi": "b"}, cfg)
    with pytest.raises(InputError, match="unknown raw data file 'sotkanet_1_20260101T000000Z.csv'"):
        configured_series(cfg)


def test_statfin_snapshot_series(tmp_path):
    """A StatFin snapshot (KU-prefixed region codes) becomes a series after filters."""
    from analysis.live.config import _statfin_frame

    data = pd.DataFrame({"Alue": ["SSS", "KU091", "KU091", "KU049"], "Vuosi": ["2020"] * 4,
                         "Tiedot": ["a", "a", "b", "a"], "value": [1.0, 2.0, 3.0, 4.0]})
    entry = {"snapshot": "s.csv", "filters": {"Tiedot": "a"}}
    out = _statfin_frame(data, entry)
    assert out.to_dict("records") == [{"kunta": "091", "year": 2020, "value": 2.0},
                                      {"kunta": "049", "year": 2020, "value": 4.0}]
    with pytest.raises(InputError, match="several rows per municipality"):
        _statfin_frame(data, {"snapshot": "s.csv"})
