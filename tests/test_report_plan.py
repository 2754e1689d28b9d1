"""The report is built from the plan, not from a folder listing: stale folders are ignored,
missing or failed runs are an error naming them (or a marked partial draft with
--allow-missing), and variable keys are run ids."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from analysis import cli
from analysis.errors import InputError
from analysis.pipeline.plan import load_plan
from analysis.report.render import stage
from analysis.report.runs import load_runs

FIXTURES = Path(__file__).parent / "fixtures" / "report_runs"
GOOD = ["integrated_welfare__sote_net_costs", "education_services__education_culture_costs",
        "housing_services__sote_net_costs", "kela_cooperation__social_assistance_eur",
        "youth_guarantee__unemployment_rate"]
FAILED = "youth_guarantee__youth_outside_education"


def _write_plan(folder: Path, run_ids) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("model = 'x'\noutcome = 'y'\nseed = 1",
                                          metadata={"tags": ["parameters"]})]
    nbformat.write(nb, folder / "eval.ipynb")
    lines = ["runs:"]
    for run_id in run_ids:
        params = json.loads((FIXTURES / run_id / "run.json").read_text())["parameters"]
        lines += [f"  {run_id}:", "    notebook: eval.ipynb", f"    parameters: {json.dumps(params)}"]
    path = folder / "runs.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def project(tmp_path):
    """Fixture runs copied into a build folder, each run.json stamped with its plan hash."""
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    runs = tmp_path / "build" / "runs"
    for run_id in [*GOOD, FAILED]:
        shutil.copytree(FIXTURES / run_id, runs / run_id)
    plan_path = _write_plan(nbdir, [*GOOD, FAILED])
    for entry in load_plan(plan_path).entries:
        record_path = runs / entry.run_id / "run.json"
        record = json.loads(record_path.read_text())
        record["parameters_sha256"] = entry.parameters_sha256
        record_path.write_text(json.dumps(record))
    return {"root": tmp_path, "nbdir": nbdir, "runs": runs}


def _staged(project, plan_path, tag, **kw):
    build = project["root"] / f"stage_{tag}"
    site, flat = stage(project["runs"], build, plan=load_plan(plan_path), **kw)
    generated = {str(p.relative_to(site)): p.read_bytes() for p in sorted((site / "_generated").rglob("*")) if p.is_file()}
    return flat, generated, site


def test_a_run_removed_from_the_plan_leaves_the_report_unchanged(project, capsys):
    plan_path = _write_plan(project["nbdir"], GOOD)
    before = _staged(project, plan_path, "a")
    # a run the plan no longer lists, its folder left behind, with a different headline
    stale = project["runs"] / "youth_guarantee__unemployment_rate_old"
    shutil.copytree(project["runs"] / "youth_guarantee__unemployment_rate", stale)
    results = json.loads((stale / "results.json").read_text())
    for est in results["estimates"]:
        est["estimate"] = 99.0
    (stale / "results.json").write_text(json.dumps(results))
    after = _staged(project, plan_path, "b")
    assert after[0] == before[0]
    assert after[1] == before[1]
    assert "ignoring 2 run folder(s) not in the plan" in capsys.readouterr().err
    assert not any(k.startswith("youth_guarantee__unemployment_rate_old") for k in after[0])


def test_parameters_changed_in_the_plan_make_the_folder_stale(project):
    plan_path = _write_plan(project["nbdir"], GOOD)
    text = plan_path.read_text().replace('"seed": 20150105', '"seed": 7', 1)
    plan_path.write_text(text)
    changed = [e.run_id for e in load_plan(plan_path).entries
               if e.parameters.get("seed") == 7]
    assert changed
    with pytest.raises(InputError, match=changed[0]):
        load_runs(project["runs"], load_plan(plan_path))


def test_a_deleted_run_json_is_an_error_naming_the_run(project, capsys):
    plan_path = _write_plan(project["nbdir"], GOOD)
    (project["runs"] / "housing_services__sote_net_costs" / "run.json").unlink()
    out = project["root"] / "out"
    code = cli.main(["report", "--plan", str(plan_path), "--runs-dir", str(project["runs"]),
                     "--build-dir", str(project["root"] / "b"), "--output-dir", str(out),
                     "--format", "html"])
    assert code != 0
    err = capsys.readouterr().err
    assert "housing_services__sote_net_costs (not run)" in err and "--allow-missing" in err
    assert not out.exists()


def test_a_failed_run_is_an_error_and_allow_missing_marks_the_draft(project):
    plan_path = _write_plan(project["nbdir"], [*GOOD, FAILED])
    with pytest.raises(InputError, match=f"{FAILED} \\(failed\\)"):
        load_runs(project["runs"], load_plan(plan_path))
    (project["runs"] / "housing_services__sote_net_costs" / "run.json").unlink()
    flat, generated, site = _staged(project, plan_path, "draft", allow_missing=True)
    runs = {r.run_id: r for r in load_runs(project["runs"], load_plan(plan_path), allow_missing=True)}
    assert runs[FAILED].missing and runs[FAILED].status == "failed"
    assert runs["housing_services__sote_net_costs"].missing
    assert runs["housing_services__sote_net_costs"].status == "missing"
    assert not runs["integrated_welfare__sote_net_costs"].missing
    assert flat["runs.n_missing"]["value"] == 2
    index = (site / "index.qmd").read_text()
    assert 'title: "DRAFT:' in index and "Partial draft" in index
    assert "housing_services__sote_net_costs" in index


def test_a_later_failed_attempt_overrides_an_earlier_success(project):
    """The runner keeps earlier outputs when a rerun fails; the report must still see the failure."""
    plan_path = _write_plan(project["nbdir"], GOOD)
    run_id = "kela_cooperation__social_assistance_eur"
    attempt = project["runs"] / "_attempts" / run_id
    attempt.mkdir(parents=True)
    record = json.loads((project["runs"] / run_id / "run.json").read_text())
    record.update(status="failed", finished="2099-01-01T00:00:00+00:00", error="boom")
    (attempt / "run.json").write_text(json.dumps(record))
    with pytest.raises(InputError, match=f"{run_id} \\(failed\\)"):
        load_runs(project["runs"], load_plan(plan_path))


def test_variable_keys_are_run_ids_and_never_overwritten(project):
    from analysis.report.variables import VariableSet

    plan_path = _write_plan(project["nbdir"], GOOD)
    flat, _, _ = _staged(project, plan_path, "keys")
    run_keys = {k.split(".")[0] for k in flat} - {"runs", "registry", "meta"}
    assert run_keys == set(GOOD)
    vs = VariableSet()
    vs.add("a.b", 1.0, "estimate", "x")
    with pytest.raises(ValueError, match="defined twice"):
        vs.add("a.b", 2.0, "estimate", "y")
