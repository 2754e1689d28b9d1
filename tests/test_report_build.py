"""The evaluation report built from the synthetic fixture runs (tests/fixtures/report_runs).

Checks (issue 5): every model has its chapter; every referenced figure exists and is embedded
in the HTML as a data: URI; every number printed from the variables file equals the value in
the run results; the PDF opens and has the expected chapter headings.
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis.errors import InputError
from analysis.report import variables
from analysis.report.render import number_crossrefs, render, substitute_variables
from analysis.report.runs import MODEL_ORDER, load_runs

FIXTURES = Path(__file__).parent / "fixtures" / "report_runs"
MODEL_TITLES = ["Integrated welfare model", "Education services", "Supervision",
                "Housing services", "Kela", "Youth guarantee"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    result = render(FIXTURES, tmp / "build", tmp / "out", use_quarto=False)
    return tmp, result


class _Spans(HTMLParser):
    def __init__(self):
        super().__init__()
        self.spans, self.imgs, self.h1 = [], [], []
        self._key = None
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "span" and "kvar" in (a.get("class") or "").split():
            self._key = a.get("data-key")
            self.spans.append([self._key, ""])
        if tag == "img":
            self.imgs.append(a.get("src") or "")
        if tag == "h1":
            self._in_h1 = True
            self.h1.append("")

    def handle_endtag(self, tag):
        if tag == "span" and self._key:
            self._key = None
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._key:
            self.spans[-1][1] += data
        if self._in_h1:
            self.h1[-1] += data


def _resolve(source: str):
    """Follow ``<run_id>/results.json#/a/0/b`` into the fixture file."""
    path, pointer = source.split("#", 1)
    node = json.loads((FIXTURES / path).read_text(encoding="utf-8"))
    for part in pointer.strip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_outputs_and_renderer(built):
    _, result = built
    assert result.renderer.startswith("pandoc + Typst")
    assert result.outputs["html"].stat().st_size > 10_000
    assert result.outputs["pdf"].read_bytes()[:4] == b"%PDF"


def test_every_model_has_its_chapter(built):
    _, result = built
    parser = _Spans()
    parser.feed(result.outputs["html"].read_text(encoding="utf-8"))
    headings = " | ".join(parser.h1)
    for title in MODEL_TITLES:
        assert title in headings, f"no chapter for {title}: {headings}"
    for h in ["Summary", "Tiivistelmä", "The pilots", "Data and methods", "Limitations",
              "Appendix: reproducibility"]:
        assert h in headings


def test_every_figure_exists_and_is_embedded(built):
    tmp, result = built
    site = tmp / "build" / "site"
    md = (site / "report_html.md").read_text(encoding="utf-8")
    referenced = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(referenced) >= 12  # trends + event study per run, SC paths for 2 runs
    for ref in referenced:
        assert (site / ref).is_file(), ref
    for run in load_runs(FIXTURES):
        for fig in run.figures:
            assert f"_generated/figures/{run.run_id}/{fig.name}" in referenced
    parser = _Spans()
    parser.feed(result.outputs["html"].read_text(encoding="utf-8"))
    assert len(parser.imgs) == len(referenced)
    assert all(src.startswith("data:image/png;base64,") for src in parser.imgs)


def test_every_printed_number_equals_the_run_results(built):
    tmp, result = built
    flat = json.loads((tmp / "build" / "variables.json").read_text(encoding="utf-8"))
    parser = _Spans()
    parser.feed(result.outputs["html"].read_text(encoding="utf-8"))
    assert len(parser.spans) > 50
    checked = 0
    for key, text in parser.spans:
        entry = flat[key]
        assert text == entry["text"], key
        if "results.json#" in entry["source"] and "->" not in entry["source"]:
            raw = _resolve(entry["source"])
            assert raw == pytest.approx(entry["value"], abs=0, rel=0), key
            printed = variables.parse_number(text)
            if text == "<0.001":
                assert raw < 0.001
            else:
                assert printed == pytest.approx(round(raw, entry["digits"]), abs=1e-12), key
            checked += 1
    assert checked > 40
    # registry counts from the law (data/reference/REGISTRY_SOURCE.md)
    assert flat["registry.n_units"]["value"] == 16
    assert flat["registry.n_municipalities"]["value"] == 57
    assert flat["registry.n_models"]["value"] == 6


def test_no_unresolved_shortcodes_or_references(built):
    _, result = built
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert "{{<" not in html
    assert not re.search(r"@(fig|tbl|sec)-", html)
    assert "Figure 1" in html and "Table 1" in html
    assert "Cameron" in html and "Abadie" in html  # citeproc bibliography


def test_pdf_opens_with_expected_chapters(built):
    pypdf = pytest.importorskip("pypdf")
    _, result = built
    reader = pypdf.PdfReader(str(result.outputs["pdf"]))
    assert len(reader.pages) > 5
    text = " ".join((p.extract_text() or "") for p in reader.pages)
    text = re.sub(r"\s+", " ", text)
    for title in MODEL_TITLES + ["Summary", "Tiivistelmä", "Limitations", "Appendix"]:
        assert title in text, title
    assert "{{<" not in text


def test_variables_file_written(built):
    tmp, _ = built
    yml = (tmp / "build" / "variables.yml").read_text(encoding="utf-8")
    # keyed by run id, so that no run can overwrite another's numbers
    assert "integrated_welfare__sote_net_costs:" in yml and "twfe_cluster:" in yml


def test_failed_run_is_reported(built):
    _, result = built
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert "youth_outside_education" in html and "Run failed" in html


