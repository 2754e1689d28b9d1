"""Build the report: stage sources + generated parts, then render HTML and PDF.

With ``quarto`` on PATH: ``quarto render`` of the staged project. Otherwise the fallback path:
the same sources are pre-processed here (``{{< include >}}`` expanded, ``{{< var >}}``
substituted from the variables file, figure/table/section cross-references numbered,
callouts turned into divs), then pandoc (``pypandoc-binary``) writes a self-contained HTML
(``--embed-resources``) and Typst source, which the PyPI ``typst`` package compiles to PDF.
See ``reports/README.md``.
"""
from __future__ import annotations

import datetime as _dt
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import atomic, paths
from ..errors import InputError
from . import chapters, reproducibility, variables
from .runs import load_runs

INCLUDE_RE = re.compile(r"\{\{<\s*include\s+(\S+)\s*>\}\}")
VAR_RE = re.compile(r"\{\{<\s*var\s+([\w.\-]+)\s*>\}\}")
FIG_RE = re.compile(r"!\[(?P<cap>[^\]]*)\]\((?P<src>[^)]+)\)\{#(?P<id>fig-[\w\-]+)(?P<rest>[^}]*)\}")
TBL_CAP_RE = re.compile(r"^: (?P<cap>.*?)\s*\{#(?P<id>tbl-[\w\-]+)\}[ \t]*$", re.M)
SEC_RE = re.compile(r"^(?P<hashes>#+)\s+(?P<title>.*?)\s*\{#(?P<id>sec-[\w\-]+)[^}]*\}[ \t]*$", re.M)
REF_RE = re.compile(r"(?<![\w\[@])@(?P<id>(?:fig|tbl|sec)-[\w\-]*[\w])")
CALLOUT_RE = re.compile(r"^:::\s*\{\.callout-(?P<kind>\w+)(?:\s+title=\"(?P<title>[^\"]*)\")?\s*\}\s*$", re.M)
FORMATS = ("html", "pdf")


@dataclass
class RenderResult:
    renderer: str
    outputs: dict[str, Path]


def expand_includes(text: str, base: Path, root: Path, depth: int = 0) -> str:
    """Expand ``{{< include path >}}`` recursively (``/path`` = project root, else relative)."""
    if depth > 10:
        raise InputError("include nesting deeper than 10 levels (circular include?)")

    def repl(m):
        target = m.group(1)
        path = root / target.lstrip("/") if target.startswith("/") else base / target
        if not path.exists():
            raise InputError(f"included file not found: {target} (from {base})")
        body = expand_includes(path.read_text(encoding="utf-8"), path.parent, root, depth + 1)
        return "\n" + body.strip("\n") + "\n\n"

    return INCLUDE_RE.sub(repl, text)


def substitute_variables(text: str, flat: dict[str, dict]) -> str:
    """Replace ``{{< var key >}}`` by ``[text]{.kvar data-key="key"}``; unknown keys are errors."""
    def repl(m):
        key = m.group(1)
        if key not in flat:
            raise InputError(f"report uses variable {key!r} that the runs do not provide")
        return f'[{flat[key]["text"]}]{{.kvar data-key="{key}"}}'

    return VAR_RE.sub(repl, text)


def number_crossrefs(text: str, link: bool = True) -> str:
    """Number figures and tables, and resolve ``@fig-``/``@tbl-``/``@sec-`` references."""
    names: dict[str, str] = {}
    n = 0

    def fig(m):
        nonlocal n
        n += 1
        names[m.group("id")] = f"Figure {n}"
        if not link:  # Typst numbers figures itself ("Figure n:")
            return m.group(0)
        return f"![Figure {n}: {m.group('cap')}]({m.group('src')}){{#{m.group('id')}{m.group('rest')}}}"

    text = FIG_RE.sub(fig, text)
    t = 0

    def tbl(m):
        nonlocal t
        t += 1
        names[m.group("id")] = f"Table {t}"
        if not link:  # Typst numbers tables itself ("Table n:")
            return f": {m.group('cap')}"
        return f": Table {t}: {m.group('cap')} []{{#{m.group('id')}}}"

    text = TBL_CAP_RE.sub(tbl, text)
    for m in SEC_RE.finditer(text):
        names[m.group("id")] = f"“{m.group('title')}”"

    def ref(m):
        key = m.group("id")
        if key not in names:
            return m.group(0)
        return f"[{names[key]}](#{key})" if link else names[key]

    return REF_RE.sub(ref, text)


