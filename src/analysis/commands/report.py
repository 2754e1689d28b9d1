"""``kuntakokeilu report``: render the evaluation report (HTML + PDF) from the executed runs."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="render the evaluation report (HTML + PDF) from the run outputs",
        description="Render reports/ into HTML and PDF from reports/_build/runs. Uses quarto if it "
                    "is on PATH, else pandoc (pypandoc-binary) + Typst; says which path it used.")
    p.add_argument("--build-dir", default=None, help="build folder (default reports/_build)")
    p.add_argument("--runs-dir", default=None, help="run folders (default <build-dir>/runs)")
    p.add_argument("--output-dir", default=None, help="output folder (default reports/_output)")
    p.add_argument("--format", default="html,pdf", help="comma-separated: html, pdf (default both)")
    p.add_argument("--no-quarto", action="store_true", help="use the pandoc + Typst path even if quarto exists")
    p.set_defaults(func=run)


def run(args) -> int:
    from analysis.report.render import render

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    result = render(args.runs_dir, args.build_dir, args.output_dir, formats,
                    use_quarto=False if args.no_quarto else None)
    print(f"report: rendered with {result.renderer}")
    for fmt, path in result.outputs.items():
        print(f"report: {fmt}: {path}")
    return 0