def test_unknown_variable_is_an_input_error():
    with pytest.raises(InputError, match="nope"):
        substitute_variables("x {{< var nope.a >}}", {})


def test_crossrefs_numbered_in_order():
    text = ("See @fig-a and @tbl-b.\n\n![A](a.png){#fig-a}\n\n| x |\n|---|\n| 1 |\n\n: B {#tbl-b}\n")
    out = number_crossrefs(text, link=False)
    assert "See Figure 1 and Table 1." in out
    assert "![A](a.png){#fig-a}" in out  # Typst numbers figures itself
    assert "![Figure 1: A](a.png){#fig-a}" in number_crossrefs(text, link=True)
    assert ": B" in out and ": Table 1: B" in number_crossrefs(text, link=True)


def test_bad_format_and_missing_runs(tmp_path):
    with pytest.raises(InputError, match="valid choices"):
        render(FIXTURES, tmp_path / "b", tmp_path / "o", formats=["docx"], use_quarto=False)
    with pytest.raises(InputError, match="no run folder"):
        render(tmp_path / "none", tmp_path / "b", tmp_path / "o", use_quarto=False)


def test_format_number_round_trip():
    assert variables.format_number(-35.04, "estimate") == ("-35.0", 1)
    assert variables.format_number(0.0004, "p") == ("<0.001", 3)
    assert variables.format_number(0.0423, "p") == ("0.042", 3)
    assert variables.format_number(1234.6, "estimate") == ("1235", 0)
    assert variables.format_number(-0.001, "estimate") == ("-0.001", 3)
    assert variables.format_number(12, "count") == ("12", 0)


def test_model_order_covers_six_models():
    assert len(MODEL_ORDER) == 6


def test_descriptive_and_non_model_runs(tmp_path):
    """Runs without estimates (descriptives) and runs of no model (data audit) still render."""
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(FIXTURES / "kela_cooperation__social_assistance", runs / "kela_cooperation__social_assistance")
    (runs / "data_audit").mkdir()
    (runs / "data_audit" / "run.json").write_text(json.dumps(
        {"run_id": "data_audit", "notebook": "00_data_audit.ipynb", "parameters": {},
         "status": "ok", "seconds": 1.5}), encoding="utf-8")
    desc = runs / "descriptives__supervision"
    (desc / "figures").mkdir(parents=True)
    shutil.copy2(FIXTURES / "kela_cooperation__social_assistance" / "figures" / "trends.png", desc / "figures")
    (desc / "run.json").write_text(json.dumps({"run_id": desc.name, "parameters": {"model": "supervision"},
                                               "status": "ok", "seconds": 2.0}), encoding="utf-8")
    (desc / "results.json").write_text(json.dumps({"run_id": desc.name, "model": "supervision"}), encoding="utf-8")
    result = render(runs, tmp_path / "build", tmp_path / "out", formats=["html"], use_quarto=False)
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert "Descriptives" in html and "data_audit" in html
    assert "Data audit" not in html  # no chapter for a non-model run


def test_robustness_run_shows_honest_did_and_power(tmp_path):
    """A robustness run's HonestDiD bounds, breakdown value and MDE are printed, once each."""
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(FIXTURES / "kela_cooperation__social_assistance", runs / "kela_cooperation__social_assistance")
    rob = runs / "robustness__housing_services__sote_net_costs"
    (rob / "tables").mkdir(parents=True)
    (rob / "figures").mkdir()
    shutil.copy2(FIXTURES / "kela_cooperation__social_assistance" / "figures" / "trends.png",
                 rob / "figures" / "honest_did.png")
    bounds = [{"method": "original", "M": None, "M_in_pre_se": None, "lb": -60.5, "ub": -9.5},
              {"method": "relative_magnitude (plug-in)", "M": 0.5, "M_in_pre_se": None, "lb": -210.25,
               "ub": 140.75}]
    (rob / "tables" / "honest_did.md").write_text("| method | M |\n|:--|--:|\n| HONEST_TABLE_FILE | 0 |\n")
    (rob / "run.json").write_text(json.dumps({"run_id": rob.name, "notebook": "30_robustness.ipynb",
                                              "parameters": {"model": "housing_services"}, "status": "ok",
                                              "seconds": 3.0}), encoding="utf-8")
    (rob / "results.json").write_text(json.dumps({
        "run_id": rob.name, "model": "housing_services", "outcome": "social_health_costs_eur_per_capita",
        "robustness": {"checks": [{"check": "baseline", "variant": "non_pilot", "estimate": -12.5}],
                       "honest_did": bounds, "breakdown_value": {"relative_magnitude_Mbar": 0.0},
                       "notes": ["HonestDiD note"]},
        "power": {"mde": 386.25, "power": 0.8, "alpha": 0.05, "cluster_sizes": [9, 3]},
        "notes": ["HonestDiD note"]}), encoding="utf-8")
    result = render(runs, tmp_path / "build", tmp_path / "out", formats=["html"], use_quarto=False)
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert "HonestDiD (Rambachan &amp; Roth 2023)" in html or "HonestDiD (Rambachan & Roth 2023)" in html
    printed = lambda x: variables.format_number(x, "estimate")[0]  # noqa: E731
    assert printed(-210.25) in html.replace("−", "-") and printed(140.75) in html
    assert printed(386.25) in html and "minimum detectable effect" in html
    assert "HONEST_TABLE_FILE" not in html  # the run's table is not printed a second time
    assert html.count("HonestDiD note") == 1
