"""Speed of the multiverse: specifications per second on one core (in process) and on a local
Dask cluster of 2 workers, and how the time grows with the number of specifications and of
units (control pools of different sizes). Every specification carries its own inference and
999 placebo draws of the joint test (TWFE, the event-study average and SDID are re-estimated
on every draw). No peer library runs a DiD multiverse, so the rows have no peer. Run alone:
``python benchmarks/bench_multiverse.py [--full]`` (``--full`` adds the default grid of
integrated_welfare, every outcome: the target is under 5 minutes on 2 cores); it prints a
table.
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


def _units(out: Path) -> int:
    import pandas as pd

    return int(pd.read_parquet(out / "specifications.parquet")["n_units"].max())


def run(full: bool = False) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        grids = {
            "TWFE + event study": _grid(tmp, "g16", covariates=["none", "model"], transform=["level", "log"],
                                        weighting=["none", "population"]),
            "SDID": _grid(tmp, "sdid", estimator=["sdid"], end_year=[2016], transform=["level", "log"],
                          breaks=["exclude", "keep"]),
        }
        for what, g in grids.items():
            for label, scheduler in (("1 core (in process)", "inline"), ("local cluster, 2 workers", None)):
                before = load()
                s, n = _run(g, tmp / f"o-{what[:4]}-{label[:3]}", scheduler)
                rows.append(row(f"multiverse {what}: {n} specifications x 999 placebo draws, {label}", s,
                                None, None, f"{n / s:.2f} specifications/s", load_before=before))
        for starts in ([2010], [2008, 2010], [2008, 2010, 2012]):
            g = _grid(tmp, f"s{len(starts)}", start_year=starts, covariates=["none", "model"])
            before = load()
            s, n = _run(g, tmp / f"s{len(starts)}", "inline")
            rows.append(row(f"growth in specifications: {n} specifications (TWFE + event study), 1 core", s,
                            None, None, f"{s / n:.2f} s per specification", load_before=before))
        for pool in ("matched", "same_region", "default"):
            for est in (["twfe", "event-study"], ["sdid"]):
                g = _grid(tmp, f"p-{pool}-{est[0]}", control_pool=[pool], estimator=est)
                out = tmp / f"p-{pool}-{est[0]}"
                before = load()
                s, n = _run(g, out, "inline")
                rows.append(row(f"growth in units: {pool} pool ({_units(out)} municipalities), "
                                f"{n} {' + '.join(est)} specifications, 1 core", s, None, None,
                                f"{s / n:.2f} s per specification", load_before=before))
        if full:
            before = load()
            s, n = _run(None, tmp / "default", None, outcome=None)
            rows.append(row(f"default grid, {MODEL} (every outcome): {n} specifications x 999 draws, "
                            "2 workers", s, None, None, f"{n / s:.2f} specifications/s", target="< 300 s",
                            load_before=before))
    return rows


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table (benchmarks/README.md takes it)."""
    lines = ["| task | seconds | throughput | target | load before -> after |", "|---|---:|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r['ours_s']:.1f} | {r['note']} | {r['target'] or ''} | "
                     f"{r['load_before']} -> {r['load_after']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the default grid of one model")
    args = parser.parse_args()
    print(table(run(full=args.full)))