def convert_callouts(text: str) -> str:
    def repl(m):
        kind = m.group("kind")
        title = m.group("title") or kind.capitalize()
        return f"::: {{.callout .callout-{kind}}}\n[{title}]{{.callout-title}}\n"

    return CALLOUT_RE.sub(lambda m: repl(m).replace("[" + (m.group("title") or m.group("kind").capitalize()) + "]{.callout-title}",
                                                    "**" + (m.group("title") or m.group("kind").capitalize()) + ".**"), text)


def preprocess(site: Path, flat: dict[str, dict], link: bool = True) -> str:
    """The fallback path's single Markdown document from ``site/index.qmd``."""
    text = (site / "index.qmd").read_text(encoding="utf-8")
    text = expand_includes(text, site, site)
    text = re.sub(r"^date:\s*today\s*$", f"date: {_dt.date.today().isoformat()}", text, count=1, flags=re.M)
    text = substitute_variables(text, flat)
    text = convert_callouts(text)
    return number_crossrefs(text, link=link)


def mark_draft(site: Path, runs) -> None:
    """Mark a partial draft (runs of the plan without results) on the title page."""
    missing = [r for r in runs if getattr(r, "missing", False)]
    if not missing:
        return
    index = site / "index.qmd"
    text = index.read_text(encoding="utf-8")
    text = re.sub(r'^title:\s*"(.*)"\s*$', lambda m: f'title: "DRAFT: {m.group(1)}"', text, count=1, flags=re.M)
    names = ", ".join(f"`{r.run_id}` ({r.status})" for r in missing)
    callout = ("::: {.callout-warning title=\"Partial draft\"}\n"
               f"This draft lacks {len(missing)} run(s) of the evaluation plan: {names}. "
               "Their chapters are incomplete; numbers elsewhere may change when they are run.\n:::\n")
    parts = text.split("---\n", 2)
    text = f"---\n{parts[1]}---\n\n{callout}" + parts[2] if len(parts) == 3 and not parts[0] else callout + text
    index.write_text(text, encoding="utf-8")


def stage(runs_dir: Path, build_dir: Path, reports_dir: Path = paths.REPORTS,
          root: Path = paths.ROOT, renderer: str = "fallback", plan=None,
          allow_missing: bool = False) -> tuple[Path, dict]:
    """Copy the report sources into ``build_dir/site`` and generate every data-driven part.

    With a ``plan`` only its runs are read (:func:`analysis.report.runs.load_plan_runs`)."""
    runs = load_runs(runs_dir, plan, allow_missing=allow_missing)
    site = build_dir / "site"
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    for p in reports_dir.iterdir():
        if p.name.startswith(("_build", "_output", ".quarto")) or p.name == "README.md":
            continue
        if p.is_dir():
            shutil.copytree(p, site / p.name)
        else:
            shutil.copy2(p, site / p.name)
    mark_draft(site, runs)
    registry = chapters.load_registry(root / "data" / "reference")
    vs = variables.build_variables(runs, registry)
    variables.write_variables(vs, build_dir)
    shutil.copy2(build_dir / "variables.yml", site / "_variables.yml")
    chapters.generate(runs, vs, site, registry, root / "data" / "raw" / "MANIFEST.csv")
    atomic.write_text(site / "_generated" / "reproducibility.md",
                      reproducibility.appendix_markdown(root, root / "data" / "raw", runs, renderer))
    return site, vs.flat()


