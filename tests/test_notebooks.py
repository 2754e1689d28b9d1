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
    for key in ("schema", "run_id", "model", "outcome", "outcome_label", "unit_label", "design", "frame",
                "estimates", "headline", "headline_reason", "event_study", "pretrend", "size", "notes",
                "treated_units", "n_treated_units", "years", "pretrend_p_value"):
        assert key in results
    assert results["schema"] == 2 and results["n_treated_units"] == 8 and results["years"] == [2010, 2018]
    twfe = [e for e in results["estimates"] if e["id"] == "twfe_cluster"]
    assert twfe and twfe[0]["se"] > 0 and twfe[0]["n_treated_clusters"] == 8
    assert all(e["command"].startswith("kuntakokeilu estimate frame.parquet ") for e in results["estimates"])
    run_dir = tmp_path / "runs/20_model_evaluation"
    for name in ("frame.parquet", "figures/trends.png", "figures/event_study.png", "tables/estimates.md",
                 "tables/estimates.csv", "tables/event_study.md"):
        assert (run_dir / name).is_file(), name
    assert (tmp_path / "runs/30_robustness/tables/robustness.md").is_file()
    # a no-change rerun skips everything
    again = run_plan(entries, build_dir=tmp_path, panel_path=panel_path, jobs=2, progress=False)
    assert {o.status for o in again} == {"skipped"}


def test_robustness_writes_honest_did_and_power(panel_path, tmp_path):
    """HonestDiD bounds with >= 2 treated clusters, a reason instead with one; MDE always."""
    from analysis import evaluation

    evaluation.robustness("housing_services", "social_health_costs_eur_per_capita", output_dir=tmp_path / "h",
                          control_pools=[], ri_reps=99, wild_reps=99, mde_reps=200, panel_path=panel_path)
    res = json.loads((tmp_path / "h" / "results.json").read_text())
    assert res["schema"] == 2 and res["kind"] == "robustness"
    hd = res["honest_did"]
    assert hd["moments"] == "post"
    rm = [r for r in hd["rows"] if r["method"] != "original"]
    assert [r["mbar"] for r in rm] == [0, 0.5, 1, 1.5, 2]
    assert all(r["ci_low"] <= r["ci_high"] for r in hd["rows"])
    assert (tmp_path / "h" / "tables" / "honest_did.md").is_file()
    assert (tmp_path / "h" / "figures" / "honest_did.png").is_file()
    power = res["power"]
    assert power["mde"] > 0 and power["power"] == 0.8 and power["alpha"] == 0.05
    assert power["cluster_sizes"] == sorted(power["cluster_sizes"], reverse=True) and len(power["cluster_sizes"]) == 4
    roles = {r["role"] for r in res["estimates"]}
    assert {"placebo_year", "robustness"} <= roles

    evaluation.robustness("kela_cooperation", "social_assistance_eur_per_capita", output_dir=tmp_path / "k",
                          end_year=2016, control_pools=[], ri_reps=99, mde_reps=200, panel_path=panel_path)
    res = json.loads((tmp_path / "k" / "results.json").read_text())
    assert "one treated cluster" in res["honest_did"]["reason"]
    assert res["pretrend"]["test"] == "placebo-in-time"
    assert res["power"]["cluster_sizes"] == [1] and res["power"]["mde"] > 0


def test_synthetic_control_uses_every_control_and_writes_its_figure(panel_path, tmp_path):
    from analysis import evaluation

    res = evaluation.evaluate_model("kela_cooperation", "social_assistance_eur_per_capita", output_dir=tmp_path,
                                    end_year=2016, estimators=["sc"], inference=["placebo"],
                                    size_draws=20, panel_path=panel_path)
    sc = res["synthetic_control"]
    n = res["n_control_municipalities"]
    assert sc["n_donors"] == n and sc["min_p_value"] == pytest.approx(1 / (n + 1))
    assert sum(sc["weights"].values()) == pytest.approx(1.0, abs=1e-6)
    assert 0 < sc["placebo_p_value"] <= 1
    row = [e for e in res["estimates"] if e["estimator"] == "sc"][0]
    assert "frame.parquet" in row["command"] and "--predictor-windows 2010-2011,2012-2013,2014" in row["command"]
    assert (tmp_path / "figures" / "synthetic_control.png").is_file()
    assert evaluation.sc_predictor_windows(2010) == ((2010, 2011), (2012, 2013), (2014,))
