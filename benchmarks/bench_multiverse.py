"""Speed of the multiverse: specifications per second on one core (in process) and on a local
Dask cluster of 2 workers, and how the time grows with the number of specifications and of
units (control pools of different sizes). No peer library runs a DiD multiverse, so the rows
have no peer. Run alone: ``python benchmarks/bench_multiverse.py [--full]`` (``--full`` adds
the default grid of integrated_welfare, the target: under 5 minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import load, row  # noqa: E402

MODEL = "integrated_welfare"
OUTCOME = "social_health_costs_eur_per_capita"
BASE = {"control_pool": ["default"], "start_year": [2010], "end_year": [2016, 2018],
        "estimator": ["twfe", "event-study"], "transform": ["level"], "weighting": ["none"],
        "covariates": ["none"], "breaks": ["exclude"]}


def _grid(tmp: Path, name: str, draws: int = 999, **choices) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"settings": {"placebo_draws": draws, "ri_reps": 999},
                                    "choices": {**BASE, **choices}}))
    return path


def _run(grid: Path | None, out: Path, scheduler: str | None, workers: int = 2, outcome=OUTCOME):
    from analysis.multiverse.runner import run_multiverse

    t = time.perf_counter()
    summary = run_multiverse(MODEL, outcome, out_dir=out, grid=grid, scheduler=scheduler,
                             workers=workers)
    seconds = time.perf_counter() - t
    n = sum(s["n_estimated"] for s in summary["by_outcome"].values())
    return seconds, n


def run(full: bool = False) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        g16 = _grid(tmp, "g16", covariates=["none", "model"], transform=["level", "log"])
        for label, scheduler in (("1 core (in process)", "inline"), ("local cluster, 2 workers", None)):
            before = load()
            s, n = _run(g16, tmp / f"o-{label[:3]}", scheduler)
            rows.append(row(f"multiverse, {n} specifications x 999 placebo draws, {label}", s, None, None,
                            f"{n / s:.2f} specifications/s", load_before=before))
        for starts in ([2010], [2008, 2010], [2008, 2010, 2012]):
            g = _grid(tmp, f"s{len(starts)}", start_year=starts, covariates=["none", "model"])
            before = load()
            s, n = _run(g, tmp / f"s{len(starts)}", "inline")
            rows.append(row(f"growth in specifications: {n} specifications, 1 core", s, None, None,
                            f"{s / n:.2f} s per specification", load_before=before))
        for pool in ("matched", "same_region", "default"):
            g = _grid(tmp, f"p-{pool}", control_pool=[pool])
            before = load()
            s, n = _run(g, tmp / f"p-{pool}", "inline")
            import pandas as pd

            units = int(pd.read_parquet(tmp / f"p-{pool}" / "specifications.parquet")["n_units"].max())
            rows.append(row(f"growth in units: {pool} pool ({units} municipalities), {n} specifications, 1 core",
                            s, None, None, f"{s / n:.2f} s per specification", load_before=before))
        if full:
            before = load()
            s, n = _run(None, tmp / "default", None, outcome=OUTCOME)
            rows.append(row(f"default grid, {MODEL} / {OUTCOME}: {n} specifications x 999 draws, 2 workers",
                            s, None, None, f"{n / s:.2f} specifications/s", target="< 300 s",
                            load_before=before))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the default grid of one model")
    args = parser.parse_args()
    for r in run(full=args.full):
        print(f"{r['task']}: {r['ours_s']:.1f} s ({r['note']}; load {r['load_before']} -> {r['load_after']})")
