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
    weights: str = "auto",
    level: float = 0.95,
    ref: int = -1,
    window: tuple[int, int] | None = None,
    engine: str = "within",
) -> EstimationResult:
    """Event-study coefficients ``event_time=e`` (reference ``ref`` omitted).

    ``engine="within"`` fits by the exact within transformation; ``"linearmodels"`` takes the
    coefficients from linearmodels ``PanelOLS`` (the reference path, same numbers).
    """
    check_inference(inference, ("cluster", "wild"))
    check_engine(engine)
    design = prepare_panel(data, unit=unit, time=time, outcome=outcome, treated=treated,
                           covariates=covariates, cluster=cluster)
    if inference == "wild":
        refuse_wild_with_one_treated_cluster(design)
    f = design.frame
    adopt = f[unit].map(design.adoption).to_numpy(dtype=float)
    rel = f[time].to_numpy(dtype=float) - adopt  # NaN for never treated
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
    if not any(np.isnan(rel)):
        raise InputError("the event study needs never-treated (control) units")
    cols = {term_name(e): (rel == e).astype(float) for e in terms}
    X_raw = np.column_stack([*cols.values(), *(f[c].to_numpy(dtype=float) for c in design.covariates)])
    names = [*cols, *design.covariates]
    fit = fwl_fit(design, X_raw, design.k_absorbed())
    if engine == "linearmodels":
        lm_params, _, kept = _panel_ols(design, pd.DataFrame(X_raw, columns=names))
        if kept != names:
            raise InputError(f"event-time terms or covariates absorbed by the fixed effects: "
                             f"{[n for n in names if n not in kept]}")
        fit.beta = lm_params.to_numpy()
    params = pd.Series(fit.beta, index=names)
    se = pd.Series(np.sqrt(np.diag(fit.cov)), index=names)
    ss = fit.small_sample
    warnings = inference_warnings(design, inference)
    one = design.n_treated_clusters < 2
    if one:
        se[:] = np.where([n in cols for n in names], np.nan, se)
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
        pretrend["p_value"] = float(stats.f(m, ss.df).sf(stat)) if ss.df > 0 else np.nan
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

        res = wild_cluster_bootstrap(fit.X, fit.y, design.cluster_codes,
                                     coefs=range(len(terms)), reps=reps, weights=weights,
                                     seed=seed, level=level,
                                     n_treated_clusters=design.n_treated_clusters)
        pvalues = pd.Series(np.nan, index=names)
        ci = pd.DataFrame({"lower": np.nan, "upper": np.nan}, index=names)
        for name, r in zip(cols, res):
            pvalues[name] = r.p_value
            ci.loc[name] = [r.ci_low, r.ci_high]
        details["wild_bootstrap"] = {n: r.to_dict() for n, r in zip(cols, res)}
        details["cluster_se"] = {n: float(se[n]) for n in cols}
        se[list(cols)] = np.nan
        warnings.append(f"wild cluster restricted bootstrap ({res[0].weights} weights, "
                        f"{res[0].reps} draws); intervals by test inversion, no SEs")
        warnings.extend(res[0].warnings)
    extra = {"small_sample": ss.describe(), "reference_event_time": ref, "window": window,
             "covariates": list(design.covariates)}
    result = EstimationResult(
        params, se, _design_record(design, "event_study", inference, extra), pvalues=pvalues,
        ci=ci, ci_level=level, df_resid=ss.df, details=details, warnings=warnings,
        nobs=design.n_obs,
    )
    if one:
        table_ci = pd.DataFrame({"lower": np.nan, "upper": np.nan}, index=names)
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
