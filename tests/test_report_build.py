"""The evaluation report built from the synthetic fixture runs (tests/fixtures/report_runs).

Checks: every model has its chapter; every referenced figure exists, is embedded in the HTML
and is no byte copy of another; every number printed from the variables file equals the
value in the run results; every "Table N"/"Figure N" reference names a caption with that
number in the HTML and in the PDF (pdftotext); no run id or snake_case in a heading or
caption; every work cited is in the bibliography; the output folder holds exactly
report.html and report.pdf; the Quarto project's pre-render script, run as Quarto runs it,
writes every generated part the sources include.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from analysis import paths
from analysis.errors import InputError
from analysis.report import variables
from analysis.report.chapters import typographic
from analysis.report.render import display_text, number_crossrefs, render, substitute_variables
from analysis.report.runs import MODEL_ORDER, load_runs

FIXTURES = Path(__file__).parent / "fixtures" / "report_runs"
MODEL_TITLES = ["Integrated welfare model", "Education services", "Supervision",
                "Housing services", "Kela", "Youth guarantee"]
RUN_IDS = [p.name for p in FIXTURES.iterdir() if p.is_dir()]
WORKS = ["Tempo Economics", "Burlig", "MacKinnon", "Webb", "Rambachan", "Cameron", "Abadie",
         "Valtiovarainministeriö", "National Land Survey"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    result = render(FIXTURES, tmp / "build", tmp / "out", use_quarto=False)
    return tmp, result


class _Spans(HTMLParser):
    def __init__(self):
        super().__init__()
        self.spans, self.imgs, self.h1, self.headings, self.captions = [], [], [], [], []
        self.cites, self.refs = set(), set()
        self._key = None
        self._in_h1 = False
        self._in_h = False
        self._in_cap = False

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
        if tag in ("h1", "h2", "h3", "h4"):
            self._in_h = True
            self.headings.append("")
        if tag in ("caption", "figcaption"):
            self._in_cap = True
            self.captions.append("")
        if a.get("data-cites"):
            self.cites.update(a["data-cites"].split())
        if (a.get("id") or "").startswith("ref-"):
            self.refs.add(a["id"][4:])

    def handle_endtag(self, tag):
        if tag == "span" and self._key:
            self._key = None
        if tag == "h1":
            self._in_h1 = False
        if tag in ("h1", "h2", "h3", "h4"):
            self._in_h = False
        if tag in ("caption", "figcaption"):
            self._in_cap = False

    def handle_data(self, data):
        if self._key:
            self.spans[-1][1] += data
        if self._in_h1:
            self.h1[-1] += data
        if self._in_h:
            self.headings[-1] += data
        if self._in_cap:
            self.captions[-1] += data


def _resolve(source: str):
    """Follow ``<run_id>/results.json#/a/0/b`` into the fixture file."""
    path, pointer = source.split("#", 1)
    node = json.loads((FIXTURES / path).read_text(encoding="utf-8"))
    for part in pointer.strip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _html(result) -> _Spans:
    parser = _Spans()
    parser.feed(result.outputs["html"].read_text(encoding="utf-8"))
    return parser


def _html_text(result) -> str:
    html = result.outputs["html"].read_text(encoding="utf-8")
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", text.replace("&nbsp;", " "))


@pytest.fixture(scope="module")
def pdf_text(built):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not found: install poppler-utils (apt-get install poppler-utils) "
                    "to check the PDF's cross-references")
    _, result = built
    out = subprocess.run(["pdftotext", "-layout", str(result.outputs["pdf"]), "-"], capture_output=True,
                         text=True, check=True).stdout
    return re.sub(r"[ \t]+", " ", out)



def test_outputs_and_renderer(built):
    _, result = built
    assert result.renderer.startswith("pandoc + Typst")
    assert result.outputs["html"].stat().st_size > 10_000
    assert result.outputs["pdf"].read_bytes()[:4] == b"%PDF"
    out_dir = result.outputs["html"].parent
    assert sorted(p.name for p in out_dir.iterdir()) == ["report.html", "report.pdf"]


