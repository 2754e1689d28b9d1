"""Synthetic control (Abadie & Gardeazabal 2003; Abadie, Diamond & Hainmueller 2010).

Unit weights ``W`` (non-negative, summing to one) make a weighted average of donor units
match the treated unit's predictors ``X1`` under a diagonal predictor-weight matrix ``V``;
``V`` is chosen (nested optimisation, as R ``Synth`` and ``pysyncon``) to minimise the
pre-period mean squared prediction error (MSPE) of the outcome over an optimisation window.
Predictors are scaled by their standard deviation across all units before weighting (as
``Synth``). Inference is by in-space placebos (ADH 2010, sec. 2.4): every donor in turn is
treated as if it were treated, and the treated unit's ratio of post- to pre-period root MSPE
is ranked among the placebo ratios; the smallest attainable p-value is ``1/(J+1)``.

Treated groups: ``aggregate=True`` averages the treated units' outcomes and predictors into one
treated unit; ``aggregate=False`` fits one synthetic control per treated unit
(``details["per_unit"]``) and reports the average of their effects.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import InputError, choices_message
from ..results import Design, EstimationResult
from .did import refuse_weights
from .panel_data import adoption_times, treated_units, validate_panel

if TYPE_CHECKING:
    from ..inference.placebo_units import PlaceboUnits

V_METHODS = ("nested", "equal")
INFERENCE = ("placebo", "none")

SpecialPredictor = tuple  # (column, times (iterable or None = pre-period), op ("mean"))


# --------------------------------------------------------------------------------------
# Core numerical routines (arrays only)
# --------------------------------------------------------------------------------------
SOLVERS = ("active-set", "slsqp")


def simplex_lsq(a: np.ndarray, b: np.ndarray, *, max_iter: int | None = None,
                compiled: bool = True) -> tuple[np.ndarray, int]:
    """Exact ``argmin_w ||b - a w||^2`` s.t. ``w >= 0``, ``sum(w) = 1``; returns ``(w, iterations)``.

    Primal active-set method (Lawson & Hanson 1974, ch. 23, with the adding-up constraint kept
    as an equality in every subproblem): start at the best single donor, add the donor whose
    gradient most violates the KKT conditions, solve the equality-constrained least squares on
    the support, and step back to the feasible region when a weight would turn negative. Ends
    when the KKT conditions hold to rounding error: ``O(k J)`` per iteration and about as many
    iterations as donors with positive weight. ``compiled=False`` runs the reference loop in
    Python (same steps; the compiled loop is numba).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    n_donors = a.shape[1]
    if n_donors == 1:
        return np.ones(1), 0
    max_iter = max_iter or 10 * n_donors + 100
    scale = float(np.max(np.abs(a))) if a.size else 1.0
    tol = 1e-12 * max(1.0, scale) ** 2 * max(1, a.shape[0])
    if compiled:
        from ._compiled import simplex_lsq as kernel

        w, it = kernel(np.ascontiguousarray(a), np.ascontiguousarray(b), tol, int(max_iter))
        if it < 0:  # pragma: no cover
            raise RuntimeError(f"simplex least squares did not converge in {max_iter} iterations")
        return w, int(it)
    resid0 = b[:, None] - a
    first = int(np.argmin(np.einsum("ij,ij->j", resid0, resid0)))
    w = np.zeros(n_donors)
    w[first] = 1.0
    support = [first]
    for it in range(1, max_iter + 1):
        grad = a.T @ (a @ w - b)
        nu = -float(np.mean(grad[support]))
        slack = grad + nu
        slack[support] = np.inf
        j = int(np.argmin(slack))
        if slack[j] >= -tol:
            return w, it
        support.append(j)
        while True:
            z = _equality_lsq(a[:, support], b)
            if np.all(z > 0):
                w[:] = 0.0
                w[support] = z
                break
            ws = w[support]
            neg = z <= 0
            step = float(np.min(ws[neg] / (ws[neg] - z[neg])))
            ws = ws + step * (z - ws)
            keep = ws > 1e-15
            keep[np.argmin(np.where(neg, ws, np.inf))] = False  # the blocking weight leaves
            w[:] = 0.0
            support = [s_ for s_, k_ in zip(support, keep) if k_]
            w[support] = ws[keep] / ws[keep].sum()
            if len(support) == 1:
                break
    raise RuntimeError(f"simplex least squares did not converge in {max_iter} iterations")  # pragma: no cover


