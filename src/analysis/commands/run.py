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
    parser.add_argument("--fresh-kernels", action="store_true",
                        help="start a new kernel for every run (default: each job keeps its kernel for "
                             "its next run, reset in between; a new one after a failure)")
    parser.add_argument("--build-dir", metavar="DIR", help="build folder (default reports/_build)")
    parser.add_argument("--plan", metavar="FILE", help="plan file (default notebooks/runs.yaml)")
    parser.add_argument("--panel", metavar="FILE", help="panel parquet (default data/processed/panel.parquet)")
    parser.add_argument("--list", action="store_true", help="list the selected runs and exit")
    parser.add_argument("--check", action="store_true", help="validate the plan's parameters only")
    parser.set_defaults(func=main)


#: what the default panel is built from: a newer file means the panel is out of date
PANEL_INPUTS = ("data/raw", "data/reference", "data/fetched_sources.yaml", "src/analysis/panel.py",
                "src/analysis/sources.py", "src/analysis/outcomes.py", "src/analysis/municipalities.py",
                "src/analysis/registry.py", "src/analysis/raw.py")


def _newest_input(root) -> tuple[float, str | None]:
    from pathlib import Path

    newest, name = 0.0, None
    for rel in PANEL_INPUTS:
        path = Path(root) / rel
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path] if path.is_file() else []
        for f in files:
            m = f.stat().st_mtime
            if m > newest:
                newest, name = m, str(f.relative_to(root))
    return newest, name


def check_panel(panel: str | None, log=print) -> None:
    """The panel must exist and be a Parquet file before any notebook starts. The default panel
    is built (``kuntakokeilu panel``) when it is missing or older than its inputs (raw data,
    reference files, the data-layer code)."""
    from pathlib import Path

    from .. import paths
    from ..errors import InputError

    path = Path(panel) if panel else paths.PANEL_FILE
    build = None
    if not path.is_file():
        if panel:
            raise InputError(f"panel file not found: {path}; build it with `kuntakokeilu panel --out {path}` "
                             "or leave out --panel to use data/processed/panel.parquet")
        build = f"no panel at {path}"
    elif not panel:
        newest, name = _newest_input(paths.ROOT)
        if newest > path.stat().st_mtime:
            build = f"the panel is older than {name}"
    if build:
        log(f">> run: {build}; building it first (kuntakokeilu panel)")
        from ..live.config import configured_series
        from ..panel import build_panel

        build_panel(extra_series=configured_series(), out_path=None,
                    log=lambda m: log(f">> panel: {m}"))
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(-4, 2) if path.stat().st_size >= 8 else None
        tail = fh.read(4)
    if head != b"PAR1" or tail != b"PAR1":
        raise InputError(f"the panel {path} is not a Parquet file; rebuild it with `kuntakokeilu panel`")


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

    if args.check:
        _prepare(entries, args.build_dir, args.panel, default_domains(args.panel))
        print(f"plan OK: {len(entries)} run(s) validated")
        return 0
    try:
        outcomes = run_plan(entries, build_dir=args.build_dir, jobs=args.jobs, force=args.force,
                            panel_path=args.panel, domains=lambda: default_domains(args.panel),
                            reuse_kernels=not args.fresh_kernels)
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
