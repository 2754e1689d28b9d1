"""One specification's own estimate, and the ``kuntakokeilu estimate`` command that replays it.

:meth:`EstimateCall.for_spec` builds the :class:`analysis.spec.EstimateSpec` of a
specification; the estimate (``fit``) and the command line (``command``) are both rendered
from it, so the two cannot drift apart. Every estimate is the public estimator's term ``att``
(``twfe_did``, ``event_study`` -- its ``att`` is the event-study average, the mean of the
post-period event-time coefficients --, ``synthetic_did``, ``synthetic_control``).

Population weighting (``weighting: population``) is weighted least squares with the frame's
``population`` column as the observation weight: each municipality-year row is weighted by the
municipality's population in that year (``kuntakokeilu estimate --weights population``). Only
the estimators in :data:`WEIGHTED_ESTIMATORS` take observation weights; the others are skipped
with that reason.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .. import study
from ..spec import WEIGHT_METHODS
from .grid import Specification

#: method -> (module, function, inference used); the ``kuntakokeilu estimate`` dispatch
FUNCTIONS: dict[str, tuple[str, str, str]] = {
    "twfe": ("analysis.estimators.did", "twfe_did", "ri"),
    "event-study": ("analysis.estimators.event_study", "event_study", "cluster"),
    "sdid": ("analysis.estimators.sdid", "synthetic_did", "placebo"),
    "sc": ("analysis.estimators.synthetic_control", "synthetic_control", "placebo"),
}
#: estimators that take observation (population) weights: weighted least squares
WEIGHTED_ESTIMATORS: tuple[str, ...] = tuple(e for e in FUNCTIONS if e in WEIGHT_METHODS)


def supports(spec: Specification, *, n_treated_clusters: int | None = None,
             options: dict | None = None) -> str | None:
    """Why the estimator cannot run ``spec`` (``None`` if it can)."""
    if spec.weighting != "none" and spec.estimator not in WEIGHTED_ESTIMATORS:
        return (f"population weighting: {spec.estimator} takes no observation weights (the "
                f"estimators that take weights: {', '.join(WEIGHTED_ESTIMATORS)})")
    if spec.estimator == "sdid" and spec.covariates:
        return "sdid takes no covariates"
    if spec.estimator == "sc":
        if n_treated_clusters is not None and n_treated_clusters != 1:
            return f"synthetic control is used for one treated cluster ({n_treated_clusters} here)"
        if spec.control_pool != "matched":
            return ("synthetic control runs on the matched pool only (in-space placebos over every "
                    "donor of a larger pool take minutes per specification)")
        if spec.covariates:
            return "synthetic control specifications use the pre-period outcomes as predictors only"
    return None


def outcome_column(spec: Specification) -> str:
    return spec.outcome if spec.transform == "level" else f"log_{spec.outcome}"


def weight_column(spec: Specification) -> str | None:
    """The frame column of the specification's observation weights (``None``: unweighted)."""
    return None if spec.weighting == "none" else spec.weighting


def _placebo_units_for(method: str) -> str | None:
    """Placebo units shaped like the pilot units wherever the method's inference draws them."""
    from ..spec import supports_placebo_units

    return "nearest" if supports_placebo_units(method) else None


class EstimateCall:
    """The settings of one specification's ``kuntakokeilu estimate`` run: an
    :class:`analysis.spec.EstimateSpec`, which renders both the call and the command."""

    @staticmethod
    def for_spec(spec: Specification, settings: dict):
        from ..spec import EstimateSpec

        inference = FUNCTIONS[spec.estimator][2]
        reps = {"twfe": settings["ri_reps"], "sdid": settings["sdid_reps"]}.get(spec.estimator)
        return EstimateSpec(method=spec.estimator, outcome=outcome_column(spec),
                            covariates=spec.covariates, inference=inference, reps=reps,
                            seed=spec.seed, placebo_units=_placebo_units_for(spec.estimator),
                            weights=weight_column(spec))


def _num(v) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def estimate_row(call, frame: pd.DataFrame) -> dict[str, Any]:
    """Run the estimator (``call``: an :class:`analysis.spec.EstimateSpec`) and return the
    specification's row values."""
    result = call.fit(frame)
    d = result.design
    est = _num(result.params["att"])
    se = _num(result.std_errors["att"])
    try:
        ci = result.conf_int().loc["att"]
        lo, hi = _num(ci.iloc[0]), _num(ci.iloc[1])
    except ValueError:
        lo = hi = math.nan
    p = _num(result.pvalues["att"])
    n_treated_clusters = d.n_treated_clusters
    if n_treated_clusters is None:
        n_treated_clusters = int(frame.loc[frame[call.treated] == 1, call.cluster].nunique())
    return {"estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "p_value": p,
            "inference": call.inference, "reps": call.reps, "seed": call.seed,
            "placebo_units": call.placebo_units,
            "n_units": int(d.n_units), "n_treated_units": int(d.n_treated_units),
            "n_clusters": int(frame[call.cluster].nunique()),
            "n_treated_clusters": int(n_treated_clusters),
            "warnings": " | ".join(dict.fromkeys(result.warnings))}


def post_years(spec: Specification) -> list[int]:
    return [y for y in range(study.ADOPTION_YEAR, spec.end_year + 1)]
