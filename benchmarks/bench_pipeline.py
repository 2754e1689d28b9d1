"""Per-run overhead of ``kuntakokeilu run``: kernels kept from one run to the next (ours) against
papermill's default of a new kernel per run (the peer: the same runner with
``--fresh-kernels``), on a plan of small runs whose notebook imports what the
evaluation notebooks import (the analysis package, statsmodels, linearmodels, matplotlib) and
reads the panel. The difference per run is the fixed cost a kept kernel saves: kernel start and
imports. Also the no-change rerun of that plan (every run skipped). Run alone:
``python benchmarks/bench_pipeline.py``.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import ROOT, cpu_children, interleaved, load, row  # noqa: E402

RUNS = 12
JOBS = 2
BODY = (
    "import json, pathlib\n"
    "import statsmodels.api, linearmodels, matplotlib.pyplot\n"
    "from analysis import evaluation\n"
    "panel = evaluation.load_panel(panel_path)\n"
    "out = pathlib.Path(output_dir); out.mkdir(parents=True, exist_ok=True)\n"
    "(out / 'results.json').write_text(json.dumps({'run_id': run_id, 'rows': len(panel), 'x': x}))\n"
)


def _project(tmp: Path) -> tuple[Path, Path]:
    import nbformat

    nbdir = tmp / "notebooks"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 1\noutput_dir = 'out'\nrun_id = 'interactive'\npanel_path = None\n")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {"name": "kuntakokeilu", "display_name": "Python (kuntakokeilu)",
                                 "language": "python"}
    nbformat.write(nb, nbdir / "imports.ipynb")
    plan = nbdir / "runs.yaml"
    plan.write_text("runs:\n" + "".join(f"  run_{i:02d}:\n    notebook: imports.ipynb\n"
                                        f"    parameters: {{x: {i}}}\n" for i in range(RUNS)))
    return plan, ROOT / "data" / "processed" / "panel.parquet"


def run() -> list[dict]:
    from analysis.pipeline.plan import load_plan
    from analysis.pipeline.runner import run_plan

    from _harness import real_panel

    real_panel()  # build the panel first if it is missing
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        plan_path, panel = _project(tmp)
        plan = load_plan(plan_path)
        cpu = {"ours": [], "peer": []}
        count = iter(range(1000))

        def execute(label: str, reuse: bool):
            def go():
                c0 = cpu_children()
                outcomes = run_plan(plan, build_dir=tmp / f"build{next(count)}", jobs=JOBS,
                                    panel_path=panel, progress=False, reuse_kernels=reuse)
                cpu[label].append(cpu_children() - c0)
                assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes]
            return go

        before = load()
        ours_s, _, peer_s, _ = interleaved(execute("ours", True), execute("peer", False), repeats=2,
                                           budget_s=240)
        note = (f"{RUNS} runs, --jobs {JOBS}; per run {ours_s / RUNS:.2f} s vs {peer_s / RUNS:.2f} s wall, "
                f"{min(cpu['ours']) / RUNS:.2f} vs {min(cpu['peer']) / RUNS:.2f} CPU-s")
        rows.append(row(f"kuntakokeilu run, {RUNS} runs importing the analysis stack: kept kernels",
                        ours_s, "papermill, a new kernel per run", peer_s, note,
                        target="fixed cost per run", load_before=before))
        build = tmp / "rerun"
        run_plan(plan, build_dir=build, jobs=JOBS, panel_path=panel, progress=False)
        before = load()
        t = time.perf_counter()
        outcomes = run_plan(plan, build_dir=build, jobs=JOBS, panel_path=panel, progress=False)
        seconds = time.perf_counter() - t
        assert all(o.status == "skipped" for o in outcomes)
        rows.append(row(f"kuntakokeilu run, no change ({RUNS} runs skipped), in process", seconds, None,
                        None, "the command adds ~0.3 s of interpreter start", load_before=before))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import pandas as pd

    print(pd.DataFrame(run()).to_markdown(index=False, floatfmt=".3g"))
