"""``kuntakokeilu report``: render the evaluation report (HTML + PDF) from the executed runs."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="render the evaluation report (HTML + PDF) from the run outputs",
        description="Render reports/ into HTML and PDF from the runs of the plan (notebooks/runs.yaml) "
                    "in reports/_build/runs. Run folders the plan does not list, or run with other "
                    "parameters, are ignored with a notice; a missing or failed run is an error (exit 2) "
                    "unless --allow-missing. Uses quarto if it is on PATH, else pandoc "
                    "(pypandoc-binary) + Typst; says which path it used.")
    p.add_argument("--build-dir", default=None, help="build folder (default reports/_build)")
    p.add_argument("--runs-dir", default=None, help="run folders (default <build-dir>/runs)")
    p.add_argument("--output-dir", default=None, help="output folder (default reports/_output)")
    p.add_argument("--format", default="html,pdf", help="comma-separated: html, pdf (default both)")
    p.add_argument("--plan", default=None,
                   help="plan file that decides which runs belong to the report "
                        "(default notebooks/runs.yaml)")
    p.add_argument("--allow-missing", action="store_true",
                   help="build a partial draft when runs of the plan are missing, stale or failed "
                        "(marked on the title page and in each affected chapter); otherwise that "
                        "is an error naming the runs")
    p.add_argument("--no-quarto", action="store_true", help="use the pandoc + Typst path even if quarto exists")
    p.set_defaults(func=run)


def run(args) -> int:
    from analysis.pipeline.plan import load_plan
    from analysis.report.render import render

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    plan = load_plan(args.plan)
    result = render(args.runs_dir, args.build_dir, args.output_dir, formats,
                    use_quarto=False if args.no_quarto else None, plan=plan,
                    allow_missing=args.allow_missing)
    print(f"report: rendered with {result.renderer}")
    for fmt, path in result.outputs.items():
        print(f"report: {fmt}: {path}")
    return 0
