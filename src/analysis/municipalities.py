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


# ---------------------------------------------------------------------------------------
# municipal centroids (ETRS-TM35FIN) for placebo units built from neighbouring municipalities
# ---------------------------------------------------------------------------------------
#: GRS80 ellipsoid and the ETRS-TM35FIN transverse Mercator (EPSG:3067): central meridian
#: 27° E, scale 0.9996, false easting 500 km
GRS80_A = 6378137.0
GRS80_F = 1 / 298.257222101
TM35FIN_LON0 = 27.0
TM35FIN_K0 = 0.9996
TM35FIN_FALSE_EASTING = 500000.0


def etrs_tm35fin(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Project ETRS89/WGS 84 longitude, latitude (degrees) to ETRS-TM35FIN easting, northing (m).

    Krüger's series for the transverse Mercator to order n^4 (Karney 2011, "Transverse Mercator
    with an accuracy of a few nanometers", J. Geodesy 85, eqs. 7-11 and 35; the JHS 154
    formulas): within Finland the truncation error is well below a millimetre.
    """
    lon = np.radians(np.asarray(lon, dtype=float) - TM35FIN_LON0)
    lat = np.radians(np.asarray(lat, dtype=float))
    n = GRS80_F / (2 - GRS80_F)
    e = 2 * np.sqrt(n) / (1 + n)  # first eccentricity
    big_a = GRS80_A / (1 + n) * (1 + n ** 2 / 4 + n ** 4 / 64)
    alpha = (n / 2 - 2 * n ** 2 / 3 + 5 * n ** 3 / 16 + 41 * n ** 4 / 180,
             13 * n ** 2 / 48 - 3 * n ** 3 / 5 + 557 * n ** 4 / 1440,
             61 * n ** 3 / 240 - 103 * n ** 4 / 140,
             49561 * n ** 4 / 161280)
    sin_lat = np.sin(lat)
    t = np.sinh(np.arctanh(sin_lat) - e * np.arctanh(e * sin_lat))
    xi = np.arctan2(t, np.cos(lon))
    eta = np.arctanh(np.sin(lon) / np.sqrt(1 + t ** 2))
    easting, northing = eta.copy(), xi.copy()
    for j, a_j in enumerate(alpha, start=1):
        easting += a_j * np.cos(2 * j * xi) * np.sinh(2 * j * eta)
        northing += a_j * np.sin(2 * j * xi) * np.cosh(2 * j * eta)
    return (TM35FIN_FALSE_EASTING + TM35FIN_K0 * big_a * easting, TM35FIN_K0 * big_a * northing)


def _ring_area_centroid(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Signed area and centroid of a closed ring (shoelace formula)."""
    x0, y0 = x[0], y[0]  # shift for numerical accuracy
    xs, ys = x - x0, y - y0
    cross = xs[:-1] * ys[1:] - xs[1:] * ys[:-1]
    area = cross.sum() / 2
    if area == 0:
        return 0.0, float(x0), float(y0)
    cx = ((xs[:-1] + xs[1:]) * cross).sum() / (6 * area)
    cy = ((ys[:-1] + ys[1:]) * cross).sum() / (6 * area)
    return float(area), float(cx + x0), float(cy + y0)


@lru_cache(maxsize=2)
def _centroids(directory: str | None) -> pd.DataFrame:
    rows = []
    for feature in sources.load_municipal_boundaries(directory):
        total = sx = sy = 0.0
        for polygon in feature["polygons"]:
            for index, ring in enumerate(polygon):
                ring = ring if np.array_equal(ring[0], ring[-1]) else np.vstack([ring, ring[:1]])
                x, y = etrs_tm35fin(ring[:, 0], ring[:, 1])
                area, cx, cy = _ring_area_centroid(x, y)
                area = abs(area) if index == 0 else -abs(area)  # outer ring adds, holes subtract
                total += area
                sx += area * cx
                sy += area * cy
        rows.append({"kunta": feature["kunta"], "x": sx / total / 1000.0, "y": sy / total / 1000.0})
    return pd.DataFrame(rows).sort_values("kunta").reset_index(drop=True)


def centroids(division_year: int = DIVISION_YEAR, directory=None) -> pd.DataFrame:
    """Area centroid of every municipality of the 2023 division: columns ``kunta``, ``x``
    (easting) and ``y`` (northing), in km in ETRS-TM35FIN (EPSG:3067).

    Computed from the National Land Survey polygons (``data/raw/mml_kuntarajat.2023.json``,
    sha256-checked) projected with :func:`etrs_tm35fin`; the centroid of a municipality with
    several parts is the area-weighted mean of the parts' centroids (lakes inside the boundary
    count as area: the NLS polygons are the municipal boundary, holes only where another
    municipality is enclosed).
    """
    if division_year != DIVISION_YEAR:
        raise InputError(f"municipal centroids exist for the {DIVISION_YEAR} division only (got {division_year})")
    return _centroids(None if directory is None else str(directory)).copy()