def test_every_model_has_its_chapter(built):
    _, result = built
    headings = " | ".join(_html(result).h1)
    for title in MODEL_TITLES:
        assert title in headings, f"no chapter for {title}: {headings}"
    for h in ["Summary", "Tiivistelmä", "The pilots", "Data and methods", "Limitations", "Glossary",
              "References", "Appendix: reproducibility"]:
        assert h in headings


def test_every_figure_exists_once_and_is_embedded(built):
    tmp, result = built
    site = tmp / "build" / "site"
    md = (site / "report_html.md").read_text(encoding="utf-8")
    referenced = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(referenced) >= 12
    digests = {}
    for ref in referenced:
        assert (site / ref).is_file(), ref
        digest = hashlib.sha256((site / ref).read_bytes()).hexdigest()
        assert digest not in digests, f"{ref} is a byte copy of {digests.get(digest)}"
        digests[digest] = ref
    # every distinct figure of the runs is shown
    run_digests = {hashlib.sha256(f.read_bytes()).hexdigest() for r in load_runs(FIXTURES) for f in r.figures}
    assert run_digests <= set(digests)
    assert "_generated/figures/pilot-map.png" in referenced
    imgs = _html(result).imgs
    assert len(imgs) == len(referenced)
    assert all(src.startswith("data:image/png;base64,") for src in imgs)
    assert len(set(imgs)) == len(imgs)


def test_every_printed_number_equals_the_run_results(built):
    tmp, result = built
    flat = json.loads((tmp / "build" / "variables.json").read_text(encoding="utf-8"))
    parser = _html(result)
    assert len(parser.spans) > 20
    checked = 0
    for key, text in parser.spans:
        entry = flat[key]
        assert text == display_text(key, entry["text"]), key
        if "results.json#" in entry["source"] and "->" not in entry["source"]:
            raw = _resolve(entry["source"])
            assert raw == pytest.approx(entry["value"], abs=0, rel=0), key
            if entry["text"] == "<0.001":
                assert raw < 0.001
            else:
                printed = variables.parse_number(entry["text"])
                assert printed == pytest.approx(round(raw, entry["digits"]), abs=1e-12), key
            checked += 1
    assert checked > 10
    assert flat["registry.n_units"]["value"] == 16
    assert flat["registry.n_municipalities"]["value"] == 57
    assert flat["registry.n_models"]["value"] == 6


def _check_references(text: str, caption_re: str) -> int:
    """Every "Table N"/"Figure N" in ``text`` has a caption with that number; returns #refs."""
    n = 0
    # the Finnish and Swedish sections caption in their language (Typst: "Taulukko 2:")
    names = {"Table": "(?:Table|Taulukko|Tabell)", "Figure": "(?:Figure|Kuva|Figur)"}
    for kind in ("Table", "Figure"):
        captions = {int(m) for m in re.findall(caption_re.format(kind=names[kind]), text)}
        assert captions, f"no {kind} captions"
        assert sorted(captions) == list(range(1, max(captions) + 1)), f"{kind} numbers have gaps: {sorted(captions)}"
        for m in re.finditer(rf"\b{kind} (\d+)\b", text):
            assert int(m.group(1)) in captions, f"{kind} {m.group(1)} is referenced but has no caption"
            n += 1
    return n


def test_html_references_name_existing_captions(built):
    _, result = built
    parser = _html(result)
    caps = " ".join(parser.captions)
    text = _html_text(result)
    for kind in ("Table", "Figure"):
        numbers = [int(x) for x in re.findall(rf"{kind} (\d+):", caps)]
        assert numbers == list(range(1, len(numbers) + 1)), (kind, numbers)
        for m in re.finditer(rf"\b{kind} (\d+)\b", text):
            assert int(m.group(1)) <= len(numbers), m.group(0)
    # a reference and its caption agree: "Table n lists every estimate" precedes caption n
    for m in re.finditer(r"Table (\d+) lists every estimate", text):
        after = text[m.end():]
        assert re.search(rf"Table {m.group(1)}: Estimated effect", after[:3000]), m.group(0)


