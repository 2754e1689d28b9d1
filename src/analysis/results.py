"""Results objects shared by every estimator (linearmodels / pyfixest style).

An estimator returns an :class:`EstimationResult`: named coefficients with standard errors,
p-values and confidence intervals from one stated inference method, plus the design it was
estimated on (:class:`Design`) and any warnings a reader must see. Figures that do not exist
for a method (e.g. a cluster-robust SE with one treated cluster) are ``NaN`` / ``None``,
never silently replaced.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Design:
    """What the estimate rests on: estimator, sample, clustering and inference."""

    estimator: str
    inference: str
    n_units: int
    n_treated_units: int
    n_periods: int
    n_clusters: int | None = None
    n_treated_clusters: int | None = None
    cluster: str | None = None
    control_pool: str | None = None
    years: tuple[int, int] | None = None
    outcome: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["years"] = list(self.years) if self.years is not None else None
        d["extra"] = dict(self.extra)
        return d


def _as_series(values: Mapping[str, float] | pd.Series, name: str, index: pd.Index | None = None
               ) -> pd.Series:
    """``values`` as a float Series named ``name``; with ``index``: reindexed to it."""
    if isinstance(values, pd.Series) and values.dtype == np.float64:
        # the same Series as pd.Series(values, dtype="float64"), without its generic path
        s = pd.Series(values.to_numpy(), index=values.index, name=name)
    else:
        s = pd.Series(values, dtype="float64")
        s.name = name
    if index is not None and s.index is not index:
        if s.index.equals(index):
            s.index = index  # what reindex gives, without its copy
        else:
            s = s.reindex(index)
    return s


_INTERVAL_COLUMNS = pd.Index(["lower", "upper"])


def interval_frame(lower: np.ndarray, upper: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Intervals as the results objects hold them: columns ``lower``, ``upper`` on ``index``."""
    return pd.DataFrame(np.column_stack([lower, upper]), index=index, columns=_INTERVAL_COLUMNS)


