"""Results at a glance, forest plot and the en/fi/sv summaries, generated from constructed run
folders (schema 2) through the verdicts."""
from __future__ import annotations

import copy
import hashlib
import json
import re

import pytest

from analysis import codebook
from analysis.report.runs import load_runs
from analysis.report.summary import collect, glance_table, summary_sentences, write_summary
from test_verdicts import robust_effect, row, single_unit_null


def _write_run(root, run_id, results=None, status="ok", parameters=None):
    folder = root / run_id
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"run_id": run_id, "status": status,
                                                 "parameters": parameters or {}}), encoding="utf-8")
    if results is not None:
        (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")


def make_runs(root):
    """Write the constructed run folders into ``root``; return ``root``."""
    # integrated welfare: significant headline, but the robustness run disagrees
    ev = robust_effect()
    ev["estimates"] = [e for e in ev["estimates"] if e["role"] in ("headline", "estimate")]
    ev["run_id"] = "integrated_welfare__sote"
    _write_run(root, ev["run_id"], ev)
    rob = {"schema": 2, "kind": "robustness", "run_id": "robustness__integrated_welfare__sote",
           "model": ev["model"], "outcome": ev["outcome"], "unit_kind": "eur_per_capita",
           "estimates": [row("m", -43.6, -160.0, 73.0, 0.47, role="robustness", variant="matched controls"),
                         row("p12", -120.0, -200.0, -40.0, 0.004, role="placebo_year",
                             variant="placebo start year 2012")]}
    _write_run(root, rob["run_id"], rob)
    # youth guarantee: percent outcome below its MDE
    yg = robust_effect()
    yg.update(model="youth_guarantee", outcome="unemployment_rate", unit_kind="percent", unit_label="%",
              run_id="youth_guarantee__unemployment_rate")
    yg["estimates"][0].update(estimate=-0.46, ci_low=-2.29, ci_high=1.38, p_value=0.6)
    yg["power"]["mde"] = 1.214
    _write_run(root, yg["run_id"], yg)
    # Kela: one treated unit, placebo inference
    k = single_unit_null()
    k["run_id"] = "kela_cooperation__social_assistance_eur"
    _write_run(root, k["run_id"], k)
    # a failed evaluation run
    _write_run(root, "education_services__upper_secondary_share", None, status="failed",
               parameters={"model": "education_services", "outcome": "upper_secondary_share"})
    # a descriptive run is not an evaluation
    _write_run(root, "descriptives__housing_services", {"schema": 2, "kind": "descriptives",
                                                         "model": "housing_services"})
    return root


@pytest.fixture()
def runs(tmp_path):
    return load_runs(make_runs(tmp_path / "runs"))


def test_every_model_gets_a_row_with_the_verdict_of_its_rules(runs):
    rows = collect(runs)
    got = {(g.model, g.outcome): g.verdict.code for g in rows}
    assert got[("integrated_welfare", "social_health_costs_eur_per_capita")] == "inconclusive_pretrends"
    assert got[("youth_guarantee", "unemployment_rate")] == "no_detectable_effect"
    assert got[("kela_cooperation", "social_assistance_eur_per_capita")] == "no_detectable_effect"
    assert got[("education_services", "upper_secondary_share")] == "not_estimable"
    assert got[("supervision", "")] == "not_estimable" and got[("housing_services", "")] == "not_estimable"
    assert [g.model for g in rows][:2] == ["integrated_welfare", "education_services"]


def test_english_summary_sentences(runs):
    text = summary_sentences(collect(runs), "en")
    assert "placebo start year 2012: p = 0.004" in text
    assert "**Youth guarantee pilot** — Registered unemployment rate: no detectable effect. The estimate is " \
           "−0.46 percentage points (95% CI −2.29 to 1.38)" in text
    assert "(1.21 percentage points) cannot be ruled out" in text
    assert "percent " not in text and "-0." not in text          # U+2212 minus, never "percent" for pp
    assert "**Supervision pilot**: not estimable: no evaluation run of this outcome." in text
    assert text.startswith("Verdicts for 6 model–outcome pairs:")


def test_finnish_summary_has_finnish_names_and_decimal_commas(runs):
    rows = collect(runs)
    text = summary_sentences(rows, "fi") + glance_table(rows, "fi", "tbl-glance-fi")
    for g in rows:
        if g.outcome:
            assert codebook.outcome_name(g.outcome, "en") not in text
            assert codebook.outcome_name(g.outcome, "fi") in text
        assert codebook.model_name(g.model, "en") not in text
    assert not re.search(r"\d\.\d", text), "decimal point in the Finnish summary"
    assert "−0,46 prosenttiyksikköä" in text and "1,21 prosenttiyksikköä" in text
    assert "30,2 euroa asukasta kohden" in text
    assert "plasebo-aloitusvuosi 2012: p = 0,004" in text
    for word in ("estimate", "effect", "interval", "percentage", "not estimable", "inhabitant"):
        assert word not in text.lower(), word


def test_swedish_sammandrag(runs):
    text = summary_sentences(collect(runs), "sv")
    assert "**Kommunförsöket med ungdomsgarantin** — Andel arbetslösa arbetssökande av arbetskraften: " \
           "ingen påvisbar effekt" in text
    assert "−0,46 procentenheter" in text and not re.search(r"\d\.\d", text)


def test_glance_table_columns_and_cells(runs):
    table = glance_table(collect(runs), "en")
    lines = table.splitlines()
    assert lines[0].startswith("| Model and outcome") and "Verdict |" in lines[0]
    ncols = lines[0].count("|")
    assert all(line.count("|") == ncols for line in lines[1:] if line.startswith("|"))
    assert "{#tbl-glance}" in table and "[@rambachan2023]" in table
    yg = next(line for line in lines if "Registered unemployment rate" in line)
    assert "(percentage points)" in yg and "−0.46\u00a0[−2.29,\u00a01.38]" in yg and "| 1.21 |" in yg
    kela = next(line for line in lines if "Social assistance expenditure" in line)
    assert "| n/a |" in kela and "| placebo |" in kela
    assert "Inconclusive: pre-trends" in table


def test_write_summary_files_and_deterministic_forest(runs, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    wa, wb = write_summary(runs, a), write_summary(runs, b)
    names = sorted(p.relative_to(a).as_posix() for p in wa)
    assert names == ["figures/summary/forest.png", "summary_en.md", "summary_fi.md", "summary_glance.md",
                     "summary_glance_fi.md", "summary_sv.md", "verdict_rules.md"]
    for pa, pb in zip(wa, wb):
        assert hashlib.sha256(pa.read_bytes()).digest() == hashlib.sha256(pb.read_bytes()).digest(), pa.name
    glance = (a / "summary_glance.md").read_text(encoding="utf-8")
    assert "](_generated/figures/summary/forest.png){#fig-forest}" in glance
    assert (a / "figures/summary/forest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forest_skips_rows_without_estimates(tmp_path):
    from analysis.plots.forest import ForestRow, forest_figure

    assert forest_figure([ForestRow("x", "percent", float("nan"), 0.0, 1.0, "effect")], tmp_path / "f.png") is None
    path = forest_figure([ForestRow("a", "percent", 1.0, 0.5, 1.5, "effect"),
                          ForestRow("b", "eur_per_capita", -3.0, -9.0, 3.0, "no_detectable_effect"),
                          ForestRow("c", "per_1000", 2.0, 1.0, 3.0, "inconclusive_pretrends")],
                         tmp_path / "f.png", lang="fi")
    assert path.is_file()


def test_legacy_schema_runs_still_summarised(tmp_path):
    legacy = {"run_id": "housing_services__sote", "model": "housing_services", "outcome": "sote_net_costs",
              "outcome_label": "Social and health care net operating costs", "unit_label": "€ per inhabitant",
              "n_treated_units": 4, "pretrend_p_value": 0.3,
              "estimates": [{"estimator": "twfe", "inference": "wild_cluster_bootstrap", "estimate": -8.4,
                             "ci_low": -18.6, "ci_high": 1.7, "p_value": 0.1}],
              "power": {"mde": 14.1}}
    _write_run(tmp_path, "housing_services__sote", copy.deepcopy(legacy))
    rows = collect(load_runs(tmp_path))
    g = next(g for g in rows if g.model == "housing_services")
    assert g.verdict.code == "no_detectable_effect"
    assert "−8.4 € per inhabitant" in summary_sentences(rows, "en")


def test_chapter_verdict_block(runs):
    from analysis.report.summary import verdict_markdown, verdicts_by_key

    rows = verdicts_by_key(runs)
    text = verdict_markdown(rows[("integrated_welfare", "social_health_costs_eur_per_capita")])
    assert text.startswith("**Verdict: Inconclusive: pre-trends.** Social and health care net operating costs:")
    assert "- Estimate and inference (passed): headline estimate −159.1, 95% interval −250.0 to −68.2" in text
    assert "- Pre-trends and placebo start years (failed): parallel pre-trends rejected: placebo start year " \
           "2012 p = 0.004 (rule: p < 0.05)." in text
    assert "@sec-verdict-rules" in text


def test_count_sentence_singular(runs):
    from analysis.report.summary import verdict_counts

    rows = collect(runs)[:1]
    assert verdict_counts(rows, "en").startswith("Verdicts for 1 model–outcome pair:")
