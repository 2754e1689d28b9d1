"""Execute the evaluation plan with papermill: in parallel, skipping unchanged runs.

Each run ``<run_id>`` executes into ``<build_dir>/runs/<run_id>/`` (the run-output contract
read by the report):

* ``notebook.ipynb`` the executed notebook, with ``metadata["kuntakokeilu"]`` = parameters,
  panel sha256, package version, git commit (kept with the traceback when the run fails);
* ``run.json`` status and provenance of the run (written atomically, last);
* whatever the notebook writes into its ``output_dir`` parameter (``results.json``,
  ``figures/``, ``tables/``).

A run is skipped when its *input hash* -- notebook content without outputs, parameters, the
panel's sha256 and the package version -- equals the hash of its last successful run.
Every selected entry is validated before anything is executed or written.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import nbformat

from .. import atomic
from ..errors import InputError
from . import metadata
from .parameters import RUNNER_PARAMETERS, Domains, notebook_parameters, validate_parameters
from .plan import Plan, RunEntry

KERNEL_NAME = "kuntakokeilu"
RUN_FILES = ("notebook.ipynb", "results.json", "figures", "tables", "kernel.log")


@dataclass
class RunOutcome:
    run_id: str
    status: str  # "ok" | "failed" | "skipped"
    seconds: float
    run_dir: Path
    error: str | None = None


def runs_dir(build_dir: str | os.PathLike | None = None) -> Path:
    from .. import paths

    return Path(build_dir if build_dir is not None else paths.BUILD) / "runs"


def notebook_fingerprint(notebook_path: str | os.PathLike) -> str:
    """sha256 of a notebook's content without outputs, execution counts or metadata noise."""
    nb = nbformat.read(notebook_path, as_version=4)
    cells = [
        {"type": c.cell_type, "source": c.source, "tags": sorted(c.get("metadata", {}).get("tags", []))}
        for c in nb.cells
    ]
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()


