"""The validated settings of one estimate: :class:`EstimateSpec`.

One object holds everything that determines a number (method, columns, covariates, time
window, inference, draws, seed, placebo-unit construction, method options), validated once
(as R ``did`` does with ``DIDparams``). ``kuntakokeilu estimate`` parses its arguments into
an ``EstimateSpec`` and the notebook calls build one per published estimate, so that

- ``spec.fit(frame)`` returns the results object (:class:`analysis.results.EstimationResult`);
- ``spec.command("frame.parquet")`` is the exact ``kuntakokeilu estimate`` invocation that
  reproduces it from the saved frame;
- :func:`estimate_record` is the one JSON shape of a headline estimate (the ``--json`` output
  and the ``results.json`` rows).

The command cannot drift from what produced the number: both go through :meth:`EstimateSpec.fit`.
"""
from __future__ import annotations

import importlib
import math
import shlex
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from .errors import InputError, choices_message

#: inference methods that draw (bootstrap, permutations, placebos) and their fewest draws: with
#: 19 draws, 1/20 = 0.05 is the smallest attainable p-value
DRAW_INFERENCE = ("wild", "ri", "placebo", "bootstrap")
MIN_DRAWS = 19
from .study import PLACEBO_CONSTRUCTIONS

# Method dispatch: name -> (module, function, default inference, allowed inference).
# Every function has the signature fn(data, *, unit, time, outcome, treated, covariates,
# cluster, inference, reps, seed, **options) -> EstimationResult. To add a method, add one row
# here and its options to METHOD_OPTIONS / OPTION_FLAGS.
METHODS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "did": ("analysis.estimators.did", "did_2x2", "cluster", ("cluster", "wild", "ri")),
    "twfe": ("analysis.estimators.did", "twfe_did", "cluster", ("cluster", "wild", "ri")),
    "event-study": ("analysis.estimators.event_study", "event_study", "cluster", ("cluster", "wild")),
    "sc": ("analysis.estimators.synthetic_control", "synthetic_control", "placebo", ("placebo",)),
    "sdid": ("analysis.estimators.sdid", "synthetic_did", "placebo", ("placebo",)),
    # staggered adoption: adapters in analysis.estimators.staggered.cli
    "cs": ("analysis.estimators.staggered.cli", "cs", "cluster", ("cluster", "bootstrap")),
    "sa": ("analysis.estimators.staggered.cli", "sa", "cluster", ("cluster",)),
    "imputation": ("analysis.estimators.staggered.cli", "imp", "cluster", ("cluster",)),
    "bacon": ("analysis.estimators.staggered.cli", "bacon_decomposition", "none", ("none",)),
    # panel regressions (--treated is the regressor reported as att)
    "fe": ("analysis.estimators.panel_models", "fe", "cluster", ("cluster", "unadjusted")),
    "re": ("analysis.estimators.panel_models", "re", "cluster", ("cluster", "unadjusted")),
    "pooled": ("analysis.estimators.panel_models", "pooled", "cluster", ("cluster", "unadjusted")),
}
#: method -> the option keywords it takes (beyond the common signature)
METHOD_OPTIONS: dict[str, tuple[str, ...]] = {
    "did": ("bootstrap_weights", "ri_statistic"),
    "twfe": ("bootstrap_weights", "ri_statistic"),
    "event-study": ("bootstrap_weights",),
    "sc": ("v_method", "special_predictors"),
    "cs": ("cohort", "control", "est", "base_period", "aggregate"),
    "sa": ("cohort",),
    "imputation": ("cohort",),
    "bacon": ("cohort",),
    "fe": ("effects",),
    "re": ("effects",),
    "pooled": ("effects",),
}
#: option keyword -> (command-line flag, default); an option at its default is not written
OPTION_FLAGS: dict[str, tuple[str, Any]] = {
    "bootstrap_weights": ("--bootstrap-weights", "auto"),
    "ri_statistic": ("--ri-statistic", "t"),
    "v_method": ("--v-method", "nested"),
    "special_predictors": ("--predictor-windows", None),
    "cohort": ("--cohort", None),
    "control": ("--control", "never"),
    "est": ("--est", "dr"),
    "base_period": ("--base-period", "varying"),
    "aggregate": ("--aggregate", "simple"),
    "effects": ("--effects", None),
}
#: methods that take observation weights (``--weights COLUMN``): weighted least squares
WEIGHT_METHODS = ("twfe", "event-study")
#: ``--weights`` value for an unweighted estimate
NO_WEIGHTS = "none"
#: methods whose placebo draws take placebo units shaped like the treated clusters
PLACEBO_UNIT_METHODS = {"did": "ri", "twfe": "ri", "sc": "placebo", "sdid": "placebo"}


