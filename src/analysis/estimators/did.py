"""Difference-in-differences for a block design: 2x2 DiD and two-way fixed effects (TWFE).

``twfe_did`` fits ``y_it = a_i + l_t + b·D_it + X_it'g + e_it`` by the within transformation
(unit and period effects absorbed by exact two-way demeaning, balanced or unbalanced; linearmodels
``PanelOLS`` is the reference path, ``engine="linearmodels"``); ``did_2x2`` compares the change in unit means from the
pre-period (before the common adoption time) to the post-period between treated and control
units, as the regression ``ΔY_i = c + b·T_i + X_i'g + e_i`` (Card & Krueger 1994, Table 4).

Inference (``inference=``):

- ``"cluster"``: CR1 cluster-robust at the treatment-assignment unit (``cluster``, default the
  unit); ``q = G/(G-1)·(N-1)/(N-K)`` and ``t(G-1)``; ``K`` counts absorbed effects except those
  nested in the clusters — the Stata ``reghdfe`` / R ``fixest`` default (see
  :mod:`analysis.inference.cluster`). With one treated cluster the SE is not reported.
- ``"wild"``: wild cluster restricted bootstrap, p-value and interval by test inversion
  (:mod:`analysis.inference.wild_bootstrap`); refused with one treated cluster.
- ``"ri"``: randomization inference over placebo cluster assignments
  (:mod:`analysis.inference.randomization`).
- ``"iid"`` (``did_2x2`` only): classical OLS standard errors, as in Card & Krueger's Table 4.

Observation weights (``weights=``, the name of a column of positive weights, e.g. a
municipality's population in each row's year): ``twfe_did`` (and ``event_study``) then fit by
weighted least squares, ``min Σ w_it (y_it - a_i - l_t - b·D_it - X_it'g)²``, through the weighted
within transformation (:mod:`analysis.estimators.within`); the rows of the partialled design are
scaled by ``sqrt(w)``, so the CR1 covariance has the weighted scores ``Σ_g Σ_i w_i x̃_i û_i``, and
the wild bootstrap and randomization inference run on the same weighted design. Reference:
linearmodels ``PanelOLS(weights=...)``. ``did_2x2`` takes no observation weights. The wild
bootstrap's own weight distribution is ``bootstrap_weights``.

The treatment column is the 0/1 status of each unit-period row; a unit's adoption time is its
first period with 1 (:func:`analysis.estimators.panel_data.adoption_times`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError, choices_message
from ..inference import INFERENCE_METHODS, ONE_TREATED_CLUSTER_WARNING
from ..inference.cluster import SmallSample, cr1_covariance
from ..inference.placebo_units import PlaceboUnits
from ..results import Design, EstimationResult, interval_frame
from .panel_data import _sorted_codes, check_treatment, validated_panel
from .within import WithinTransform

FEW_TREATED_CLUSTERS = 10
CONTROL_POOL = "units never treated in the data"


#: rows x columns up to which the wild bootstrap keeps unit and period dummies that are not nested
#: in the clusters as regressors (128 MB of float64)
BOOTSTRAP_DUMMY_ELEMENTS = 2 ** 24


@dataclass(frozen=True)
class PanelDesign:
    """A validated panel as arrays, with its clusters and the absorbed-effects projection.

    Built by :func:`prepare_panel`; :meth:`with_assignment` gives the same panel with another
    treatment and cluster column (a placebo assignment) without validating and factorising the
    unchanged columns again. Frozen: fits and absorbed columns are computed once and reused, so
    the fields a design was built with cannot change under them."""

    frame: pd.DataFrame
    unit: str
    time: str
    outcome: str
    treated: str
    covariates: list[str]
    cluster: str
    unit_codes: np.ndarray
    time_codes: np.ndarray
    cluster_codes: np.ndarray
    units: pd.Index
    times: np.ndarray
    clusters: pd.Index
    adoption: pd.Series  # per unit, NaN = never treated
    balanced: bool
    units_nested_in_clusters: bool
    warnings: list[str] = field(default_factory=list)
    weights: str | None = None
    weight_values: np.ndarray | None = None  # per row of ``frame``; None = unweighted
    _within: WithinTransform | None = field(default=None, repr=False, compare=False)
    #: ``panel_data._unit_time_codes`` of ``frame`` (``None``: labels took the grouped path)
    _codes: tuple | None = field(default=None, repr=False, compare=False)
    _arrays: dict = field(default_factory=dict, repr=False, compare=False)
    #: results that depend only on the rows, outcome, covariates and weights: shared (by
    #: reference) with every design :meth:`with_assignment` derives
    _shared: dict = field(default_factory=dict, repr=False, compare=False)
    #: fits of this design (its treatment and clusters), reused by each inference method
    _fits: dict = field(default_factory=dict, repr=False, compare=False)

    def values(self, column: str) -> np.ndarray:
        """``frame[column].to_numpy(dtype=float)``, computed once per design."""
        out = self._arrays.get(column)
        if out is None:
            out = self._arrays[column] = self.frame[column].to_numpy(dtype=float)
        return out

    def absorbed_outcome(self) -> np.ndarray:
        """:meth:`absorb` of the outcome column, computed once per panel (read-only)."""
        out = self._shared.get("absorbed_outcome")
        if out is None:
            out = self._shared["absorbed_outcome"] = _read_only(self.absorb(self.values(self.outcome)))
        return out

    def with_assignment(self, treated: np.ndarray, cluster: np.ndarray) -> "PanelDesign":
        """The same panel (same rows, outcome, covariates, weights) with ``treated`` and
        ``cluster`` (arrays per row of :attr:`frame`) as the treatment and cluster columns.

        The new columns get the checks of :func:`prepare_panel` (the same errors); the unit and
        period codes, the column arrays and the within transformation are shared, so fitting
        many placebo assignments of one panel validates and factorises it once."""
        if self.cluster in (self.unit, self.time, self.outcome, *self.covariates) or \
                self.treated == self.cluster:
            raise InputError("a new assignment needs its own treatment and cluster columns "
                             f"(cluster {self.cluster!r}, treatment {self.treated!r})")
        treated = np.asarray(treated)
        cluster = np.asarray(cluster)
        if treated.shape != (self.n_obs,) or cluster.shape != (self.n_obs,):
            raise InputError(f"the assignment needs one treatment and one cluster value per row "
                             f"({self.n_obs} rows)")
        frame = self.frame.assign(**{self.treated: treated, self.cluster: cluster})
        na = {c: int(pd.isna(v).sum()) for c, v in ((self.treated, treated),
                                                     (self.cluster, cluster))}
        na = {c: n for c, n in na.items() if n}
        if na:
            bad = ", ".join(f"{c!r} ({n} rows)" for c, n in na.items())
            raise InputError(f"missing values in {bad}; drop or impute them before estimating")
        if self._codes is None:
            return prepare_panel(frame, unit=self.unit, time=self.time, outcome=self.outcome,
                                 treated=self.treated, covariates=self.covariates,
                                 cluster=self.cluster, weights=self.weights)
        adoption = check_treatment(frame, unit=self.unit, time=self.time, treated=self.treated,
                                   codes=self._codes)
        shared = {c: v for c, v in self._arrays.items() if c not in (self.treated, self.cluster)}
        return _design(frame, self.unit, self.time, self.outcome, self.treated, self.covariates,
                       self.cluster, self.weights, self.unit_codes, self.units, self.time_codes,
                       self.times, adoption, self._codes, within=self._within, arrays=shared,
                       weight_values=self.weight_values, shared=self._shared)

    @property
    def sqrt_weights(self) -> np.ndarray | None:
        """``sqrt(w)`` per row (``None`` when unweighted)."""
        return None if self.weight_values is None else np.sqrt(self.weight_values)

    @property
    def n_obs(self) -> int:
        return len(self.frame)

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_periods(self) -> int:
        return len(self.times)

    @property
    def n_clusters(self) -> int:
        return len(self.clusters)

    @cached_property
    def adoption_values(self) -> np.ndarray:
        """Adoption time per unit in the order of :attr:`units` (``NaN`` = never treated)."""
        return self.adoption.reindex(self.units).to_numpy(dtype=float) \
            if not self.adoption.index.equals(self.units) else self.adoption.to_numpy(dtype=float)

    @cached_property
    def treated_unit_labels(self) -> pd.Index:
        return self.adoption.index[self.adoption.notna()]

    @cached_property
    def cluster_adoption(self) -> np.ndarray:
        """Adoption time per cluster (``inf`` = never treated)."""
        adopt = self.adoption_values[self.unit_codes]
        adopt = np.where(np.isnan(adopt), np.inf, adopt)
        _, first = np.unique(self.cluster_codes, return_index=True)
        per_cluster = adopt[first]
        if not np.array_equal(adopt, per_cluster[self.cluster_codes]):
            raise InputError(
                f"units in the same cluster ({self.cluster!r}) have different adoption times; "
                "randomization inference re-assigns whole clusters, so treatment must be "
                "assigned at the cluster level"
            )
        return per_cluster

    @cached_property
    def n_treated_clusters(self) -> int:
        d = self.frame[self.treated].to_numpy()
        return int(len(np.unique(self.cluster_codes[d == 1])))

    @property
    def years(self) -> tuple[int, int]:
        return int(self.times.min()), int(self.times.max())

    def absorb(self, M: np.ndarray) -> np.ndarray:
        """Partial out unit and period effects exactly (the within transformation, balanced or
        unbalanced: :class:`analysis.estimators.within.WithinTransform`). With observation
        weights: the weighted within transformation with rows scaled by ``sqrt(w)``, so that
        ordinary least squares on absorbed columns is the weighted least squares fit."""
        out = self._within_transform().transform(M)
        if self.weight_values is None:
            return out
        sw = self.sqrt_weights
        return out * (sw if out.ndim == 1 else sw[:, None])

    def _within_transform(self) -> WithinTransform:
        if self._within is None:  # computed on first use (the field of a frozen design)
            object.__setattr__(self, "_within", WithinTransform(self.unit_codes, self.time_codes,
                                                                weights=self.weight_values))
        return self._within

    def bootstrap_absorbed(self) -> tuple[np.ndarray | None, list[str]]:
        """The absorbed effects the wild cluster bootstrap keeps as regressors: those not nested
        in the clusters (period effects; unit effects too when units are not nested), rows
        scaled as :meth:`absorb`. With more dummies than ``BOOTSTRAP_DUMMY_ELEMENTS`` allows,
        ``None`` and a warning: the bootstrap then partials them out, an approximation."""
        nested = self.units_nested_in_clusters
        if not nested and self.n_obs * (self.n_units + self.n_periods) > BOOTSTRAP_DUMMY_ELEMENTS:
            return None, [
                f"units are not nested in the clusters ({self.cluster!r}) and the "
                f"{self.n_units + self.n_periods - 1} unit and period dummies are too many to keep "
                "as wild bootstrap regressors: the bootstrap partials them out, an approximation "
                "to the bootstrap of the dummy-variable model"]
        cols = self._within_transform().effects_not_nested(nested)
        sw = self.sqrt_weights
        return (cols if sw is None else cols * sw[:, None]), []

    def weights_record(self) -> dict | None:
        """What the observation weights were (for the result's design record)."""
        if self.weight_values is None:
            return None
        w = self.weight_values
        return {"column": self.weights, "min": float(w.min()), "max": float(w.max()),
                "sum": float(w.sum()),
                "description": f"weighted least squares with the row's {self.weights!r} "
                               "value as its weight"}

    def k_absorbed(self) -> int:
        """Absorbed effects counted in K as fixest does (``fixef.K = "nested"``): unit effects
        nested in the clusters count as one intercept; otherwise units + periods - 1."""
        if self.units_nested_in_clusters:
            return self.n_periods
        return self.n_units + self.n_periods - 1


def prepare_panel(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
) -> PanelDesign:
    """Validate the panel and build the arrays the estimators share. ``weights``: column of
    positive observation weights (``None``: unweighted)."""
    covariates = list(covariates or ())
    checked = validated_panel(
        data, unit=unit, time=time, outcome=outcome, treated=treated,
        covariates=covariates, cluster=cluster, weights=weights,
    )
    frame, codes = checked.frame, checked.codes
    if codes is not None:
        # the codes the validation computed: np.unique / pd.factorize(sort=True) of the columns
        unit_codes, units, time_codes, times = codes[0], pd.Index(codes[4]), codes[1], codes[5]
    else:
        unit_codes, units = _factorize(frame[unit])
        time_codes, times = _factorize(frame[time])
    return _design(frame, unit, time, outcome, treated, covariates, cluster or unit, weights,
                   np.asarray(unit_codes), pd.Index(units), np.asarray(time_codes),
                   np.asarray(times, dtype=float), checked.adoption, codes)


def _design(frame, unit, time, outcome, treated, covariates, cluster_col, weights, unit_codes,
            units, time_codes, times, adoption, codes, *, within=None, arrays=None,
            weight_values=None, shared=None) -> PanelDesign:
    """The :class:`PanelDesign` of a validated frame with its unit and period codes: clusters,
    nesting, and the errors of :func:`prepare_panel` about them."""
    if cluster_col == unit:
        cluster_codes, clusters = unit_codes, units
    else:
        cluster_codes, clusters = _factorize(frame[cluster_col])
    n_u, n_t = len(units), len(times)
    balanced = len(frame) == n_u * n_t
    # units nested in clusters: as many distinct (unit, cluster) pairs as units
    pairs = np.asarray(unit_codes, dtype=np.int64) * max(len(clusters), 1) + np.asarray(cluster_codes)
    nested = len(np.unique(pairs)) == n_u
    warnings = []
    if not nested:
        warnings.append(
            f"units are not nested in clusters ({cluster_col!r}): treatment should be clustered "
            "at the level it was assigned"
        )
    if len(clusters) < 2:
        raise InputError(f"cluster column {cluster_col!r} has only one cluster")
    if n_t < 2:
        raise InputError(f"the panel has only one period ({time!r})")
    if weights is not None and weight_values is None:
        weight_values = frame[weights].to_numpy(dtype=float)
    return PanelDesign(
        frame=frame, unit=unit, time=time, outcome=outcome, treated=treated,
        covariates=covariates, cluster=cluster_col,
        unit_codes=unit_codes, time_codes=time_codes,
        cluster_codes=np.asarray(cluster_codes), units=units,
        times=times, clusters=pd.Index(clusters), adoption=adoption,
        balanced=balanced, units_nested_in_clusters=nested, warnings=warnings,
        weights=weights, weight_values=weight_values, _within=within, _codes=codes,
        _arrays=dict(arrays or {}), _shared={} if shared is None else shared,
    )


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _factorize(s: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(s, sort=True)``: codes into the sorted labels, by the validation's
    :func:`~.panel_data._sorted_codes` (``np.unique`` for numeric columns)."""
    coded = _sorted_codes(s)
    if coded is None:  # a missing label: pandas' codes (-1) as before
        return pd.factorize(s, sort=True)
    codes, uniques = coded
    return codes, pd.Index(uniques)


def check_inference(inference: str, allowed: Sequence[str] = INFERENCE_METHODS) -> None:
    if inference not in allowed:
        raise InputError(choices_message("inference", inference, allowed))


def inference_warnings(design: PanelDesign, inference: str) -> list[str]:
    out = list(design.warnings)
    g1 = design.n_treated_clusters
    if g1 == 1:
        out.append(ONE_TREATED_CLUSTER_WARNING)
    elif inference == "cluster" and g1 < FEW_TREATED_CLUSTERS:
        out.append(
            f"{g1} treated clusters: cluster-robust t-tests over-reject with few treated "
            "clusters (MacKinnon & Webb 2017); prefer inference='wild' or 'ri'"
        )
    adopt = design.adoption_values
    if len(np.unique(adopt[~np.isnan(adopt)])) > 1:
        out.append(
            "staggered adoption: TWFE compares later- with earlier-treated units and can weight "
            "effects negatively (Goodman-Bacon 2021); consider a heterogeneity-robust estimator"
        )
    return out


def refuse_wild_with_one_treated_cluster(design: PanelDesign) -> None:
    if design.n_treated_clusters < 2:
        raise InputError(
            "the wild cluster bootstrap is unreliable with 1 treated cluster (MacKinnon & Webb "
            "2017); use inference='ri', or method 'sc' / 'sdid' with placebo inference"
        )


#: estimators (``kuntakokeilu estimate --method`` names) that take observation weights
WEIGHTED_ESTIMATORS = ("twfe", "event-study")


def refuse_weights(estimator: str, weights) -> None:
    """Observation weights given to an estimator that does not take them: a clear error."""
    if weights is not None:
        raise InputError(f"{estimator} takes no observation weights (weights={weights!r}); the "
                         f"estimators that take weights: {', '.join(WEIGHTED_ESTIMATORS)}")


ENGINES = ("within", "linearmodels")
ABSORBED_TOLERANCE = 1e-10


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise InputError(choices_message("engine", engine, ENGINES))


def kept_columns(design: PanelDesign, X_raw: np.ndarray) -> list[int]:
    """Columns of ``X_raw`` not absorbed by the fixed effects nor collinear with earlier kept
    columns (in order, as ``PanelOLS(drop_absorbed=True)`` and fixest drop them)."""
    Xt = design.absorb(X_raw)
    sw = design.sqrt_weights
    kept: list[int] = []
    basis = np.empty((len(Xt), 0))
    for j in range(Xt.shape[1]):
        raw_norm = np.linalg.norm(X_raw[:, j] if sw is None else X_raw[:, j] * sw)
        col = Xt[:, j] - basis @ (basis.T @ Xt[:, j]) if basis.shape[1] else Xt[:, j]
        norm = np.linalg.norm(col)
        if raw_norm > 0 and norm > ABSORBED_TOLERANCE * raw_norm * np.sqrt(len(Xt)):
            kept.append(j)
            basis = np.column_stack([basis, col / norm])
    return kept


def _panel_ols(design: PanelDesign, regressors: pd.DataFrame) -> tuple[pd.Series, np.ndarray, list[str]]:
    """Fit with linearmodels PanelOLS (unit and period effects); return params, the clustered
    covariance without the (N-1)/(N-K) factor (G/(G-1) only) and the kept regressor names."""
    from linearmodels.panel import PanelOLS

    f = design.frame
    index = pd.MultiIndex.from_arrays([design.unit_codes, f[design.time].to_numpy()])
    y = pd.Series(f[design.outcome].to_numpy(dtype=float), index=index, name=design.outcome)
    X = regressors.set_axis(index)
    clusters = pd.DataFrame({"cluster": design.cluster_codes}, index=index)
    w = None
    if design.weight_values is not None:
        w = pd.Series(design.weight_values, index=index, name=design.weights)
    model = PanelOLS(y, X, entity_effects=True, time_effects=True, drop_absorbed=True,
                     check_rank=False, weights=w)
    fit = model.fit(cov_type="clustered", clusters=clusters, group_debias=True, debiased=False)
    kept = list(fit.params.index)
    return fit.params, fit.cov.loc[kept, kept].to_numpy(), kept


@dataclass
class FWLFit:
    """OLS on the partialled design: arrays the bootstrap and randomization inference reuse
    (with observation weights: the ``sqrt(w)``-scaled weighted partialled design, on which OLS
    is weighted least squares)."""

    X: np.ndarray
    y: np.ndarray
    beta: np.ndarray
    resid: np.ndarray
    cov: np.ndarray
    small_sample: SmallSample


def fwl_fit(design: PanelDesign, X_raw: np.ndarray, k_absorbed: int) -> FWLFit:
    X = design.absorb(X_raw)
    y = design.absorbed_outcome()
    bread = np.linalg.pinv(X.T @ X)
    beta = bread @ (X.T @ y)
    resid = y - X @ beta
    cov, ss = cr1_covariance(X, resid, design.cluster_codes, n_params=X.shape[1] + k_absorbed,
                             bread=bread)
    return FWLFit(X, y, beta, resid, cov, ss)


def _design_record(design: PanelDesign, estimator: str, inference: str, extra: dict) -> Design:
    if design.weight_values is not None:
        extra = {**extra, "weights": design.weights_record()}
    return Design(
        estimator=estimator, inference=inference, n_units=design.n_units,
        n_treated_units=len(design.treated_unit_labels), n_periods=design.n_periods,
        n_clusters=design.n_clusters, n_treated_clusters=design.n_treated_clusters,
        cluster=design.cluster, control_pool=CONTROL_POOL, years=design.years,
        outcome=design.outcome, extra=extra,
    )


def twfe_did(
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
    ri_statistic: str = "t",
    engine: str = "within",
    placebo_units: PlaceboUnits | None = None,
) -> EstimationResult:
    """TWFE DiD: coefficient ``att`` on the treatment status with unit and period effects.

    ``engine="within"`` fits by the exact within transformation (two-way demeaning);
    ``"linearmodels"`` takes the coefficients from linearmodels ``PanelOLS`` (the reference
    path; same numbers to machine precision, slower). ``weights``: column of positive
    observation weights (weighted least squares; every inference method uses the same weights;
    ``None`` = unweighted). ``bootstrap_weights`` chooses the wild-bootstrap weight distribution
    (``auto``: Webb below 12 clusters, else Rademacher). ``ri_statistic``: ``"t"`` (RI-t,
    default) or ``"coef"`` for randomization inference. ``placebo_units`` (:class:`~analysis.inference.placebo_units.PlaceboUnits`):
    randomization inference re-assigns treatment to groups of control units shaped like the
    treated clusters instead of permuting whole clusters. See the module docstring.
    """
    check_inference(inference)
    check_engine(engine)
    design = prepare_panel(data, unit=unit, time=time, outcome=outcome, treated=treated,
                           covariates=covariates, cluster=cluster, weights=weights)
    return fit_twfe(design, inference=inference, reps=reps, seed=seed,
                    bootstrap_weights=bootstrap_weights, level=level, ri_statistic=ri_statistic,
                    engine=engine, placebo_units=placebo_units, placebo_data=data)


def fit_twfe(
    design: PanelDesign,
    *,
    inference: str = "cluster",
    reps: int = 9999,
    seed: int = 0,
    bootstrap_weights: str = "auto",
    level: float = 0.95,
    ri_statistic: str = "t",
    engine: str = "within",
    placebo_units: PlaceboUnits | None = None,
    placebo_data: pd.DataFrame | None = None,
) -> EstimationResult:
    """:func:`twfe_did` on a prepared panel (:func:`prepare_panel`, or
    :meth:`PanelDesign.with_assignment` for another assignment of the same panel):
    ``twfe_did(data, ...)`` is ``fit_twfe(prepare_panel(data, ...), ..., placebo_data=data)``.
    ``placebo_data``: the frame with the columns of ``placebo_units`` (default the design's
    frame)."""
    check_inference(inference)
    check_engine(engine)
    if inference == "wild":
        refuse_wild_with_one_treated_cluster(design)
    names = ["att", *design.covariates]
    columns = [design.values(design.treated), *(design.values(c) for c in design.covariates)]
    fit_frame = fwl = None
    if engine == "linearmodels":
        regressors = pd.DataFrame(dict(zip(names, columns)))
        params, _, kept = _panel_ols(design, regressors)
    else:
        kept, fit_frame, fwl = _within_fit(design, names, columns)
    if "att" not in kept:
        raise InputError("the treatment is collinear with the unit and period effects")
    warnings = inference_warnings(design, inference)
    dropped = [c for c in names if c not in kept]
    if dropped:
        warnings.append(f"covariate(s) absorbed by the fixed effects and dropped: {dropped}")
    k_abs = design.k_absorbed()
    # Coefficients and the CR1 covariance from the within-transformed (FWL-partialled) design
    # with the reghdfe/fixest K. engine="linearmodels" takes the coefficients from PanelOLS
    # instead (the reference the within path is tested against); linearmodels' own clustered
    # covariance with absorbed entity effects rescales by the number of absorbed effects
    # (sqrt(2) larger on a 2-period panel), which is not the reghdfe / fixest convention.
    if fwl is None:
        fit_frame = _columns_matrix([columns[names.index(c)] for c in kept])
        fwl = fwl_fit(design, fit_frame, k_abs)
    if engine == "linearmodels":
        if not np.allclose(fwl.beta, params.to_numpy(), rtol=1e-6,
                           atol=1e-8 * (1 + np.abs(fwl.beta).max())):
            raise RuntimeError("PanelOLS and the partialled regression disagree")  # pragma: no cover
    else:
        params = pd.Series(fwl.beta, index=pd.Index(kept))
    ss = fwl.small_sample
    se = pd.Series(np.sqrt(np.diag(fwl.cov)), index=params.index)
    extra = {"small_sample": ss.describe(), "fixed_effects": [design.unit, design.time],
             "covariates": [c for c in kept if c != "att"]}
    return _finish(design, "twfe", inference, params, se, ss, fit_frame, k_abs, warnings,
                   extra, reps=reps, seed=seed, bootstrap_weights=bootstrap_weights,
                   level=level, ri_statistic=ri_statistic, placebo_units=placebo_units,
                   data=design.frame if placebo_data is None else placebo_data, fwl=fwl)


def _within_fit(design: PanelDesign, names: list[str], columns: list[np.ndarray]):
    """Kept regressors, their matrix and the partialled fit (``None`` when the treatment is
    absorbed) of the within engine; computed once per design, reused by each inference."""
    cached = design._fits.get("within")
    if cached is None:
        kept = [names[j] for j in kept_columns(design, _columns_matrix(columns))]
        fit_frame = fwl = None
        if "att" in kept:
            fit_frame = _columns_matrix([columns[names.index(c)] for c in kept])
            fwl = fwl_fit(design, fit_frame, design.k_absorbed())
        cached = design._fits["within"] = (kept, fit_frame, fwl)
    return cached


def _columns_matrix(columns: list[np.ndarray]) -> np.ndarray:
    """``n x k`` matrix of the columns in the memory layout ``DataFrame.to_numpy()`` gives a
    frame of float columns (column-major), so that the arithmetic on it is the same."""
    out = np.empty((len(columns), len(columns[0])))
    for j, c in enumerate(columns):
        out[j] = c
    return out.T


def _finish(design, estimator, inference, params, se, ss, X_raw, k_abs, warnings, extra, *,
            reps, seed, bootstrap_weights, level, ri_statistic="t", placebo_units=None,
            data=None, fwl=None):
    """Attach the chosen inference for ``att`` and build the result (``fwl``: the fit of
    ``X_raw``, when the caller has it)."""
    one = design.n_treated_clusters < 2
    if one:
        se = _without_se(se, "att")
    details: dict = {}
    pvalues = None
    ci = None
    df = ss.df
    if inference == "cluster":
        pass
    elif inference == "wild":
        from ..inference.wild_bootstrap import wild_cluster_bootstrap

        fit = fwl if fwl is not None else fwl_fit(design, X_raw, k_abs)
        absorbed, absorbed_warnings = design.bootstrap_absorbed()
        res = wild_cluster_bootstrap(fit.X, fit.y, design.cluster_codes, absorbed=absorbed,
                                     coefs=[0], reps=reps, weights=bootstrap_weights, seed=seed,
                                     level=level, n_treated_clusters=design.n_treated_clusters)[0]
        warnings = warnings + absorbed_warnings
        details["wild_bootstrap"] = res.to_dict()
        details["cluster_se"] = float(se["att"])
        extra["bootstrap_weights"] = res.weights
        extra["bootstrap_weights_reason"] = res.weights_reason
        pvalues, ci = _override(params, se, "att", res.p_value, res.ci_low, res.ci_high)
        se = _without_se(se, "att")
        warnings = warnings + [f"wild cluster restricted bootstrap ({res.weights} weights, "
                               f"{res.reps} draws{', enumerated' if res.enumerated else ''}): "
                               "the coefficient has a p-value and interval but no SE"] + res.warnings
    elif inference == "ri":
        shaped, draws = (None, None)
        if placebo_units is not None:
            t0 = _single_adoption_time(design)
            shaped, draws = shaped_assignments(design, data, placebo_units, reps=reps, seed=seed,
                                               adoption_time=t0)
        res = _randomization(design, X_raw, reps=reps, seed=seed, level=level,
                             statistic=ri_statistic, shaped=shaped,
                             nuisance=tuple(n for n in params.index if n != "att"))
        details["randomization"] = res.to_dict()
        details["randomization"]["statistic"] = ri_statistic
        if draws is not None:
            details["randomization"]["placebo_units"] = draws.to_dict()
            warnings = warnings + [_shaped_warning(draws)]
        details["min_p_value"] = res.min_p_value
        details["cluster_se"] = float(se["att"])
        pvalues, ci = _override(params, se, "att", res.p_value, res.ci_low, res.ci_high)
        se = _without_se(se, "att")
        warnings = [w for w in warnings if w != ONE_TREATED_CLUSTER_WARNING] + (
            [f"1 treated cluster: randomization p-value cannot fall below {res.min_p_value:.3g}"]
            if one else [])
        warnings.append(
            f"randomization inference over {res.n_assignments} placebo assignments "
            f"({'all' if res.enumerated else 'sampled'}); smallest attainable p-value "
            f"{res.min_p_value:.3g}; interval by inversion under a constant effect"
        )
    return EstimationResult(
        params, se, _design_record(design, estimator, inference, extra), pvalues=pvalues, ci=ci,
        ci_level=level, df_resid=df, details=details, warnings=warnings, nobs=design.n_obs,
    )


def _override(params, se, term, p, lo, hi):
    at = params.index.get_loc(term)
    lower, upper, pv = (np.full(len(params), np.nan) for _ in range(3))
    lower[at], upper[at], pv[at] = lo, hi, p
    return pd.Series(pv, index=params.index), interval_frame(lower, upper, params.index)


def _without_se(se: pd.Series, term: str) -> pd.Series:
    """``se`` with ``term``'s SE set to NaN (a copy)."""
    values = se.to_numpy(dtype=float, copy=True)
    values[se.index.get_loc(term)] = np.nan
    return pd.Series(values, index=se.index, name=se.name)


def _single_adoption_time(design: PanelDesign) -> float:
    adopt = design.adoption_values
    adopt = np.unique(adopt[~np.isnan(adopt)])
    if len(adopt) != 1:
        raise InputError(f"placebo units need one adoption time; found {sorted(adopt)[:10]}")
    return float(adopt[0])


def _shaped_warning(draws) -> str:
    return (f"placebo units: {draws.n_draws} {'(all) ' if draws.enumerated else ''}assignments of "
            f"{len(draws.sizes)} groups of control units of sizes {list(draws.sizes)} "
            f"({draws.placebo_units.construction}); smallest attainable p-value "
            f"{draws.min_p_value:.3g}")


def shaped_assignments(design: PanelDesign, data: pd.DataFrame, placebo_units: PlaceboUnits,
                       *, reps: int, seed: int, adoption_time: float):
    """Placebo assignments of groups of control clusters shaped like the treated clusters
    (:mod:`analysis.inference.placebo_units`), as cluster codes of ``design``."""
    from ..inference.placebo_units import draw_placebo_units
    from ..inference.randomization import ShapedAssignments

    # each unit's cluster (its first row's, as the frame is sorted by unit and period)
    first_row = np.flatnonzero(np.r_[True, design.unit_codes[1:] != design.unit_codes[:-1]])
    unit_cluster = design.cluster_codes[first_row]
    is_treated = ~np.isnan(design.adoption_values)
    treated_clusters = np.unique(unit_cluster[is_treated])
    members_per_cluster = np.bincount(unit_cluster, minlength=design.n_clusters)
    sizes = sorted((int(members_per_cluster[c]) for c in treated_clusters), reverse=True)
    control_clusters = unit_cluster[~is_treated]
    if np.isin(control_clusters, treated_clusters).any():
        raise InputError("treated and control units share a cluster; placebo units re-assign "
                         "treatment to whole groups of control clusters")
    if (np.bincount(control_clusters, minlength=design.n_clusters) > 1).any():
        raise InputError("placebo units need each control unit in its own cluster (the placebo "
                         "unit is the cluster of the placebo assignment)")
    controls = design.units[~is_treated]
    draws = draw_placebo_units(_control_units(design, data, controls, placebo_units),
                               unit=design.unit, sizes=sizes, reps=reps, seed=seed,
                               placebo_units=placebo_units)
    members = unit_cluster[design.units.get_indexer(draws.units)][draws.members]
    return ShapedAssignments(members, draws.sizes, adoption_time, draws.enumerated), draws


def _control_units(design: PanelDesign, data: pd.DataFrame, controls: pd.Index,
                   placebo_units: PlaceboUnits) -> pd.DataFrame:
    """The rows of ``data`` the placebo units are drawn from: those of the ``controls``.

    When every unit's placebo-unit attributes in ``data`` are valid (constant and present
    within each unit), one row per control unit with those attributes (the same draws: the
    draws read only each unit's attributes); they are found once per ``data`` and panel, so
    placebo assignments fitted on one panel (a size simulation) do not filter ``data`` again.
    Otherwise the control units' rows of ``data`` (its errors then name the problem)."""
    from ..inference.placebo_units import unit_attributes

    key = ("placebo_unit_attributes", design.unit, tuple(placebo_units.columns))
    cached = design._shared.get(key)
    if cached is None or cached[0] is not data:
        try:
            attrs = unit_attributes(data, design.unit, placebo_units.columns)
        except InputError:
            attrs = None
        cached = design._shared[key] = (data, attrs)
    attrs = cached[1]
    if attrs is None:
        return data[data[design.unit].isin(controls)]
    keep = attrs.index.isin(controls)
    return pd.DataFrame({design.unit: attrs.index[keep],
                         **{c: attrs[c].to_numpy()[keep] for c in attrs.columns}})


def _randomization(design: PanelDesign, X_raw: np.ndarray, *, reps, seed, level, statistic="t",
                   shaped=None, nuisance=None):
    """RI for the first column of ``X_raw`` (the treatment); other columns are nuisance.
    ``nuisance``: their column names, when they are columns of the design: their partialled
    form and the partialled outcome are then computed once per panel."""
    from ..inference.randomization import randomization_inference

    key = None if nuisance is None else ("randomization_nuisance", nuisance)
    cached = design._shared.get(key) if key is not None else None
    if cached is None:
        W = design.absorb(X_raw[:, 1:]) if X_raw.shape[1] > 1 else None
        proj = np.linalg.pinv(W.T @ W) @ W.T if W is not None else None
    else:
        W, proj, resid_y = cached

    def partial(M):
        Mt = design.absorb(M)
        if W is not None:
            Mt = Mt - W @ (proj @ Mt)
        return Mt

    if cached is None:
        y = design.values(design.outcome)
        resid_y = partial(y[:, None])[:, 0]
        if key is not None:
            design._shared[key] = tuple(a if a is None else _read_only(a)
                                        for a in (W, proj, resid_y))
    return randomization_inference(
        resid_y=resid_y, treatment=X_raw[:, 0], partial=partial,
        time=design.values(design.time),
        cluster_codes=design.cluster_codes, cluster_adoption=design.cluster_adoption,
        reps=reps, seed=seed, level=level, statistic=statistic, shaped=shaped,
        sqrt_weights=design.sqrt_weights,
    )


def did_2x2(
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
    ri_statistic: str = "t",
    placebo_units: PlaceboUnits | None = None,
) -> EstimationResult:
    """2x2 DiD on pre/post unit means: ``ΔY_i = c + att·T_i + X_i'g + e_i``.

    ``ΔY_i`` is the mean outcome of unit ``i`` in periods from the common adoption time on minus
    its mean before; ``T_i`` marks treated units; covariates enter as pre-period unit means.
    Every unit needs at least one pre and one post period. Inference: ``cluster`` (CR1 over
    ``cluster``, default the unit, which is HC1: ``G/(G-1)·(N-1)/(N-K)`` with ``N = G``),
    ``iid`` (classical OLS SE), ``wild``, ``ri`` (with ``placebo_units``: over groups of
    control units shaped like the treated clusters). ``weights`` (observation weights) is
    refused: see :data:`WEIGHTED_ESTIMATORS`.
    """
    refuse_weights("did_2x2", weights)
    check_inference(inference, (*INFERENCE_METHODS, "iid"))
    design = prepare_panel(data, unit=unit, time=time, outcome=outcome, treated=treated,
                           covariates=covariates, cluster=cluster)
    adopt = design.adoption.dropna().unique()
    if len(adopt) > 1:
        raise InputError(
            f"did_2x2 needs one adoption time; found {sorted(adopt)[:10]} "
            "(use a staggered estimator)"
        )
    if inference == "wild":
        refuse_wild_with_one_treated_cluster(design)
    t0 = float(adopt[0])
    f = design.frame
    post = f[time].to_numpy(dtype=float) >= t0
    cols = [outcome, *design.covariates]
    g = f.assign(_post=post).groupby([unit, "_post"])[cols].mean().unstack("_post")
    dy = g[(outcome, True)] - g[(outcome, False)]
    missing = dy.index[dy.isna()]
    if len(missing):
        raise InputError(
            f"unit(s) without both a pre- and a post-period observation: "
            f"{', '.join(map(str, missing[:10]))}"
        )
    unit_cluster = f.groupby(unit)[design.cluster].first().reindex(dy.index)
    treat = dy.index.isin(design.treated_unit_labels).astype(float)
    Xc = [np.ones(len(dy)), treat] + [g[(c, False)].to_numpy() for c in design.covariates]
    X = np.column_stack(Xc)
    names = ["const", "att", *design.covariates]
    y = dy.to_numpy(dtype=float)
    bread = np.linalg.pinv(X.T @ X)
    beta = bread @ X.T @ y
    resid = y - X @ beta
    codes, uniq = pd.factorize(unit_cluster, sort=True)
    n, k = X.shape
    warnings = [w for w in inference_warnings(design, inference) if not w.startswith("staggered")]
    extra = {"adoption_time": t0, "covariates": list(design.covariates),
             "regression": "change in unit means (post - pre) on treated indicator"}
    if inference == "iid":
        sigma2 = resid @ resid / (n - k)
        cov = sigma2 * bread
        ss = SmallSample(n, k, len(uniq))
        df = n - k
        extra["small_sample"] = f"classical OLS: sigma^2 = RSS/(N-K), N={n}, K={k}; t({df})"
        se = pd.Series(np.sqrt(np.diag(cov)), index=names)
        params = pd.Series(beta, index=names)
        return EstimationResult(params, se, _design_record(design, "did_2x2", inference, extra),
                                df_resid=df, warnings=warnings, nobs=n,
                                details={"sigma": float(np.sqrt(sigma2))})
    cov, ss = cr1_covariance(X, resid, np.asarray(codes), n_params=k, bread=bread)
    extra["small_sample"] = ss.describe()
    params = pd.Series(beta, index=names)
    se = pd.Series(np.sqrt(np.diag(cov)), index=names)
    # reorder so that att is first for the inference helpers (first column = treatment)
    order = [1, 0, *range(2, k)]
    cross = _CrossSection(design, X[:, order], y, np.asarray(codes), t0, treat)
    return cross.finish(params, se, ss, warnings, extra, inference, reps=reps, seed=seed,
                        bootstrap_weights=bootstrap_weights, level=level,
                        ri_statistic=ri_statistic, placebo_units=placebo_units, data=data)


@dataclass
class _CrossSection:
    """The collapsed 2x2 regression, for wild bootstrap and randomization inference."""

    design: PanelDesign
    X: np.ndarray  # treatment first, then constant and covariates
    y: np.ndarray
    codes: np.ndarray
    t0: float
    treat: np.ndarray

    def finish(self, params, se, ss, warnings, extra, inference, *, reps, seed, bootstrap_weights,
               level, ri_statistic="t", placebo_units=None, data=None):
        design = self.design
        details: dict = {}
        pvalues = ci = None
        one = design.n_treated_clusters < 2
        if one:
            se = se.copy()
            se["att"] = np.nan
        if inference == "wild":
            from ..inference.wild_bootstrap import wild_cluster_bootstrap

            res = wild_cluster_bootstrap(self.X, self.y, self.codes, coefs=[0], reps=reps,
                                         weights=bootstrap_weights, seed=seed, level=level,
                                         n_treated_clusters=design.n_treated_clusters)[0]
            details["wild_bootstrap"] = res.to_dict()
            details["cluster_se"] = float(se["att"])
            extra["bootstrap_weights"] = res.weights
            extra["bootstrap_weights_reason"] = res.weights_reason
            warnings = warnings + res.warnings
            pvalues, ci = _override(params, se, "att", res.p_value, res.ci_low, res.ci_high)
            se = se.copy()
            se["att"] = np.nan
        elif inference == "ri":
            from ..inference.randomization import randomization_inference

            W = self.X[:, 1:]
            proj = np.linalg.pinv(W.T @ W) @ W.T

            def partial(M):
                return M - W @ (proj @ M)

            cl_adopt = pd.Series(np.where(self.treat == 1, 0.0, np.inf)).groupby(self.codes)
            if (cl_adopt.nunique() > 1).any():
                raise InputError("treated and control units share a cluster; randomization "
                                 "inference re-assigns whole clusters")
            shaped = draws = None
            if placebo_units is not None:
                shaped, draws = shaped_assignments(design, data, placebo_units, reps=reps,
                                                   seed=seed, adoption_time=0.0)
            res = randomization_inference(
                resid_y=partial(self.y[:, None])[:, 0], treatment=self.treat, partial=partial,
                time=np.zeros(len(self.y)), cluster_codes=self.codes,
                cluster_adoption=cl_adopt.first().to_numpy(), reps=reps, seed=seed, level=level,
                statistic=ri_statistic, shaped=shaped)
            details["randomization"] = res.to_dict()
            if draws is not None:
                details["randomization"]["placebo_units"] = draws.to_dict()
                warnings = warnings + [_shaped_warning(draws)]
            details["min_p_value"] = res.min_p_value
            details["cluster_se"] = float(se["att"])
            pvalues, ci = _override(params, se, "att", res.p_value, res.ci_low, res.ci_high)
            se = se.copy()
            se["att"] = np.nan
            warnings = [w for w in warnings if w != ONE_TREATED_CLUSTER_WARNING]
            warnings.append(f"randomization inference over {res.n_assignments} placebo "
                            f"assignments; smallest attainable p-value {res.min_p_value:.3g}")
        elif one:
            pvalues = pd.Series(2 * stats.t(ss.df).sf(np.abs(params / se)), index=params.index)
        return EstimationResult(
            params, se, _design_record(design, "did_2x2", inference, extra), pvalues=pvalues,
            ci=ci, ci_level=level, df_resid=ss.df, details=details, warnings=warnings,
            nobs=len(self.y),
        )
