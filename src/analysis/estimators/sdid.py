"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021).

Algorithm 1 of the paper as implemented in R ``synthdid`` (v0.0.9): unit weights omega by
Frank-Wolfe on the collapsed pre-period panel with ridge penalty
``zeta = (N_tr * T_post)^(1/4) * sigma`` (sigma = sd of first-differenced control outcomes in
the pre-period), time weights lambda with ``zeta = 1e-6 * sigma``; intercepts; a first pass of
100 iterations, sparsification (weights <= max/4 set to 0) and a second pass of up to 10,000
iterations, stopping when the objective decreases by less than ``(1e-5 * sigma)^2``.
Standard errors: placebo (Algorithm 4), jackknife (Algorithm 3, fixed weights as in synthdid)
or bootstrap (Algorithm 2, re-estimated weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError, choices_message
from ..results import Design, EstimationResult
from .did import refuse_weights
from .panel_data import _unit_time_codes, adoption_times, treated_units, validate_panel

if TYPE_CHECKING:
    from ..inference.placebo_units import PlaceboUnits

INFERENCE = ("placebo", "jackknife", "bootstrap", "none")


ENGINES = ("compiled", "python")
# R synthdid's iteration caps: a first pass of 100 iterations, a second of up to 10,000
FIRST_PASS_ITER = 100
MAX_ITER = 10_000


@dataclass(frozen=True)
class FrankWolfeReport:
    """How one Frank-Wolfe pass ended: it stops when the objective decreases by less than
    ``min_decrease**2`` (converged) or at ``max_iter`` iterations (not converged)."""

    iterations: int
    max_iter: int
    last_decrease: float
    min_decrease: float

    @property
    def converged(self) -> bool:
        return self.iterations < self.max_iter or self.last_decrease <= self.min_decrease ** 2

    def to_dict(self) -> dict:
        return {"iterations": self.iterations, "max_iter": self.max_iter,
                "last_decrease": self.last_decrease, "threshold": self.min_decrease ** 2,
                "converged": self.converged}


def frank_wolfe(Y, zeta, *, intercept=True, weights=None, min_decrease=1e-3, max_iter=1000,
                engine="compiled") -> tuple[np.ndarray, FrankWolfeReport]:
    """R ``synthdid:::sc.weight.fw``: weights over the first ncol-1 columns of ``Y`` fitting the
    last, by Frank-Wolfe on ``zeta^2 |w|^2 + |A w - b|^2 / N0`` over the simplex.

    ``engine="compiled"`` runs the same iterates compiled (numba,
    :func:`analysis.estimators._compiled.frank_wolfe`: the gradient updated in O(weights) per
    iteration where that pays); ``"python"`` is the reference loop. The two agree to rounding
    (``tests/test_fast_paths.py``). Returns the weights and a :class:`FrankWolfeReport`.
    """
    if engine not in ENGINES:
        raise InputError(choices_message("engine", engine, ENGINES))
    Y = np.asarray(Y, float)
    T0 = Y.shape[1] - 1
    N0 = Y.shape[0]
    lam = np.full(T0, 1.0 / T0) if weights is None else np.asarray(weights, float).copy()
    if intercept:
        Y = Y - Y.mean(axis=0)
    A, b = np.ascontiguousarray(Y[:, :T0]), np.ascontiguousarray(Y[:, T0])
    eta = N0 * zeta ** 2
    z2 = zeta ** 2
    if engine == "compiled":
        from ._compiled import frank_wolfe as kernel

        lam, t, last = kernel(A, b, lam, float(eta), float(z2), float(min_decrease) ** 2,
                              int(max_iter))
        return lam, FrankWolfeReport(int(t), int(max_iter), float(last), float(min_decrease))
    Ax = A @ lam
    vals = []
    t = 0
    # Frank-Wolfe steps of synthdid:::fw.step, with A @ x updated incrementally
    while t < max_iter and (t < 2 or vals[-2] - vals[-1] > min_decrease ** 2):
        t += 1
        half_grad = (Ax - b) @ A + eta * lam
        i = int(np.argmin(half_grad))
        xx = lam @ lam
        if not (lam[i] == 1.0 and xx == 1.0):  # else d.x == 0: x unchanged
            derr = A[:, i] - Ax
            num = half_grad @ lam - half_grad[i]          # = -half_grad' d.x
            den = derr @ derr + eta * (1.0 - 2.0 * lam[i] + xx)
            step = min(1.0, max(0.0, num / den))
            lam = lam * (1.0 - step)
            lam[i] += step
            Ax = Ax + step * derr
            xx = lam @ lam
        err = Ax - b
        vals.append(z2 * xx + (err @ err) / N0)
    last = vals[-2] - vals[-1] if len(vals) >= 2 else 0.0
    return lam, FrankWolfeReport(t, int(max_iter), float(last), float(min_decrease))


def sc_weight_fw(Y, zeta, *, intercept=True, weights=None, min_decrease=1e-3, max_iter=1000,
                 engine="compiled"):
    """R ``synthdid:::sc.weight.fw``: weights over the first ncol-1 columns fitting the last
    (:func:`frank_wolfe` without its report)."""
    return frank_wolfe(Y, zeta, intercept=intercept, weights=weights, min_decrease=min_decrease,
                       max_iter=max_iter, engine=engine)[0]


def _sparsify(v):
    v = v.copy()
    v[v <= v.max() / 4] = 0.0
    return v / v.sum()


def _collapsed(Y, N0, T0):
    top = np.hstack([Y[:N0, :T0], Y[:N0, T0:].mean(axis=1, keepdims=True)])
    bot = np.hstack([Y[N0:, :T0].mean(axis=0, keepdims=True), [[Y[N0:, T0:].mean()]]])
    return np.vstack([top, bot])


@dataclass(frozen=True)
class SDIDWeights:
    """Unit weights ``omega``, time weights ``lam`` and how their final passes ended."""

    omega: np.ndarray
    lam: np.ndarray
    omega_report: FrankWolfeReport
    lambda_report: FrankWolfeReport

    @property
    def converged(self) -> bool:
        return self.omega_report.converged and self.lambda_report.converged

    def convergence(self) -> dict:
        return {"unit_weights": self.omega_report.to_dict(),
                "time_weights": self.lambda_report.to_dict()}


def sdid_fit_weights(Y, N0, T0, *, engine="compiled", max_iter=MAX_ITER) -> SDIDWeights:
    """Unit and time weights for an (N x T) matrix with controls first and pre-periods first
    (Algorithm 1 as R synthdid: first pass, sparsify, second pass), with convergence reports."""
    N1, T1 = Y.shape[0] - N0, Y.shape[1] - T0
    sigma = float(np.std(np.diff(Y[:N0, :T0], axis=1), ddof=1)) if T0 > 1 else 0.0
    zeta_omega = (N1 * T1) ** 0.25 * sigma
    zeta_lambda = 1e-6 * sigma
    min_dec = 1e-5 * sigma if sigma > 0 else 1e-12
    Yc = _collapsed(Y, N0, T0)
    kw = dict(min_decrease=min_dec, engine=engine)
    lam_mat = Yc[:N0, :]
    lam, _ = frank_wolfe(lam_mat, zeta_lambda, max_iter=FIRST_PASS_ITER, **kw)
    lam, lam_rep = frank_wolfe(lam_mat, zeta_lambda, weights=_sparsify(lam), max_iter=max_iter, **kw)
    om_mat = Yc[:, :T0].T  # (T0 x (N0+1)): controls then treated mean
    omega, _ = frank_wolfe(om_mat, zeta_omega, max_iter=FIRST_PASS_ITER, **kw)
    omega, om_rep = frank_wolfe(om_mat, zeta_omega, weights=_sparsify(omega), max_iter=max_iter,
                                **kw)
    return SDIDWeights(omega, lam, om_rep, lam_rep)


def sdid_weights(Y, N0, T0, *, engine="compiled"):
    """(omega, lambda) for an (N x T) matrix with controls first and pre-periods first."""
    w = sdid_fit_weights(Y, N0, T0, engine=engine)
    return w.omega, w.lam


def convergence_warning(weights: SDIDWeights) -> str | None:
    """A warning naming the weight pass that stopped at its iteration cap, if any."""
    bad = [(name, rep) for name, rep in (("unit", weights.omega_report),
                                         ("time", weights.lambda_report)) if not rep.converged]
    if not bad:
        return None
    parts = [f"{name} weights stopped at the {rep.max_iter:,}-iteration cap with the objective "
             f"still decreasing by {rep.last_decrease:.3g} per step (threshold "
             f"{rep.min_decrease ** 2:.3g})" for name, rep in bad]
    return ("Frank-Wolfe " + "; ".join(parts) + ": the weights are R synthdid's (same cap) but "
            "not fully converged")


def sdid_tau(Y, N0, T0, omega=None, lam=None, *, engine="compiled"):
    if omega is None or lam is None:
        omega, lam = sdid_weights(Y, N0, T0, engine=engine)
    N1, T1 = Y.shape[0] - N0, Y.shape[1] - T0
    wu = np.concatenate([-omega, np.full(N1, 1.0 / N1)])
    wt = np.concatenate([-lam, np.full(T1, 1.0 / T1)])
    return float(wu @ Y @ wt), omega, lam


def convergence_counts(converged: np.ndarray) -> dict:
    """``fits``, ``not_converged`` (stopped at the Frank-Wolfe cap) and ``max_iter`` of a set
    of placebo fits, from each fit's convergence flag."""
    converged = np.asarray(converged, dtype=bool)
    return {"fits": int(converged.size), "not_converged": int((~converged).sum()),
            "max_iter": MAX_ITER}


@dataclass(frozen=True)
class PlaceboFits:
    """SDID estimates of placebo problems and whether each one's weights converged."""

    estimates: np.ndarray
    converged: np.ndarray  # per draw: both final Frank-Wolfe passes ended before the cap

    @property
    def n_not_converged(self) -> int:
        return int((~self.converged).sum())

    def convergence(self) -> dict:
        return convergence_counts(self.converged)

    def warning(self) -> str | None:
        if not self.n_not_converged:
            return None
        return (f"Frank-Wolfe weights of {self.n_not_converged} of {len(self.converged)} placebo "
                f"fits stopped at the {MAX_ITER:,}-iteration cap (as R synthdid's would) before "
                "the objective stopped decreasing")


def placebo_fits(Y: np.ndarray, rows, n_treated: int, T0: int) -> PlaceboFits:
    """The SDID estimate of each placebo problem ``Y[r]`` (``r`` in ``rows``: row indices,
    controls first and the ``n_treated`` placebo-treated rows last), as :func:`sdid_tau`
    computes it, with the convergence of every fit's weights (Algorithm 4 of Arkhangelsky et
    al. 2021 solves one such problem per placebo draw)."""
    rows = list(rows)
    est = np.empty(len(rows))
    ok = np.empty(len(rows), bool)
    for b, r in enumerate(rows):
        Yp = Y[r]
        n0 = Yp.shape[0] - n_treated
        w = sdid_fit_weights(Yp, n0, T0)
        est[b] = sdid_tau(Yp, n0, T0, w.omega, w.lam)[0]
        ok[b] = w.converged
    return PlaceboFits(est, ok)


def _shaped_placebo_draws(data, Y, controls, treated, T0, *, unit, cluster, reps, seed,
                          placebo_units):
    """SDID estimates with treatment re-assigned to placebo units shaped like the treated
    clusters (:mod:`analysis.inference.placebo_units`); controls are the other control units."""
    from ..inference.placebo_units import draw_placebo_units

    N0, N1 = len(controls), len(treated)
    if cluster is not None:
        cl = data.drop_duplicates(unit).set_index(unit)[cluster]
        sizes = sorted(cl.reindex(treated).value_counts().astype(int).tolist(), reverse=True)
    else:
        sizes = [1] * N1
    draws_ = draw_placebo_units(data[data[unit].isin(controls)], unit=unit, sizes=sizes,
                                reps=reps, seed=seed, placebo_units=placebo_units,
                                enumerate_if_feasible=False)
    pos = pd.Index(controls).get_indexer(draws_.units)
    rows = (np.concatenate([np.setdiff1d(np.arange(N0), pos[members]), pos[members]])
            for members in draws_.members)
    return placebo_fits(Y, rows, N1, T0), draws_


def _outcome_matrix(core: pd.DataFrame, *, unit: str, time: str, outcome: str, treated: str):
    """``(controls, treated units, periods, Y)`` of a validated panel (sorted by unit and time):
    ``Y`` has the control units' rows first, then the treated units', each in label order, and
    one column per period. A balanced panel is reshaped directly; otherwise the pivot names the
    problem."""
    codes = _unit_time_codes(core, unit, time)
    if codes is not None and len(core) == codes[2] * codes[3]:
        u, _, n_u, n_t, units, times, _ = codes
        units = pd.Index(units)
        is_treated = np.zeros(n_u, bool)
        is_treated[u[core[treated].to_numpy() == 1]] = True
        order = np.r_[np.flatnonzero(~is_treated), np.flatnonzero(is_treated)]
        Y = core[outcome].to_numpy(float).reshape(n_u, n_t)[order]
        return list(units[~is_treated]), list(units[is_treated]), np.asarray(times), Y
    tr = list(treated_units(core, unit=unit, treated=treated))
    W = core.pivot(index=unit, columns=time, values=outcome)
    if W.isna().any().any():
        raise InputError("synthetic DiD needs a balanced panel (every unit in every period)")
    controls = [u for u in W.index if u not in tr]
    return controls, tr, W.columns.to_numpy(), W.loc[controls + tr].to_numpy(float)


def synthetic_did(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    inference: str = "placebo",
    reps: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
    placebo_units: "PlaceboUnits | None" = None,
    weights: str | None = None,
) -> EstimationResult:
    """SDID estimate ``tau`` (term ``"att"``) for a block design, with its weights and SE.

    ``inference``: ``"placebo"`` (Algorithm 4: ``reps`` random placebo-treated sets of N_tr
    control units; valid with one or few treated units under homoskedasticity across units),
    ``"jackknife"`` (needs >= 2 treated units), ``"bootstrap"`` (unit resampling, re-estimated
    weights), ``"none"``. Covariates are not supported (raise): residualise the outcome first.

    ``placebo_units`` (:class:`analysis.inference.placebo_units.PlaceboUnits`, placebo SE
    only): each placebo assignment treats groups of neighbouring control units shaped like the
    treated clusters (sizes from ``cluster``; without ``cluster`` every treated unit is its own
    cluster) instead of ``N_tr`` scattered control units. Under spatially correlated shocks
    scattered placebo groups understate the variance of a treated group of neighbours.

    ``weights``: SDID takes no observation weights; any value raises :class:`InputError`.
    """
    refuse_weights("synthetic_did", weights)
    if inference not in INFERENCE:
        raise InputError(choices_message("inference for sdid", inference, INFERENCE))
    if covariates:
        raise InputError("synthetic DiD here takes no covariates; residualise the outcome on them "
                         "first (covariate adjustment of synthdid is not implemented)")
    core = validate_panel(data, unit=unit, time=time, outcome=outcome, treated=treated)
    adopt = adoption_times(core, unit=unit, time=time, treated=treated)
    starts = adopt.dropna().unique()
    if len(starts) > 1:
        raise InputError(f"synthetic DiD needs one adoption time (block design); found {sorted(starts)}")
    t0 = float(starts[0])
    controls, tr, times, Y = _outcome_matrix(core, unit=unit, time=time, outcome=outcome,
                                             treated=treated)
    if len(controls) < 2:
        raise InputError("synthetic DiD needs at least 2 never-treated control units")
    N0, T0 = len(controls), int(np.sum(times < t0))
    N1, T1 = len(tr), len(times) - T0
    if T0 < 2:
        raise InputError("synthetic DiD needs at least 2 pre-treatment periods")
    fitted = sdid_fit_weights(Y, N0, T0)
    tau, omega, lam = sdid_tau(Y, N0, T0, fitted.omega, fitted.lam)

    rng = np.random.default_rng(seed)
    warnings: list[str] = []
    se = np.nan
    draws = None
    if inference == "placebo":
        if N0 <= N1:
            raise InputError("placebo SE needs more control units than treated units")
        if placebo_units is None:
            fits = placebo_fits(Y, (rng.permutation(N0) for _ in range(reps)), N1, T0)
            shape_text = f"{N1} control unit(s)"
        else:
            fits, shaped = _shaped_placebo_draws(data, Y, controls, tr, T0, unit=unit,
                                                  cluster=cluster, reps=reps, seed=seed,
                                                  placebo_units=placebo_units)
            shape_text = (f"groups of control units shaped like the treated clusters (sizes "
                          f"{list(shaped.sizes)}, {placebo_units.construction})")
        draws = fits.estimates
        reps = len(draws)
        se = float(np.sqrt((reps - 1) / reps) * np.std(draws, ddof=1))
        if reps < 200:
            warnings.append(f"placebo standard error from only {reps} assignments; use at least 200")
        warnings.append(
            f"{N1} treated unit(s): placebo standard error (Arkhangelsky et al. 2021, Algorithm 4) "
            f"from {reps} placebo assignments of {shape_text}; assumes homoskedastic "
            "errors across units")
        if fits.warning():
            warnings.append(fits.warning())
    elif inference == "jackknife":
        if N1 < 2:
            raise InputError("jackknife SE is undefined with one treated unit; use inference='placebo'")
        vals = []
        for i in range(N0 + N1):
            keep = np.arange(N0 + N1) != i
            n0 = N0 - (1 if i < N0 else 0)
            om = omega[np.arange(N0) != i] if i < N0 else omega
            if om.sum() <= 0:
                continue
            vals.append(sdid_tau(Y[keep], n0, T0, om / om.sum(), lam)[0])
        vals = np.asarray(vals)
        n = len(vals)
        se = float(np.sqrt((n - 1) / n * np.sum((vals - vals.mean()) ** 2)))
        warnings.append("jackknife standard error (Algorithm 3, weights held fixed as in synthdid)")
    elif inference == "bootstrap":
        draws = []
        while len(draws) < reps:
            idx = rng.integers(0, N0 + N1, N0 + N1)
            c, t_ = idx[idx < N0], idx[idx >= N0]
            if len(c) == 0 or len(t_) == 0:
                continue
            draws.append(sdid_tau(Y[np.concatenate([c, t_])], len(c), T0)[0])
        draws = np.asarray(draws)
        se = float(np.sqrt((reps - 1) / reps) * np.std(draws, ddof=1))
        if N1 < 5:
            warnings.append(f"bootstrap SE with {N1} treated unit(s) is unreliable; prefer placebo")
    z = stats.norm.ppf(1 - alpha / 2)
    synth_all = omega @ Y[:N0]
    tr_mean = Y[N0:].mean(axis=0)
    offset = float(lam @ (tr_mean[:T0] - synth_all[:T0]))
    synthetic = synth_all + offset
    path = [{"time": float(t), "treated": float(a), "synthetic": float(b), "gap": float(a - b)}
            for t, a, b in zip(times, tr_mean, synthetic)]
    details: dict[str, Any] = {
        "weights": {str(u): float(w) for u, w in zip(controls, omega)},
        "time_weights": {str(t): float(w) for t, w in zip(times[:T0], lam)},
        "path": path,
        "intercept_shift": offset,
        "adoption_time": t0,
        "treated_units": [str(u) for u in tr],
        "convergence": fitted.convergence(),
    }
    not_converged = convergence_warning(fitted)
    if not_converged:
        warnings.append(not_converged)
    if draws is not None:
        details["replicates"] = np.asarray(draws).tolist()
    if inference == "placebo":
        details["placebo_convergence"] = fits.convergence()
    if placebo_units is not None and inference == "placebo":
        details["placebo_units"] = shaped.to_dict()
    design = Design(
        estimator="synthetic difference-in-differences (Arkhangelsky et al. 2021)",
        inference={"placebo": "placebo SE (Algorithm 4)" + (" over placebo units" if placebo_units else ""), "jackknife": "jackknife SE",
                   "bootstrap": "unit bootstrap SE", "none": "none"}[inference],
        n_units=N0 + N1, n_treated_units=N1, n_periods=len(times),
        n_clusters=int(data[cluster].nunique()) if cluster else None, cluster=cluster,
        control_pool=f"never-treated units ({N0})", years=(int(times.min()), int(times.max())),
        outcome=outcome,
    )
    ci = pd.DataFrame({"lower": [tau - z * se], "upper": [tau + z * se]}, index=["att"])
    return EstimationResult({"att": tau}, {"att": se}, design, ci=ci, ci_level=1 - alpha,
                            details=details, warnings=warnings, nobs=(N0 + N1) * len(times))