def _interval_frame(ci: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Columns ``lower``, ``upper`` of ``ci`` on ``index`` (a copy)."""
    if list(ci.columns) == ["lower", "upper"] and (ci.index is index or ci.index.equals(index)):
        out = ci.copy()
        out.index = index  # what reindex gives
        return out
    return ci.reindex(index)[["lower", "upper"]]


class EstimationResult:
    """Coefficients, uncertainty and design of one estimation.

    Parameters
    ----------
    params, std_errors : mapping of coefficient name -> value (``NaN`` where undefined).
    design : the :class:`Design`.
    pvalues : optional; if omitted they are computed from ``params / std_errors`` with the
        reference distribution ``df_resid`` (t) or normal when ``df_resid`` is ``None``.
    ci : optional DataFrame (index = names, columns ``lower``/``upper``) of intervals at
        ``ci_level`` from the inference method itself (e.g. bootstrap test inversion).
        When given, :meth:`conf_int` at that level returns it instead of ``est ± crit·se``.
    details : method-specific extras (event-study table, weights, placebo distribution...).
    warnings : messages a reader must see (printed in ``summary``).
    """

    def __init__(
        self,
        params: Mapping[str, float] | pd.Series,
        std_errors: Mapping[str, float] | pd.Series,
        design: Design,
        *,
        pvalues: Mapping[str, float] | pd.Series | None = None,
        ci: pd.DataFrame | None = None,
        ci_level: float = 0.95,
        df_resid: float | None = None,
        details: Mapping[str, Any] | None = None,
        warnings: list[str] | None = None,
        nobs: int | None = None,
    ) -> None:
        self.params = _as_series(params, "parameter")
        index = self.params.index
        self.std_errors = _as_series(std_errors, "std_error", index)
        self.design = design
        self.df_resid = df_resid
        self.nobs = nobs
        self.details: dict[str, Any] = dict(details or {})
        self.warnings: list[str] = list(warnings or [])
        self._ci = None if ci is None else _interval_frame(ci, index)
        self._ci_level = ci_level
        if pvalues is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                t = self.params.to_numpy() / self.std_errors.to_numpy()
            # the distribution's sf directly: freezing a scipy distribution costs more than the fit
            sf = stats.t.sf(np.abs(t), df_resid) if df_resid is not None else stats.norm.sf(np.abs(t))
            pvalues = pd.Series(2 * sf, index=index)
        self.pvalues = _as_series(pvalues, "pvalue", index)

    # --- linearmodels-style accessors -------------------------------------------------
    @property
    def tstats(self) -> pd.Series:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.params / self.std_errors).rename("tstat")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals (columns ``lower``, ``upper``).

        At the inference method's own level this is its interval (e.g. bootstrap by test
        inversion); otherwise ``params ± q · std_errors`` with the t/normal quantile.
        """
        if self._ci is not None and math.isclose(level, self._ci_level):
            return self._ci.copy()
        if self._ci is not None and self.std_errors.isna().all():
            raise ValueError(
                f"this result has intervals only at level {self._ci_level} "
                f"(inference: {self.design.inference})"
            )
        q = (stats.t.ppf(0.5 + level / 2, self.df_resid) if self.df_resid is not None
             else stats.norm.ppf(0.5 + level / 2))
        est, se = self.params.to_numpy(), self.std_errors.to_numpy()
        return interval_frame(est - q * se, est + q * se, self.params.index)

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy table: one row per coefficient (estimate, se, t, p, CI)."""
        ci = self.conf_int(level)
        out = pd.DataFrame(
            {
                "estimate": self.params,
                "std_error": self.std_errors,
                "tstat": self.tstats,
                "pvalue": self.pvalues,
                "ci_lower": ci["lower"],
                "ci_upper": ci["upper"],
            }
        )
        out.index.name = "term"
        return out

    def to_dict(self, level: float = 0.95) -> dict[str, Any]:
        """JSON-ready dictionary (``NaN`` becomes ``None``)."""
        frame = self.to_frame(level).reset_index()
        return _jsonable(
            {
                "coefficients": frame.to_dict(orient="records"),
                "design": self.design.to_dict(),
                "nobs": self.nobs,
                "df_resid": self.df_resid,
                "ci_level": level,
                "warnings": self.warnings,
                "details": self.details,
            }
        )

    def to_json(self, level: float = 0.95, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(level), ensure_ascii=False, **kwargs)

    @property
    def summary(self) -> str:
        """Plain-text summary: design, coefficient table, warnings."""
        d = self.design
        lines = [
            f"Estimator: {d.estimator}",
            f"Inference: {d.inference}" + (f" (clustered by {d.cluster})" if d.cluster else ""),
            f"Units: {d.n_units} ({d.n_treated_units} treated)"
            + (f"; clusters: {d.n_clusters} ({d.n_treated_clusters} treated)" if d.n_clusters else ""),
            f"Periods: {d.n_periods}" + (f" ({d.years[0]}-{d.years[1]})" if d.years else ""),
        ]
        if d.outcome:
            lines.insert(1, f"Outcome: {d.outcome}")
        if d.control_pool:
            lines.append(f"Control pool: {d.control_pool}")
        if self.nobs is not None:
            lines.append(f"Observations: {self.nobs}")
        if self.weights_text:
            lines.append(f"Weights: {self.weights_text}")
        table = self.to_frame().to_string(float_format=lambda v: f"{v:.4f}")
        lines += ["", table]
        if self.warnings:
            lines += [""] + [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    @property
    def weights_text(self) -> str | None:
        """The observation weights of a weighted fit (``None`` when unweighted)."""
        w = (self.design.extra or {}).get("weights")
        if not isinstance(w, dict) or not w.get("column"):
            return None
        return f"observation weights {w['column']!r} (weighted least squares)"

    def __str__(self) -> str:
        return self.summary

    def _repr_html_(self) -> str:
        """Jupyter display: the design, the coefficient table and the warnings."""
        import html

        d = self.design
        facts = [("Estimator", d.estimator), ("Inference", d.inference + (f" (clustered by {d.cluster})"
                                                                          if d.cluster else "")),
                 ("Outcome", d.outcome), ("Units", f"{d.n_units} ({d.n_treated_units} treated)"),
                 ("Clusters", f"{d.n_clusters} ({d.n_treated_clusters} treated)" if d.n_clusters else None),
                 ("Periods", f"{d.n_periods}" + (f" ({d.years[0]}-{d.years[1]})" if d.years else "")),
                 ("Control pool", d.control_pool), ("Observations", self.nobs),
                 ("Weights", self.weights_text)]
        head = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(str(v))}</td></tr>" for k, v in facts if v is not None)
        try:
            table = self.to_frame().to_html(float_format=lambda v: f"{v:.4g}", na_rep="–")
        except ValueError:  # intervals only at the method's own level
            table = self.params.to_frame().to_html()
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (f"<div><table>{head}</table>{table}"
                + (f"<p><b>Warnings</b></p><ul>{warn}</ul>" if warn else "") + "</div>")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.design.estimator}, {len(self.params)} terms>"


def _jsonable(obj: Any) -> Any:
    """Recursively convert numpy/pandas objects to JSON-safe Python (NaN -> None)."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return _jsonable(obj.reset_index().to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return _jsonable(obj.to_dict())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj


jsonable = _jsonable
