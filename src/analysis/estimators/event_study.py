"""Event study: leads and lags around adoption with unit and period effects.

``y_it = a_i + l_t + Σ_{e != ref} b_e·1[t - A_i = e] + X_it'g + u_it`` for treated units
(adoption time ``A_i``), never-treated units have all indicators 0. The reference period is
``ref`` (default -1: 2014 when adoption is 2015). Event times outside ``window`` are binned
into its end points. The joint pre-trend test is the Wald test of all leads (``e < ref`` and
``ref < e < 0``) being zero with the CR1 covariance, ``F(m, G-1)`` (fixest ``wald`` style).
Inference per coefficient as in :mod:`analysis.estimators.did` (``cluster`` or ``wild``; the
wild bootstrap gives each event-time coefficient its own p-value and inverted interval).
Fitted by the within transformation (exact two-way demeaning, balanced or unbalanced panels);
``engine="linearmodels"`` takes the coefficients from ``PanelOLS`` (the reference path).

The term ``att`` is the event-study average: the mean of the post-period coefficients (event
times ``e >= 0``), ``a'b`` with ``a = 1/K`` on those ``K`` terms, with SE ``sqrt(a'Va)`` from the
CR1 covariance and ``t(G-1)``; with ``inference="wild"`` its p-value and interval come from the
wild cluster restricted bootstrap of that linear combination (the design reparametrised so that
one coefficient is the average). Observation weights (``weights=``): weighted least squares as in
:func:`analysis.estimators.did.twfe_did`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..results import EstimationResult
from .did import (
    _design_record, _panel_ols, check_engine, check_inference, fwl_fit, inference_warnings,
    prepare_panel, refuse_wild_with_one_treated_cluster,
)

#: the term of the event-study average (mean of the post-period coefficients)
AVERAGE_TERM = "att"


def term_name(e: int) -> str:
    return f"event_time={e}"


def event_study(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    inference: str = "cluster",
    reps: int = 9999,
    seed: int = 0,
    weights: str | None = None,
    bootstrap_weights: str = "auto",
    level: float = 0.95,
    ref: int = -1,
    window: tuple[int, int] | None = None,
    engine: str = "within",
) -> EstimationResult:
    """Event-study coefficients ``event_time=e`` (reference ``ref`` omitted) and their post-period
    average ``att``.

    ``engine="within"`` fits by the exact within transformation; ``"linearmodels"`` takes the
    coefficients from linearmodels ``PanelOLS`` (the reference path, same numbers). ``weights``:
    column of positive observation weights (weighted least squares; ``None`` = unweighted);
    ``bootstrap_weights``: the wild bootstrap's weight distribution.
    """
    check_inference(inference, ("cluster", "wild"))
    check_engine(engine)
    design = prepare_panel(data, unit=unit, time=time, outcome=outcome, treated=treated,
                           covariates=covariates, cluster=cluster, weights=weights)
    if inference == "wild":
        refuse_wild_with_one_treated_cluster(design)
    adopt = design.adoption_values[design.unit_codes]
    rel = design.values(time) - adopt  # NaN for never treated
    if window is not None:
        lo, hi = window
        if not lo < ref < hi:
            raise InputError(f"window {window} must contain the reference event time {ref}")
        rel = np.where(np.isnan(rel), rel, np.clip(rel, lo, hi))
    event_times = sorted(int(e) for e in np.unique(rel[~np.isnan(rel)]))
    if ref not in event_times:
        raise InputError(f"reference event time {ref} is not observed for the treated units; "
                         f"observed event times: {event_times}")
    terms = [e for e in event_times if e != ref]
    if not any(e >= 0 for e in terms):
        raise InputError(f"no post-period event times (>= 0) for the treated units; observed "
                         f"event times: {event_times}")
    if not any(np.isnan(rel)):
        raise InputError("the event study needs never-treated (control) units")
    cols = {term_name(e): (rel == e).astype(float) for e in terms}
    X_raw = np.column_stack([*cols.values(), *(design.values(c) for c in design.covariates)])
    names = [*cols, *design.covariates]
    fit = fwl_fit(design, X_raw, design.k_absorbed())
    if engine == "linearmodels":
        lm_params, _, kept = _panel_ols(design, pd.DataFrame(X_raw, columns=names))
        if kept != names:
            raise InputError(f"event-time terms or covariates absorbed by the fixed effects: "
                             f"{[n for n in names if n not in kept]}")
        fit.beta = lm_params.to_numpy()
    post = [i for i, e in enumerate(terms) if e >= 0]
    avg = np.zeros(len(names))
    avg[post] = 1.0 / len(post)
    index = pd.Index([*names, AVERAGE_TERM])
    params = pd.Series([*fit.beta, float(avg @ fit.beta)], index=index)
    se = pd.Series([*np.sqrt(np.diag(fit.cov)), float(np.sqrt(max(avg @ fit.cov @ avg, 0.0)))],
                   index=index)
    ss = fit.small_sample
    warnings = inference_warnings(design, inference)
    one = design.n_treated_clusters < 2
    if one:
        se[:] = np.where([n in cols or n == AVERAGE_TERM for n in se.index], np.nan, se)
    # joint pre-trend test (leads other than the reference)
    leads = [i for i, e in enumerate(terms) if e < 0]
    pretrend = {"statistic": np.nan, "df": len(leads), "df_denominator": ss.df, "p_value": np.nan,
                "distribution": "F", "terms": [term_name(terms[i]) for i in leads]}
    if leads and not one:
        b = fit.beta[leads]
        V = fit.cov[np.ix_(leads, leads)]
        m = len(leads)
        stat = float(b @ np.linalg.pinv(V) @ b) / m
        pretrend["statistic"] = stat
        pretrend["p_value"] = float(stats.f.sf(stat, m, ss.df)) if ss.df > 0 else np.nan
    pvalues = ci = None
    details: dict = {"pretrend": pretrend, "reference_event_time": ref}
    if not one:
        # cluster-robust covariance of the event-time terms (event-time order, reference
        # omitted): the input of Rambachan-Roth sensitivity (analysis.sensitivity.honest_did)
        k = len(terms)
        details["vcov"] = fit.cov[:k, :k].tolist()
        details["vcov_terms"] = [term_name(e) for e in terms]
    if inference == "wild":
        from ..inference.wild_bootstrap import wild_cluster_bootstrap

        absorbed, absorbed_warnings = design.bootstrap_absorbed()
        warnings.extend(absorbed_warnings)
        boot = dict(absorbed=absorbed, reps=reps, weights=bootstrap_weights, seed=seed,
                    level=level, n_treated_clusters=design.n_treated_clusters)
        res = wild_cluster_bootstrap(fit.X, fit.y, design.cluster_codes,
                                     coefs=range(len(terms)), **boot)
        # the average as one coefficient: X b = (X A^-1)(A b), A = identity with the first post
        # row replaced by the averaging weights; the same weight draws (same seed)
        A = np.eye(len(names))
        A[post[0]] = avg
        average = wild_cluster_bootstrap(fit.X @ np.linalg.inv(A), fit.y, design.cluster_codes,
                                         coefs=[post[0]], **boot)[0]
        pvalues = pd.Series(np.nan, index=params.index)
        ci = pd.DataFrame({"lower": np.nan, "upper": np.nan}, index=params.index)
        for name, r in [*zip(cols, res), (AVERAGE_TERM, average)]:
            pvalues[name] = r.p_value
            ci.loc[name] = [r.ci_low, r.ci_high]
        details["wild_bootstrap"] = {n: r.to_dict() for n, r in zip(cols, res)}
        details["wild_bootstrap"][AVERAGE_TERM] = average.to_dict()
        details["cluster_se"] = {n: float(se[n]) for n in [*cols, AVERAGE_TERM]}
        se[[*cols, AVERAGE_TERM]] = np.nan
        warnings.append(f"wild cluster restricted bootstrap ({res[0].weights} weights, "
                        f"{res[0].reps} draws); intervals by test inversion, no SEs")
        warnings.extend(res[0].warnings)
    extra = {"small_sample": ss.describe(), "reference_event_time": ref, "window": window,
             "covariates": list(design.covariates),
             "average": {"term": AVERAGE_TERM, "terms": [term_name(terms[i]) for i in post],
                         "description": "mean of the post-period event-time coefficients"}}
    result = EstimationResult(
        params, se, _design_record(design, "event_study", inference, extra), pvalues=pvalues,
        ci=ci, ci_level=level, df_resid=ss.df, details=details, warnings=warnings,
        nobs=design.n_obs,
    )
    if one:
        table_ci = pd.DataFrame({"lower": np.nan, "upper": np.nan}, index=params.index)
    else:
        table_ci = result.conf_int(level)
    result.details["event_study"] = [
        {"event_time": e, "estimate": float(params[term_name(e)]),
         "se": float(se[term_name(e)]), "ci_low": float(table_ci.loc[term_name(e), "lower"]),
         "ci_high": float(table_ci.loc[term_name(e), "upper"])}
        for e in terms
    ] + [{"event_time": ref, "estimate": 0.0, "se": None, "ci_low": None, "ci_high": None}]
    result.details["event_study"].sort(key=lambda r: r["event_time"])
    return result
