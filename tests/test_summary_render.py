"""The built report's summaries (pandoc + Typst path) from constructed run folders: the
tiivistelmä is marked Finnish and has no English outcome or model names and no decimal points,
the sammandrag is marked Swedish, the glance table and forest plot lead the summary."""
from __future__ import annotations

import re

import pytest

from analysis import codebook
from analysis.report.render import render
from analysis.report.runs import load_runs
from analysis.report.summary import collect
from test_summary import make_runs


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("summary_report")
    runs_dir = make_runs(tmp / "runs")
    result = render(runs_dir, tmp / "build", tmp / "out", use_quarto=False)
    return tmp, result, collect(load_runs(runs_dir))


def _section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    j = text.index(end, i + len(start))
    return text[i:j]


def _check_finnish(text: str, rows) -> None:
    for g in rows:
        if g.outcome:
            assert codebook.outcome_name(g.outcome, "en") not in text, g.outcome
        assert codebook.model_name(g.model, "en") not in text, g.model
    # a decimal point (dates such as 5.1.2015 are Finnish and allowed)
    point = re.search(r"(?<![\d.])\d+\.\d+(?![\d.])", text)
    assert point is None, text[max(point.start() - 40, 0):point.end() + 40]
    assert "prosenttiyksikköä" in text and "euroa asukasta kohden" in text


def test_html_tiivistelma_is_finnish(built):
    tmp, result, rows = built
    html = result.outputs["html"].read_text(encoding="utf-8")
    fi = re.search(r'<div[^>]*lang="fi"[^>]*>(.*?)</div>\s*<h1', html, re.S)
    assert fi, "no lang=fi section"
    text = re.sub(r"<[^>]+>", " ", fi.group(1)).replace("&nbsp;", "\u00a0")
    _check_finnish(text, rows)
    assert 'lang="sv"' in html
    summary = _section(html, 'id="sec-summary"', 'id="sec-tiivistelma"')
    assert summary.index("tbl-glance") < summary.index("fig-forest") < summary.index("Verdicts for")
    assert "data:image/png;base64" in summary


def test_pdf_tiivistelma_is_finnish(built):
    from pypdf import PdfReader

    tmp, result, rows = built
    text = "\n".join(p.extract_text() or "" for p in PdfReader(result.outputs["pdf"]).pages)
    body = text[text.index("Laki 1350/2014"):]  # after the table of contents
    fi = _section(body, "Laki 1350/2014", "Sammandrag")
    # undo line-end hyphenation of the PDF text before looking for names
    fi = re.sub(r"-\n", "", fi).replace("\n", " ")
    _check_finnish(fi, rows)
    assert "Results at a glance" in text and "Sammandrag" in text