def parse_windows(text: str) -> tuple[tuple[int, ...], ...]:
    """``"2010-2011,2012-2013,2014"`` -> ``((2010, 2011), (2012, 2013), (2014,))``."""
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            lo, _, hi = part.partition("-")
            lo_i, hi_i = int(lo), int(hi or lo)
        except ValueError:
            raise InputError(f"predictor window {part!r} is not FIRST-LAST (e.g. 2010-2011) or a year") from None
        if hi_i < lo_i:
            raise InputError(f"predictor window {part!r}: the last year is before the first")
        out.append(tuple(range(lo_i, hi_i + 1)))
    if not out:
        raise InputError("--predictor-windows needs at least one window, e.g. 2010-2011,2012-2013,2014")
    return tuple(out)


def windows_text(windows: Sequence[Sequence[int]]) -> str:
    return ",".join(f"{w[0]}-{w[-1]}" if len(w) > 1 else f"{w[0]}" for w in windows)


def parse_years(text: str) -> tuple[int, int]:
    """``"2010-2016"`` -> ``(2010, 2016)``."""
    lo, sep, hi = str(text).partition("-")
    try:
        years = (int(lo), int(hi))
    except ValueError:
        raise InputError(f"--years {text!r} must be FIRST-LAST, e.g. 2010-2016") from None
    if not sep or years[1] < years[0]:
        raise InputError(f"--years {text!r} must be FIRST-LAST with FIRST <= LAST")
    return years


def supports_placebo_units(method: str) -> bool:
    """True when ``method``'s placebo-based inference draws placebo units shaped like the
    treated clusters (:data:`PLACEBO_UNIT_METHODS`)."""
    return method in PLACEBO_UNIT_METHODS


