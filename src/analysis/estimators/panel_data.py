"""Validation of a long panel (one row per unit and period) before estimation.

Every estimator and the ``kuntakokeilu estimate`` command go through :func:`validate_panel`,
so that wrong column names, non-numeric outcomes, duplicate unit-period rows, missing values
and treated units without a pre-period give the same clear :class:`InputError`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, require_columns


def _require_numeric(data: pd.DataFrame, column: str, role: str) -> None:
    dtype = data[column].dtype
    if not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
        raise InputError(
            f"{role} column {column!r} must be numeric, got dtype {data[column].dtype} "
            f"(e.g. {data[column].dropna().astype(str).head(3).tolist()})"
        )


def validate_panel(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str | None = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    require_pre_period: bool = True,
    require_controls: bool = True,
    weights: str | None = None,
) -> pd.DataFrame:
    """Check a long panel and return a clean copy sorted by unit and time.

    ``treated`` is the 0/1 treatment status of each unit-period row (1 for a treated unit in its
    treated periods, as in R ``synthdid`` and ``fixest``). Rows with a missing or non-finite
    outcome, time, covariate or treatment are an error, not silently dropped: the caller decides
    the sample. With ``require_controls`` at least one unit must never be treated (the comparison
    group of every estimator here). ``weights`` names a column of observation weights: every
    row needs a finite, positive weight.
    """
    return validated_panel(
        data, unit=unit, time=time, outcome=outcome, treated=treated, covariates=covariates,
        cluster=cluster, require_pre_period=require_pre_period, require_controls=require_controls,
        weights=weights,
    ).frame


@dataclass(frozen=True)
class ValidatedPanel:
    """:func:`validate_panel`'s frame with what its checks computed: ``codes`` of the frame's
    units and periods (:func:`_unit_time_codes`; ``None`` when the labels took the grouped path
    or the rows had to be sorted) and the units' ``adoption`` times (``None`` without a
    treatment column or the pre-period check)."""

    frame: pd.DataFrame
    codes: tuple | None
    adoption: pd.Series | None


def validated_panel(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str | None = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    require_pre_period: bool = True,
    require_controls: bool = True,
    weights: str | None = None,
) -> ValidatedPanel:
    """:func:`validate_panel` (the same checks and errors), keeping the unit/period codes and
    adoption times computed on the way so that the estimators need not compute them again."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if data.attrs:
        # pandas deep-copies ``attrs`` (e.g. an analysis frame's design record) on every
        # operation; the estimators do not read them, so work on a view without them
        data = data.copy(deep=False)
        data.attrs = {}
    covariates = list(covariates or ())
    require_columns(data, [unit, time, outcome, treated, cluster, weights, *covariates])
    if data.empty:
        raise InputError("the data have no rows")
    _require_numeric(data, outcome, "outcome")
    _require_numeric(data, time, "time")
    for c in covariates:
        _require_numeric(data, c, "covariate")
    if weights is not None:
        _check_weights(data, weights, unit, time)
    cols = list(dict.fromkeys([unit, time, outcome, *(c for c in (treated, cluster, weights) if c),
                               *covariates]))
    frame = data[cols].copy()
    codes = _unit_time_codes(frame, unit, time)
    if codes is None and frame.duplicated([unit, time], keep=False).any():
        dup = frame.duplicated([unit, time], keep=False)
        examples = frame.loc[dup, [unit, time]].drop_duplicates().head(5)
        pairs = ", ".join(f"({u!r}, {t!r})" for u, t in examples.itertuples(index=False))
        raise InputError(f"duplicate {unit}-{time} rows ({int(dup.sum())} rows), e.g. {pairs}")
    if bool(frame.isna().to_numpy().any()):
        na = frame.isna().sum()
        bad = ", ".join(f"{c!r} ({n} rows)" for c, n in na[na > 0].items())
        raise InputError(f"missing values in {bad}; drop or impute them before estimating")
    numeric = [c for c in dict.fromkeys([outcome, time, *covariates])]
    infinite = {c: int((~np.isfinite(frame[c].to_numpy(dtype=float))).sum()) for c in numeric}
    infinite = {c: n for c, n in infinite.items() if n}
    if infinite:
        bad = ", ".join(f"{c!r} ({n} rows)" for c, n in infinite.items())
        raise InputError(f"non-finite values (inf) in {bad}; every value must be a finite number")
    adoption = None
    if treated is not None:
        adoption = check_treatment(frame, unit=unit, time=time, treated=treated, codes=codes,
                                   require_controls=require_controls,
                                   require_pre_period=require_pre_period)
    if codes is not None and _is_sorted(codes):
        return ValidatedPanel(frame.reset_index(drop=True), codes, adoption)
    frame = frame.sort_values([unit, time], kind="mergesort").reset_index(drop=True)
    return ValidatedPanel(frame, None, adoption)


