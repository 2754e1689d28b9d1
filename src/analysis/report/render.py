"""Build the report: stage sources + generated parts, then render HTML and PDF.

With ``quarto`` on PATH: ``quarto render`` of the staged project. Otherwise the fallback path:
the same sources are pre-processed here (``{{< include >}}`` expanded, ``{{< var >}}``
substituted from the variables file, figure/table/section cross-references numbered,
callouts turned into divs), then pandoc (``pypandoc-binary``) writes a self-contained HTML
(``--embed-resources``) and Typst source, which the PyPI ``typst`` package compiles to PDF.
The generated parts (``_generated/``, ``_variables.yml``) are written by :func:`generate_parts`,
which Quarto runs as the project's ``pre-render`` script (:mod:`analysis.report.prerender`), so
``quarto render reports/`` and ``quarto preview reports/`` work on their own after
``kuntakokeilu run``. Outputs: ``report.html`` and ``report.pdf``, nothing else.
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
OUTPUT_FILES = ("report.html", "report.pdf")
CONTACT = ("kuntakokeilu-analysis contributors; questions and corrections as issues in the "
           "project's repository")
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
        if key.startswith("meta."):
            return flat[key]["text"]
        return f'[{display_text(key, flat[key]["text"])}]{{.kvar data-key="{key}"}}'

    return VAR_RE.sub(repl, text)


def display_text(key: str, text: str) -> str:
    """A variable's printed form: U+2212 minus, ``< 0.001``, thousands separators (not for years)."""
    return chapters.typographic(text, thousands="year" not in key.rsplit(".", 1)[-1])


def number_crossrefs(text: str, link: bool = True) -> str:
    """Number figures and tables, and resolve ``@fig-``/``@tbl-``/``@sec-`` references.

    HTML (``link``): captions get "Figure n:"/"Table n:" and references become links with the
    same number. Typst: figure and table references become Typst references (``#ref(<id>)``),
    so that Typst prints the number of the labelled caption itself; sections are quoted titles.
    """
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
        if not link:  # Typst numbers tables itself ("Table n:"); the label stays for #ref
            return m.group(0)
        return f": Table {t}: {m.group('cap')} []{{#{m.group('id')}}}"

    text = TBL_CAP_RE.sub(tbl, text)
    for m in SEC_RE.finditer(text):
        names[m.group("id")] = f"“{m.group('title')}”"

    def ref(m):
        key = m.group("id")
        if key not in names:
            return m.group(0)
        if not link and not key.startswith("sec-"):
            return f"`#ref(<{key}>)`{{=typst}}"
        return f"[{names[key]}](#{key})" if link else names[key]

    return REF_RE.sub(ref, text)


def convert_callouts(text: str) -> str:
    def repl(m):
        kind = m.group("kind")
        title = m.group("title") or kind.capitalize()
        return f"::: {{.callout .callout-{kind}}}\n[{title}]{{.callout-title}}\n"

    return CALLOUT_RE.sub(lambda m: repl(m).replace("[" + (m.group("title") or m.group("kind").capitalize()) + "]{.callout-title}",
                                                    "**" + (m.group("title") or m.group("kind").capitalize()) + ".**"), text)


VISIBLE_RE = re.compile(r"^:::[ \t]*\{\.content-visible when-format=\"(?P<fmt>\w+)\"\}[ \t]*\n(?P<body>.*?)^:::[ \t]*\n",
                        re.M | re.S)


def format_blocks(text: str, fmt: str) -> str:
    """Quarto's ``::: {.content-visible when-format="html"}``: kept (unwrapped) for that format only."""
    return VISIBLE_RE.sub(lambda m: m.group("body") + "\n" if m.group("fmt") == fmt else "\n", text)


def preprocess(site: Path, flat: dict[str, dict], link: bool = True) -> str:
    """The fallback path's single Markdown document from ``site/index.qmd``."""
    text = (site / "index.qmd").read_text(encoding="utf-8")
    text = expand_includes(text, site, site)
    text = format_blocks(text, "html" if link else "typst")
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


def _front_matter(index: Path) -> dict:
    import yaml

    text = index.read_text(encoding="utf-8") if index.exists() else ""
    m = re.match(r"^---\n(.*?)\n---", text, re.S)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}


def _flat_with_meta(vs, meta: dict[str, str] | None) -> dict[str, dict]:
    """The variables plus the title page's texts (``meta.version``, ``meta.data``, ``meta.contact``)."""
    flat = dict(vs.flat())
    for k, v in (meta or {}).items():
        flat[f"meta.{k}"] = {"value": None, "text": v, "digits": None, "source": "title page"}
    return flat


def write_quarto_variables(vs, path: Path, meta: dict[str, str] | None = None) -> Path:
    """``_variables.yml`` for Quarto's ``{{< var >}}``: nested keys, printed (typographic) texts."""
    import yaml

    nested: dict = {}
    for key, entry in _flat_with_meta(vs, meta).items():
        node = nested
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = entry["text"] if key.startswith("meta.") else display_text(key, entry["text"])
    return atomic.write_text(Path(path), "# generated by analysis.report (pre-render) -- do not edit\n"
                             + yaml.safe_dump(nested, allow_unicode=True, sort_keys=True))


