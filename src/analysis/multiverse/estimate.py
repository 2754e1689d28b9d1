"""One specification's own estimate, and the ``kuntakokeilu estimate`` command that replays it.

:class:`EstimateCall` holds the values passed to the estimator; the keyword arguments of the
call and the command line are both rendered from it (:meth:`EstimateCall.kwargs`,
:meth:`EstimateCall.command`), so the two cannot drift apart. Every estimate is the public
estimator's (``twfe_did``, ``event_study``, ``synthetic_did``, ``synthetic_control``); the
event-study average is the mean of its post-period event-time coefficients, with the variance
``a'Va`` from the estimator's cluster-robust covariance of those terms.
"""
from __future__ import annotations

import importlib
import math
import shlex
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .. import study
from .grid import Specification

#: method -> (module, function, inference used); the ``kuntakokeilu estimate`` dispatch
FUNCTIONS: dict[str, tuple[str, str, str]] = {
    "twfe": ("analysis.estimators.did", "twfe_did", "ri"),
    "event-study": ("analysis.estimators.event_study", "event_study", "cluster"),
    "sdid": ("analysis.estimators.sdid", "synthetic_did", "placebo"),
    "sc": ("analysis.estimators.synthetic_control", "synthetic_control", "placebo"),
}
#: estimators that take observation (population) weights; none does yet
WEIGHTED_ESTIMATORS: tuple[str, ...] = ()


def supports(spec: Specification, *, n_treated_clusters: int | None = None,
             options: dict | None = None) -> str | None:
    """Why the estimator cannot run ``spec`` (``None`` if it can)."""
    if spec.weighting == "population" and spec.estimator not in WEIGHTED_ESTIMATORS:
        return (f"population weighting: {spec.estimator} takes no observation weights "
                "(kuntakokeilu estimate has no weights option for them)")
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


@dataclass(frozen=True)
class EstimateCall:
    """The settings of one ``kuntakokeilu estimate`` run on an analysis frame."""

    method: str
    outcome: str
    covariates: tuple[str, ...]
    inference: str
    reps: int | None
    seed: int
    unit: str = "kunta"
    time: str = "year"
    treated: str = "treated"
    cluster: str = "cluster"

    @classmethod
    def for_spec(cls, spec: Specification, settings: dict) -> "EstimateCall":
        inference = FUNCTIONS[spec.estimator][2]
        reps = {"twfe": settings["ri_reps"], "sdid": settings["sdid_reps"]}.get(spec.estimator)
        return cls(method=spec.estimator, outcome=outcome_column(spec), covariates=spec.covariates,
                   inference=inference, reps=reps, seed=spec.seed)

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the estimator function, as ``kuntakokeilu estimate`` passes them."""
        kw: dict[str, Any] = {"unit": self.unit, "time": self.time, "outcome": self.outcome,
                              "treated": self.treated, "covariates": list(self.covariates),
                              "cluster": self.cluster, "inference": self.inference,
                              "seed": self.seed}
        if self.method in ("twfe",):
            kw.update(weights="auto", ri_statistic="t")
        if self.method == "event-study":
            kw.update(weights="auto")
        if self.reps is not None:
            kw["reps"] = self.reps
        return kw

    def command(self, frame_path: str) -> str:
        """The ``kuntakokeilu estimate`` command line (``frame_path`` relative to the output)."""
        parts = ["kuntakokeilu", "estimate", frame_path, "--unit", self.unit, "--time", self.time,
                 "--outcome", self.outcome, "--treated", self.treated, "--method", self.method]
        if self.covariates:
            parts += ["--covariates", ",".join(self.covariates)]
        parts += ["--cluster", self.cluster, "--inference", self.inference]
        if self.reps is not None:
            parts += ["--reps", str(self.reps)]
        parts += ["--seed", str(self.seed), "--json"]
        return " ".join(shlex.quote(p) for p in parts)

    def run(self, frame: pd.DataFrame):
        module, func, _ = FUNCTIONS[self.method]
        return getattr(importlib.import_module(module), func)(frame, **self.kwargs())


def _num(v) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def event_study_average(result) -> tuple[float, float, float, float, float]:
    """Mean of the post-period event-time coefficients (event time >= 0): estimate, SE, CI and
    p-value from the estimator's CR1 covariance (``t(G-1)``); NaN without one."""
    rows = [r for r in result.details["event_study"] if r["event_time"] >= 0]
    names = [f"event_time={r['event_time']}" for r in rows]
    b = result.params[names].to_numpy(dtype=float)
    est = float(b.mean())
    vcov_terms = result.details.get("vcov_terms")
    if not vcov_terms:
        return est, math.nan, math.nan, math.nan, math.nan
    V = np.asarray(result.details["vcov"], dtype=float)
    idx = [vcov_terms.index(n) for n in names]
    a = np.full(len(idx), 1.0 / len(idx))
    se = float(np.sqrt(a @ V[np.ix_(idx, idx)] @ a))
    df = result.df_resid
    dist = stats.t(df) if df else stats.norm()
    q = float(dist.ppf(0.975))
    p = float(2 * dist.sf(abs(est) / se)) if se > 0 else math.nan
    return est, se, est - q * se, est + q * se, p


def estimate_row(call: EstimateCall, frame: pd.DataFrame) -> dict[str, Any]:
    """Run the estimator and return the specification's row values."""
    result = call.run(frame)
    d = result.design
    if call.method == "event-study":
        est, se, lo, hi, p = event_study_average(result)
    else:
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
            "n_units": int(d.n_units), "n_treated_units": int(d.n_treated_units),
            "n_clusters": int(frame[call.cluster].nunique()),
            "n_treated_clusters": int(n_treated_clusters),
            "warnings": " | ".join(dict.fromkeys(result.warnings))}


def post_years(spec: Specification) -> list[int]:
    return [y for y in range(study.ADOPTION_YEAR, spec.end_year + 1)]