def check_treatment(frame: pd.DataFrame, *, unit: str, time: str, treated: str, codes=None,
                    require_controls: bool = True, require_pre_period: bool = True):
    """The checks of :func:`validate_panel` on the 0/1 treatment column of ``frame``
    (``codes``: :func:`_unit_time_codes` of ``frame`` when known). Returns the units' adoption
    times (:func:`adoption_times`) when ``require_pre_period``, else ``None``."""
    _require_numeric(frame, treated, "treatment")
    d = frame[treated].to_numpy()
    values = set(np.unique(d))
    if not values <= {0, 1}:
        raise InputError(
            f"treatment column {treated!r} must be 0/1, found values {sorted(values)[:10]}"
        )
    if d.sum() == 0:
        raise InputError(f"treatment column {treated!r} has no treated rows (all 0)")
    if require_controls:
        if codes is not None:
            ever = np.zeros(codes[2], bool)
            ever[codes[0][d == 1]] = True
        else:
            ever = (frame.groupby(unit)[treated].max() > 0).to_numpy()
        if bool(ever.all()):
            raise InputError(
                f"no control units: every {unit!r} ({len(ever)} units) is treated in some period "
                f"(column {treated!r}); the estimate needs units that are never treated to compare with"
            )
    if require_pre_period:
        return _adoption(frame, unit=unit, time=time, treated=treated, codes=codes)
    return None


def _check_weights(data: pd.DataFrame, weights: str, unit: str, time: str) -> None:
    """Observation weights: numeric, present, finite and positive in every row."""
    _require_numeric(data, weights, "weights")
    w = data[weights].to_numpy(dtype=float)
    for bad, what in ((np.isnan(w), "missing"), (~np.isnan(w) & ~np.isfinite(w), "infinite"),
                      (np.isfinite(w) & (w <= 0), "zero or negative")):
        if bad.any():
            rows = data.loc[bad, [unit, time]].head(5)
            examples = ", ".join(f"({u!r}, {t!r})" for u, t in rows.itertuples(index=False))
            raise InputError(
                f"observation weights column {weights!r} has {what} values in {int(bad.sum())} "
                f"rows, e.g. {unit}-{time} {examples}; every row needs a finite, positive weight "
                "(drop those rows or estimate without weights)")


def _unit_time_codes(frame: pd.DataFrame, unit: str, time: str):
    """``(unit codes, time codes, number of units, number of periods, unit labels, periods,
    row keys)``, codes in sorted label order, or ``None`` when a unit-period pair repeats, a
    label is missing or the labels are not plain numbers or strings (the caller then takes the
    grouped path, which names any problem)."""
    if not (_plain_labels(frame[unit]) and pd.api.types.is_numeric_dtype(frame[time])
            and isinstance(frame[time].dtype, np.dtype)):
        return None
    coded = [_sorted_codes(frame[c]) for c in (unit, time)]
    if coded[0] is None or coded[1] is None:
        return None
    (u, units), (t, times) = coded
    n_u, n_t = len(units), len(times)
    key = u.astype(np.int64) * n_t + t
    if len(np.unique(key)) != len(key):
        return None
    return u, t, n_u, n_t, units, times, key


