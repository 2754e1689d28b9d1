"""The papermill runner on tiny temporary notebooks: outputs, metadata, skip-if-unchanged,
rerun on one parameter change, failures, validation before execution, parallel jobs."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from analysis import cli
from analysis.errors import InputError
from analysis.pipeline.plan import load_plan
from analysis.pipeline.runner import run_plan


def make_notebook(path: Path, params: str, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"), cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "kuntakokeilu", "display_name": "Python (kuntakokeilu)", "language": "python"}
    nbformat.write(nb, path)
    return path


BODY = (
    "import json, pathlib\n"
    "out = pathlib.Path(output_dir); out.mkdir(parents=True, exist_ok=True)\n"
    "assert x >= 0, 'x must be non-negative'\n"
    "(out / 'results.json').write_text(json.dumps({'run_id': run_id, 'x': x * 2}))\n"
)


@pytest.fixture()
def project(tmp_path):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    make_notebook(nbdir / "tiny.ipynb", "x = 1\nlabel = 'a'\noutput_dir = 'out'\nrun_id = 'interactive'\n", BODY)
    panel = tmp_path / "panel.parquet"
    pd.DataFrame({"kunta": ["005", "009"], "year": [2014, 2014]}).to_parquet(panel)

    def write_plan(runs: dict) -> Path:
        lines = ["runs:"]
        for run_id, params in runs.items():
            lines += [f"  {run_id}:", "    notebook: tiny.ipynb", f"    parameters: {json.dumps(params)}"]
        path = nbdir / "runs.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path

    return {"root": tmp_path, "plan": write_plan, "panel": panel, "build": tmp_path / "build"}


def test_run_writes_contract_files_and_metadata(project):
    plan = load_plan(project["plan"]({"a_run": {"x": 3}}))
    [outcome] = run_plan(plan, build_dir=project["build"], panel_path=project["panel"], progress=False)
    assert outcome.status == "ok", outcome.error
    run_dir = project["build"] / "runs" / "a_run"
    assert json.loads((run_dir / "results.json").read_text()) == {"run_id": "a_run", "x": 6}
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "ok" and record["error"] is None
    assert record["parameters"] == {"x": 3} and record["notebook"] == "tiny.ipynb"
    for key in ("run_id", "started", "finished", "seconds", "panel_sha256", "package_version",
                "git_commit", "input_hash"):
        assert key in record
    import hashlib

    assert record["panel_sha256"] == hashlib.sha256(project["panel"].read_bytes()).hexdigest()
    meta = nbformat.read(run_dir / "notebook.ipynb", as_version=4).metadata["kuntakokeilu"]
    assert meta["parameters"]["x"] == 3 and meta["parameters"]["output_dir"] == str(run_dir.resolve())
    assert meta["panel_sha256"] == record["panel_sha256"]
    assert meta["package_version"] and "git_commit" in meta


def test_skip_when_unchanged_and_rerun_only_the_changed_entry(project):
    runs = {"first": {"x": 1}, "second": {"x": 2}}
    kw = dict(build_dir=project["build"], panel_path=project["panel"], progress=False)
    assert [o.status for o in run_plan(load_plan(project["plan"](runs)), **kw)] == ["ok", "ok"]
    again = run_plan(load_plan(project["plan"](runs)), **kw)
    assert [o.status for o in again] == ["skipped", "skipped"]
    runs["second"] = {"x": 5}
    changed = run_plan(load_plan(project["plan"](runs)), **kw)
    assert [o.status for o in changed] == ["skipped", "ok"]
    assert json.loads((project["build"] / "runs/second/results.json").read_text())["x"] == 10
    # a changed panel reruns everything; --force too
    project["panel"].write_bytes(b"another panel")
    assert [o.status for o in run_plan(load_plan(project["plan"](runs)), **kw)] == ["ok", "ok"]
    assert [o.status for o in run_plan(load_plan(project["plan"](runs)), force=True, **kw)] == ["ok", "ok"]


def test_failing_run_keeps_notebook_and_others_continue(project, capsys):
    plan_path = project["plan"]({"bad": {"x": -1}, "good": {"x": 1}})
    build = project["build"]
    code = cli.main(["run", "--plan", str(plan_path), "--build-dir", str(build), "--panel", str(project["panel"]),
                     "--jobs", "2"])
    assert code == 1
    err = capsys.readouterr().err
    assert "FAILED bad" in err and "x must be non-negative" in err
    # a failed attempt is kept apart from the run folders (which hold successful runs only)
    assert not (build / "runs/bad").exists()
    bad = json.loads((build / "runs/_attempts/bad/run.json").read_text())
    assert bad["status"] == "failed" and "AssertionError" in bad["error"]
    executed = (build / "runs/_attempts/bad/notebook.ipynb").read_text()
    assert "x must be non-negative" in executed and "AssertionError" in executed
    assert json.loads((build / "runs/good/run.json").read_text())["status"] == "ok"
    # a failed run is not skipped next time
    code = cli.main(["run", "--plan", str(plan_path), "--build-dir", str(build), "--panel", str(project["panel"]),
                     "--only", "bad"])
    assert code == 1


def test_invalid_parameters_write_nothing(project, capsys):
    build = project["build"]
    for runs, needle in (
        ({"ok": {"x": 1}, "typo": {"y": 1}}, "unknown parameter"),
        ({"ok": {"x": 1}, "wrongtype": {"x": "one"}}, "must be int"),
        ({"ok": {"x": 1}, "setsout": {"output_dir": "/tmp/x"}}, "set by the runner"),
    ):
        plan_path = project["plan"](runs)
        code = cli.main(["run", "--plan", str(plan_path), "--build-dir", str(build), "--panel", str(project["panel"])])
        assert code == 2
        assert needle in capsys.readouterr().err
        assert not build.exists()
    with pytest.raises(InputError, match="valid choices: label, output_dir, run_id, x"):
        run_plan(load_plan(project["plan"]({"typo": {"y": 1}})), build_dir=build, progress=False)


def test_only_selects_runs(project, capsys):
    plan_path = project["plan"]({"alpha_one": {"x": 1}, "beta_two": {"x": 2}})
    build = project["build"]
    assert cli.main(["run", "--plan", str(plan_path), "--build-dir", str(build), "--only", "beta"]) == 0
    assert (build / "runs/beta_two/run.json").exists() and not (build / "runs/alpha_one").exists()
    assert cli.main(["run", "--plan", str(plan_path), "--build-dir", str(build), "--only", "gamma*"]) == 2
    assert "valid choices: alpha_one, beta_two" in capsys.readouterr().err


def test_a_change_to_the_analysis_code_changes_the_input_hash(tmp_path, monkeypatch):
    """Editing src/analysis (same version number) must rerun the notebooks."""
    import nbformat

    from analysis.pipeline import metadata, runner

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    before = runner.input_hash(path, {"x": 1}, "abc", "0.1.0")
    monkeypatch.setattr(metadata, "package_source_sha256", lambda: "changed")
    assert runner.input_hash(path, {"x": 1}, "abc", "0.1.0") != before
