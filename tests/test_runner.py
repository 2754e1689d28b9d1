"""The papermill runner on tiny temporary notebooks: outputs, metadata, skip-if-unchanged,
rerun on one parameter change, failures, validation before execution, parallel jobs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return "\nState:\tZ" not in status


SLEEPY = (
    "import json, os, pathlib, time\n"
    "if run_id.startswith('slow'):\n"
    "    time.sleep(float(os.environ.get('KUNTAKOKEILU_TEST_SLEEP', '0')))\n"
    "out = pathlib.Path(output_dir); out.mkdir(parents=True, exist_ok=True)\n"
    "(out / 'results.json').write_text(json.dumps({'run_id': run_id, 'x': x}))\n"
)


@pytest.mark.slow
@pytest.mark.serial  # a 15 s deadline: run alone, not beside CPU-heavy tests
def test_sigint_stops_every_kernel_and_a_rerun_does_only_the_unfinished_runs(project):
    nbdir = project["root"] / "notebooks"
    make_notebook(nbdir / "tiny.ipynb", "x = 1\noutput_dir = 'out'\nrun_id = 'interactive'\n", SLEEPY)
    plan_path = project["plan"]({"fast_a": {"x": 1}, "slow_b": {"x": 2}, "slow_c": {"x": 3}})
    build = project["build"]
    argv = [sys.executable, "-m", "analysis.cli", "run", "--plan", str(plan_path), "--build-dir", str(build),
            "--panel", str(project["panel"]), "--jobs", "2"]
    env = {**os.environ, "KUNTAKOKEILU_TEST_SLEEP": "300"}
    # Ctrl-C reaches a foreground process whose SIGINT is the default; a test run started from a
    # background job (nohup ... &, as some CI runners do) inherits SIGINT ignored, so reset it.
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    staging = build / "runs" / "_staging"
    kernels: dict[str, int] = {}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        for run_id in ("slow_b", "slow_c"):
            pid_file = staging / run_id / "kernel.pid"
            if run_id not in kernels and pid_file.is_file() and pid_file.read_text().strip():
                kernels[run_id] = int(pid_file.read_text())
        if len(kernels) == 2 and (build / "runs/fast_a/run.json").is_file():
            break
        time.sleep(0.2)
    assert len(kernels) == 2, (kernels, proc.poll())
    time.sleep(1)  # both kernels are inside their sleeping cell
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("kuntakokeilu run did not exit within 15 s of SIGINT")
    assert time.monotonic() - t0 < 15
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    time.sleep(0.5)
    assert not [pid for pid in kernels.values() if _alive(pid)], "kernels left running"
    for run_id in ("slow_b", "slow_c"):
        record = json.loads((build / "runs/_attempts" / run_id / "run.json").read_text())
        assert record["status"] == "interrupted"
        assert not (build / "runs" / run_id).exists()
    assert not (build / ".run.lock").exists()
    # the rerun executes only what did not finish
    rerun = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert "2 ran, 1 unchanged" in rerun.stdout
    assert not (build / "runs/_attempts/slow_b").exists()


def test_a_second_runner_is_refused_and_a_dead_holders_lock_taken_over(project, capsys):
    plan_path = project["plan"]({"a_run": {"x": 1}})
    build = project["build"]
    build.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (build / ".run.lock").write_text(f"{holder.pid}\n")
        argv = ["run", "--plan", str(plan_path), "--build-dir", str(build), "--panel", str(project["panel"])]
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert f"PID {holder.pid}" in err and "Traceback" not in err
        assert not (build / "runs").exists()
    finally:
        holder.kill()
        holder.wait()
    assert cli.main(argv) == 0  # the holder is gone: its lock is stale
    assert not (build / ".run.lock").exists()


def test_a_failed_rerun_keeps_the_earlier_outputs(project):
    kw = dict(build_dir=project["build"], panel_path=project["panel"], progress=False)
    plan_path = project["plan"]({"a_run": {"x": 2}})
    assert [o.status for o in run_plan(load_plan(plan_path), **kw)] == ["ok"]
    results = project["build"] / "runs/a_run/results.json"
    before = results.read_text()
    nbdir = project["root"] / "notebooks"
    make_notebook(nbdir / "tiny.ipynb", "x = 1\nlabel = 'a'\noutput_dir = 'out'\nrun_id = 'interactive'\n",
                  "import pathlib\npathlib.Path(output_dir).mkdir(parents=True, exist_ok=True)\n"
                  "raise RuntimeError('broken on purpose')\n")
    assert [o.status for o in run_plan(load_plan(plan_path), **kw)] == ["failed"]
    assert results.read_text() == before
    attempt = json.loads((project["build"] / "runs/_attempts/a_run/run.json").read_text())
    assert attempt["status"] == "failed" and "broken on purpose" in attempt["error"]


# ------------------------------------------------------------------------------------------
# kernels kept from one run to the next (one per worker)
# ------------------------------------------------------------------------------------------
SHARED = (
    "import json, os, pathlib\n"
    "import matplotlib\n"
    "import helper_warns\n"
    "out = pathlib.Path(output_dir); out.mkdir(parents=True, exist_ok=True)\n"
    "seen = {'pid': os.getpid(), 'leaked': 'leak' in globals(), 'cwd': os.getcwd(),\n"
    "        'linewidth': matplotlib.rcParams['lines.linewidth'], 'env': os.environ.get('KK_TEST_LEAK')}\n"
    "leak = run_id\n"
    "matplotlib.rcParams['lines.linewidth'] = 7.5\n"
    "os.environ['KK_TEST_LEAK'] = run_id\n"
    "os.chdir(out)\n"
    "helper_warns.warn()\n"
    "(out / 'results.json').write_text(json.dumps(seen))\n"
    "if x < 0:\n"
    "    raise RuntimeError('failing on purpose')\n"
    "if x == 99:\n"
    "    os.kill(os.getpid(), 9)\n"
)


@pytest.fixture()
def shared_kernel_project(project):
    nbdir = project["root"] / "notebooks"
    make_notebook(nbdir / "tiny.ipynb", "x = 1\noutput_dir = 'out'\nrun_id = 'interactive'\n", SHARED)
    (nbdir / "helper_warns.py").write_text(
        "import warnings\n\n\ndef warn():\n    warnings.warn('the helper warns every run')\n")
    return project


def _seen(build: Path, run_id: str, folder: str = "") -> dict:
    return json.loads((build / "runs" / folder / run_id / "results.json").read_text())


def test_runs_in_one_kernel_see_none_of_each_others_state(shared_kernel_project):
    project = shared_kernel_project
    plan = load_plan(project["plan"]({"r1": {"x": 1}, "r2": {"x": 2}, "r3": {"x": 3}}))
    outcomes = run_plan(plan, build_dir=project["build"], panel_path=project["panel"], progress=False)
    assert [o.status for o in outcomes] == ["ok"] * 3, [o.error for o in outcomes]
    seen = [_seen(project["build"], r) for r in ("r1", "r2", "r3")]
    assert len({s["pid"] for s in seen}) == 1  # one kernel served the three runs
    notebooks = str((project["root"] / "notebooks").resolve())
    linewidth = seen[0]["linewidth"]
    for s in seen:
        assert s == {"pid": seen[0]["pid"], "leaked": False, "cwd": notebooks, "linewidth": linewidth,
                     "env": None}
    for run_id in ("r1", "r2", "r3"):
        nb = nbformat.read(project["build"] / "runs" / run_id / "notebook.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
        # a warning shown in one run is shown again in the next
        assert "the helper warns every run" in json.dumps(code[-1].outputs)


def test_a_failing_or_dying_run_hands_its_neighbours_a_new_kernel(shared_kernel_project):
    project = shared_kernel_project
    runs = {"a_ok": {"x": 1}, "b_fails": {"x": -1}, "c_ok": {"x": 2}, "d_dies": {"x": 99}, "e_ok": {"x": 3}}
    outcomes = run_plan(load_plan(project["plan"](runs)), build_dir=project["build"],
                        panel_path=project["panel"], progress=False)
    status = {o.run_id: o for o in outcomes}
    assert {r: o.status for r, o in status.items()} == {
        "a_ok": "ok", "b_fails": "failed", "c_ok": "ok", "d_dies": "failed", "e_ok": "ok"}
    assert "failing on purpose" in status["b_fails"].error
    assert "died" in status["d_dies"].error.lower()
    build = project["build"]
    pid = {r: _seen(build, r) ["pid"] for r in ("a_ok", "c_ok", "e_ok")}
    pid["b_fails"] = _seen(build, "b_fails", "_attempts")["pid"]
    pid["d_dies"] = _seen(build, "d_dies", "_attempts")["pid"]
    assert pid["b_fails"] == pid["a_ok"]  # the failing run reused the kernel of the run before ...
    assert pid["c_ok"] != pid["b_fails"]  # ... and the run after it got a new one
    assert pid["e_ok"] not in (pid["d_dies"], pid["c_ok"])
    assert not _alive(pid["a_ok"]) and not _alive(pid["e_ok"])  # no kernel outlives the runner
    executed = (build / "runs/_attempts/b_fails/notebook.ipynb").read_text()
    assert "failing on purpose" in executed and "RuntimeError" in executed


def test_fresh_kernels_give_every_run_its_own_kernel(shared_kernel_project, capsys):
    project = shared_kernel_project
    plan_path = project["plan"]({"r1": {"x": 1}, "r2": {"x": 2}})
    assert cli.main(["run", "--plan", str(plan_path), "--build-dir", str(project["build"]), "--panel",
                     str(project["panel"]), "--fresh-kernels"]) == 0
    assert _seen(project["build"], "r1")["pid"] != _seen(project["build"], "r2")["pid"]


def test_worker_does_without_the_unused_iri_grammar():
    """The worker process never loads the optional modules it does not use (their import
    compiles a grammar), and nbformat/papermill import and validate without them."""
    code = ("import os, sys\n"
            "from analysis.pipeline import worker\n"
            "sys.stdin = open(os.devnull)\n"
            "rc = worker.main()\n"
            "import nbformat, papermill\n"
            "nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')]))\n"
            "loaded = [m for m in worker.UNUSED_OPTIONAL_MODULES if sys.modules.get(m) is not None]\n"
            "sys.exit(3 if loaded else rc)\n")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
