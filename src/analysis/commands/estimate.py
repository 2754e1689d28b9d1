"""``kuntakokeilu estimate FILE``: estimate an effect on any long panel (CSV or Parquet).

Example::

    kuntakokeilu estimate panel.csv --unit kunta --time year --outcome costs \\
        --treated pilot --method twfe --cluster unit_id --inference wild --json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InputError

from ..spec import METHOD_OPTIONS, METHODS, EstimateSpec, estimate_record  # noqa: F401 (re-exported)
from ..study import INFERENCE_METHODS, PLACEBO_CONSTRUCTIONS



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
                   help=f"one of {', '.join(INFERENCE_METHODS)} (default: cluster for DiD, "
                        "placebo for sc/sdid)")
    p.add_argument("--weights", default=None,
                   help="column of observation weights for weighted least squares (twfe, "
                        "event-study), e.g. population (each row's population in its year); "
                        "'none' (default) = unweighted")
    p.add_argument("--bootstrap-weights", dest="bootstrap_weights", default="auto",
                   choices=("auto", "rademacher", "webb"),
                   help="wild bootstrap weight distribution (auto: Webb below 12 clusters)")
    p.add_argument("--ri-statistic", dest="ri_statistic", default="t", choices=("t", "coef"),
                   help="randomization inference statistic: cluster-robust t (default) or the "
                        "coefficient")
    p.add_argument("--reps", type=int, default=None,
                   help="bootstrap / randomization / placebo draws (default: the method's own, "
                        "9999 for wild and ri, 200 placebo sets for sdid)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--years", default=None,
                   help="time window FIRST-LAST of the rows to use (default: all)")
    p.add_argument("--placebo-units", dest="placebo_units", default=None,
                   choices=PLACEBO_CONSTRUCTIONS,
                   help="placebo inference (ri for did/twfe, placebo for sc/sdid) reassigns "
                        "treatment to placebo units shaped like the treated clusters (same number "
                        "and sizes): 'nearest' = a seed control unit and its nearest control "
                        "units by --coords; 'region' = control units of one --region")
    p.add_argument("--coords", default="x,y",
                   help="--placebo-units nearest: coordinate columns X,Y (default x,y)")
    p.add_argument("--region", default="region",
                   help="--placebo-units region: region label column (default region)")
    p.add_argument("--v-method", dest="v_method", default="nested", choices=("nested", "equal"),
                   help="sc: predictor weights V by pre-period MSPE (nested, as Synth) or equal")
    p.add_argument("--predictor-windows", dest="special_predictors", default=None,
                   help="sc: predictors = outcome averages over these windows, e.g. "
                        "2010-2011,2012-2013,2014 (default: every pre-period outcome)")
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
    p.add_argument("--effects", default=None,
                   help="fe/re/pooled: unit, time, unit,time or none (default: unit for fe, "
                        "none for re/pooled; time adds period effects)")
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
    """Parse the arguments into an :class:`~analysis.spec.EstimateSpec` and fit it."""
    spec = EstimateSpec.from_args(args)
    data = read_panel_file(args.file, [c for c in (args.unit, args.cluster) if c])
    return spec.fit(data)


def run(args: argparse.Namespace) -> int:
    result = estimate_from_args(args)
    if args.json:
        inference = args.inference or METHODS[args.method][2]
        print(json.dumps(estimate_record(args.method, result, inference), ensure_ascii=False))
    else:
        print(result.summary)
    sys.stdout.flush()
    return 0
