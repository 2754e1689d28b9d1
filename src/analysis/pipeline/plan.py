"""The evaluation plan: ``notebooks/runs.yaml``, one entry per run (notebook + parameters).

Format::

    runs:
      integrated_welfare__sote_net_costs:      # run id: [a-z0-9_]+, also the output folder
        notebook: 20_model_evaluation.ipynb    # relative to the plan file's folder
        parameters: {model: integrated_welfare, outcome: sote_net_costs}
"""
from __future__ import annotations

import fnmatch
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
        notebook = (path.parent / str(entry["notebook"])).resolve()
        if not notebook.is_file():
            available = sorted(p.name for p in path.parent.glob("*.ipynb"))
            raise InputError(choices_message(f"notebook in run {run_id!r}", entry["notebook"], available))
        params = entry.get("parameters") or {}
        if not isinstance(params, dict):
            raise InputError(f"plan file {path}: parameters of run {run_id!r} must be a mapping")
        entries.append(RunEntry(run_id, notebook, dict(params), entry.get("description")))
    return Plan(path.resolve(), entries)
