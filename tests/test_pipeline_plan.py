"""The evaluation plan notebooks/runs.yaml: structure, coverage of GUIDE § 1, validation."""
from __future__ import annotations

import pytest

from analysis import registry
from analysis.errors import InputError
from analysis.study import domain_values
from analysis.pipeline.parameters import default_domains
from analysis.pipeline.plan import load_plan
from analysis.pipeline.runner import _prepare


@pytest.fixture(scope="module")
def plan():
    return load_plan()


def test_plan_covers_every_model_and_outcome(plan):
    evaluated = {(e.parameters.get("model"), e.parameters.get("outcome"))
                 for e in plan.entries if e.notebook.name == "20_model_evaluation.ipynb"}
    model_outcomes = domain_values()["model_outcomes"]
    for model in registry.models():
        for outcome in model_outcomes[model]:
            assert (model, outcome) in evaluated, (model, outcome)
    robust = {(e.parameters.get("model"), e.parameters.get("outcome"))
              for e in plan.entries if e.notebook.name == "30_robustness.ipynb"}
    assert robust == evaluated  # every evaluated outcome gets its robustness run
    described = {e.parameters.get("model") for e in plan.entries if e.notebook.name == "10_descriptives.ipynb"}
    assert described == set(registry.models())
    names = {e.notebook.name for e in plan.entries}
    assert names == {"00_data_audit.ipynb", "10_descriptives.ipynb", "20_model_evaluation.ipynb",
                     "30_robustness.ipynb", "40_multiverse.ipynb"}


def test_inference_follows_the_design(plan):
    for e in plan.entries:
        if e.notebook.name != "20_model_evaluation.ipynb":
            continue
        n_units = len(registry.units(e.parameters["model"]))
        if n_units == 1:
            assert "cluster" not in e.parameters["inference"], e.run_id
            assert "sdid" in e.parameters["estimators"] and "placebo" in e.parameters["inference"], e.run_id
        else:
            assert {"cluster", "wild", "ri"} <= set(e.parameters["inference"]), e.run_id
    # the multiverse grid sets its own windows (the design cuts kela_cooperation at 2016)
    kela = [e for e in plan.entries if e.parameters.get("model") == "kela_cooperation"
            and e.notebook.name != "40_multiverse.ipynb"]
    assert kela and all(e.parameters.get("end_year") == 2016 for e in kela)


def test_every_entry_validates(plan, panel_path, tmp_path):
    tasks = _prepare(plan.entries, tmp_path, panel_path, default_domains(panel_path))
    assert len(tasks) == len(plan.entries)
    assert not any(tmp_path.iterdir())  # validation writes nothing


def test_select(plan):
    assert [e.run_id for e in plan.select("kela_cooperation__*")] == [
        "kela_cooperation__social_assistance_eur", "kela_cooperation__social_assistance_households"]
    assert {e.run_id for e in plan.select("data_audit")} == {"data_audit"}
    with pytest.raises(InputError, match="valid choices"):
        plan.select("no_such_run")


def test_malformed_plans(tmp_path):
    (tmp_path / "nb.ipynb").write_text("{}")
    bad = {
        "runs: [1, 2]\n": "top-level mapping",
        "runs:\n  Bad-Id:\n    notebook: nb.ipynb\n": "must match",
        "runs:\n  a:\n    notebook: missing.ipynb\n": "valid choices: nb.ipynb",
        "runs:\n  a:\n    notebook: nb.ipynb\n    params: {}\n": "unknown key",
        "runs:\n  a: [\n": "not valid YAML",
        "runs:\n  a:\n    notebook: nb.ipynb\norder: [a]\n": "unknown top-level key",
        "expected_seconds: {nb.ipynb: 0}\nruns:\n  a:\n    notebook: nb.ipynb\n": "positive number",
        "expected_seconds: {nb.ipynb: ten}\nruns:\n  a:\n    notebook: nb.ipynb\n": "positive number",
        "expected_seconds: {nb: 3}\nruns:\n  a:\n    notebook: nb.ipynb\n": "ending in .ipynb",
        "expected_seconds: [3]\nruns:\n  a:\n    notebook: nb.ipynb\n": "must be a mapping",
    }
    for text, needle in bad.items():
        path = tmp_path / "runs.yaml"
        path.write_text(text)
        with pytest.raises(InputError, match=needle):
            load_plan(path)
    with pytest.raises(InputError, match="not found"):
        load_plan(tmp_path / "nope.yaml")


def test_single_unit_models_get_a_synthetic_control(plan):
    """One treated unit: synthetic control with placebo inference."""
    for e in plan.entries:
        if e.notebook.name != "20_model_evaluation.ipynb" or len(registry.units(e.parameters["model"])) != 1:
            continue
        assert "sc" in e.parameters["estimators"], e.run_id


def test_every_notebook_of_the_plan_has_a_duration_estimate(plan):
    """Runs that never ran are ordered by these estimates (longest first): a notebook without one
    would count as the longest."""
    assert all(e.expected_seconds for e in plan.entries), [
        e.run_id for e in plan.entries if not e.expected_seconds]
    by_notebook = {e.notebook.name: e.expected_seconds for e in plan.entries}
    assert by_notebook["40_multiverse.ipynb"] == max(by_notebook.values())


def test_longest_runs_start_first(tmp_path):
    """The last completed attempt's duration, else the plan's estimate, else unknown (first)."""
    import json

    from analysis.pipeline.runner import expected_seconds

    (tmp_path / "short.ipynb").write_text("{}")
    (tmp_path / "long.ipynb").write_text("{}")
    (tmp_path / "unknown.ipynb").write_text("{}")
    path = tmp_path / "runs.yaml"
    path.write_text("expected_seconds: {short.ipynb: 2, long.ipynb: 50}\nruns:\n"
                    + "".join(f"  {r}:\n    notebook: {nb}.ipynb\n" for r, nb in
                              (("s1", "short"), ("s2", "short"), ("l1", "long"), ("u1", "unknown"))))
    plan = load_plan(path)
    assert [e.expected_seconds for e in plan.entries] == [2.0, 2.0, 50.0, None]
    runs = tmp_path / "build" / "runs"
    tasks = [{"run_dir": str(runs / e.run_id), "attempt_dir": str(runs / "_attempts" / e.run_id),
              "expected_seconds": e.expected_seconds, "run_id": e.run_id} for e in plan.entries]

    def record(folder, **fields):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "run.json").write_text(json.dumps(fields))

    record(runs / "s2", status="ok", seconds=80.0)  # measured: longer than the estimates
    record(runs / "_attempts" / "s1", status="interrupted", seconds=0.0)  # not a duration
    order = [t["run_id"] for t in sorted(tasks, key=expected_seconds, reverse=True)]
    assert order == ["u1", "s2", "l1", "s1"]
    assert expected_seconds(tasks[0]) == 2.0


def test_multiverse_runs_compute_in_their_kernel(plan):
    """`kuntakokeilu run --jobs N` already runs N notebooks at once: a multiverse run starts no
    Dask cluster of its own (its results are the same on any scheduler, tests/test_multiverse_dask.py)."""
    runs = [e for e in plan.entries if e.notebook.name == "40_multiverse.ipynb"]
    assert runs and all(e.parameters.get("scheduler") == "inline" for e in runs)
