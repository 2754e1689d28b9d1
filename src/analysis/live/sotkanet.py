"""THL Sotkanet REST API 1.1 client (``/json``, ``/indicators``, ``/regions``).

Formats: ``tests/fixtures/api/API_FORMATS.md`` (a). Data rows carry Sotkanet's *internal*
region id (Helsinki = 46), mapped to the 3-digit municipality code (``091``) through
``/regions``. Sotkanet recomputes past years onto the current municipal division, so a fetched
series is on the division of its retrieval year.

Licence: THL metadata and THL indicators CC BY 4.0; indicators produced by others (Statistics
Finland, Kela) follow their producers' terms (Statistics Finland: CC BY 4.0). Attribute
"Source: Sotkanet, THL" and the producer.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import pandas as pd

from .http import FetchError, HttpClient

DEFAULT_BASE_URL = "https://sotkanet.fi/rest/1.1"
BASE_URL_ENV = "KUNTAKOKEILU_SOTKANET_URL"
LICENCE = "CC BY 4.0"
ATTRIBUTION = "Source: Sotkanet, THL (https://sotkanet.fi) and the indicator's producer"
GENDERS = ("total", "male", "female")
DATA_COLUMNS = ["indicator", "region_id", "kunta", "name", "year", "gender", "value", "abs_value"]


def base_url(explicit: str | None = None) -> str:
    """``explicit`` if given, else ``$KUNTAKOKEILU_SOTKANET_URL``, else the public API root."""
    return explicit or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL


def parse_years(text: str | Iterable[int]) -> list[int]:
    """``"2006-2023"``, ``"2015,2016"`` or an iterable of ints -> sorted unique years."""
    from ..errors import InputError

    if not isinstance(text, str):
        years = sorted({int(y) for y in text})
    else:
        years = set()
        for part in text.replace(" ", "").split(","):
            if not part:
                continue
            try:
                if "-" in part:
                    lo, hi = (int(p) for p in part.split("-", 1))
                    if hi < lo:
                        raise ValueError
                    years.update(range(lo, hi + 1))
                else:
                    years.add(int(part))
            except ValueError:
                raise InputError(
                    f"bad years {text!r}; write a range like 2006-2023 or a list like 2015,2016"
                ) from None
        years = sorted(years)
    if not years or any(y < 1900 or y > 2100 for y in years):
        raise InputError(f"bad years {text!r}; expected years between 1900 and 2100")
    return years


def _malformed(what: str, detail: str) -> FetchError:
    return FetchError(f"malformed Sotkanet {what} response: {detail}")


class SotkanetClient:
    """Client for the Sotkanet REST API 1.1.

    ``http`` is an :class:`HttpClient` (its ``base_url`` is the API root); by default one is
    built for :func:`base_url`. Sotkanet documents no rate limit; the shared 30 calls / 10 s
    limit of the HTTP client applies.
    """

    def __init__(self, http: HttpClient | None = None, *, url: str | None = None, **http_options: Any) -> None:
        self.http = http or HttpClient(base_url(url), **http_options)
        self._regions: pd.DataFrame | None = None

    # -- catalogue endpoints ------------------------------------------------------------------
    def regions(self) -> pd.DataFrame:
        """``/regions`` as a frame: ``id, code, category, name_fi, name_sv, name_en`` (cached)."""
        if self._regions is None:
            payload = self.http.get_json("regions")
            if not isinstance(payload, list):
                raise _malformed("/regions", f"expected a JSON array, got {type(payload).__name__}")
            rows = []
            for i, item in enumerate(payload):
                if not isinstance(item, dict) or not {"id", "code", "category"} <= item.keys():
                    raise _malformed("/regions", f"item {i} lacks id/code/category: {str(item)[:120]}")
                title = item.get("title") or {}
                rows.append({
                    "id": int(item["id"]), "code": str(item["code"]), "category": str(item["category"]),
                    "name_fi": title.get("fi"), "name_sv": title.get("sv"), "name_en": title.get("en"),
                })
            self._regions = pd.DataFrame(rows, columns=["id", "code", "category", "name_fi", "name_sv", "name_en"])
        return self._regions

    def indicators(self) -> pd.DataFrame:
        """``/indicators``: ``id, title_fi, title_sv, title_en, organization, start, end``."""
        payload = self.http.get_json("indicators")
        if not isinstance(payload, list):
            raise _malformed("/indicators", f"expected a JSON array, got {type(payload).__name__}")
        rows = []
        for i, item in enumerate(payload):
            if not isinstance(item, dict) or "id" not in item:
                raise _malformed("/indicators", f"item {i} has no id: {str(item)[:120]}")
            title = item.get("title") or {}
            org = item.get("organization") or {}
            rng = item.get("range") or {}
            rows.append({
                "id": int(item["id"]),
                "title_fi": title.get("fi"), "title_sv": title.get("sv"), "title_en": title.get("en"),
                "organization": (org.get("title") or {}).get("fi") if isinstance(org, dict) else None,
                "start": rng.get("start") if isinstance(rng, dict) else None,
                "end": rng.get("end") if isinstance(rng, dict) else None,
            })
        return pd.DataFrame(rows, columns=["id", "title_fi", "title_sv", "title_en", "organization", "start", "end"])

    def search_indicators(self, text: str) -> pd.DataFrame:
        """Indicators whose id or title (fi/sv/en) contains every word of ``text`` (case-insensitive)."""
        table = self.indicators()
        words = [w.casefold() for w in str(text).split()]
        haystack = (
            table["id"].astype(str) + " " + table[["title_fi", "title_sv", "title_en"]].fillna("").agg(" ".join, axis=1)
        ).str.casefold()
        mask = pd.Series(True, index=table.index)
        for w in words:
            mask &= haystack.str.contains(w, regex=False)
        return table[mask].sort_values("id").reset_index(drop=True)

    def indicator_metadata(self, indicator: int) -> dict:
        """``/indicators/<id>`` as returned (a JSON object)."""
        payload = self.http.get_json(f"indicators/{int(indicator)}")
        if not isinstance(payload, dict):
            raise _malformed(f"/indicators/{indicator}", f"expected a JSON object, got {type(payload).__name__}")
        return payload

    # -- data ---------------------------------------------------------------------------------
    def data_params(self, indicator: int, years: Sequence[int], genders: Sequence[str]) -> list[tuple[str, Any]]:
        """Query parameters of one ``/json`` request (``years`` and ``genders`` repeated)."""
        return [("indicator", int(indicator)), *[("years", int(y)) for y in years], *[("genders", g) for g in genders]]

    def data_records(
        self,
        indicator: int,
        years: Sequence[int],
        genders: Sequence[str] = ("total",),
        *,
        years_per_request: int = 10,
        progress: bool = False,
    ) -> list[dict]:
        """Raw ``/json`` records for one indicator, one request per block of years."""
        from tqdm import tqdm

        bad = [g for g in genders if g not in GENDERS]
        if bad:
            from ..errors import InputError, choices_message

            raise InputError(choices_message("gender", bad[0], GENDERS))
        years = list(years)
        blocks = [years[i:i + years_per_request] for i in range(0, len(years), max(1, years_per_request))]
        records: list[dict] = []
        bar = tqdm(blocks, desc=f"Sotkanet {indicator}", unit="request", disable=not progress or len(blocks) < 2,
                   file=None)
        for block in bar:
            payload = self.http.get_json("json", params=self.data_params(indicator, block, genders))
            records.extend(validate_records(payload, indicator, block))
        return records

    def fetch_indicator(
        self,
        indicator: int,
        years: Sequence[int],
        genders: Sequence[str] = ("total",),
        *,
        category: str = "KUNTA",
        years_per_request: int = 10,
        progress: bool = False,
    ) -> pd.DataFrame:
        """One indicator as a tidy frame with municipality codes (``DATA_COLUMNS``).

        Rows of other region categories (MAAKUNTA, ...) are dropped; a region id absent from
        ``/regions`` is an error (the mapping would silently lose data otherwise).
        """
        regions = self.regions()
        records = self.data_records(indicator, years, genders, years_per_request=years_per_request, progress=progress)
        return records_to_frame(records, regions, category=category)


def validate_records(payload: Any, indicator: int, years: Sequence[int]) -> list[dict]:
    """Check the shape of a ``/json`` data response and return its records."""
    if not isinstance(payload, list):
        raise _malformed("/json", f"expected a JSON array, got {type(payload).__name__}")
    wanted = set(int(y) for y in years)
    for i, rec in enumerate(payload):
        if not isinstance(rec, dict) or not {"indicator", "region", "year", "value"} <= rec.keys():
            raise _malformed("/json", f"record {i} lacks indicator/region/year/value: {str(rec)[:160]}")
        if int(rec["indicator"]) != int(indicator):
            raise _malformed("/json", f"record {i} is for indicator {rec['indicator']}, not {indicator}")
        if int(rec["year"]) not in wanted:
            raise _malformed("/json", f"record {i} has year {rec['year']}, which was not requested")
        if rec["value"] is not None and not isinstance(rec["value"], (int, float)):
            raise _malformed("/json", f"record {i} has a non-numeric value {rec['value']!r}")
    return payload


def records_to_frame(records: list[dict], regions: pd.DataFrame, *, category: str = "KUNTA") -> pd.DataFrame:
    """Map region ids to codes, keep ``category`` and return a sorted frame (``DATA_COLUMNS``)."""
    if not records:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in DATA_COLUMNS})
    frame = pd.DataFrame.from_records(records)
    frame = frame.rename(columns={"region": "region_id", "absValue": "abs_value"})
    if "gender" not in frame:
        frame["gender"] = "total"
    if "abs_value" not in frame:
        frame["abs_value"] = float("nan")
    frame["region_id"] = frame["region_id"].astype(int)
    known = set(regions["id"])
    unknown = sorted(set(frame["region_id"]) - known)
    if unknown:
        raise FetchError(
            f"Sotkanet data refer to region id(s) {unknown[:10]} that /regions does not list; "
            "cannot map them to municipality codes"
        )
    lookup = regions.set_index("id")
    frame["category"] = frame["region_id"].map(lookup["category"])
    frame = frame[frame["category"] == category].copy()
    frame["kunta"] = frame["region_id"].map(lookup["code"]).astype(str)
    frame["name"] = frame["region_id"].map(lookup["name_fi"])
    frame["indicator"] = frame["indicator"].astype(int)
    frame["year"] = frame["year"].astype(int)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
    frame["abs_value"] = pd.to_numeric(frame["abs_value"], errors="coerce").astype("float64")
    dup = frame.duplicated(["kunta", "year", "gender"], keep=False)
    if dup.any():
        raise FetchError(
            f"Sotkanet returned duplicate rows for {int(dup.sum())} municipality-year-gender cells "
            f"(e.g. {frame.loc[dup, ['kunta', 'year', 'gender']].head(2).to_dict('records')})"
        )
    return frame[DATA_COLUMNS].sort_values(["kunta", "year", "gender"]).reset_index(drop=True)