@dataclass(frozen=True)
class EstimateSpec:
    """Validated settings of one estimate (see the module docstring).

    ``placebo_units``: construction of placebo units for placebo-based inference
    (:data:`analysis.study.PLACEBO_CONSTRUCTIONS`; ``None`` = the estimator's own draws);
    ``coords`` and ``region`` name the columns it uses. ``years`` restricts the frame to a time
    window before fitting. ``weights``: the column of observation weights (weighted least
    squares; methods :data:`WEIGHT_METHODS`; ``None`` or ``"none"`` = unweighted), e.g.
    ``population`` in an analysis frame: each row's municipal population in that row's year.
    ``options``: method options (:data:`METHOD_OPTIONS`).
    """

    method: str
    unit: str = "kunta"
    time: str = "year"
    outcome: str = "outcome"
    treated: str | None = "treated"
    cluster: str | None = "cluster"
    covariates: tuple[str, ...] = ()
    inference: str | None = None
    reps: int | None = None
    seed: int = 0
    years: tuple[int, int] | None = None
    placebo_units: str | None = None
    coords: tuple[str, str] = ("x", "y")
    region: str = "region"
    options: Mapping[str, Any] = field(default_factory=dict)
    weights: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(choices_message("method", self.method, METHODS))
        if self.weights is not None:
            if not isinstance(self.weights, str) or not self.weights.strip():
                raise InputError(f"--weights must name a column of observation weights (or "
                                 f"'{NO_WEIGHTS}'), got {self.weights!r}")
            if self.weights == NO_WEIGHTS:
                object.__setattr__(self, "weights", None)
        if self.weights is not None and self.method not in WEIGHT_METHODS:
            raise InputError(f"method {self.method!r} takes no observation weights (--weights "
                             f"{self.weights}); the methods that take weights: "
                             f"{', '.join(WEIGHT_METHODS)}")
        allowed = METHODS[self.method][3]
        inference = self.inference or METHODS[self.method][2]
        if inference not in allowed:
            raise InputError(f"inference {inference!r} is not available for method {self.method!r}; "
                             f"valid choices: {', '.join(allowed)}")
        object.__setattr__(self, "inference", inference)
        if self.reps is not None and (not isinstance(self.reps, int) or self.reps < 1):
            raise InputError(f"reps must be a positive integer, got {self.reps!r}")
        if self.reps is not None and inference in DRAW_INFERENCE and self.reps < MIN_DRAWS:
            raise InputError(f"--reps {self.reps} is too few draws for {inference} inference: the minimum "
                             f"is {MIN_DRAWS} (with fewer draws no p-value below 0.05 is attainable)")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"--seed must be a non-negative integer, got {self.seed!r}")
        if not self.treated and not self.options.get("cohort"):
            raise InputError("--treated is required (or --cohort for staggered methods)")
        object.__setattr__(self, "covariates", tuple(self.covariates))
        if self.years is not None:
            object.__setattr__(self, "years", (int(self.years[0]), int(self.years[1])))
            if self.years[1] < self.years[0]:
                raise InputError(f"years {self.years}: the last year is before the first")
        if self.placebo_units is not None:
            if self.placebo_units not in PLACEBO_CONSTRUCTIONS:
                raise InputError(choices_message("placebo units", self.placebo_units, PLACEBO_CONSTRUCTIONS))
            if PLACEBO_UNIT_METHODS.get(self.method) != inference:
                valid = ", ".join(f"{m} --inference {i}" for m, i in PLACEBO_UNIT_METHODS.items())
                raise InputError(f"--placebo-units applies to placebo-based inference only ({valid}); "
                                 f"got method {self.method!r} with inference {inference!r}")
        if len(self.coords) != 2:
            raise InputError(f"coords must name two columns (X,Y), got {self.coords!r}")
        object.__setattr__(self, "coords", tuple(self.coords))
        valid = METHOD_OPTIONS.get(self.method, ())
        opts = {}
        for key, value in dict(self.options).items():
            if key not in valid:
                raise InputError(f"option {key!r} does not apply to method {self.method!r}; valid "
                                 f"options: {', '.join(valid) or '(none)'}")
            if key == "special_predictors" and value is not None:
                value = tuple(tuple(int(y) for y in w) for w in value)
            if value is not None and value != OPTION_FLAGS[key][1]:
                opts[key] = value
        object.__setattr__(self, "options", opts)

    def with_(self, **changes: Any) -> "EstimateSpec":
        """A copy with some settings changed (validated again)."""
        return replace(self, **changes)

    # ---- running -----------------------------------------------------------------------
    def _function(self):
        module_name, func_name = METHODS[self.method][:2]
        return getattr(importlib.import_module(module_name), func_name)

    def placebo_units_settings(self):
        """The :class:`analysis.inference.placebo_units.PlaceboUnits` of this spec (or None)."""
        if self.placebo_units is None:
            return None
        from .inference.placebo_units import PlaceboUnits

        return PlaceboUnits(construction=self.placebo_units, x=self.coords[0], y=self.coords[1],
                            region=self.region)

    def select(self, data):
        """The rows the estimate uses: the ``years`` window of ``data``."""
        if self.years is None:
            return data
        if self.time not in data.columns:
            raise InputError(choices_message("time column", self.time, data.columns))
        lo, hi = self.years
        out = data[(data[self.time] >= lo) & (data[self.time] <= hi)]
        if out.empty:
            raise InputError(f"no rows in years {lo}-{hi}")
        return out

    def fit(self, data):
        """Estimate on ``data`` (a long panel): the results object."""
        func = self._function()
        kwargs: dict[str, Any] = dict(unit=self.unit, time=self.time, outcome=self.outcome,
                                      treated=self.treated, covariates=list(self.covariates),
                                      cluster=self.cluster, inference=self.inference, seed=self.seed)
        if self.reps is not None:
            kwargs["reps"] = self.reps
        if self.weights is not None:
            self._check_weights_column(data)
            kwargs["weights"] = self.weights
        for key, value in self.options.items():
            if key == "special_predictors":
                value = [(self.outcome, list(w), "mean") for w in value]
            kwargs[key] = value
        pu = self.placebo_units_settings()
        if pu is not None:
            kwargs["placebo_units"] = pu
        return func(self.select(data), **kwargs)

    def _check_weights_column(self, data) -> None:
        if self.weights in getattr(data, "columns", ()):
            return
        import pandas as pd

        numeric = [str(c) for c in data.columns if pd.api.types.is_numeric_dtype(data[c])
                   and not pd.api.types.is_bool_dtype(data[c])]
        hint = ""
        if self.weights in ("auto", "rademacher", "webb"):
            hint = " (wild bootstrap weights are --bootstrap-weights)"
        raise InputError(choices_message("observation weights column", self.weights,
                                         [NO_WEIGHTS, *numeric]) + hint)

    # ---- the command line ----------------------------------------------------------------
    def arguments(self) -> list[str]:
        """The ``kuntakokeilu estimate`` options (without the file) that give this spec."""
        args = ["--unit", self.unit, "--time", self.time, "--outcome", self.outcome]
        if self.treated:
            args += ["--treated", self.treated]
        if self.cluster:
            args += ["--cluster", self.cluster]
        if self.covariates:
            args += ["--covariates", ",".join(self.covariates)]
        if self.years is not None:
            args += ["--years", f"{self.years[0]}-{self.years[1]}"]
        if self.weights is not None:
            args += ["--weights", self.weights]
        args += ["--method", self.method, "--inference", self.inference]
        if self.reps is not None:
            args += ["--reps", str(self.reps)]
        args += ["--seed", str(self.seed)]
        if self.placebo_units is not None:
            args += ["--placebo-units", self.placebo_units]
            if self.placebo_units == "nearest" and self.coords != ("x", "y"):
                args += ["--coords", ",".join(self.coords)]
            if self.placebo_units == "region" and self.region != "region":
                args += ["--region", self.region]
        for key in OPTION_FLAGS:
            if key in self.options:
                value = self.options[key]
                if key == "special_predictors":
                    value = windows_text(value)
                args += [OPTION_FLAGS[key][0], str(value)]
        return args

    def command(self, file: str = "frame.parquet", *, json: bool = True) -> str:
        """The exact shell command that reproduces this estimate from ``file``."""
        words = ["kuntakokeilu", "estimate", str(file), *self.arguments()]
        if json:
            words.append("--json")
        return " ".join(shlex.quote(w) for w in words)

    @classmethod
    def from_args(cls, args) -> "EstimateSpec":
        """From parsed ``kuntakokeilu estimate`` arguments."""
        if args.method not in METHODS:
            raise InputError(choices_message("method", args.method, METHODS))
        options = {}
        for key in METHOD_OPTIONS.get(args.method, ()):
            value = getattr(args, key, None)
            if key == "special_predictors" and value is not None:
                value = parse_windows(value)
            options[key] = value
        coords = tuple(c.strip() for c in str(args.coords).split(","))
        if len(coords) != 2 or not all(coords):
            raise InputError(f"--coords {args.coords!r} must be two column names X,Y")
        return cls(
            method=args.method, unit=args.unit, time=args.time, outcome=args.outcome,
            treated=args.treated, cluster=args.cluster,
            covariates=tuple(c.strip() for c in args.covariates.split(",") if c.strip()),
            inference=args.inference, reps=args.reps, seed=args.seed,
            years=parse_years(args.years) if args.years else None,
            placebo_units=args.placebo_units, coords=coords, region=args.region, options=options,
            weights=getattr(args, "weights", None),
        )


