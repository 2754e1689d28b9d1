"""Generated malformed inputs (hypothesis) thrown at ``estimate``, ``design`` and ``run``: each
either succeeds (exit 0) or fails with one clear message (exit 2), never with a traceback."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import cli
from analysis.paths import NOTEBOOKS

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _call(argv, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])  # any exception other than a user error fails the test
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err
    if code == 2:
        assert "error:" in err and err.strip(), (argv, err)
    return code, err


# ------------------------------------------------------------------------------------------
# estimate
# ------------------------------------------------------------------------------------------
values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e300]),
)


@st.composite
def panels(draw):
    n_units = draw(st.integers(1, 7))
    years = list(range(2010, 2010 + draw(st.integers(1, 6))))
    adopt = draw(st.integers(2010, 2016))
    treated_units = draw(st.integers(0, n_units))
    rows = []
    for u in range(n_units):
        for t in years:
            rows.append({"unit": f"u{u}", "year": t, "y": draw(values) if draw(st.booleans()) else float(u + t),
                         "treated": int(u < treated_units and t >= adopt), "cl": f"c{u // 2}"})
    frame = pd.DataFrame(rows, columns=["unit", "year", "y", "treated", "cl"])
    damage = draw(st.sampled_from(["none", "none", "duplicate", "treated_2", "drop_column", "text_outcome",
                                   "switch_off", "empty"]))
    if damage == "duplicate" and len(frame):
        frame = pd.concat([frame, frame.iloc[:1]])
    elif damage == "treated_2" and len(frame):
        frame.loc[frame.index[0], "treated"] = 2
    elif damage == "drop_column":
        frame = frame.drop(columns=draw(st.sampled_from(["y", "treated", "year", "unit"])))
    elif damage == "text_outcome":
        frame["y"] = "abc"
    elif damage == "switch_off" and len(frame) > 1:
        frame.loc[frame.index[-1], "treated"] = 0
    elif damage == "empty":
        frame = frame.iloc[:0]
    return frame


@settings(max_examples=80, **SETTINGS)
@given(frame=panels(),
       method=st.sampled_from(["did", "twfe", "event-study", "sc", "sdid", "nope"]),
       inference=st.sampled_from([None, "cluster", "wild", "ri", "placebo", "bogus"]),
       reps=st.sampled_from([None, -3, 0, 1, 18, 19, 25]),
       seed=st.sampled_from([0, 7, -1]))
def test_estimate_never_tracebacks(tmp_path_factory, capsys, frame, method, inference, reps, seed):
    path = tmp_path_factory.mktemp("estimate") / "panel.csv"
    frame.to_csv(path, index=False)
    argv = ["estimate", path, "--unit", "unit", "--time", "year", "--outcome", "y", "--treated", "treated",
            "--method", method, "--cluster", "cl", "--seed", seed, "--json"]
    if inference:
        argv += ["--inference", inference]
    if reps is not None:
        argv += ["--reps", reps]
    _call(argv, capsys)


@settings(max_examples=60, **SETTINGS)
@given(frame=panels(),
       method=st.sampled_from(["twfe", "event-study", "did", "sdid"]),
       inference=st.sampled_from([None, "cluster", "wild", "ri"]),
       weights=st.sampled_from(["pop", "pop", "none", "no_such_column", "webb", "y", "unit", ""]),
       pop=st.lists(st.one_of(st.floats(1.0, 1e6), st.sampled_from([math.nan, math.inf, 0.0, -5.0])),
                    min_size=1, max_size=4))
def test_estimate_with_weights_never_tracebacks(tmp_path_factory, capsys, frame, method, inference,
                                                weights, pop):
    """Observation weights: any column, any values (missing, zero, negative, infinite, text)."""
    path = tmp_path_factory.mktemp("weights") / "panel.csv"
    frame.assign(pop=[pop[i % len(pop)] for i in range(len(frame))]).to_csv(path, index=False)
    argv = ["estimate", path, "--unit", "unit", "--time", "year", "--outcome", "y", "--treated", "treated",
            "--method", method, "--cluster", "cl", "--weights", weights, "--reps", 19, "--json"]
    if inference:
        argv += ["--inference", inference]
    _call(argv, capsys)


# ------------------------------------------------------------------------------------------
# design
# ------------------------------------------------------------------------------------------
@settings(max_examples=40, **SETTINGS)
@given(model=st.sampled_from(["integrated_welfare", "kela_cooperation", "youth_guarantee", "nope", ""]),
       outcome=st.sampled_from([None, "social_health_costs_eur_per_capita", "unemployment_rate", "kunta",
                                "no_such_outcome"]),
       pool=st.sampled_from(["default", "matched", "same_region", "keep_other_pilots"]),
       neighbours=st.integers(-5, 400),
       years=st.sampled_from([None, "2010-2018", "2018-2010", "1990-1995", "x", "2010-", "2014-2014"]))
def test_design_never_tracebacks(panel_path, capsys, model, outcome, pool, neighbours, years):
    argv = ["design", "--model", model, "--pool", pool, "--neighbours", neighbours, "--panel", panel_path,
            "--json"]
    if outcome:
        argv += ["--outcome", outcome]
    if years:
        argv += ["--years", years]
    code, _ = _call(argv, capsys)
    if neighbours < 1:
        assert code == 2


# ------------------------------------------------------------------------------------------
# run (validation of the plan: nothing may start before every value is checked)
# ------------------------------------------------------------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
parameter_values = st.one_of(scalars, st.lists(scalars, max_size=3))
PARAMETERS = ["model", "outcome", "control_pool", "estimators", "inference", "start_year", "end_year",
              "covariates", "seed", "placebo_reps", "ri_reps", "output_dir", "panel_path", "nonsense"]


@st.composite
def plans(draw):
    runs = {}
    for i in range(draw(st.integers(1, 3))):
        run_id = draw(st.sampled_from([f"run_{i}", f"Run {i}", f"../run{i}", f"r{i}"]))
        notebook = draw(st.sampled_from(["20_model_evaluation.ipynb", "30_robustness.ipynb", "10_descriptives.ipynb",
                                         "../20_model_evaluation.ipynb", "/etc/passwd", "missing.ipynb", 5]))
        params = {"model": "integrated_welfare", "outcome": "social_health_costs_eur_per_capita"}
        for name in draw(st.lists(st.sampled_from(PARAMETERS), max_size=3, unique=True)):
            params[name] = draw(parameter_values)
        runs[run_id] = {"notebook": notebook, "parameters": params}
    return {"runs": runs}


@pytest.fixture(scope="module")
def plan_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan")
    for nb in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy2(nb, folder / nb.name)
    return folder


@settings(max_examples=60, **SETTINGS)
@given(plan=plans())
def test_run_validates_every_plan_value_without_traceback(plan_folder, panel_path, capsys, plan):
    path = plan_folder / "runs.yaml"
    path.write_text(json.dumps(plan, allow_nan=True))  # JSON is YAML
    build = plan_folder / "build"
    code, err = _call(["run", "--check", "--plan", path, "--panel", panel_path, "--build-dir", build], capsys)
    assert not build.exists()  # --check writes nothing; neither does a refused plan


@pytest.mark.parametrize("params, needle", [
    ({"seed": -1}, "non-negative"),
    ({"placebo_reps": 0}, "minimum is 19"),
    ({"ri_reps": 0}, "minimum is 19"),
    ({"covariates": ["no_such_column"]}, "covariate"),
    ({"covariates": [1]}, "covariate"),
    ({"seed": float("inf")}, "must be int"),
])
def test_plan_values_are_checked_before_any_kernel(plan_folder, panel_path, capsys, params, needle):
    plan = {"runs": {"bad": {"notebook": "20_model_evaluation.ipynb",
                             "parameters": {"model": "integrated_welfare",
                                            "outcome": "social_health_costs_eur_per_capita", **params}}}}
    path = plan_folder / "runs.yaml"
    path.write_text(json.dumps(plan, allow_nan=True))
    build = plan_folder / "build_values"
    code, err = _call(["run", "--plan", path, "--panel", panel_path, "--build-dir", build], capsys)
    assert code == 2 and needle in err, err
    assert not build.exists()


def test_notebooks_only_from_the_notebook_folder(plan_folder, panel_path, capsys, tmp_path):
    outside = tmp_path / "evil.ipynb"
    shutil.copy2(plan_folder / "20_model_evaluation.ipynb", outside)
    plan = {"runs": {"bad": {"notebook": f"../{tmp_path.name}/evil.ipynb"}}}
    path = plan_folder / "runs.yaml"
    path.write_text(json.dumps(plan))
    code, err = _call(["run", "--check", "--plan", path, "--panel", panel_path], capsys)
    assert code == 2 and "outside the notebook folder" in err


def test_a_none_default_accepts_only_what_the_notebook_declares(tmp_path):
    import nbformat

    from analysis.errors import InputError
    from analysis.pipeline.parameters import validate_parameters

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("figure_dir = None\nlabel: str | None = None",
                                          metadata={"tags": ["parameters"]})]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(InputError, match="accepts only null"):
        validate_parameters(path, {"figure_dir": "/tmp/elsewhere"})
    assert validate_parameters(path, {"figure_dir": None, "label": "x"}) == {"figure_dir": None, "label": "x"}
    with pytest.raises(InputError, match="str | None"):
        validate_parameters(path, {"label": 3})


def test_run_without_a_panel_file_is_an_error(plan_folder, capsys, tmp_path):
    code, err = _call(["run", "--panel", tmp_path / "missing.parquet", "--build-dir", tmp_path / "b"], capsys)
    assert code == 2 and "panel file not found" in err


def test_fetch_into_a_read_only_raw_folder_is_refused_before_any_download(tmp_path, capsys, monkeypatch):
    import os

    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "MANIFEST.csv").write_text("file,sha256\n")
    raw.chmod(0o555)
    real_access = os.access
    if os.geteuid() == 0:  # root writes anywhere: simulate what a user sees
        monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == raw else real_access(p, mode))
    try:
        # the URL points nowhere: the refusal must come before any connection
        code, err = _call(["fetch", "sotkanet", "--indicator", "127", "--root", tmp_path,
                           "--base-url", "http://127.0.0.1:9/", "--retries", "0", "--quiet"], capsys)
    finally:
        raw.chmod(0o755)
    assert code == 2 and "read-only" in err
    assert sorted(p.name for p in raw.iterdir()) == ["MANIFEST.csv"]