def input_hash(notebook_path, parameters: dict, panel_sha: str | None, version: str) -> str:
    """The skip key of a run: notebook (without outputs), parameters, panel, package version and
    source (:func:`metadata.package_source_sha256`)."""
    payload = {
        "notebook": notebook_fingerprint(notebook_path),
        "parameters": parameters,
        "panel_sha256": panel_sha,
        "package_version": version,
        "package_source": metadata.package_source_sha256(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_run_record(run_dir: Path) -> dict | None:
    try:
        return json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _prepare(entries: Iterable[RunEntry], build_dir, panel_path, domains) -> list[dict]:
    """Validate every entry (all errors at once) and build the execution tasks."""
    errors, tasks = [], []
    panel_sha = metadata.panel_sha256(panel_path)
    version = metadata.package_version()
    base = runs_dir(build_dir)
    for entry in entries:
        try:
            params = validate_parameters(entry.notebook, entry.parameters, domains, run_id=entry.run_id)
            given = sorted(set(params) & set(RUNNER_PARAMETERS))
            if given:
                raise InputError(
                    f"run {entry.run_id!r}: {', '.join(given)} is set by the runner, remove it from the plan"
                )
        except InputError as exc:
            errors.append(str(exc))
            continue
        declared = notebook_parameters(entry.notebook)
        run_dir = (base / entry.run_id).resolve()
        injected = dict(params)
        if "run_id" in declared:
            injected["run_id"] = entry.run_id
        if "output_dir" in declared:
            injected["output_dir"] = str(run_dir)
        if "panel_path" in declared and panel_path is not None:
            injected["panel_path"] = str(Path(panel_path).resolve())
        tasks.append(
            {
                "run_id": entry.run_id,
                "notebook": str(entry.notebook),
                "parameters": params,
                "injected": injected,
                "run_dir": str(run_dir),
                "panel_path": str(panel_path) if panel_path is not None else None,
                "panel_sha256": panel_sha,
                "package_version": version,
                "input_hash": input_hash(entry.notebook, params, panel_sha, version),
            }
        )
    if errors:
        raise InputError(
            f"{len(errors)} run(s) of the plan have invalid parameters (nothing was executed):\n  - "
            + "\n  - ".join(errors)
        )
    return tasks


def is_up_to_date(task: dict) -> bool:
    record = read_run_record(Path(task["run_dir"]))
    return bool(
        record
        and record.get("status") == "ok"
        and record.get("input_hash") == task["input_hash"]
        and (Path(task["run_dir"]) / "notebook.ipynb").is_file()
    )


def _clear_run_dir(run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in (*RUN_FILES, "run.json"):
        target = run_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def execute_run(task: dict, kernel_name: str = KERNEL_NAME) -> dict:
    """Execute one run (in a worker process); return its ``run.json`` record."""
    import papermill

    run_dir = Path(task["run_dir"])
    _clear_run_dir(run_dir)
    output = run_dir / "notebook.ipynb"
    started, t0 = _now(), time.perf_counter()
    error = None
    # the kernel process inherits stderr: send its log lines to the run folder, not the terminal
    run_dir.mkdir(parents=True, exist_ok=True)
    kernel_log = open(run_dir / "kernel.log", "w", encoding="utf-8")
    saved_stderr = os.dup(2)
    os.dup2(kernel_log.fileno(), 2)
    try:
        papermill.execute_notebook(
            task["notebook"],
            str(output),
            parameters=task["injected"],
            kernel_name=kernel_name,
            cwd=str(Path(task["notebook"]).parent),
            progress_bar=False,
            log_output=False,
        )
    except Exception as exc:  # failing notebook: keep it (papermill saved it) and mark failed
        error = _short_error(exc)
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        kernel_log.close()
    seconds = time.perf_counter() - t0
    meta = {
        "parameters": task["injected"],
        "panel_sha256": task["panel_sha256"],
        "package_version": task["package_version"],
        "git_commit": metadata.git_commit(),
    }
    if output.is_file():
        try:
            nb = nbformat.read(output, as_version=4)
            nb.metadata["kuntakokeilu"] = meta
            atomic.write_text(output, nbformat.writes(nb))
        except Exception as exc:  # pragma: no cover - unreadable output notebook
            error = error or f"could not record metadata: {exc}"
    record = {
        "run_id": task["run_id"],
        "notebook": Path(task["notebook"]).name,
        "parameters": task["parameters"],
        "status": "failed" if error else "ok",
        "started": started,
        "finished": _now(),
        "seconds": round(seconds, 3),
        "panel_sha256": task["panel_sha256"],
        "package_version": task["package_version"],
        "git_commit": meta["git_commit"],
        "input_hash": task["input_hash"],
        "error": error,
    }
    atomic.write_text(run_dir / "run.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return record


def _short_error(exc: BaseException) -> str:
    name = getattr(exc, "ename", None)
    value = getattr(exc, "evalue", None)
    if name:
        return f"{name}: {value}"
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[-2000:]


def run_plan(
    plan: Plan | Iterable[RunEntry],
    *,
    build_dir: str | os.PathLike | None = None,
    jobs: int = 1,
    force: bool = False,
    panel_path: str | os.PathLike | None = None,
    domains: Domains | None = None,
    kernel_name: str = KERNEL_NAME,
    progress: bool = True,
    on_done: Callable[[RunOutcome], None] | None = None,
) -> list[RunOutcome]:
    """Validate, then execute the runs (``jobs`` in parallel); return one outcome per run.

    Raises :class:`InputError` (before writing anything) if any run's parameters are invalid.
    """
    entries = plan.entries if isinstance(plan, Plan) else list(plan)
    tasks = _prepare(entries, build_dir, panel_path, domains)
    outcomes: dict[str, RunOutcome] = {}
    todo = []
    for task in tasks:
        if not force and is_up_to_date(task):
            outcomes[task["run_id"]] = RunOutcome(task["run_id"], "skipped", 0.0, Path(task["run_dir"]))
        else:
            todo.append(task)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc="runs", unit="run",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)

    def finish(record: dict) -> None:
        outcome = RunOutcome(record["run_id"], record["status"], record["seconds"],
                             Path(runs_dir(build_dir) / record["run_id"]).resolve(), record["error"])
        outcomes[outcome.run_id] = outcome
        bar.set_postfix_str(f"{outcome.run_id}: {outcome.status}", refresh=False)
        bar.update(1)
        if on_done:
            on_done(outcome)

    try:
        if jobs <= 1 or len(todo) <= 1:
            for task in todo:
                finish(execute_run(task, kernel_name))
        else:
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx) as pool:
                futures = {pool.submit(execute_run, task, kernel_name): task for task in todo}
                for future in cf.as_completed(futures):
                    task = futures[future]
                    try:
                        record = future.result()
                    except Exception as exc:  # worker crashed outside papermill
                        record = {"run_id": task["run_id"], "status": "failed", "seconds": 0.0,
                                  "error": _short_error(exc)}
                    finish(record)
    finally:
        bar.close()
    return [outcomes[t["run_id"]] for t in tasks]
