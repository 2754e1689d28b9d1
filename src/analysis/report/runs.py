"""Read executed runs from the run-output folder (the contract with the notebook pipeline).

Each run lives in ``<runs_dir>/<run_id>/`` with ``run.json`` (status, timing, provenance),
``results.json`` (estimates; absent when the run failed), ``figures/*.png`` and
``tables/*.md|csv``. This module only reads; nothing is estimated here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

    @property
    def ok(self) -> bool:
        return self.run.get("status") == "ok" and self.results is not None

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


def load_runs(runs_dir: str | Path) -> list[Run]:
    """All run folders under ``runs_dir`` (sorted by model order, then run id).

    Raises :class:`InputError` if the folder is missing or holds no run.
    """
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise InputError(f"no run folder {runs_dir}; run the notebooks first "
                         "(`kuntakokeilu run` or `make runs`)")
    runs: list[Run] = []
    for folder in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        run_file = folder / "run.json"
        if not run_file.exists():
            continue
        run = _read_json(run_file)
        results_file = folder / "results.json"
        results = _read_json(results_file) if results_file.exists() else None
        figures = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
        tables = sorted((folder / "tables").glob("*.md")) if (folder / "tables").is_dir() else []
        runs.append(Run(run.get("run_id") or folder.name, folder, run, results, figures, tables))
    if not runs:
        raise InputError(f"no runs (folders with run.json) in {runs_dir}; run the notebooks first")

    def key(r: Run):
        m = r.model
        return (MODEL_ORDER.index(m) if m in MODEL_ORDER else len(MODEL_ORDER), m, r.run_id)

    return sorted(runs, key=key)
