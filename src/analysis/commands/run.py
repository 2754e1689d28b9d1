"""``kuntakokeilu run``: execute the evaluation plan (notebooks/runs.yaml) with papermill."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="execute the notebooks of the evaluation plan (notebooks/runs.yaml)",
        description=(
            "Validate every selected run's parameters, then execute the notebooks with papermill "
            "into <build-dir>/runs/<run_id>/, in parallel, skipping runs whose inputs (notebook, "
            "parameters, panel, package version) are unchanged since their last success. "
            "Exit code 0 if all runs succeeded, 1 if any failed, 2 for invalid parameters."
        ),
    )
    parser.add_argument("--only", metavar="PATTERN", action="append",
                        help="run ids to run (glob, or substring); repeatable")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="parallel runs (default 1)")
    parser.add_argument("--force", action="store_true", help="rerun even if inputs are unchanged")
    parser.add_argument("--build-dir", metavar="DIR", help="build folder (default reports/_build)")
    parser.add_argument("--plan", metavar="FILE", help="plan file (default notebooks/runs.yaml)")
    parser.add_argument("--panel", metavar="FILE", help="panel parquet (default data/processed/panel.parquet)")
    parser.add_argument("--list", action="store_true", help="list the selected runs and exit")
    parser.add_argument("--check", action="store_true", help="validate the plan's parameters only")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import sys

    from ..errors import InputError
    from ..pipeline.parameters import default_domains
    from ..pipeline.plan import load_plan
    from ..pipeline.runner import run_plan, runs_dir, _prepare

    if args.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {args.jobs}")
    plan = load_plan(args.plan)
    entries = plan.select(args.only)
    if args.list:
        for entry in entries:
            print(f"{entry.run_id}\t{entry.notebook.name}\t{entry.parameters}")
        return 0
    domains = default_domains(args.panel)
    if args.check:
        _prepare(entries, args.build_dir, args.panel, domains)
        print(f"plan OK: {len(entries)} run(s) validated")
        return 0
    outcomes = run_plan(entries, build_dir=args.build_dir, jobs=args.jobs, force=args.force,
                        panel_path=args.panel, domains=domains)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "skipped", "failed")}
    total = sum(o.seconds for o in outcomes)
    print(f"runs: {counts['ok']} ran, {counts['skipped']} unchanged (skipped), {counts['failed']} failed "
          f"({total:.0f} s of notebook time) -> {runs_dir(args.build_dir)}")
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        print(f"FAILED {o.run_id}: {o.error}\n       executed notebook: {o.run_dir / 'notebook.ipynb'}",
              file=sys.stderr)
    return 1 if failed else 0
