"""Municipality keys, merger history and harmonisation onto one municipal division.

The harmonised division is that of 1 January 2023 (309 municipalities, 293 mainland + 16 on
Åland). It is the latest division the shipped sources support: the TEM monthly series and the
Sotkanet population are published on it, there were no mergers between 2021 and 2024, and
every older division in the shipped files (2013 Sotkanet dump, 2019 key figures, 2020 Haaga
panel) maps onto it by mergers only (no municipality was split after 2007).

Aggregation rules when municipalities merged: counts and euros are summed; rates, shares and
per-capita values are population-weighted means of the parts. A merged unit is missing in a
year unless *every* part has a value (and, for weighted means, a population weight).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import numpy as np
import pandas as pd

from .errors import InputError, choices_message
from . import sources

DIVISION_YEAR = 2023
#: the shipped abolition list ends in 2022; the next merger (Pertunmaa -> Mäntyharju) took
#: effect on 1.1.2025, so divisions up to 2024 can be reached by code
MAX_DIVISION_YEAR = 2024
ALAND_MAAKUNTA = 21
AGGREGATIONS = ("sum", "population_weighted_mean")


def normalise_code(code) -> str:
    """'5', 5, 'KU005' -> '005'; malformed input -> InputError."""
    text = str(code).strip()
    if text.upper().startswith("KU"):
        text = text[2:]
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or len(text) > 3:
        raise InputError(f"malformed municipality code {code!r}: expected a 3-digit kuntanumero such as '091'")
    return text.zfill(3)


@lru_cache(maxsize=4)
def _key() -> pd.DataFrame:
    return sources.load_municipality_key()


@lru_cache(maxsize=4)
def _abolished() -> pd.DataFrame:
    return sources.load_abolished()


def municipality_key(year: int = DIVISION_YEAR) -> pd.DataFrame:
    """Municipalities of the division of ``year`` (2013-2026) with names and region codes."""
    key = _key()
    years = sorted(key["year"].unique())
    if year not in years:
        raise InputError(choices_message("division year", year, years))
    out = key[key["year"] == year].drop(columns="year").sort_values("kunta").reset_index(drop=True)
    out["aland"] = out["maakunta_code"] == ALAND_MAAKUNTA
    return out


def codes(year: int = DIVISION_YEAR) -> list[str]:
    """Sorted 3-digit codes of the division of ``year``."""
    return municipality_key(year)["kunta"].tolist()


def aland_codes(year: int = DIVISION_YEAR) -> list[str]:
    """Codes of the Åland (Ahvenanmaa, maakunta 21) municipalities."""
    key = municipality_key(year)
    return key.loc[key["aland"], "kunta"].tolist()


def mergers(after_year: int, upto_year: int = DIVISION_YEAR) -> pd.DataFrame:
    """Abolitions that took effect on 1 January of a year in (after_year, upto_year]."""
    ab = _abolished()
    year = ab["date"].dt.year
    return ab[(year > after_year) & (year <= upto_year)].reset_index(drop=True)


def code_map(from_year: int, to_year: int = DIVISION_YEAR) -> dict[str, str]:
    """See :func:`_code_map` (cached; returns a fresh dict)."""
    return dict(_code_map(int(from_year), int(to_year)))


@lru_cache(maxsize=64)
def _code_map(from_year: int, to_year: int) -> tuple[tuple[str, str], ...]:
    """``{code in division of from_year: code in division of to_year}`` for merged codes only.

    Chains successive mergers (e.g. Maksamaa -> Vöyri-Maksamaa 2007 -> Vöyri 2011). A split
    municipality (several receivers, see :func:`split_codes`) cannot be mapped by code alone:
    it is left out here, and :func:`harmonise` / :func:`to_division` refuse data for it.
    """
    if to_year < from_year:
        raise InputError(f"cannot map division {from_year} back to {to_year}: only forward harmonisation")
    if to_year > MAX_DIVISION_YEAR:
        raise InputError(
            f"division {to_year} is not supported: the shipped merger history reaches the "
            f"{MAX_DIVISION_YEAR} division (Pertunmaa joined Mäntyharju on 1.1.2025)")
    rows = mergers(from_year, to_year).sort_values("date")
    mapping: dict[str, str] = {}
    for old, group in rows.groupby("abolished_code", sort=False):
        receivers = group["joined_to_code"].dropna().unique()
        if len(receivers) == 1:
            mapping[old] = receivers[0]
    # follow chains old -> mid -> new
    for old in list(mapping):
        seen = {old}
        new = mapping[old]
        while new in mapping and new not in seen:
            seen.add(new)
            new = mapping[new]
        mapping[old] = new
    return tuple(mapping.items())


code_map.__doc__ = _code_map.__doc__


def split_codes(from_year: int, to_year: int = DIVISION_YEAR) -> dict[str, list[str]]:
    """Municipalities abolished in (from_year, to_year] and split between several receivers."""
    return {k: list(v) for k, v in _split_codes(int(from_year), int(to_year))}


@lru_cache(maxsize=64)
def _split_codes(from_year: int, to_year: int):
    out = {}
    for old, group in mergers(from_year, to_year).groupby("abolished_code"):
        receivers = sorted(group["joined_to_code"].dropna().unique())
        if len(receivers) != 1:
            out[old] = tuple(receivers)
    return tuple(out.items())


def _refuse_splits(codes_: Iterable[str], from_year: int, to_year: int) -> None:
    splits = split_codes(from_year, to_year)
    hit = sorted(set(codes_) & set(splits))
    if hit:
        raise InputError(
            f"municipality {hit[0]} was split between {splits[hit[0]]} and cannot be harmonised by code "
            f"from the {from_year} division to {to_year}"
        )


def to_division(code, from_year: int, to_year: int = DIVISION_YEAR) -> str:
    """The code in the division of ``to_year`` of municipality ``code`` of ``from_year``."""
    code = normalise_code(code)
    _refuse_splits([code], from_year, to_year)
    return code_map(from_year, to_year).get(code, code)


def all_known_codes() -> set[str]:
    """Every code in the key (2013-2026) or in the abolition list."""
    ab = _abolished()
    return set(_key()["kunta"]) | set(ab["abolished_code"])


def check_code(code) -> str:
    """Normalise and check that ``code`` is a known municipality code (InputError if not)."""
    c = normalise_code(code)
    if c not in all_known_codes():
        raise InputError(choices_message("municipality code", c, codes()))
    return c


def harmonise(
    frame: pd.DataFrame,
    from_year: int,
    aggregation: str,
    weights: pd.DataFrame | None = None,
    to_year: int = DIVISION_YEAR,
) -> pd.DataFrame:
    """Map a long frame ``[kunta, year, value]`` from division ``from_year`` to ``to_year``.

    ``aggregation='sum'`` adds the parts (counts, euros); ``'population_weighted_mean'``
    averages them with ``weights`` (long ``[kunta, year, value]`` populations in the
    *source* division). A target municipality-year is missing unless every part that the
    source ever reports for that target has a value (and a weight) in that year, so a
    merger never makes a total jump because a part is absent.
    """
    if aggregation not in AGGREGATIONS:
        raise InputError(choices_message("aggregation", aggregation, AGGREGATIONS))
    missing = {"kunta", "year", "value"} - set(frame.columns)
    if missing:
        raise InputError(f"series frame lacks column(s) {sorted(missing)}; need kunta, year, value")
    data = frame[["kunta", "year", "value"]].copy()
    data["value"] = data["value"].astype(float)
    _refuse_splits(data["kunta"].unique(), from_year, to_year)
    mapping = code_map(from_year, to_year)
    if not mapping:
        return data.groupby(["kunta", "year"], as_index=False)["value"].first()
    data["target"] = data["kunta"].map(mapping).fillna(data["kunta"])
    merged = data["target"].isin(set(mapping.values())) | data["kunta"].isin(mapping.keys())
    simple = data[~merged].drop(columns="target")
    parts = data[merged].copy()
    if aggregation == "population_weighted_mean":
        if weights is None:
            raise InputError("population-weighted harmonisation needs population weights in the source division")
        w = weights.rename(columns={"value": "weight"})[["kunta", "year", "weight"]]
        parts = parts.merge(w, on=["kunta", "year"], how="left")
        parts["ok"] = parts["value"].notna() & parts["weight"].notna() & (parts["weight"] > 0)
        parts["wv"] = parts["value"] * parts["weight"]
    else:
        parts["ok"] = parts["value"].notna()
        parts["wv"] = parts["value"]
        parts["weight"] = 1.0
    n_parts = parts.groupby("target")["kunta"].nunique().rename("n_parts")
    agg = parts[parts["ok"]].groupby(["target", "year"]).agg(
        wv=("wv", "sum"), weight=("weight", "sum"), n=("kunta", "nunique"))
    agg = agg.join(n_parts, on="target")
    if aggregation == "sum":
        agg["value"] = agg["wv"]
    else:
        agg["value"] = agg["wv"] / agg["weight"]
    agg.loc[agg["n"] < agg["n_parts"], "value"] = np.nan
    combined = agg.reset_index().rename(columns={"target": "kunta"})[["kunta", "year", "value"]]
    # target-years where no part had a value at all
    all_years = parts[["target", "year"]].drop_duplicates().rename(columns={"target": "kunta"})
    combined = all_years.merge(combined, on=["kunta", "year"], how="left")
    out = pd.concat([simple, combined], ignore_index=True)
    return out.sort_values(["kunta", "year"]).reset_index(drop=True)


def reference_tables(division_year: int = DIVISION_YEAR, since: int = 2005) -> dict[str, pd.DataFrame]:
    """The derived tables shipped in ``data/reference/``: the harmonised division's key and the
    mergers since ``since`` with each abolished code's successor on the harmonised division."""
    key = municipality_key(division_year)
    division = key[["kunta", "municipality_name_fi", "municipality_name_sv", "maakunta_code",
                    "maakunta_name_fi", "seutukunta_code", "seutukunta_name_fi", "kuntaryhmitys_code",
                    "kuntaryhmitys_name_fi", "aland"]]
    merged = mergers(since, division_year)
    splits = split_codes(since, division_year)
    mapping = code_map(since, division_year)
    merged = merged.assign(
        date=merged["date"].dt.strftime("%Y-%m-%d"),
        harmonised_code=[None if c in splits else mapping.get(c, c) for c in merged["abolished_code"]],
    )[["abolished_code", "abolished_name_fi", "date", "joined_to_code", "joined_to_name_fi", "harmonised_code"]]
    return {f"municipalities_{division_year}.csv": division.reset_index(drop=True),
            f"mergers_{since + 1}_{division_year}.csv": merged.reset_index(drop=True)}
