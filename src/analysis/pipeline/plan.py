"""The evaluation plan: ``notebooks/runs.yaml``, one entry per run (notebook + parameters).

Format::

    runs:
      integrated_welfare__sote_net_costs:      # run id: [a-z0-9_]+, also the output folder
        notebook: 20_model_evaluation.ipynb    # relative to the plan file's folder
        parameters: {model: integrated_welfare, outcome: sote_net_costs}

    expected_seconds:                          # optional: a run's duration when it has not run yet
      20_model_evaluation.ipynb: 25            # (notebook -> seconds); the runner starts the
                                               # longest runs first
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..errors import InputError, choices_message

RUN_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")


@dataclass(frozen=True)
class RunEntry:
    run_id: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    #: the plan's duration estimate for the run's notebook (``expected_seconds:``), if any
    expected_seconds: float | None = None

    @property
    def parameters_sha256(self) -> str:
        """Hash of what the plan asks of this run (notebook name and parameters as written).

        Recorded in the run's ``run.json``; the report uses a run folder only when its hash
        equals the plan's, so a folder left from an earlier version of the plan is never read."""
        return parameters_sha256(self.notebook.name, self.parameters)


def parameters_sha256(notebook: str, parameters: dict[str, Any]) -> str:
    """sha256 of a run's notebook name and plan parameters (canonical JSON)."""
    payload = json.dumps({"notebook": notebook, "parameters": parameters}, sort_keys=True,
                         ensure_ascii=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Plan:
    path: Path
    entries: list[RunEntry]

    @property
    def run_ids(self) -> list[str]:
        return [e.run_id for e in self.entries]

    def select(self, patterns: Iterable[str] | str | None) -> list[RunEntry]:
        """Entries whose run id matches any pattern (shell glob; a pattern without glob
        characters matches as a substring). InputError if nothing matches a pattern."""
        if patterns is None:
            return list(self.entries)
        if isinstance(patterns, str):
            patterns = [patterns]
        chosen: list[RunEntry] = []
        for pattern in patterns:
            glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
            hits = [e for e in self.entries if fnmatch.fnmatchcase(e.run_id, glob)]
            if not hits:
                raise InputError(choices_message("run (no run id matches --only)", pattern, self.run_ids))
            chosen.extend(h for h in hits if h not in chosen)
        return [e for e in self.entries if e in chosen]


def notebook_folders(plan_path: Path) -> list[Path]:
    """Folders a plan may take notebooks from: the project's ``notebooks/`` and the plan's own."""
    from ..paths import NOTEBOOKS

    return list(dict.fromkeys([NOTEBOOKS.resolve(), plan_path.parent.resolve()]))


def _notebook_path(plan_path: Path, run_id: str, value: Any) -> Path:
    """The notebook of a run, which must be an ``.ipynb`` file inside an allowed folder."""
    if not isinstance(value, str) or not value.endswith(".ipynb"):
        raise InputError(f"plan file {plan_path}: notebook of run {run_id!r} must be a file name "
                         f"ending in .ipynb, got {value!r}")
    notebook = (plan_path.parent / value).resolve()
    folders = notebook_folders(plan_path)
    if not any(notebook.parent == folder for folder in folders):
        raise InputError(
            f"plan file {plan_path}: notebook {value!r} of run {run_id!r} is outside the notebook "
            f"folder; notebooks run only from {', '.join(str(f) for f in folders)}"
        )
    return notebook


def _expected_seconds(path: Path, value: Any) -> dict[str, float]:
    """The plan's ``expected_seconds:`` mapping (notebook file name -> seconds > 0)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"plan file {path}: expected_seconds must be a mapping of notebook file "
                         f"name -> seconds, got {value!r}")
    out = {}
    for name, seconds in value.items():
        if not isinstance(name, str) or not name.endswith(".ipynb"):
            raise InputError(f"plan file {path}: expected_seconds key {name!r} must be a notebook "
                             "file name ending in .ipynb")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
            raise InputError(f"plan file {path}: expected_seconds of {name} must be a positive "
                             f"number, got {seconds!r}")
        out[name] = float(seconds)
    return out


def load_plan(path: str | os.PathLike | None = None) -> Plan:
    """Read and structurally check a plan file (default ``notebooks/runs.yaml``)."""
    if path is None:
        from ..paths import NOTEBOOKS

        path = NOTEBOOKS / "runs.yaml"
    path = Path(path)
    if not path.is_file():
        raise InputError(f"plan file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"plan file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("runs"), dict) or not data["runs"]:
        raise InputError(f"plan file {path}: expected a top-level mapping 'runs:' of run id -> entry")
    unknown = set(data) - {"runs", "expected_seconds"}
    if unknown:
        raise InputError(f"plan file {path}: unknown top-level key(s) {sorted(unknown)}; "
                         "valid keys: expected_seconds, runs")
    expected = _expected_seconds(path, data.get("expected_seconds"))
    entries = []
    for run_id, entry in data["runs"].items():
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            raise InputError(f"plan file {path}: run id {run_id!r} must match [a-z0-9_]+")
        if not isinstance(entry, dict) or "notebook" not in entry:
            raise InputError(f"plan file {path}: run {run_id!r} needs 'notebook:' (and optional 'parameters:')")
        unknown = set(entry) - {"notebook", "parameters", "description"}
        if unknown:
            raise InputError(
                f"plan file {path}: run {run_id!r} has unknown key(s) {sorted(unknown)}; "
                "valid keys: description, notebook, parameters"
            )
        notebook = _notebook_path(path, run_id, entry["notebook"])
        if not notebook.is_file():
            available = sorted(p.name for p in path.parent.glob("*.ipynb"))
            raise InputError(choices_message(f"notebook in run {run_id!r}", entry["notebook"], available))
        params = entry.get("parameters") or {}
        if not isinstance(params, dict):
            raise InputError(f"plan file {path}: parameters of run {run_id!r} must be a mapping")
        entries.append(RunEntry(run_id, notebook, dict(params), entry.get("description"),
                                expected.get(notebook.name)))
    return Plan(path.resolve(), entries)
