"""Fetch a Sotkanet indicator or a StatFin table into a new ``data/raw/`` snapshot.

Used by ``kuntakokeilu fetch``. Everything is downloaded and checked in memory first; only a
complete, validated result is written (:func:`analysis.live.snapshots.write_snapshot`), so a
run that fails midway leaves ``data/raw/`` and its manifest untouched.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from . import pxweb, sotkanet
from .http import FetchError
from .snapshots import Provenance, default_raw_dir, snapshot_name, utc_now, write_snapshot


@dataclass(frozen=True)
class FetchResult:
    path: Path
    rows: int
    provenance: Provenance
    requests: int

    @property
    def name(self) -> str:
        return self.path.name


def _years_text(years: Sequence[int]) -> str:
    years = sorted(years)
    if years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ",".join(map(str, years))


def fetch_sotkanet(
    indicator: int,
    years: Sequence[int],
    genders: Sequence[str] = ("total",),
    *,
    client: sotkanet.SotkanetClient | None = None,
    raw_dir: str | Path | None = None,
    retrieved_at: dt.datetime | None = None,
    progress: bool = False,
    years_per_request: int = 10,
) -> FetchResult:
    """Fetch one Sotkanet indicator for the municipalities (KUNTA) into a new snapshot.

    The snapshot has columns ``indicator, region_id, kunta, name, year, gender, value,
    abs_value``; region ids are already mapped to municipality codes through ``/regions``.
    """
    client = client or sotkanet.SotkanetClient()
    retrieved_at = retrieved_at or utc_now()
    frame = client.fetch_indicator(int(indicator), years, genders, years_per_request=years_per_request,
                                   progress=progress)
    if frame.empty:
        raise FetchError(
            f"Sotkanet returned no municipality rows for indicator {indicator}, years {_years_text(years)}; "
            "check the indicator id (kuntakokeilu indicators --search TEXT) and the years"
        )
    params = client.data_params(indicator, years, genders)
    prov = Provenance(
        service="THL Sotkanet REST API 1.1",
        url=client.http.prepared_url("json", params),
        query=f"indicator={int(indicator)}; years={_years_text(years)}; genders={','.join(genders)}; "
              f"regions=KUNTA via {client.http.url('regions')}",
        original_id=f"Sotkanet indicator {int(indicator)}",
        licence=sotkanet.LICENCE,
        attribution=sotkanet.ATTRIBUTION,
        retrieved_at=retrieved_at,
    )
    name = snapshot_name(f"sotkanet_{int(indicator)}", retrieved_at)
    path = write_snapshot(frame, name, prov, raw_dir=raw_dir if raw_dir is not None else default_raw_dir())
    return FetchResult(path, len(frame), prov, client.http.calls)


def fetch_statfin(
    table: str,
    query: Any | None = None,
    *,
    client: pxweb.PxWebClient | None = None,
    raw_dir: str | Path | None = None,
    retrieved_at: dt.datetime | None = None,
    progress: bool = False,
) -> FetchResult:
    """Fetch a StatFin PxWeb table (``query``: a PxWeb query, default the whole table).

    The snapshot has one column per table variable (value codes), ``<variable>_label``
    columns, ``value`` (and ``status`` if the server sent one).
    """
    client = client or pxweb.PxWebClient()
    retrieved_at = retrieved_at or utc_now()
    path_in_api = pxweb.table_path(table)
    meta = client.table_metadata(path_in_api)
    query = pxweb.load_query(query) if query is not None else pxweb.full_query(meta)
    frame = client.query(path_in_api, query, meta=meta, progress=progress)
    if frame.empty:
        raise FetchError(f"StatFin table {path_in_api} returned no values for the query")
    stem = path_in_api.rsplit("/", 1)[-1].removesuffix(".px")
    prov = Provenance(
        service="Statistics Finland PxWeb API v1 (POST, json-stat2)",
        url=client.http.url(path_in_api),
        query=json.dumps(query, ensure_ascii=False, separators=(",", ":")),
        original_id=f"StatFin {path_in_api}" + (f" ({meta['title']})" if meta.get("title") else ""),
        licence=pxweb.LICENCE,
        attribution=pxweb.ATTRIBUTION,
        retrieved_at=retrieved_at,
    )
    name = snapshot_name(stem if stem.startswith("statfin") else f"statfin_{stem}", retrieved_at)
    path = write_snapshot(frame, name, prov, raw_dir=raw_dir if raw_dir is not None else default_raw_dir())
    return FetchResult(path, len(frame), prov, client.http.calls)
