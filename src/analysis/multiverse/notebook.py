"""The calls of ``notebooks/40_multiverse.ipynb``: run the multiverse of one model and outcome
into a run folder, draw its curves, write its tables and ``results.json`` (kind
``"multiverse"``). Orchestration only: the numbers come from :func:`run_multiverse`."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from .. import atomic
from .runner import log_stderr, run_multiverse

SPECIFICATIONS = "specifications.parquet"
SUMMARY = "summary.json"


def run(model: str, outcome: str, *, output_dir: str | os.PathLike, grid: str | None = None,
        placebo_draws: int | None = None, scheduler: str | None = None, workers: int = 2,
        panel_path: str | None = None) -> dict[str, Any]:
    """Every specification of the grid with its joint test, into ``output_dir``; the summary of
    ``outcome``."""
    settings = {"placebo_draws": placebo_draws} if placebo_draws else None
    summary = run_multiverse(model, outcome, out_dir=output_dir, grid=grid, scheduler=scheduler,
                             workers=workers, panel_path=panel_path, settings=settings,
                             log=log_stderr)
    return summary["by_outcome"][outcome]


def specifications(output_dir: str | os.PathLike) -> pd.DataFrame:
    return pd.read_parquet(Path(output_dir) / SPECIFICATIONS)


def _labels(outcome: str) -> tuple[str, str]:
    from ..outcomes import label

    text = label(outcome)
    unit = text[text.rfind("(") + 1:-1] if text.endswith(")") else ""
    return (text[:text.rfind("(")].strip() if unit else text), unit


def figures(output_dir: str | os.PathLike, outcome: str) -> list[Path]:
    """``figures/specification_curve.png`` (level) and ``specification_curve_log.png``."""
    from ..plots.specification_curve import specification_curve_figure

    out = Path(output_dir)
    rows = specifications(out)
    summary = json.loads((out / SUMMARY).read_text())["by_outcome"][outcome]
    alpha = summary["curves"].get("level", summary["curves"].get("log", {})).get("curve", {}).get("alpha", 0.05)
    name, unit = _labels(outcome)
    written = []
    for transform, suffix, unit_label in (("level", "", unit), ("log", "_log", "log points")):
        part = rows[(rows["outcome"] == outcome) & (rows["transform"] == transform)]
        if not (part["status"] == "estimated").any():
            continue
        written.append(specification_curve_figure(
            part, out / "figures" / f"specification_curve{suffix}.png", unit_label=unit_label,
            title=f"{name}{' (log)' if transform == 'log' else ''}: every specification", alpha=alpha))
    return written


def tables(output_dir: str | os.PathLike, outcome: str) -> dict[str, pd.DataFrame]:
    """``tables/specifications`` (estimated rows), ``tables/joint_test`` and
    ``tables/skipped`` (reasons), as Markdown and CSV."""
    from ..tables import write_table

    out = Path(output_dir)
    rows = specifications(out)
    rows = rows[rows["outcome"] == outcome]
    summary = json.loads((out / SUMMARY).read_text())["by_outcome"][outcome]
    cols = ["spec_id", "estimator", "control_pool", "start_year", "end_year", "transform",
            "covariates", "breaks", "estimate", "ci_low", "ci_high", "p_value", "inference",
            "placebo_p_value", "command"]
    est = rows[rows["status"] == "estimated"].sort_values(["transform", "estimate"])[cols]
    joint_rows = []
    for transform, c in summary["curves"].items():
        stats = (c.get("joint_test") or {}).get("statistics") or {}
        for stat, v in stats.items():
            joint_rows.append({"outcome scale": transform, "statistic": stat,
                               "observed": v["observed"], "p_value": v["p_value"], "test": v["test"],
                               "placebo 2.5%": v["placebo_q025"], "placebo 97.5%": v["placebo_q975"],
                               "specifications": c["joint_test"]["n_specifications"],
                               "placebo draws": c["joint_test"]["draws"]})
    joint = pd.DataFrame(joint_rows)
    skipped = (rows[rows["status"] == "skipped"].groupby("reason").size()
               .rename("specifications").reset_index())
    write_table(est, out / "tables" / "specifications", floatfmt=".4g")
    write_table(joint, out / "tables" / "joint_test", floatfmt=".4g")
    write_table(skipped, out / "tables" / "skipped")
    return {"specifications": est, "joint_test": joint, "skipped": skipped}


def results_json(output_dir: str | os.PathLike, model: str, outcome: str, *,
                 run_id: str = "interactive") -> dict[str, Any]:
    """``results.json`` (schema 2, kind ``"multiverse"``) with the outcome's summary."""
    from ..codebook import unit_kind

    out = Path(output_dir)
    full = json.loads((out / SUMMARY).read_text())
    summary = full["by_outcome"][outcome]
    name, unit = _labels(outcome)
    try:
        kind = unit_kind(outcome)
    except Exception:  # codebook without this outcome: the report shows the plain unit
        kind = None
    results = {
        "schema": 2, "run_id": run_id, "kind": "multiverse", "model": model, "outcome": outcome,
        "outcome_label": name, "unit_label": unit, "unit_kind": kind,
        "estimates": [],
        "multiverse": summary,
        "grid": full["grid"],
        "files": {"specifications": SPECIFICATIONS, "summary": SUMMARY,
                  "figures": sorted(str(p.relative_to(out)) for p in (out / "figures").glob("specification_curve*.png"))},
        "notes": [
            "Each specification's estimate, interval and p-value come from its own inference; the "
            "`command` column of specifications.parquet reproduces it from this folder.",
            "Joint test (Simonsohn, Simmons & Nelson 2020): every placebo assignment is applied to "
            "every specification of the test's estimators; statistics are the median estimate and "
            "the shares significant (randomization p-values over the same draws). In each draw a "
            "same-region or matched specification compares the placebo units with the pool its "
            "design would have built around them.",
        ],
    }
    atomic.write_text(out / "results.json", json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results