# ---- the JSON of one estimate --------------------------------------------------------------
def _num(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def headline_numbers(result, term: str = "att") -> dict[str, float | None]:
    """estimate, se, ci_low, ci_high, p_value of ``term`` (None where undefined)."""
    if term not in result.params.index:
        return {"estimate": None, "se": None, "ci_low": None, "ci_high": None, "p_value": None}
    try:
        ci = result.conf_int()
        lo, hi = ci.loc[term, "lower"], ci.loc[term, "upper"]
    except ValueError:
        lo = hi = None
    return {"estimate": _num(result.params[term]), "se": _num(result.std_errors[term]),
            "ci_low": _num(lo), "ci_high": _num(hi), "p_value": _num(result.pvalues[term])}


def estimate_record(method: str, result, inference: str | None = None) -> dict:
    """The ``kuntakokeilu estimate --json`` object: one headline estimate (``att``), null where
    undefined. ``inference`` is the option used (cluster, wild, ri, placebo); the estimator's
    own longer description is in ``details["inference_detail"]``."""
    from .results import jsonable

    details = {}
    if "event_study" in result.details:
        details["event_study"] = result.details["event_study"]
        details["pretrend"] = result.details.get("pretrend")
    if "weights" in result.details:
        details["weights"] = result.details["weights"]
    if result.design.extra and result.design.extra.get("weights"):
        details["observation_weights"] = result.design.extra["weights"]
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
        "method": method, **headline_numbers(result), "inference": inference or d.inference,
        "n_units": d.n_units, "n_treated_units": d.n_treated_units, "n_periods": d.n_periods,
        "details": details,
    })
