"""Quarto ``pre-render``/``post-render`` scripts of the report project (``reports/_quarto.yml``).

``pre-render`` (``reports/_prerender.py``, run by Quarto with the project folder as working
directory before ``quarto render`` or ``quarto preview``) writes the generated parts —
``_generated/`` and ``_variables.yml`` — from the run folders, by the same code as
``kuntakokeilu report``. Run folders: ``$KUNTAKOKEILU_RUNS_DIR``, else ``<project>/_build/runs``
(where ``kuntakokeilu run`` writes them); only the runs of the plan (``notebooks/runs.yaml``,
or ``$KUNTAKOKEILU_PLAN``; ``none`` reads every run folder) are read, and a missing or failed
run is an error unless ``KUNTAKOKEILU_ALLOW_MISSING=1`` (partial draft). ``post-render`` (``reports/_postrender.py``) leaves
only ``report.html`` and ``report.pdf`` in the output folder. Both read Quarto's environment
variables (``QUARTO_PROJECT_DIR``, ``QUARTO_PROJECT_OUTPUT_DIR``, ``QUARTO_PROJECT_RENDER_ALL``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import paths
from ..errors import InputError


def project_dir() -> Path:
    return Path(os.environ.get("QUARTO_PROJECT_DIR") or os.getcwd()).resolve()


def pre_render() -> int:
    site = project_dir()
    runs_dir = Path(os.environ.get("KUNTAKOKEILU_RUNS_DIR") or site / "_build" / "runs")
    from .render import generate_parts

    plan_file = os.environ.get("KUNTAKOKEILU_PLAN")
    plan = None
    if plan_file != "none":
        from ..pipeline.plan import load_plan

        plan = load_plan(plan_file or None)
    build = runs_dir.parent if runs_dir.name == "runs" else None
    generate_parts(runs_dir, site, build, paths.ROOT, renderer="quarto", plan=plan,
                   allow_missing=os.environ.get("KUNTAKOKEILU_ALLOW_MISSING") == "1")
    print(f"pre-render: generated parts of {site} from {runs_dir}", file=sys.stderr)
    return 0


def post_render() -> int:
    from .render import clean_output

    site = project_dir()
    out = Path(os.environ.get("QUARTO_PROJECT_OUTPUT_DIR") or "_output")
    out = out if out.is_absolute() else site / out
    removed = clean_output(out)
    if removed:
        print(f"post-render: removed {len(removed)} supporting files from {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return post_render() if argv[:1] == ["--post"] else pre_render()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