def _sorted_codes(s: pd.Series):
    """Codes into the sorted distinct values (as ``pd.factorize(sort=True)``), or ``None`` if a
    value is missing."""
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf":
        values = s.to_numpy()
        if s.dtype.kind == "f" and np.isnan(values).any():
            return None
        uniques, codes = np.unique(values, return_inverse=True)
        return codes.reshape(-1), uniques
    codes, uniques = pd.factorize(s, sort=True)
    if (codes < 0).any():
        return None
    return codes, np.asarray(uniques) if not isinstance(uniques, pd.Index) else uniques


def _plain_labels(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(s):
        return False
    if pd.api.types.is_numeric_dtype(s):
        return isinstance(s.dtype, np.dtype)
    return pd.api.types.is_string_dtype(s) and s.map(type).eq(str).all() if s.dtype == object \
        else pd.api.types.is_string_dtype(s)


def _is_sorted(codes) -> bool:
    key = codes[-1]
    return bool(np.all(key[1:] > key[:-1]))


def adoption_times(data: pd.DataFrame, *, unit: str, time: str, treated: str) -> pd.Series:
    """First treated period of every unit (``NaN`` for never-treated units).

    Raises :class:`InputError` if a treated unit is treated in its first observed period
    (no pre-period to compare with) or switches back from 1 to 0.
    """
    return _adoption(data, unit=unit, time=time, treated=treated)


def _adoption(data: pd.DataFrame, *, unit: str, time: str, treated: str, codes=None) -> pd.Series:
    """:func:`adoption_times` computed on integer codes (``codes`` from
    :func:`_unit_time_codes` when the caller has them); the same Series, checks and errors."""
    if codes is None:
        codes = _unit_time_codes(data, unit, time)
    if codes is None:
        return _adoption_grouped(data, unit=unit, time=time, treated=treated)
    u, t, n_u, n_t, units, times, _ = codes
    units = pd.Index(units, name=unit)
    times = np.asarray(times)
    d = data[treated].to_numpy() == 1
    first_code = np.full(n_u, n_t, dtype=np.int64)
    np.minimum.at(first_code, u[d], t[d])
    start_code = np.full(n_u, n_t, dtype=np.int64)
    np.minimum.at(start_code, u, t)
    ever = first_code < n_t
    if bool((ever & (first_code <= start_code)).any()):
        return _adoption_grouped(data, unit=unit, time=time, treated=treated)
    if bool(((t >= first_code[u]) & ~d).any()):
        return _adoption_grouped(data, unit=unit, time=time, treated=treated)
    if ever.all():
        values = times[first_code]
    else:
        values = np.full(n_u, np.nan)
        values[ever] = times[first_code[ever]]
    return pd.Series(values, index=units, name="adoption_time")


def _adoption_grouped(data: pd.DataFrame, *, unit: str, time: str, treated: str) -> pd.Series:
    first = data.loc[data[treated] == 1].groupby(unit)[time].min()
    start = data.groupby(unit)[time].min()
    adopt = first.reindex(start.index)
    no_pre = adopt.index[(adopt <= start).fillna(False).to_numpy()]
    if len(no_pre):
        raise InputError(
            f"treated unit(s) with no pre-treatment period: {', '.join(map(str, no_pre[:10]))}; "
            "a unit must be observed untreated before its first treated period"
        )
    adopt_row = data[unit].map(adopt).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        off = (data[time].to_numpy(dtype=float) >= adopt_row) & (data[treated].to_numpy() == 0)
    switched = data[unit][off].unique()
    if len(switched):
        raise InputError(
            f"treatment switches off for unit(s) {', '.join(map(str, switched[:10]))}; "
            "these estimators assume treatment is absorbing (stays 1 once adopted)"
        )
    adopt.name = "adoption_time"
    return adopt


def treated_units(data: pd.DataFrame, *, unit: str, treated: str) -> pd.Index:
    """Units with at least one treated row."""
    return pd.Index(sorted(data.loc[data[treated] == 1, unit].unique()), name=unit)
