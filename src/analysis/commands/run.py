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
            "A run replaces its earlier outputs only when it succeeds. One run at a time per "
            "build folder. Ctrl-C stops every run and kernel; running again does only the "
            "unfinished runs. Exit code 0 if all runs succeeded, 1 if any failed, 2 for invalid "
            "parameters or a busy build folder, 130 when interrupted."
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


def check_panel(panel: str | None, log=print) -> None:
    """The panel must exist and be readable before any notebook starts; the default panel is
    built (``kuntakokeilu panel``) when it is missing."""
    from pathlib import Path

    from .. import paths
    from ..errors import InputError

    path = Path(panel) if panel else paths.PANEL_FILE
    if not path.is_file():
        if panel:
            raise InputError(f"panel file not found: {path}; build it with `kuntakokeilu panel --out {path}` "
                             "or leave out --panel to use data/processed/panel.parquet")
        log(f">> run: no panel at {path}; building it first (kuntakokeilu panel)")
        from ..live.config import configured_series
        from ..panel import build_panel

        build_panel(extra_series=configured_series(), out_path=None,
                    log=lambda m: log(f">> panel: {m}"))
    try:
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
    except Exception as exc:
        raise InputError(f"the panel {path} is not a readable Parquet file ({exc}); rebuild it with "
                         "`kuntakokeilu panel`") from None
    missing = [c for c in ("kunta", "year") if c not in names]
    if missing:
        raise InputError(f"the panel {path} lacks the column(s) {', '.join(missing)}; rebuild it with "
                         "`kuntakokeilu panel`")


def main(args: argparse.Namespace) -> int:
    import sys

    from ..errors import InputError
    from ..pipeline.plan import load_plan

    if args.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {args.jobs}")
    plan = load_plan(args.plan)
    entries = plan.select(args.only)
    if args.list:
        for entry in entries:
            print(f"{entry.run_id}\t{entry.notebook.name}\t{entry.parameters}")
        return 0
    check_panel(args.panel, log=lambda m: print(m, file=sys.stderr, flush=True))
    from ..pipeline.parameters import default_domains
    from ..pipeline.runner import _prepare, run_plan, runs_dir

    domains = default_domains(args.panel)
    if args.check:
        _prepare(entries, args.build_dir, args.panel, domains)
        print(f"plan OK: {len(entries)} run(s) validated")
        return 0
    try:
        outcomes = run_plan(entries, build_dir=args.build_dir, jobs=args.jobs, force=args.force,
                            panel_path=args.panel, domains=domains)
    except KeyboardInterrupt as exc:
        outcomes = getattr(exc, "outcomes", None) or []
        stopped = [o.run_id for o in outcomes if o.status == "interrupted"]
        queued = [o.run_id for o in outcomes if o.status == "not started"]
        print(f"interrupted: stopped {len(stopped)} run(s) in progress"
              + (f" ({', '.join(stopped)})" if stopped else "")
              + f" and {len(queued)} not started; earlier outputs are kept. "
              "`kuntakokeilu run` again does only the unfinished runs.", file=sys.stderr)
        return 130
    counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "skipped", "failed")}
    total = sum(o.seconds for o in outcomes)
    print(f"runs: {counts['ok']} ran, {counts['skipped']} unchanged (skipped), {counts['failed']} failed "
          f"({total:.0f} s of notebook time) -> {runs_dir(args.build_dir)}")
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        print(f"FAILED {o.run_id}: {o.error}\n       executed notebook: {o.run_dir / 'notebook.ipynb'}"
              "\n       (earlier outputs, if any, are kept in the run folder)", file=sys.stderr)
    return 1 if failed else 0
