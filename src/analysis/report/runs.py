"""Read executed runs from the run-output folder (the contract with the notebook pipeline).

Each run lives in ``<runs_dir>/<run_id>/`` with ``run.json`` (status, timing, provenance),
``results.json`` (estimates; absent when the run failed), ``figures/*.png`` and
``tables/*.md|csv``. This module only reads; nothing is estimated here.

The plan (``notebooks/runs.yaml``) decides which runs belong to the report
(:func:`load_plan_runs`): a folder the plan does not list, or whose ``run.json`` records other
parameters than the plan's (``parameters_sha256``), is stale and ignored with a notice; a run
the plan lists but the folder lacks, or that failed or was interrupted, is an error naming the
runs, unless the caller accepts a partial draft (``allow_missing``): such runs are then returned
with :attr:`Run.missing` set, for the report to mark.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.plan import Plan

from ..errors import InputError

#: Order and names of the six operating models of law 1350/2014, § 2.
MODEL_ORDER = ["integrated_welfare", "education_services", "supervision", "housing_services",
               "kela_cooperation", "youth_guarantee"]


@dataclass
class Run:
    """One executed run: its folder, ``run.json`` and (if present) ``results.json``."""

    run_id: str
    folder: Path
    run: dict[str, Any]
    results: dict[str, Any] | None
    figures: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    #: why the plan's run has no usable output (``None`` when it has): "missing" (no run.json),
    #: "stale" (run.json of other parameters), "failed", "interrupted", "no_results" (ran without
    #: writing results.json); only in a partial draft
    missing_reason: str | None = None

    @property
    def ok(self) -> bool:
        return (self.missing_reason is None and self.run.get("status") == "ok"
                and self.results is not None)

    @property
    def missing(self) -> bool:
        """True if the plan lists this run but the report has no result for it (partial draft)."""
        return self.missing_reason is not None

    @property
    def status(self) -> str:
        """"ok", "failed", "interrupted" or "missing" (also for a stale folder)."""
        if self.missing_reason in ("missing", "stale"):
            return "missing"
        if self.missing_reason == "no_results":
            return "failed"
        return str(self.run.get("status") or "missing")

    @property
    def model(self) -> str:
        if self.results and self.results.get("model"):
            return str(self.results["model"])
        params = self.run.get("parameters") or {}
        return str(params.get("model") or self.run_id.split("__")[0])

    @property
    def outcome(self) -> str:
        if self.results and self.results.get("outcome"):
            return str(self.results["outcome"])
        params = self.run.get("parameters") or {}
        parts = self.run_id.split("__")
        return str(params.get("outcome") or (parts[1] if len(parts) > 1 else self.run_id))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed run file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"malformed run file {path}: expected a JSON object")
    return data


def read_run(folder: Path) -> Run | None:
    """The run in ``folder``, ``None`` without ``run.json``."""
    run_file = folder / "run.json"
    if not run_file.is_file():
        return None
    run = _read_json(run_file)
    results_file = folder / "results.json"
    results = _read_json(results_file) if results_file.is_file() else None
    figures = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
    tables = sorted((folder / "tables").glob("*.md")) if (folder / "tables").is_dir() else []
    return Run(run.get("run_id") or folder.name, folder, run, results, figures, tables)


def _sorted(runs: list[Run]) -> list[Run]:
    def key(r: Run):
        m = r.model
        return (MODEL_ORDER.index(m) if m in MODEL_ORDER else len(MODEL_ORDER), m, r.run_id)

    return sorted(runs, key=key)


def _no_runs_dir(runs_dir: Path) -> InputError:
    return InputError(f"no run folder {runs_dir}; run the notebooks first "
                      "(`kuntakokeilu run` or `make runs`)")


def load_runs(runs_dir: str | Path, plan: "Plan | None" = None, *, allow_missing: bool = False,
              notice: Callable[[str], None] | None = None) -> list[Run]:
    """The runs of the report, sorted by model order, then run id.

    With a ``plan`` (what ``kuntakokeilu report`` passes) see :func:`load_plan_runs`. Without
    one, every folder with a ``run.json`` (fixture and inspection use only).
    Raises :class:`InputError` if the folder is missing or holds no run.
    """
    runs_dir = Path(runs_dir)
    if plan is not None:
        return load_plan_runs(runs_dir, plan, allow_missing=allow_missing, notice=notice)
    if not runs_dir.is_dir():
        raise _no_runs_dir(runs_dir)
    runs = [r for folder in sorted(p for p in runs_dir.iterdir() if p.is_dir())
            if (r := read_run(folder)) is not None]
    if not runs:
        raise InputError(f"no runs (folders with run.json) in {runs_dir}; run the notebooks first")
    return _sorted(runs)


def _stderr_notice(message: str) -> None:
    print(message, file=sys.stderr)


def load_plan_runs(runs_dir: str | Path, plan: "Plan", *, allow_missing: bool = False,
                   notice: Callable[[str], None] | None = None) -> list[Run]:
    """The plan's runs from ``runs_dir``: exactly one :class:`Run` per plan entry.

    A folder whose ``run.json`` records a different ``parameters_sha256`` than the plan entry,
    or that the plan does not list, is stale: ignored, with a notice. A plan entry without a
    current successful run raises :class:`InputError` naming every such run, unless
    ``allow_missing``; then it is returned with ``missing_reason`` set.
    """
    notice = notice or _stderr_notice
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir() and not allow_missing:
        raise _no_runs_dir(runs_dir)
    planned = {e.run_id: e for e in plan.entries}
    if runs_dir.is_dir():
        extra = sorted(p.name for p in runs_dir.iterdir()
                       if p.is_dir() and p.name not in planned and not p.name.startswith((".", "_")))
        if extra:
            notice(f"report: ignoring {len(extra)} run folder(s) not in the plan {plan.path.name}: "
                   + ", ".join(extra))
    runs: list[Run] = []
    problems: list[str] = []
    for run_id, entry in planned.items():
        folder = runs_dir / run_id
        run = read_run(folder) if folder.is_dir() else None
        reason = None
        if run is None:
            attempt = _latest_attempt(runs_dir, run_id)
            reason = (str(attempt.get("status") or "failed") if attempt
                      and attempt.get("parameters_sha256") == entry.parameters_sha256 else "missing")
            run = Run(run_id, folder, {"run_id": run_id, "status": "missing",
                                       "parameters": dict(entry.parameters)}, None)
        elif run.run.get("parameters_sha256") != entry.parameters_sha256:
            notice(f"report: ignoring stale run folder {run_id} (its parameters differ from the plan's)")
            reason = "stale"
            run = Run(run_id, folder, {"run_id": run_id, "status": "missing",
                                       "parameters": dict(entry.parameters)}, None)
        elif run.run.get("status") != "ok":
            reason = str(run.run.get("status") or "failed")
        elif run.results is None:
            reason = "no_results"
        else:
            attempt = _latest_attempt(runs_dir, run_id)
            if attempt and attempt.get("parameters_sha256") == entry.parameters_sha256 \
                    and str(attempt.get("finished") or "") >= str(run.run.get("finished") or ""):
                # the latest run of these parameters failed; the folder holds an earlier success
                reason = str(attempt.get("status") or "failed")
        if reason is not None:
            run.missing_reason = reason
            problems.append(f"{run_id} ({_REASONS.get(reason, reason)})")
        runs.append(run)
    if problems and not allow_missing:
        raise InputError(
            f"{len(problems)} run(s) of the plan have no current result: " + ", ".join(problems)
            + "; run them (`kuntakokeilu run`) or build a marked partial draft with "
              "`kuntakokeilu report --allow-missing`"
        )
    if problems:
        notice(f"report: partial draft without {len(problems)} run(s): " + ", ".join(problems))
    return _sorted(runs)


def _latest_attempt(runs_dir: Path, run_id: str) -> dict | None:
    """``run.json`` of the run's latest failed or interrupted attempt (``_attempts/``), if any."""
    path = runs_dir / "_attempts" / run_id / "run.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


_REASONS = {
    "missing": "not run",
    "stale": "run folder from other parameters",
    "failed": "failed",
    "interrupted": "interrupted",
    "no_results": "ran but wrote no results.json",
}
