"""``kuntakokeilu estimate FILE``: estimate an effect on any long panel (CSV or Parquet).

Example::

    kuntakokeilu estimate panel.csv --unit kunta --time year --outcome costs \\
        --treated pilot --method twfe --cluster unit_id --inference wild --json
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from pathlib import Path

from ..errors import InputError, choices_message

# Method dispatch: name -> (module, function, default inference, allowed inference).
# Every function has the signature fn(data, *, unit, time, outcome, treated, covariates,
# cluster, inference, reps, seed, **options) -> EstimationResult. To add a method (e.g. the
# staggered estimators cs | sa | imputation | bacon), add one row here; method-specific
# options go in METHOD_OPTIONS below.
METHODS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "did": ("analysis.estimators.did", "did_2x2", "cluster", ("cluster", "wild", "ri")),
    "twfe": ("analysis.estimators.did", "twfe_did", "cluster", ("cluster", "wild", "ri")),
    "event-study": ("analysis.estimators.event_study", "event_study", "cluster", ("cluster", "wild")),
    "sc": ("analysis.estimators.synthetic_control", "synthetic_control", "placebo", ("placebo",)),
    "sdid": ("analysis.estimators.sdid", "synthetic_did", "placebo", ("placebo",)),
    # staggered adoption (engineer D): adapters in analysis.estimators.staggered.cli
    "cs": ("analysis.estimators.staggered.cli", "cs", "cluster", ("cluster", "bootstrap")),
    "sa": ("analysis.estimators.staggered.cli", "sa", "cluster", ("cluster",)),
    "imputation": ("analysis.estimators.staggered.cli", "imp", "cluster", ("cluster",)),
    "bacon": ("analysis.estimators.staggered.cli", "bacon_decomposition", "none", ("none",)),
}
# Extra keyword options per method: name -> {argparse dest: function keyword}.
METHOD_OPTIONS: dict[str, dict[str, str]] = {
    "did": {"weights": "weights", "ri_statistic": "ri_statistic"},
    "twfe": {"weights": "weights", "ri_statistic": "ri_statistic"},
    "event-study": {"weights": "weights"},
    "cs": {"cohort": "cohort", "control": "control", "est": "est", "base_period": "base_period",
           "aggregate": "aggregate"},
    "sa": {"cohort": "cohort"},
    "imputation": {"cohort": "cohort"},
    "bacon": {"cohort": "cohort"},
}
INFERENCE_CHOICES = ("cluster", "wild", "ri", "placebo")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "estimate",
        help="estimate a treatment effect on a long panel file (CSV or Parquet)",
        description=(
            "Estimate a treatment effect on a long panel (one row per unit and period). "
            "--treated is the 0/1 treatment status of each row (1 for a treated unit in its "
            "treated periods); a unit's adoption time is its first period with 1."
        ),
    )
    p.add_argument("file", type=Path, help="panel file, .csv or .parquet")
    p.add_argument("--unit", required=True, help="unit identifier column")
    p.add_argument("--time", required=True, help="period column (numeric)")
    p.add_argument("--outcome", required=True, help="outcome column (numeric)")
    p.add_argument("--treated", default=None,
                   help="0/1 treatment status column (required unless --cohort is given)")
    p.add_argument("--method", required=True, help=f"one of: {', '.join(METHODS)}")
    p.add_argument("--covariates", default="", help="comma-separated covariate columns")
    p.add_argument("--cluster", default=None,
                   help="cluster column (default: the unit); use the treatment-assignment unit")
    p.add_argument("--inference", default=None,
                   help=f"one of {', '.join(INFERENCE_CHOICES)} (default: cluster for DiD, "
                        "placebo for sc/sdid)")
    p.add_argument("--weights", default="auto", choices=("auto", "rademacher", "webb"),
                   help="wild bootstrap weights (auto: Webb below 12 clusters)")
    p.add_argument("--ri-statistic", dest="ri_statistic", default="t", choices=("t", "coef"),
                   help="randomization inference statistic: cluster-robust t (default) or the "
                        "coefficient")
    p.add_argument("--reps", type=int, default=None,
                   help="bootstrap / randomization / placebo draws (default: the method's own, "
                        "9999 for wild and ri, 200 placebo sets for sdid)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--cohort", default=None,
                   help="staggered methods: column with each unit's first treated period "
                        "(0 or empty = never treated)")
    p.add_argument("--control", default="never", choices=("never", "notyet"),
                   help="cs: never-treated or not-yet-treated comparison group")
    p.add_argument("--est", default="dr", choices=("dr", "dr_imp", "ipw", "reg"),
                   help="cs: doubly robust (as R did), improved DR, IPW or outcome regression")
    p.add_argument("--base-period", dest="base_period", default="varying",
                   choices=("varying", "universal"), help="cs: base period")
    p.add_argument("--aggregate", default="simple",
                   choices=("simple", "dynamic", "group", "calendar"),
                   help="cs: aggregation reported as the headline (all are in details)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def read_panel_file(path: Path, id_columns=()):
    """Read a CSV or Parquet panel; identifier columns of a CSV are read as text, so that codes
    such as municipality number ``005`` keep their leading zeros."""
    import pandas as pd

    if not path.exists():
        raise InputError(f"file not found: {path}")
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        if path.suffix.lower() == ".csv" or suffix in (".csv.gz",):
            header = pd.read_csv(path, nrows=0).columns
            return pd.read_csv(path, dtype={c: str for c in id_columns if c in header})
    except Exception as exc:  # malformed file
        raise InputError(f"cannot read {path}: {exc}") from exc
    raise InputError(f"unknown file type {path.suffix!r}; valid choices: .csv, .parquet")


def estimate_from_args(args):
    if args.method not in METHODS:
        raise InputError(choices_message("method", args.method, METHODS))
    module_name, func_name, default_inf, allowed = METHODS[args.method]
    inference = args.inference or default_inf
    if inference not in allowed:
        raise InputError(
            f"inference {inference!r} is not available for method {args.method!r}; "
            f"valid choices: {', '.join(allowed)}"
        )
    if args.reps is not None and args.reps < 1:
        raise InputError(f"--reps must be positive, got {args.reps}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise InputError(f"method {args.method!r} is not available in this version "
                         f"({module_name} missing)") from exc
    func = getattr(module, func_name)
    if not args.treated and not getattr(args, "cohort", None):
        raise InputError("--treated is required (or --cohort for staggered methods)")
    data = read_panel_file(args.file, [c for c in (args.unit, args.cluster) if c])
    covariates = [c.strip() for c in args.covariates.split(",") if c.strip()]
    options = {kw: getattr(args, dest) for dest, kw in METHOD_OPTIONS.get(args.method, {}).items()}
    if args.reps is not None:
        options["reps"] = args.reps
    return func(data, unit=args.unit, time=args.time, outcome=args.outcome,
                treated=args.treated, covariates=covariates, cluster=args.cluster,
                inference=inference, seed=args.seed, **options)


def _num(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def result_json(method: str, result, inference: str | None = None) -> dict:
    """The issue's JSON object: one headline estimate (``att``), null where undefined.

    ``inference`` is the option used (cluster, wild, ri, placebo); the estimator's own longer
    description is in ``details["inference_detail"]``.
    """
    from ..results import jsonable

    if "att" in result.params.index:
        term = "att"
        try:
            ci = result.conf_int()
            lo, hi = ci.loc[term, "lower"], ci.loc[term, "upper"]
        except ValueError:
            lo = hi = None
        estimate, se, p = result.params[term], result.std_errors[term], result.pvalues[term]
    else:
        estimate = se = p = lo = hi = None
    details = {}
    if "event_study" in result.details:
        details["event_study"] = result.details["event_study"]
        details["pretrend"] = result.details.get("pretrend")
    if "weights" in result.details:
        details["weights"] = result.details["weights"]
    for key in ("min_p_value", "randomization", "wild_bootstrap", "cluster_se"):
        if key in result.details:
            details[key] = result.details[key]
    for key in ("att_gt", "aggregations", "pretest", "components", "by_type", "catt"):
        if key in result.details:  # staggered methods
            details[key] = result.details[key]
    details["warnings"] = list(result.warnings)
    d = result.design
    details["inference_detail"] = d.inference
    return jsonable({
        "method": method, "estimate": _num(estimate), "se": _num(se), "ci_low": _num(lo),
        "ci_high": _num(hi), "p_value": _num(p), "inference": inference or d.inference,
        "n_units": d.n_units, "n_treated_units": d.n_treated_units, "n_periods": d.n_periods,
        "details": details,
    })


def run(args: argparse.Namespace) -> int:
    result = estimate_from_args(args)
    if args.json:
        inference = args.inference or METHODS[args.method][2]
        print(json.dumps(result_json(args.method, result, inference), ensure_ascii=False))
    else:
        print(result.summary)
    sys.stdout.flush()
    return 0
