"""Adapters between ``kuntakokeilu estimate`` and the staggered estimators.

Each function has the estimate-command signature ``fn(data, *, unit, time, outcome, treated,
covariates, cluster, inference, reps, seed, **options)`` and returns an EstimationResult whose
headline coefficient is ``att``. ``cohort`` is the column holding each unit's first treated
period (0 or empty = never treated); without it, cohorts are derived from ``treated`` (first
period with 1).
"""
from __future__ import annotations

import pandas as pd

from analysis.errors import InputError, choices_message
from analysis.estimators.staggered.aggte import TYPES, aggte
from analysis.estimators.staggered.att_gt import att_gt
from analysis.estimators.staggered.bacon import bacon
from analysis.estimators.staggered.imputation import imputation
from analysis.estimators.staggered.pretest import pretest
from analysis.estimators.staggered.sun_abraham import sun_abraham
from analysis.results import EstimationResult

CONTROL = {"never": "nevertreated", "notyet": "notyettreated"}
_COHORT = "_cohort_"


def _with_cohort(data, unit, time, treated, cohort):
    df = data.copy()
    for c in (unit, time):
        if c not in df.columns:
            raise InputError(f"column not found: {c}")
    df[time] = pd.to_numeric(df[time], errors="coerce")
    if cohort:
        if cohort not in df.columns:
            raise InputError(f"cohort column not found: {cohort}")
        g = pd.to_numeric(df[cohort], errors="coerce").fillna(0)
        if (g < 0).any():
            raise InputError(f"{cohort} must be a period (or 0/empty for never treated)")
        df[_COHORT] = g
    else:
        if not treated or treated not in df.columns:
            raise InputError("give --cohort COL (first treated period) or --treated COL")
        first = df[pd.to_numeric(df[treated], errors="coerce") == 1].groupby(unit)[time].min()
        df[_COHORT] = df[unit].map(first).fillna(0)
    return df


def _relabel(res: EstimationResult, details: dict) -> EstimationResult:
    p = res.params.rename({"ATT": "att"})
    s = res.std_errors.rename({"ATT": "att"})
    ci = res.conf_int(res._ci_level).rename({"ATT": "att"})
    return EstimationResult(p, s, res.design, ci=ci, ci_level=res._ci_level, nobs=res.nobs,
                            warnings=res.warnings, details=details)


def cs(data, *, unit, time, outcome, treated=None, covariates=(), cluster=None,
       inference="cluster", reps=999, seed=0, cohort=None, control="never", est="dr",
       base_period="varying", aggregate="simple"):
    if control not in CONTROL:
        raise InputError(choices_message("control", control, CONTROL))
    if aggregate not in TYPES:
        raise InputError(choices_message("aggregate", aggregate, TYPES))
    df = _with_cohort(data, unit, time, treated, cohort)
    boot = inference == "bootstrap"
    r = att_gt(df, yname=outcome, tname=time, idname=unit, gname=_COHORT,
               covariates=tuple(covariates), control_group=CONTROL[control], est_method=est,
               base_period=base_period, clustervars=cluster, bstrap=boot, biters=reps,
               cband=boot, seed=seed)
    f = r.to_frame()
    aggs = {}
    for t in TYPES:
        a = aggte(r, t)
        if t == "simple":
            aggs[t] = a.details["overall"]
        else:
            aggs[t] = a.details["table"]
            aggs[f"{t}_overall"] = a.details["overall"]
    details = {"att_gt": f[["group", "time", "att", "se"]].to_dict("records"),
               "aggregations": aggs, "pretest": pretest(r), "aggregate": aggregate}
    return _relabel(aggte(r, aggregate), details)


def sa(data, *, unit, time, outcome, treated=None, covariates=(), cluster=None,
       inference="cluster", reps=999, seed=0, cohort=None, **_):
    if covariates:
        raise InputError("--method sa does not take covariates")
    df = _with_cohort(data, unit, time, treated, cohort)
    return sun_abraham(df, yname=outcome, tname=time, idname=unit, gname=_COHORT)


def imp(data, *, unit, time, outcome, treated=None, covariates=(), cluster=None,
        inference="cluster", reps=999, seed=0, cohort=None, **_):
    if covariates:
        raise InputError("--method imputation does not take covariates")
    df = _with_cohort(data, unit, time, treated, cohort)
    return imputation(df, yname=outcome, tname=time, idname=unit, gname=_COHORT)


def bacon_decomposition(data, *, unit, time, outcome, treated=None, covariates=(),
                        cluster=None, inference="none", reps=999, seed=0, cohort=None, **_):
    if covariates:
        raise InputError("--method bacon does not take covariates")
    df = _with_cohort(data, unit, time, treated, cohort)
    return bacon(df, yname=outcome, tname=time, idname=unit, gname=_COHORT)


DETAIL_KEYS = ("att_gt", "aggregations", "pretest", "aggregate", "components", "by_type",
               "twfe", "catt")