def test_pdf_references_name_existing_captions(pdf_text):
    assert _check_references(pdf_text, r"{kind} (\d+):") > 20
    for m in re.finditer(r"Table (\d+) lists every estimate", pdf_text):
        assert re.search(rf"Table {m.group(1)}: Estimated effect", pdf_text[m.end():m.end() + 4000]), m.group(0)


def test_no_run_id_or_snake_case_in_headings_and_captions(built):
    _, result = built
    parser = _html(result)
    for text in parser.headings + parser.captions:
        for run_id in RUN_IDS:
            assert run_id not in text, (run_id, text)
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), f"snake_case in {text!r}"


def test_pdf_headings_have_no_run_ids(built):
    pypdf = pytest.importorskip("pypdf")
    _, result = built
    reader = pypdf.PdfReader(str(result.outputs["pdf"]))

    def titles(outline):
        for item in outline:
            if isinstance(item, list):
                yield from titles(item)
            else:
                yield item.title

    heads = list(titles(reader.outline))
    assert len(heads) > 20
    for h in heads:
        assert not any(r in h for r in RUN_IDS) and not re.search(r"\b[a-z]+_[a-z_]+\b", h), h
    # numbering alike in both formats: the HTML's numbered h1 match the PDF's
    assert any("Appendix" in h for h in heads)


def test_every_work_cited_is_in_the_bibliography(built, pdf_text):
    _, result = built
    parser = _html(result)
    assert parser.cites and parser.cites <= parser.refs, parser.cites - parser.refs
    refs_html = _html_text(result).split("References", 2)[-1]
    refs_pdf = pdf_text.rsplit("References", 1)[-1]
    for work in WORKS:
        assert work in refs_html, work
        assert work in refs_pdf, work
    # citations are author-date in both formats
    assert re.search(r"\(Cameron et al\. 2008", _html_text(result))
    assert re.search(r"\(Cameron et al\. 2008", re.sub(r"\s+", " ", pdf_text))


def test_typography(built):
    _, result = built
    text = _html_text(result)
    assert "p < 0.001" in text or "< 0.001" in text or "<0.001" not in text
    assert "<0.001" not in text.replace("< 0.001", "")
    assert not re.search(r"(?<![\w\-])-\d", re.sub(r"`[^`]*`|--\w+|\d{4}-\d{2}-\d{2}", "", text).replace("2015–", ""))
    assert not re.search(r"\b1 treated pilot units", text) and "treated pilot unit(s)" not in text
    assert "percentage points" in text


def test_no_unresolved_shortcodes_or_references(built):
    _, result = built
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert "{{<" not in html
    assert not re.search(r"@(fig|tbl|sec)-", html)
    assert not re.search(r"\b(fig|tbl|sec)-[\w-]+\?", _html_text(result))  # citeproc's unresolved key
    assert 'href="report.pdf"' in html


def test_pdf_opens_with_expected_chapters(pdf_text):
    text = re.sub(r"\s+", " ", pdf_text)
    for title in MODEL_TITLES + ["Summary", "Tiivistelmä", "Limitations", "Glossary", "Appendix"]:
        assert title in text, title
    assert "{{<" not in text and "#ref(" not in text
    assert not re.search(r"\b(fig|tbl|sec)-[\w-]+\?", text)  # an unresolved cross-reference


def test_variables_file_written(built):
    tmp, _ = built
    yml = (tmp / "build" / "variables.yml").read_text(encoding="utf-8")
    # keyed by run id, so that no run can overwrite another's numbers
    assert "integrated_welfare__sote_net_costs:" in yml and "twfe_cluster:" in yml


