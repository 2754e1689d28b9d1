"""Notebooks are thin and parameterised, and each runs top to bottom with its defaults."""
from __future__ import annotations

import ast
import json

import nbformat
import pytest

from analysis.paths import NOTEBOOKS
from analysis.pipeline.plan import RunEntry
from analysis.pipeline.runner import run_plan

ALL_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))
#: the evaluation notebooks of the plan (other notebooks, e.g. worked examples, get the
#: structure checks here and their own execution tests)
NOTEBOOK_FILES = [NOTEBOOKS / f"{n}.ipynb" for n in ("00_data_audit", "10_descriptives",
                                                     "20_model_evaluation", "30_robustness")]


def test_the_evaluation_notebooks_exist():
    assert all(p.is_file() for p in NOTEBOOK_FILES)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is nb.cells[1] and tagged[0].cell_type == "code"
    assert nb.metadata["kernelspec"]["name"] == "kuntakokeilu"
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None, "outputs committed"
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)), \
                f"function definition in {path.name}: move it into src/analysis"
    assert "kuntakokeilu" not in nb.metadata, "run metadata committed"


@pytest.mark.slow
def test_every_notebook_runs_with_default_parameters(panel_path, tmp_path):
    entries = [RunEntry(p.stem, p) for p in NOTEBOOK_FILES]
    outcomes = run_plan(entries, build_dir=tmp_path, panel_path=panel_path, jobs=2, progress=False)
    assert [(o.run_id, o.status, o.error) for o in outcomes] == [(p.stem, "ok", None) for p in NOTEBOOK_FILES]
    import hashlib

    sha = hashlib.sha256(panel_path.read_bytes()).hexdigest()
    for p in NOTEBOOK_FILES:
        run_dir = tmp_path / "runs" / p.stem
        meta = nbformat.read(run_dir / "notebook.ipynb", as_version=4).metadata["kuntakokeilu"]
        assert meta["panel_sha256"] == sha and meta["package_version"] and "git_commit" in meta
        assert meta["parameters"]["output_dir"] == str(run_dir.resolve())
    results = json.loads((tmp_path / "runs/20_model_evaluation/results.json").read_text())
    for key in ("run_id", "model", "outcome", "outcome_label", "unit_label", "treated_units", "n_treated_units",
                "n_treated_municipalities", "n_control_municipalities", "years", "estimates", "event_study",
                "pretrend_p_value", "notes"):
        assert key in results
    assert results["n_treated_units"] == 8 and results["years"] == [2010, 2018]
    twfe = [e for e in results["estimates"] if e["estimator"] == "twfe" and e["term"] == "pilot_2015_2016"]
    assert twfe and twfe[0]["se"] > 0 and twfe[0]["n_treated_clusters"] == 8
    run_dir = tmp_path / "runs/20_model_evaluation"
    for name in ("figures/trends.png", "figures/event_study.png", "tables/estimates.md", "tables/estimates.csv",
                 "tables/event_study.md"):
        assert (run_dir / name).is_file(), name
    assert (tmp_path / "runs/30_robustness/tables/robustness.md").is_file()
    # a no-change rerun skips everything
    again = run_plan(entries, build_dir=tmp_path, panel_path=panel_path, jobs=2, progress=False)
    assert {o.status for o in again} == {"skipped"}
