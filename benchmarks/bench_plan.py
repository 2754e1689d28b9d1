"""The evaluation plan itself, cold: ``kuntakokeilu run --jobs 2`` into an empty build folder, as
``make report`` runs it, for three selections of ``notebooks/runs.yaml``:

- the whole plan (target: 60 s on 2 cores), then its no-change rerun (target: 1.5 s);
- the plan without its multiverse runs (``multiverse__*``: the specification curves, whose joint
  test re-estimates every SDID, synthetic-control and regression specification on 999 placebo
  draws);
- the runs of the plan whose cold run took 115 s, the baseline of the 60 s target
  (:data:`BASELINE_RUNS`: the run ids of ``notebooks/runs.yaml`` at commit b3c1f7b, before the
  multiverse runs and the later runs joined the plan; the runs now do more than they did then).

No peer: each row is one cold run of the command (the plan takes minutes). CPU seconds are those
of the command and its kernels; notebook seconds the sum of the runs' own durations
(``run.json``). Each cold run starts once the 1-minute load average is below the number of
cores (at most 2 minutes' wait). Run alone: ``python benchmarks/bench_plan.py``.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import ROOT, cpu_children, row, settle  # noqa: E402

JOBS = 2
#: run ids of notebooks/runs.yaml at b3c1f7b, the plan whose cold run took 115 s (the baseline of
#: the 60 s target)
BASELINE_RUNS = (
    "data_audit",
    "descriptives__integrated_welfare", "descriptives__education_services",
    "descriptives__supervision", "descriptives__housing_services",
    "descriptives__kela_cooperation", "descriptives__youth_guarantee",
    "integrated_welfare__sote_net_costs", "integrated_welfare__primary_care_outpatient_costs",
    "education_services__education_culture_costs", "education_services__upper_secondary_share",
    "supervision__sote_net_costs", "housing_services__sote_net_costs",
    "kela_cooperation__social_assistance_eur", "kela_cooperation__social_assistance_households",
    "youth_guarantee__unemployment_rate",
    "robustness__integrated_welfare__sote_net_costs", "robustness__housing_services__sote_net_costs",
    "robustness__youth_guarantee__unemployment_rate", "robustness__kela_cooperation__social_assistance_eur",
)


def _exact(run_id: str) -> str:
    """An ``--only`` pattern matching ``run_id`` alone (a pattern without glob characters
    matches as a substring: ``[x]`` makes it a glob, which matches the whole id)."""
    return f"[{run_id[0]}]{run_id[1:]}"


def _command(build: Path, only: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``kuntakokeilu run``."""
    cmd = [str(Path(sys.executable).with_name("kuntakokeilu")), "run", "--jobs", str(JOBS),
           "--build-dir", str(build)]
    for run_id in only:
        cmd += ["--only", _exact(run_id)]
    c0, t0 = cpu_children(), time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, cpu_children() - c0


def _notebook_seconds(build: Path) -> dict[str, float]:
    """Sum of the runs' durations: multiverse runs, model evaluations, the others."""
    out = {"multiverse": 0.0, "evaluations": 0.0, "others": 0.0, "runs": 0}
    for path in sorted((build / "runs").glob("*/run.json")):
        meta = json.loads(path.read_text())
        run_id = path.parent.name
        kind = ("multiverse" if run_id.startswith("multiverse__") else "others"
                if run_id.split("__")[0] in ("data_audit", "descriptives", "robustness") else "evaluations")
        out[kind] += float(meta.get("seconds", 0.0))
        out["runs"] += 1
    return out


def run() -> list[dict]:
    from analysis.pipeline.plan import load_plan

    from _harness import real_panel

    real_panel()  # build the panel first if it is missing
    ids = load_plan(ROOT / "notebooks" / "runs.yaml").run_ids
    selections = [
        ("whole plan", [], "<= 60 s"),
        ("without the multiverse runs", [r for r in ids if not r.startswith("multiverse__")], ""),
        ("the runs of the 115 s baseline (runs.yaml at b3c1f7b)", [r for r in BASELINE_RUNS if r in ids], ""),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for label, only, target in selections:
            build = Path(d) / f"build{len(rows)}"
            before = settle()  # the previous cold run kept both cores busy
            wall, cpu = _command(build, only)
            nb = _notebook_seconds(build)
            note = (f"{nb['runs']} runs; {cpu:.0f} CPU-s; notebook seconds: multiverse "
                    f"{nb['multiverse']:.0f}, model evaluations {nb['evaluations']:.0f}, other runs "
                    f"{nb['others']:.0f}")
            rows.append(row(f"cold `kuntakokeilu run --jobs {JOBS}`, {label}", wall, None, None, note,
                            target=target, load_before=before))
            if not only:
                before = settle()
                wall, cpu = _command(build, [])
                rows.append(row(f"`kuntakokeilu run --jobs {JOBS}`, whole plan, no change (all runs "
                                "skipped), with interpreter start", wall, None, None, f"{cpu:.2f} CPU-s",
                                target="<= 1.5 s", load_before=before))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import pandas as pd

    print(pd.DataFrame(run()).to_markdown(index=False, floatfmt=".3g"))
