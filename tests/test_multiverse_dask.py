"""A multiverse run on a real Dask cluster (scheduler + 2 workers on 127.0.0.1) writes the same
files as the local run."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main

GRID = """
settings: {placebo_draws: 60, ri_reps: 49, sdid_reps: 19}
choices:
  control_pool: [default, same_region]
  start_year: [2010]
  end_year: [2016, 2018]
  estimator: [twfe, event-study]
  transform: [level]
  weighting: [none]
  covariates: [none]
  breaks: [keep, exclude]
blocks:
  - {estimator: [sdid], control_pool: [default, matched], end_year: [2016], breaks: [exclude]}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_cli() -> list[str]:
    exe = Path(sys.executable).parent / "dask"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dask"]


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two single-thread workers as separate processes; always stopped."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = []
    log = open(tmp_path / "dask.log", "w")
    try:
        procs.append(subprocess.Popen(
            [*_dask_cli(), "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT, env=env))
        for _ in range(2):
            procs.append(subprocess.Popen(
                [*_dask_cli(), "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--local-directory", str(tmp_path / "workers")],
                stdout=log, stderr=subprocess.STDOUT, env=env))
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield address
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs[::-1]:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_distributed_run_writes_the_local_files(tmp_path, panel_path, dask_cluster, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    common = ["multiverse", "--model", "integrated_welfare", "--outcome",
              "social_health_costs_eur_per_capita", "--grid", str(grid), "--panel", str(panel_path),
              "--quiet"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--scheduler", dask_cluster, "--out", str(tmp_path / "remote")]) == 0
    local = (tmp_path / "local" / "specifications.parquet").read_bytes()
    remote = (tmp_path / "remote" / "specifications.parquet").read_bytes()
    a = pd.read_parquet(tmp_path / "local" / "specifications.parquet")
    b = pd.read_parquet(tmp_path / "remote" / "specifications.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert local == remote
    assert (tmp_path / "local" / "summary.json").read_text() == (tmp_path / "remote" / "summary.json").read_text()
    assert (a["status"] == "estimated").sum() >= 4
    sdid = a[(a["estimator"] == "sdid") & (a["status"] == "estimated")]
    assert len(sdid) == 2 and sdid["in_joint_test"].all()  # SDID re-estimated on every draw
    frames_local = sorted(p.name for p in (tmp_path / "local" / "frames").iterdir())
    assert frames_local == sorted(p.name for p in (tmp_path / "remote" / "frames").iterdir())


def test_unreachable_scheduler_is_an_input_error(tmp_path, panel_path, capsys):
    port = _free_port()
    code = main(["multiverse", "--model", "integrated_welfare", "--scheduler",
                 f"tcp://127.0.0.1:{port}", "--panel", str(panel_path), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "Dask scheduler" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