def _render_fallback(site: Path, flat: dict, output_dir: Path, formats) -> dict[str, Path]:
    import pypandoc

    out: dict[str, Path] = {}
    common = ["--citeproc", f"--bibliography={site / 'references.bib'}", "--toc",
              "--number-sections", f"--resource-path={site}"]
    if "html" in formats:
        md = preprocess(site, flat, link=True)
        (site / "report_html.md").write_text(md, encoding="utf-8")
        target = output_dir / "report.html"
        with atomic.atomic_path(target, suffix=".html") as tmp:
            pypandoc.convert_file(str(site / "report_html.md"), "html5", format="markdown",
                                  outputfile=str(tmp), cworkdir=str(site),
                                  extra_args=common + ["--standalone", "--embed-resources",
                                                       f"--css={site / 'report.css'}"])
        out["html"] = target
    if "pdf" in formats:
        import typst

        md = preprocess(site, flat, link=False)
        (site / "report_typst.md").write_text(md, encoding="utf-8")
        typ = site / "report.typ"
        pypandoc.convert_file(str(site / "report_typst.md"), "typst", format="markdown",
                              outputfile=str(typ), cworkdir=str(site),
                              extra_args=common + ["--standalone",
                                                   f"--lua-filter={site / 'filters' / 'callout-typst.lua'}",
                                                   f"--include-in-header={site / 'typst-header.typ'}",
                                                   "-V", "papersize=a4",
                                                   f"--metadata-file={site / 'typst-metadata.yaml'}",
                                                   "-V", "fontsize=10.5pt"])
        target = output_dir / "report.pdf"
        with atomic.atomic_path(target, suffix=".pdf") as tmp:
            typst.compile(str(typ), output=str(tmp), root=str(site))
        out["pdf"] = target
    return out


def _render_quarto(quarto: str, site: Path, output_dir: Path, formats) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for fmt in formats:
        qfmt = "typst" if fmt == "pdf" else "html"
        subprocess.run([quarto, "render", "index.qmd", "--to", qfmt, "--output-dir", str(output_dir)],
                       cwd=site, check=True)
        produced = output_dir / f"index.{fmt}"
        target = output_dir / f"report.{fmt}"
        if produced.exists():
            produced.replace(target)
        out[fmt] = target
    return out


def render(runs_dir: str | Path | None = None, build_dir: str | Path | None = None,
           output_dir: str | Path | None = None, formats=FORMATS, use_quarto: bool | None = None,
           reports_dir: Path = paths.REPORTS, root: Path = paths.ROOT, plan=None,
           allow_missing: bool = False) -> RenderResult:
    """Render the report; returns which renderer was used and the output paths.

    ``plan`` (a :class:`analysis.pipeline.plan.Plan`) decides which runs are read; missing or
    failed runs are an error unless ``allow_missing`` (a draft marked as partial)."""
    formats = tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(f"unknown report format {', '.join(bad) or '(none)'}; valid choices: html, pdf")
    build_dir = Path(build_dir) if build_dir else paths.BUILD
    runs_dir = Path(runs_dir) if runs_dir else build_dir / "runs"
    output_dir = Path(output_dir) if output_dir else paths.OUTPUT
    quarto = shutil.which("quarto") if use_quarto is not False else None
    if use_quarto and not quarto:
        raise InputError("quarto requested but not found on PATH")
    renderer = "quarto" if quarto else "pandoc + Typst (fallback, no quarto on PATH)"
    site, flat = stage(runs_dir, build_dir, reports_dir, root, renderer, plan=plan,
                       allow_missing=allow_missing)
    output_dir.mkdir(parents=True, exist_ok=True)
    if quarto:
        outputs = _render_quarto(quarto, site, output_dir, formats)
    else:
        outputs = _render_fallback(site, flat, output_dir, formats)
    return RenderResult(renderer, outputs)
