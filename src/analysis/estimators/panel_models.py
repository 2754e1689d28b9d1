"""Linear panel regressions: pooled OLS, random effects and fixed effects (Wooldridge 2010,
ch. 10), fitted with linearmodels and returned as :class:`analysis.results.EstimationResult`.

``y_it = x_it'b + c_i + l_t + u_it`` with

- ``model="pooled"``: OLS with a constant (``PooledOLS``); no unit effects;
- ``model="re"``: random unit effects, feasible GLS on the quasi-demeaned data
  ``y_it - theta_i ybar_i`` (``RandomEffects``; Swamy-Arora variance components);
- ``model="fe"``: unit effects absorbed by the within transformation (``PanelOLS`` with
  ``entity_effects``); regressors constant within units are absorbed and dropped.

``time_effects=True`` adds period effects: absorbed in the fixed-effects model, as period
dummies (``year=1981``, ...; first period omitted) in the pooled and random-effects models.
``unit_effects=False`` with ``model="fe"`` gives period effects only.

Covariance (``cov=``):

- ``"cluster"`` (default): the project's CR1, ``q = G/(G-1)·(N-1)/(N-K)`` with ``t(G-1)``
  (:mod:`analysis.inference.cluster`), clustered by ``cluster`` (default the unit). It is computed
  on the design the estimator actually regresses (within-transformed for FE, quasi-demeaned for
  RE); ``K`` counts absorbed effects as fixest does (unit effects nested in the clusters count as
  one intercept).
- ``"unadjusted"``: linearmodels' classical covariance (homoskedastic, no clustering), as in the
  textbook tables (Wooldridge 2020, Example 14.4); reference ``t(N-K)`` with linearmodels' K.

Reference: Wooldridge, *Introductory Econometrics* (7th ed., 2020), Example 14.4 / Table 14.2,
reproduced in ``tests/test_panel_models.py`` on linearmodels' ``wage_panel`` data.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, choices_message
from ..inference.cluster import cr1_covariance
from ..results import Design, EstimationResult
from .panel_data import validate_panel
from .within import WithinTransform

MODELS = ("fe", "re", "pooled")
COVARIANCES = ("cluster", "unadjusted")
MODEL_NAMES = {"fe": "fixed effects (within)", "re": "random effects (GLS)",
               "pooled": "pooled OLS"}


def panel_regression(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    regressors: Sequence[str],
    model: str = "fe",
    unit_effects: bool = True,
    time_effects: bool = False,
    cluster: str | None = None,
    cov: str = "cluster",
    level: float = 0.95,
) -> EstimationResult:
    """Pooled OLS, random effects or fixed effects of ``outcome`` on ``regressors``.

    See the module docstring for the models and covariances. Terms are the regressors (plus
    ``const`` for pooled/RE, and period dummies ``{time}={t}`` for pooled/RE with
    ``time_effects``). ``details`` holds R², the variance components and ``theta`` (RE), and the
    absorbed regressors (FE).
    """
    from linearmodels.panel import PanelOLS, PooledOLS, RandomEffects

    if model not in MODELS:
        raise InputError(choices_message("panel model", model, MODELS))
    if cov not in COVARIANCES:
        raise InputError(choices_message("covariance", cov, COVARIANCES))
    regressors = list(dict.fromkeys(regressors or ()))
    if not regressors:
        raise InputError("a panel regression needs at least one regressor (covariates=...)")
    if outcome in regressors:
        raise InputError(f"the outcome {outcome!r} is also among the regressors")
    if model == "fe" and not unit_effects and not time_effects:
        raise InputError("model 'fe' needs unit and/or period effects; use model='pooled'")
    if model != "fe" and not unit_effects:
        raise InputError(f"unit_effects=False applies to model 'fe' only (got model {model!r})")
    frame = validate_panel(data, unit=unit, time=time, outcome=outcome, covariates=regressors,
                           cluster=cluster, require_pre_period=False)
    cluster_col = cluster or unit
    unit_codes, units = pd.factorize(frame[unit], sort=True)
    time_codes, times = pd.factorize(frame[time], sort=True)
    cluster_codes, clusters = pd.factorize(frame[cluster_col], sort=True)
    if len(clusters) < 2:
        raise InputError(f"cluster column {cluster_col!r} has only one cluster")
    nested = bool((pd.Series(cluster_codes).groupby(unit_codes).nunique() <= 1).all())
    index = pd.MultiIndex.from_arrays([unit_codes, frame[time].to_numpy()])
    y = pd.Series(frame[outcome].to_numpy(float), index=index, name=outcome)
    X = pd.DataFrame({c: frame[c].to_numpy(float) for c in regressors}, index=index)
    warnings: list[str] = []
    details: dict = {}

    if model == "fe":
        fit = PanelOLS(y, X, entity_effects=unit_effects, time_effects=time_effects,
                       drop_absorbed=True, check_rank=False).fit(cov_type="unadjusted")
        kept = list(fit.params.index)
        dropped = [c for c in regressors if c not in kept]
        if dropped:
            warnings.append(f"regressor(s) absorbed by the fixed effects and dropped: {dropped}")
        within = WithinTransform(unit_codes, time_codes, unit_effects=unit_effects,
                                 time_effects=time_effects)
        Xt = within.transform(X[kept].to_numpy())
        yt = within.transform(y.to_numpy())
        k_absorbed = _k_absorbed(unit_effects, time_effects, nested, len(units), len(times))
        details["absorbed"] = dropped
    else:
        if time_effects:
            dummies = pd.get_dummies(pd.Categorical(frame[time].to_numpy(), categories=times),
                                     prefix=time, prefix_sep="=", drop_first=True).astype(float)
            X = pd.concat([X, dummies.set_axis(index)], axis=1)
        X.insert(0, "const", 1.0)
        estimator = PooledOLS if model == "pooled" else RandomEffects
        fit = estimator(y, X, check_rank=False).fit(cov_type="unadjusted")
        kept = list(fit.params.index)
        Xt, yt = X[kept].to_numpy(), y.to_numpy()
        if model == "re":
            per_unit = fit.theta.iloc[:, 0].reindex(np.arange(len(units))).to_numpy(float)
            theta = per_unit[unit_codes]
            Xt = Xt - theta[:, None] * _unit_means(Xt, unit_codes, len(units))
            yt = yt - theta * _unit_means(yt[:, None], unit_codes, len(units))[:, 0]
            vc = fit.variance_decomposition
            details["variance_components"] = {k: float(v) for k, v in vc.items()}
            details["theta"] = (float(per_unit[0]) if np.ptp(per_unit) == 0
                                else {str(u): float(t) for u, t in zip(units, per_unit)})
        k_absorbed = 0

    params = fit.params.astype(float)
    if cov == "unadjusted":
        se = fit.std_errors.astype(float)
        df_resid = float(fit.df_resid)
        small = "classical (homoskedastic) covariance from linearmodels; t(N-K)"
    else:
        beta = params.to_numpy()
        resid = yt - Xt @ beta
        vcov, ss = cr1_covariance(Xt, resid, cluster_codes, n_params=Xt.shape[1] + k_absorbed)
        se = pd.Series(np.sqrt(np.diag(vcov)), index=kept)
        df_resid = float(ss.df)
        small = ss.describe()
        if not nested:
            warnings.append(f"units are not nested in clusters ({cluster_col!r})")
        if len(clusters) < 30:
            warnings.append(f"{len(clusters)} clusters: cluster-robust SEs are unreliable with "
                            "few clusters (Cameron & Miller 2015)")
    details["r2"] = float(fit.rsquared)
    for name in ("rsquared_within", "rsquared_between", "rsquared_overall"):
        if hasattr(fit, name):
            details[name.replace("rsquared", "r2")] = float(getattr(fit, name))
    effects = [e for e, on in ((unit, unit_effects and model != "pooled"),
                               (time, time_effects)) if on]
    design = Design(
        estimator=f"panel regression: {MODEL_NAMES[model]}",
        inference="CR1 cluster-robust" if cov == "cluster" else "classical (unadjusted)",
        n_units=len(units), n_treated_units=0, n_periods=len(times),
        n_clusters=len(clusters) if cov == "cluster" else None,
        cluster=cluster_col if cov == "cluster" else None,
        years=(int(np.min(times)), int(np.max(times))), outcome=outcome,
        extra={"model": model, "effects": effects, "regressors": kept,
               "small_sample": small,
               "linearmodels": {"fe": "PanelOLS", "re": "RandomEffects", "pooled": "PooledOLS"}[model]},
    )
    return EstimationResult(params, se, design, ci_level=level, df_resid=df_resid,
                            details=details, warnings=warnings, nobs=len(frame))


def _unit_means(M: np.ndarray, codes: np.ndarray, n_units: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=n_units)
    out = np.empty((n_units, M.shape[1]))
    for j in range(M.shape[1]):
        out[:, j] = np.bincount(codes, weights=M[:, j], minlength=n_units)
    return (out / counts[:, None])[codes]


def _k_absorbed(unit_effects: bool, time_effects: bool, nested: bool, n_units: int,
                n_periods: int) -> int:
    """Absorbed effects in K as fixest counts them: unit effects nested in the clusters count
    as one intercept; period effects as ``T - 1`` beside unit effects (``T`` alone)."""
    k_units = (1 if nested else n_units) if unit_effects else 0
    if time_effects:
        return k_units + n_periods - (1 if unit_effects else 0)
    return k_units


# --------------------------------------------------------------------------------------
# `kuntakokeilu estimate --method fe|re|pooled`
# --------------------------------------------------------------------------------------
EFFECTS = ("unit", "time", "unit,time", "none")


def _parse_effects(model: str, effects: str | None) -> tuple[bool, bool]:
    if effects is None:
        effects = "unit" if model == "fe" else "none"
    parts = {p.strip() for p in str(effects).split(",") if p.strip()} - {"none"}
    if not parts <= {"unit", "time"}:
        raise InputError(choices_message("effects", effects, EFFECTS))
    if model != "fe" and "unit" in parts:
        raise InputError(f"--effects unit applies to --method fe; model {model!r} takes "
                         "'time' (period dummies) or 'none'")
    return "unit" in parts, "time" in parts


def _command(model: str):
    def fit(data, *, unit, time, outcome, treated=None, covariates=(), cluster=None,
            inference="cluster", reps=None, seed=0, effects=None):
        """Panel regression with the ``treated`` column as the term ``att`` (any numeric
        regressor of interest) and ``covariates`` as controls; ``reps``/``seed`` unused."""
        unit_fx, time_fx = _parse_effects(model, effects)
        frame = data
        regressors = list(covariates or ())
        if treated:
            if treated not in data.columns:
                raise InputError(choices_message("treated column", treated, data.columns))
            frame = data.assign(att=data[treated])
            regressors = ["att", *[c for c in regressors if c != treated]]
        return panel_regression(frame, unit=unit, time=time, outcome=outcome,
                                regressors=regressors, model=model,
                                unit_effects=unit_fx or model != "fe", time_effects=time_fx,
                                cluster=cluster, cov=inference)

    fit.__name__ = model
    return fit


fe = _command("fe")
re = _command("re")
pooled = _command("pooled")
