"""``kuntakokeilu multiverse --model M``: every specification of a grid, its curve and joint test.

Example::

    kuntakokeilu multiverse --model integrated_welfare --out build/multiverse
    kuntakokeilu multiverse --model integrated_welfare --scheduler tcp://10.0.0.5:8786
"""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "multiverse",
        help="specification curve of a model: every reasonable specification, joint test (Dask)",
        description=(
            "Estimate every specification of a grid (control pools, windows, estimators, outcome "
            "transformation, weighting, covariates, break handling) for a pilot model, with a "
            "joint test of all specifications under the null by placebo assignments (Simonsohn, "
            "Simmons & Nelson 2020). Writes OUT/specifications.parquet (one row per "
            "specification, with the `kuntakokeilu estimate` command that reproduces it, run "
            "from OUT), OUT/summary.json and OUT/frames/. Tasks run on a local Dask cluster "
            "unless --scheduler names a running one."),
    )
    p.add_argument("--model", required=True, help="pilot model, e.g. integrated_welfare")
    p.add_argument("--outcome", default=None, help="one outcome of the model (default: all its outcomes)")
    p.add_argument("--grid", type=Path, default=None,
                   help="grid YAML file, or a package grid: default (the default), report")
    p.add_argument("--scheduler", default=None,
                   help="tcp://HOST:PORT of a running Dask scheduler (default: a local cluster on "
                        "this machine; 'inline' runs in this process)")
    p.add_argument("--workers", type=int, default=2, help="local cluster: worker processes (default 2)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: reports/_build/multiverse/MODEL)")
    p.add_argument("--panel", type=Path, default=None,
                   help="panel parquet (default: data/processed/panel.parquet, built if missing)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=run)


def run(args) -> int:
    from .. import paths
    from ..multiverse.runner import log_stderr, run_multiverse

    out = args.out or paths.BUILD / "multiverse" / args.model
    summary = run_multiverse(args.model, args.outcome, out_dir=out, grid=args.grid,
                             scheduler=args.scheduler, workers=args.workers, panel_path=args.panel,
                             log=None if args.quiet else log_stderr)
    for outcome, s in summary["by_outcome"].items():
        print(f"{outcome}: {s['n_estimated']} of {s['n_specifications']} specifications estimated")
        for transform, c in s["curves"].items():
            curve, joint = c["curve"], c["joint_test"]
            line = f"  {transform}: {curve.get('n_estimated', 0)} estimated"
            if curve.get("n_estimated"):
                line += f", median estimate {curve['median_estimate']:.4g}"
            stats = joint.get("statistics") or {}
            if "median_estimate" in stats:
                line += (f"; joint test ({joint['n_specifications']} specifications x "
                         f"{joint['draws']} placebo draws): p(median) = "
                         f"{stats['median_estimate']['p_value']:.3g}, p(share significant) = "
                         f"{stats['share_significant']['p_value']:.3g}")
            print(line)
    print(f"output: {out}")
    return 0