def _sync_tree(src: Path, dst: Path) -> None:
    """Make ``dst`` equal to ``src``, rewriting only files whose bytes changed (quiet for preview)."""
    dst.mkdir(parents=True, exist_ok=True)
    wanted = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
    for p in sorted(dst.rglob("*"), reverse=True):
        rel = p.relative_to(dst)
        if p.is_file() and rel not in wanted:
            p.unlink()
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()
    for rel in sorted(wanted):
        s, d = src / rel, dst / rel
        if d.is_file() and d.read_bytes() == s.read_bytes():
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(s, d)


def generate_parts(runs_dir: Path, site: Path, build_dir: Path | None = None, root: Path = paths.ROOT,
                   renderer: str = "quarto", runs=None, plan=None, allow_missing: bool = False) -> dict[str, dict]:
    """Write the generated parts of the Quarto project ``site``: ``_generated/`` (chapters, tables,
    figures, appendix) and ``_variables.yml``; also ``variables.yml``/``variables.json`` (with each
    number's source) into ``build_dir``. Returns the flat variables. Reads run folders only."""
    import tempfile

    from importlib import metadata

    site = Path(site)
    if runs is None:
        runs = load_runs(runs_dir, plan, allow_missing=allow_missing)
    registry = chapters.load_registry(root / "data" / "reference")
    vs = variables.build_variables(runs, registry)
    if build_dir is not None:
        variables.write_variables(vs, build_dir)
    front = _front_matter(site / "index.qmd")
    try:
        version = metadata.version("kuntakokeilu-analysis")
    except metadata.PackageNotFoundError:
        version = "unknown"
    meta = chapters.title_meta(runs, str(front.get("version") or version),
                               str(front.get("contact") or CONTACT))
    with tempfile.TemporaryDirectory(dir=site, prefix=".gen-") as tmp:
        tmp_site = Path(tmp)
        chapters.generate(runs, vs, tmp_site, registry, root / "data" / "raw" / "MANIFEST.csv",
                          reference_dir=root / "data" / "reference", raw_dir=root / "data" / "raw",
                          version=str(front.get("version") or version),
                          contact=str(front.get("contact") or CONTACT))
        atomic.write_text(tmp_site / "_generated" / "reproducibility.md",
                          reproducibility.appendix_markdown(root, root / "data" / "raw", runs, renderer))
        _sync_tree(tmp_site / "_generated", site / "_generated")
    target = site / "_variables.yml"
    with tempfile.TemporaryDirectory() as tmp:
        fresh = write_quarto_variables(vs, Path(tmp) / "_variables.yml", meta)
        if not target.exists() or target.read_bytes() != fresh.read_bytes():
            shutil.copy2(fresh, target)
    return _flat_with_meta(vs, meta)


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
    skip = ("_build", "_output", ".quarto", "_generated", "_variables.yml", "README.md")
    for p in reports_dir.iterdir():
        if p.name.startswith(skip) or p.name.startswith(".gen-"):
            continue
        if p.is_dir():
            shutil.copytree(p, site / p.name)
        else:
            shutil.copy2(p, site / p.name)
    mark_draft(site, runs)
    flat = generate_parts(runs_dir, site, build_dir, root, renderer, runs=runs)
    return site, flat


def clean_output(output_dir: Path, keep=OUTPUT_FILES) -> list[Path]:
    """Remove everything but the report files from ``output_dir`` (figures copied by Quarto etc.)."""
    removed = []
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return removed
    for p in sorted(output_dir.iterdir()):
        if p.name in keep:
            continue
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
        removed.append(p)
    return removed


def _render_fallback(site: Path, flat: dict, output_dir: Path, formats) -> dict[str, Path]:
    import pypandoc

    out: dict[str, Path] = {}
    common = ["--citeproc", f"--bibliography={site / 'references.bib'}",
              f"--csl={site / 'csl' / 'chicago-author-date.csl'}", "--toc", "--toc-depth=2",
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
                                                   f"--lua-filter={site / 'filters' / 'tables-typst.lua'}",
                                                   f"--include-in-header={site / 'typst-header.typ'}",
                                                   "-V", "papersize=a4",
                                                   f"--metadata-file={site / 'typst-metadata.yaml'}",
                                                   "-V", "fontsize=10.5pt"])
        target = output_dir / "report.pdf"
        with atomic.atomic_path(target, suffix=".pdf") as tmp:
            typst.compile(str(typ), output=str(tmp), root=str(site))
        out["pdf"] = target
    return out


def _render_quarto(quarto: str, site: Path, runs_dir: Path, output_dir: Path, formats, plan=None,
                   allow_missing: bool = False) -> dict[str, Path]:
    import os

    out: dict[str, Path] = {}
    env = dict(os.environ, KUNTAKOKEILU_RUNS_DIR=str(Path(runs_dir).resolve()),
               KUNTAKOKEILU_PLAN=str(plan.path) if plan is not None else "none",
               KUNTAKOKEILU_ALLOW_MISSING="1" if allow_missing else "0")
    for fmt in formats:
        qfmt = "typst" if fmt == "pdf" else "html"
        subprocess.run([quarto, "render", "--to", qfmt], cwd=site, check=True, env=env)
        produced = site / "_output" / f"report.{fmt}"
        target = output_dir / f"report.{fmt}"
        if produced.resolve() != target.resolve():
            shutil.copy2(produced, target)
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
        outputs = _render_quarto(quarto, site, runs_dir, output_dir, formats, plan, allow_missing)
    else:
        outputs = _render_fallback(site, flat, output_dir, formats)
    clean_output(output_dir)
    return RenderResult(renderer, outputs)