def _equality_lsq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``argmin ||b - a z||`` s.t. ``sum(z) = 1`` (minimum-norm solution if not unique)."""
    base = a[:, 0]
    rest = a[:, 1:] - base[:, None]
    if rest.shape[1] == 0:
        return np.ones(1)
    y, *_ = np.linalg.lstsq(rest, b - base, rcond=None)
    return np.concatenate([[1.0 - y.sum()], y])


def simplex_weights(x1: np.ndarray, x0: np.ndarray, v: np.ndarray, *, polish: bool = True,
                    solver: str = "active-set") -> np.ndarray:
    """W(V) = argmin_w (x1 - x0 w)' diag(v) (x1 - x0 w) s.t. w >= 0, sum(w) = 1.

    ``solver="active-set"`` (default): the exact solution by :func:`simplex_lsq`.
    ``solver="slsqp"`` (reference): non-negative least squares with the adding-up constraint as
    a heavily weighted extra row, then (``polish=True``) polished with SLSQP (``O(J^2)``).
    ``x1`` has shape (k,), ``x0`` (k, J).
    """
    sv = np.sqrt(np.maximum(v, 0.0))
    a = sv[:, None] * x0
    b = sv * x1
    if solver == "active-set":
        return simplex_lsq(a, b)[0]
    if solver != "slsqp":
        raise InputError(choices_message("solver", solver, SOLVERS))
    scale = max(1.0, float(np.abs(a).max()) if a.size else 1.0)
    lam = 1e3 * scale
    a_aug = np.vstack([a, np.full((1, x0.shape[1]), lam)])
    b_aug = np.concatenate([b, [lam]])
    w, _ = optimize.nnls(a_aug, b_aug, maxiter=50 * x0.shape[1])
    s = w.sum()
    w = w / s if s > 0 else np.full(x0.shape[1], 1.0 / x0.shape[1])
    if polish:
        def loss(z):
            r = b - a @ z
            return r @ r

        def grad(z):
            return -2.0 * a.T @ (b - a @ z)

        res = optimize.minimize(
            loss, w, jac=grad, method="SLSQP", bounds=[(0.0, 1.0)] * len(w),
            constraints=[{"type": "eq", "fun": lambda z: z.sum() - 1.0, "jac": lambda z: np.ones_like(z)}],
            options={"ftol": 1e-14, "maxiter": 500},
        )
        if res.success and loss(res.x) <= loss(w) + 1e-15:
            w = np.clip(res.x, 0.0, None)
            w = w / w.sum()
    return w


def _v_from_params(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    s = ax.sum()
    return ax / s if s > 0 else np.full(len(x), 1.0 / len(x))


def fit_weights(
    x1: np.ndarray,
    x0: np.ndarray,
    z1: np.ndarray,
    z0: np.ndarray,
    *,
    v_method: str = "nested",
    seed: int = 0,
    n_starts: int = 1,
    solver: str = "active-set",
) -> tuple[np.ndarray, np.ndarray, float]:
    """Nested (V, W) optimisation. Returns (w, v, pre-period MSPE over the window).

    ``x1`` (k,), ``x0`` (k, J): predictors (already scaled); ``z1`` (T,), ``z0`` (T, J):
    outcomes over the MSPE optimisation window. ``v_method="nested"`` minimises the window MSPE
    over V = |p| / sum|p| by Nelder-Mead from equal weights (as pysyncon) and from
    ``n_starts - 1`` further seeded random starts; ``"equal"`` uses V = 1/k. ``solver``: see
    :func:`simplex_weights` (the reference ``"slsqp"`` polishes only the final W).
    """
    k = x0.shape[0]

    def mspe_of(w):
        r = z1 - z0 @ w
        return float(r @ r) / len(r)

    if v_method == "equal" or k == 1:
        v = np.full(k, 1.0 / k)
        w = simplex_weights(x1, x0, v, solver=solver)
        return w, v, mspe_of(w)

    def objective(p):
        return mspe_of(simplex_weights(x1, x0, _v_from_params(p), polish=False, solver=solver))

    rng = np.random.default_rng(seed)
    starts = [np.full(k, 1.0 / k)] + [rng.dirichlet(np.ones(k)) for _ in range(max(0, n_starts - 1))]
    best = None
    for s in starts:
        res = optimize.minimize(objective, s, method="Nelder-Mead",
                                options={"maxiter": 400 * k, "xatol": 1e-6, "fatol": 1e-10})
        if best is None or res.fun < best.fun:
            best = res
    v = _v_from_params(best.x)
    w = simplex_weights(x1, x0, v, solver=solver)
    return w, v, mspe_of(w)


# --------------------------------------------------------------------------------------
# Data preparation
# --------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    units: list
    times: np.ndarray
    Y: pd.DataFrame            # time x unit outcome matrix
    X: pd.DataFrame            # predictor x unit matrix (unscaled)
    treated: list
    donors: list
    adoption: float


def _aggregate_predictor(raw: pd.DataFrame, col: str, times, op: str, unit: str, time: str) -> pd.Series:
    sub = raw if times is None else raw[raw[time].isin(list(times))]
    if op not in ("mean",):
        raise InputError(choices_message("predictor operation", op, ["mean"]))
    return sub.groupby(unit)[col].mean()


def _prepare(data, *, unit, time, outcome, treated, covariates, predictors, special_predictors,
             predictor_window) -> _Prepared:
    core = validate_panel(data, unit=unit, time=time, outcome=outcome, treated=treated)
    adopt = adoption_times(core, unit=unit, time=time, treated=treated)
    tr = list(treated_units(core, unit=unit, treated=treated))
    starts = adopt.dropna().unique()
    if len(starts) > 1:
        raise InputError(
            f"synthetic control needs one adoption time (block design); found {sorted(starts)}; "
            "use a staggered estimator or estimate each adoption cohort separately"
        )
    t0 = float(starts[0])
    Y = core.pivot(index=time, columns=unit, values=outcome)
    if Y.isna().any().any():
        raise InputError("synthetic control needs a balanced panel (every unit in every period)")
    donors = [u for u in Y.columns if u not in tr]
    if len(donors) < 2:
        raise InputError("synthetic control needs at least 2 never-treated donor units")
    times = Y.index.to_numpy()
    pre_times = times[times < t0]
    window = list(pre_times) if predictor_window is None else list(predictor_window)

    names = list(dict.fromkeys([*covariates, *(predictors or [])]))
    for c in names:
        if c not in data.columns:
            raise InputError(f"predictor column {c!r} not in the data; available columns: "
                             f"{', '.join(map(str, data.columns))}")
    specs: list[tuple[str, Any, str, str]] = []
    for c in names:
        specs.append((c, window, "mean", f"{c}"))
    for sp in special_predictors or ():
        if len(sp) == 2:
            c, ts = sp
            op = "mean"
        else:
            c, ts, op = sp
        if c not in data.columns:
            raise InputError(f"special predictor column {c!r} not in the data")
        ts_list = None if ts is None else list(np.atleast_1d(ts))
        label = f"special.{c}." + (f"{ts_list[0]}" if ts_list and len(ts_list) == 1
                                    else f"{min(ts_list)}-{max(ts_list)}" if ts_list else "pre")
        specs.append((c, ts_list if ts_list is not None else list(pre_times), op, label))
    if not specs:
        # default: the outcome in every pre-period (pre-period outcome "averages" over one year)
        specs = [(outcome, [t], "mean", f"{outcome}.{t:g}") for t in pre_times]
    raw = data[data[unit].isin(Y.columns)]
    rows = {}
    for c, ts, op, label in specs:
        if not pd.api.types.is_numeric_dtype(raw[c]):
            raise InputError(f"predictor column {c!r} must be numeric, got {raw[c].dtype}")
        s = _aggregate_predictor(raw, c, ts, op, unit, time).reindex(Y.columns)
        if s.isna().any():
            bad = list(s.index[s.isna()][:5])
            raise InputError(f"predictor {label!r} is missing for unit(s) {bad} in the chosen periods")
        while label in rows:
            label += "'"
        rows[label] = s
    X = pd.DataFrame(rows).T
    return _Prepared(list(Y.columns), times, Y, X, tr, donors, t0)


# --------------------------------------------------------------------------------------
# Fitting one treated series against a donor pool
# --------------------------------------------------------------------------------------
def _fit_one(y1: np.ndarray, Y0: np.ndarray, x1: np.ndarray, X0: np.ndarray, scale: np.ndarray,
             times: np.ndarray, t0: float, window_mask: np.ndarray, v_method: str, seed: int,
             n_starts: int, solver: str = "active-set") -> dict:
    xs1, xs0 = x1 / scale, X0 / scale[:, None]
    w, v, mspe = fit_weights(xs1, xs0, y1[window_mask], Y0[window_mask], v_method=v_method,
                             seed=seed, n_starts=n_starts, solver=solver)
    synth = Y0 @ w
    gap = y1 - synth
    pre, post = times < t0, times >= t0
    pre_rmspe = float(np.sqrt(np.mean(gap[pre] ** 2)))
    post_rmspe = float(np.sqrt(np.mean(gap[post] ** 2)))
    return {"w": w, "v": v, "synthetic": synth, "gap": gap, "att": float(gap[post].mean()),
            "pre_rmspe": pre_rmspe, "post_rmspe": post_rmspe,
            "ratio": post_rmspe / pre_rmspe if pre_rmspe > 0 else np.inf, "window_mspe": mspe}


def synthetic_control(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    covariates: Sequence[str] = (),
    predictors: Sequence[str] | None = None,
    special_predictors: Sequence[tuple] | None = None,
    predictor_window: Sequence | None = None,
    optimization_window: Sequence | None = None,
    cluster: str | None = None,
    inference: str = "placebo",
    reps: int | None = None,
    seed: int = 0,
    aggregate: bool = True,
    v_method: str = "nested",
    n_starts: int = 1,
    solver: str = "active-set",
    placebo_units: "PlaceboUnits | None" = None,
    weights: str | None = None,
) -> EstimationResult:
    """Synthetic control estimate of the average post-period gap (term ``"att"``).

    Parameters
    ----------
    covariates, predictors : columns averaged over ``predictor_window`` (default: all
        pre-treatment periods) as predictors.
    special_predictors : ``(column, periods, "mean")`` tuples, e.g. ``("gdpcap", range(1960,
        1970), "mean")`` (R ``Synth`` ``special.predictors``). Without any predictors the
        outcome in every pre-treatment period is used.
    optimization_window : periods whose outcome MSPE chooses V (default: all pre periods).
    inference : ``"placebo"`` (in-space placebos, ADH 2010) or ``"none"``.
    reps : ignored for single-donor placebos (all donors are used: exact enumeration); the
        number of group placebos with ``placebo_units`` (default 999; all of them when fewer).
    aggregate : treated group averaged into one unit (True) or one fit per treated unit.
    v_method : ``"nested"`` (V by pre-period MSPE, as Synth) or ``"equal"`` (V = 1/k).
    n_starts : Nelder-Mead starts for V (equal weights first, then seeded random starts).
    solver : ``"active-set"`` (exact simplex least squares, default) or ``"slsqp"`` (the
        reference: NNLS with a penalty row, polished by SLSQP; ``O(J^2)`` per fit).
    placebo_units : :class:`analysis.inference.placebo_units.PlaceboUnits` (with
        ``aggregate=True``): each in-space placebo is a group of donors shaped like the treated
        clusters (sizes from ``cluster``; without it every treated unit is its own cluster),
        averaged into one placebo treated unit and fitted against the other donors, instead of
        one donor at a time (ADH 2010 placebos for an aggregated treated group).
    weights : synthetic control takes no observation weights; any value raises
        :class:`InputError`.

    The result has no standard error (``NaN``); its p-value is the placebo rank p-value.
    """
    refuse_weights("synthetic_control", weights)
    if v_method not in V_METHODS:
        raise InputError(choices_message("v_method", v_method, V_METHODS))
    if inference not in INFERENCE:
        raise InputError(choices_message("inference for synthetic control", inference, INFERENCE))
    if solver not in SOLVERS:
        raise InputError(choices_message("solver", solver, SOLVERS))
    p = _prepare(data, unit=unit, time=time, outcome=outcome, treated=treated,
                 covariates=list(covariates or ()), predictors=predictors,
                 special_predictors=special_predictors, predictor_window=predictor_window)
    times, t0 = p.times, p.adoption
    pre_times = times[times < t0]
    win = pre_times if optimization_window is None else np.asarray(list(optimization_window))
    window_mask = np.isin(times, win)
    if not window_mask.any():
        raise InputError("optimization_window contains no observed period")
    scale = p.X.std(axis=1, ddof=1).to_numpy(dtype=float, copy=True)
    scale[~(scale > 0)] = 1.0
    Y0 = p.Y[p.donors].to_numpy(float)
    X0 = p.X[p.donors].to_numpy(float)
    donors = p.donors
    warnings: list[str] = []

    def fit_treated(y1, x1):
        return _fit_one(y1, Y0, x1, X0, scale, times, t0, window_mask, v_method, seed, n_starts,
                        solver)

    if aggregate or len(p.treated) == 1:
        y1 = p.Y[p.treated].to_numpy(float).mean(axis=1)
        x1 = p.X[p.treated].to_numpy(float).mean(axis=1)
        main = fit_treated(y1, x1)
        fits = {"__aggregate__": main}
        att = main["att"]
        donor_weights = dict(zip(donors, main["w"]))
        path = _path(times, y1, main["synthetic"])
        v = main["v"]
        x1_bal = x1
        synth_bal = X0 @ main["w"]
        treated_ratio = main["ratio"]
        per_unit = None
    else:
        per_unit = {}
        for u in p.treated:
            y1 = p.Y[u].to_numpy(float)
            x1 = p.X[u].to_numpy(float)
            f = fit_treated(y1, x1)
            per_unit[u] = f
        att = float(np.mean([f["att"] for f in per_unit.values()]))
        wmat = np.mean([f["w"] for f in per_unit.values()], axis=0)
        donor_weights = dict(zip(donors, wmat))
        y1 = p.Y[p.treated].to_numpy(float).mean(axis=1)
        synth = np.mean([f["synthetic"] for f in per_unit.values()], axis=0)
        path = _path(times, y1, synth)
        v = np.mean([f["v"] for f in per_unit.values()], axis=0)
        x1_bal = p.X[p.treated].to_numpy(float).mean(axis=1)
        synth_bal = np.mean([X0 @ f["w"] for f in per_unit.values()], axis=0)
        gap = y1 - synth
        treated_ratio = float(np.sqrt(np.mean(gap[times >= t0] ** 2)) / np.sqrt(np.mean(gap[times < t0] ** 2)))

    balance = pd.DataFrame({
        "v_weight": v, "treated": x1_bal, "synthetic": synth_bal,
        "donor_mean": X0.mean(axis=1)}, index=p.X.index)
    balance.index.name = "predictor"

    details: dict[str, Any] = {
        "weights": {str(k): float(w) for k, w in donor_weights.items()},
        "v_weights": {str(k): float(x) for k, x in zip(p.X.index, v)},
        "path": path,
        "balance": balance,
        "adoption_time": t0,
        "treated_units": [str(u) for u in p.treated],
        "pre_rmspe": float(np.sqrt(np.mean((np.array([r["gap"] for r in path]))[times < t0] ** 2))),
    }
    if per_unit is not None:
        details["per_unit"] = {
            str(u): {"att": f["att"], "pre_rmspe": f["pre_rmspe"], "post_rmspe": f["post_rmspe"],
                     "weights": {str(d): float(w) for d, w in zip(donors, f["w"])}}
            for u, f in per_unit.items()}

    pvalue = np.nan
    if inference == "placebo" and placebo_units is not None:
        if not aggregate and len(p.treated) > 1:
            raise InputError("group placebos (placebo_units) need aggregate=True: the placebo "
                             "group is averaged into one unit as the treated group is")
        pvalue = _group_placebos(data, p, Y0, X0, scale, times, t0, window_mask, v_method, seed,
                                 n_starts, solver, treated_ratio, unit=unit, cluster=cluster,
                                 reps=999 if reps is None else int(reps),
                                 placebo_units=placebo_units, details=details,
                                 warnings=warnings)
    elif inference == "placebo":
        ratios = {}
        gaps = {}
        for j, d in enumerate(donors):
            keep = [i for i in range(len(donors)) if i != j]
            f = _fit_one(Y0[:, j], Y0[:, keep], X0[:, j], X0[:, keep], scale, times, t0,
                         window_mask, v_method, seed, n_starts, solver)
            ratios[str(d)] = f["ratio"]
            gaps[str(d)] = f["gap"].tolist()
        r = np.array(list(ratios.values()))
        rank = 1 + int(np.sum(r >= treated_ratio))
        pvalue = rank / (len(donors) + 1)
        pmin = 1.0 / (len(donors) + 1)
        details["placebo"] = {
            "ratio_treated": treated_ratio,
            "ratios": ratios,
            "gaps": gaps,
            "times": times.tolist(),
            "p_value": pvalue,
            "rank": rank,
            "min_p_value": pmin,
            "n_placebos": len(donors),
        }
        warnings.append(
            f"{len(p.treated)} treated unit(s)"
            + (" averaged into one" if aggregate and len(p.treated) > 1 else "")
            + ": inference by in-space placebos (post/pre RMSPE ratio rank); smallest attainable "
            f"p-value 1/(J+1) = {pmin:.4f} with J = {len(donors)} donors; no standard error"
        )
    else:
        warnings.append("no inference requested: the estimate has no standard error or p-value")
    if per_unit is not None:
        warnings.append(
            "per-unit fits: the placebo p-value compares the average treated units' RMSPE ratio "
            "with single-donor placebo ratios (conservative when treated units are averaged)")

    n_clusters = int(data[cluster].nunique()) if cluster else None
    design = Design(
        estimator="synthetic control (ADH 2010" + (", aggregate treated" if aggregate else ", per unit") + ")",
        inference=("in-space placebo" + (" (donor groups)" if placebo_units else ""))
        if inference == "placebo" else "none",
        n_units=len(p.units), n_treated_units=len(p.treated), n_periods=len(times),
        n_clusters=n_clusters, cluster=cluster,
        control_pool=f"never-treated units ({len(donors)} donors)",
        years=(int(times.min()), int(times.max())), outcome=outcome,
        extra={"v_method": v_method, "predictors": list(p.X.index)},
    )
    ci = pd.DataFrame({"lower": [np.nan], "upper": [np.nan]}, index=["att"])
    return EstimationResult({"att": att}, {"att": np.nan}, design, pvalues={"att": pvalue}, ci=ci,
                            details=details, warnings=warnings, nobs=len(p.units) * len(times))


def _group_placebos(data, p, Y0, X0, scale, times, t0, window_mask, v_method, seed, n_starts,
                    solver, treated_ratio, *, unit, cluster, reps, placebo_units, details,
                    warnings) -> float:
    """In-space placebos of donor groups shaped like the treated clusters; returns the p-value."""
    from ..inference.placebo_units import draw_placebo_units

    donors = p.donors
    if cluster is not None:
        cl = data.drop_duplicates(unit).set_index(unit)[cluster]
        sizes = sorted(cl.reindex(p.treated).value_counts().astype(int).tolist(), reverse=True)
    else:
        sizes = [1] * len(p.treated)
    draws = draw_placebo_units(data[data[unit].isin(donors)], unit=unit, sizes=sizes, reps=reps,
                               seed=seed, placebo_units=placebo_units)
    pos = pd.Index(donors).get_indexer(draws.units)
    ratios = np.empty(draws.n_draws)
    gaps = []
    for b, members in enumerate(draws.members):
        group = pos[members]
        keep = np.setdiff1d(np.arange(len(donors)), group)
        f = _fit_one(Y0[:, group].mean(axis=1), Y0[:, keep], X0[:, group].mean(axis=1),
                     X0[:, keep], scale, times, t0, window_mask, v_method, seed, n_starts, solver)
        ratios[b] = f["ratio"]
        gaps.append(f["gap"].tolist())
    rank = 1 + int(np.sum(ratios >= treated_ratio))
    pvalue = rank / (draws.n_draws + 1)
    details["placebo"] = {
        "ratio_treated": treated_ratio, "ratios": ratios.tolist(), "gaps": gaps,
        "groups": [[str(u) for u in draws.units[m]] for m in draws.members[:50]],
        "times": times.tolist(), "p_value": pvalue, "rank": rank,
        "min_p_value": draws.min_p_value, "n_placebos": draws.n_draws,
        "placebo_units": draws.to_dict(),
    }
    warnings.append(
        f"{len(p.treated)} treated unit(s) averaged into one: inference by in-space placebos of "
        f"{draws.n_draws} {'(all) ' if draws.enumerated else ''}donor groups shaped like the "
        f"treated clusters (sizes {list(draws.sizes)}, {placebo_units.construction}); post/pre "
        f"RMSPE ratio rank; smallest attainable p-value {draws.min_p_value:.4f}; no standard error")
    return pvalue


def _path(times, y1, synth) -> list[dict]:
    return [{"time": float(t), "treated": float(a), "synthetic": float(b), "gap": float(a - b)}
            for t, a, b in zip(times, y1, synth)]