def test_failed_run_is_reported(built):
    _, result = built
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert "Run failed" in html and "youth_outside_education" in html


def test_unknown_variable_is_an_input_error():
    with pytest.raises(InputError, match="nope"):
        substitute_variables("x {{< var nope.a >}}", {})


def test_crossrefs_numbered_in_order():
    text = ("See @fig-a and @tbl-b.\n\n![A](a.png){#fig-a}\n\n| x |\n|---|\n| 1 |\n\n: B {#tbl-b}\n")
    out = number_crossrefs(text, link=False)
    assert "See `#ref(<fig-a>)`{=typst} and `#ref(<tbl-b>)`{=typst}." in out  # Typst numbers them
    assert "![A](a.png){#fig-a}" in out and ": B {#tbl-b}" in out
    html = number_crossrefs(text, link=True)
    assert "![Figure 1: A](a.png){#fig-a}" in html and ": Table 1: B" in html
    assert "[Figure 1](#fig-a)" in html and "[Table 1](#tbl-b)" in html


def test_typographic_numbers():
    assert typographic("-35.0") == "\u221235.0"
    assert typographic("<0.001") == "< 0.001"
    assert typographic("1235") == "1,235" and typographic("-12345.5") == "\u221212,345.5"
    assert typographic("2015", thousands=False) == "2015"
    assert display_text("a.b.year_start", "2010") == "2010"


def test_bad_format_and_missing_runs(tmp_path):
    with pytest.raises(InputError, match="valid choices"):
        render(FIXTURES, tmp_path / "b", tmp_path / "o", formats=["docx"], use_quarto=False)
    with pytest.raises(InputError, match="no run folder"):
        render(tmp_path / "none", tmp_path / "b", tmp_path / "o", use_quarto=False)


def test_model_order_covers_six_models():
    assert len(MODEL_ORDER) == 6


def test_quarto_project_structure():
    """_quarto.yml: pre/post-render scripts, output names, author-date CSL, numbering in both."""
    conf = yaml.safe_load((paths.REPORTS / "_quarto.yml").read_text(encoding="utf-8"))
    project = conf["project"]
    assert project["render"] == ["index.qmd"] and project["output-dir"] == "_output"
    for key in ("pre-render", "post-render"):
        assert (paths.REPORTS / project[key]).is_file()
    assert conf["format"]["html"]["output-file"] == "report.html"
    assert conf["format"]["typst"]["output-file"] == "report.pdf"
    assert conf["format"]["typst"]["citeproc"] is True  # pandoc citeproc: author-date as in HTML
    csl = paths.REPORTS / conf["csl"]
    assert "author-date" in csl.read_text(encoding="utf-8")[:3000]
    assert (paths.REPORTS / "csl" / "LICENSE.md").is_file()
    assert conf["number-sections"] is True and conf["toc"] is True
    assert (paths.REPORTS / conf["bibliography"]).is_file()
    assert ".appendix" not in (paths.REPORTS / "_appendix.qmd").read_text(encoding="utf-8")


def test_pre_render_script_as_quarto_runs_it(tmp_path):
    """Run reports/_prerender.py the way Quarto does; every include and variable then resolves."""
    project = tmp_path / "reports"
    shutil.copytree(paths.REPORTS, project, ignore=shutil.ignore_patterns("_build", "_output", "_generated",
                                                                          "_variables.yml", ".quarto"))
    env = dict(os.environ, QUARTO_PROJECT_RENDER_ALL="1", QUARTO_PROJECT_DIR=str(project),
               QUARTO_PROJECT_OUTPUT_DIR="_output", QUARTO_PROJECT_INPUT_FILES="index.qmd",
               KUNTAKOKEILU_RUNS_DIR=str(FIXTURES), KUNTAKOKEILU_PLAN="none")
    subprocess.run([sys.executable, "_prerender.py"], cwd=project, env=env, check=True)
    assert (project / "_variables.yml").is_file() and (project / "_generated" / "results.qmd").is_file()
    known = yaml.safe_load((project / "_variables.yml").read_text(encoding="utf-8"))

    def resolve(key):
        node = known
        for part in key.split("."):
            node = node[part]
        return node

    sources = [project / "index.qmd", *project.glob("_*.qmd"), *(project / "_generated").glob("*.*")]
    for src in sources:
        text = src.read_text(encoding="utf-8")
        for inc in re.findall(r"\{\{<\s*include\s+(\S+)\s*>\}\}", text):
            target = project / inc.lstrip("/") if inc.startswith("/") else src.parent / inc
            assert target.is_file(), f"{src.name} includes missing {inc}"
        for key in re.findall(r"\{\{<\s*var\s+([\w.\-]+)\s*>\}\}", text):
            assert isinstance(resolve(key), str), key
        for img in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
            assert (project / img).is_file(), img
    # a second run changes nothing (quarto preview re-runs it)
    before = {p: p.stat().st_mtime_ns for p in (project / "_generated").rglob("*") if p.is_file()}
    subprocess.run([sys.executable, "_prerender.py"], cwd=project, env=env, check=True)
    after = {p: p.stat().st_mtime_ns for p in (project / "_generated").rglob("*") if p.is_file()}
    assert before == after
    # post-render leaves only the two report files
    out = project / "_output"
    (out / "figures").mkdir(parents=True)
    for name in ("report.html", "report.pdf", "trends.png", "figures/x.png"):
        (out / name).write_text("x")
    subprocess.run([sys.executable, "_postrender.py"], cwd=project, env=env, check=True)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.pdf"]


def test_pre_render_without_runs_is_a_clear_error(tmp_path):
    project = tmp_path / "reports"
    shutil.copytree(paths.REPORTS, project, ignore=shutil.ignore_patterns("_build", "_output", "_generated"))
    env = dict(os.environ, QUARTO_PROJECT_DIR=str(project), KUNTAKOKEILU_RUNS_DIR=str(tmp_path / "none"),
               KUNTAKOKEILU_PLAN="none")
    done = subprocess.run([sys.executable, "_prerender.py"], cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "kuntakokeilu run" in done.stderr and "Traceback" not in done.stderr


def test_descriptive_and_non_model_runs(tmp_path):
    """Runs without estimates (descriptives) and runs of no model (data audit) still render."""
    runs = tmp_path / "runs"
    shutil.copytree(FIXTURES / "kela_cooperation__social_assistance_eur", runs / "kela_cooperation__social_assistance_eur")
    (runs / "data_audit").mkdir()
    (runs / "data_audit" / "run.json").write_text(json.dumps(
        {"run_id": "data_audit", "notebook": "00_data_audit.ipynb", "parameters": {},
         "status": "ok", "seconds": 1.5}), encoding="utf-8")
    shutil.copytree(FIXTURES / "descriptives__integrated_welfare", runs / "descriptives__integrated_welfare")
    result = render(runs, tmp_path / "build", tmp_path / "out", formats=["html"], use_quarto=False)
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert "Descriptive figures" in html and "data_audit" in html
    assert "Data audit" not in html  # no chapter for a non-model run


def test_map_draws_every_role(tmp_path):
    from analysis.plots import map as map_plot
    from analysis.raw import raw_path

    munis = map_plot.read_boundaries(raw_path("mml_kuntarajat.2023.json"))
    assert len(munis) > 300 and "091" in munis
    out = map_plot.pilot_map(munis, [("A", {"091": "pilot", "049": "comparison"}), ("B", {})], tmp_path / "m.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
    again = map_plot.pilot_map(munis, [("A", {"091": "pilot", "049": "comparison"}), ("B", {})], tmp_path / "n.png")
    assert again.read_bytes() == out.read_bytes()  # deterministic
