"""Statistics Finland (Tilastokeskus) PxWeb API v1 client.

Table metadata by GET ``<table>.px``; data by POST of a query with ``json-stat2`` responses.
Statistics Finland allows at most 120,000 values per query and 30 calls per 10 s (rOpenGov/pxweb
``api.json``; live values at ``GET <api root>?config``), so a large query is split into chunks
along its largest variables and the parts are put back together.

Formats: ``tests/fixtures/api/API_FORMATS.md`` (b). json-stat2: ``value`` is row-major over
``id`` with the last dimension varying fastest (flat index = sum_j i_j * prod(size[j+1:])).
Licence: CC BY 4.0, "Source: Statistics Finland".
"""
from __future__ import annotations

import copy
import fnmatch
import itertools
import math
import os
from typing import Any

import pandas as pd

from ..errors import InputError
from .http import FetchError, HttpClient

DEFAULT_BASE_URL = "https://pxdata.stat.fi/PxWeb/api/v1/fi"
BASE_URL_ENV = "KUNTAKOKEILU_PXWEB_URL"
MAX_VALUES = 120_000
LICENCE = "CC BY 4.0"
ATTRIBUTION = "Source: Statistics Finland"


def base_url(explicit: str | None = None) -> str:
    """``explicit`` if given, else ``$KUNTAKOKEILU_PXWEB_URL``, else the public StatFin API root."""
    return explicit or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL


def table_path(table: str) -> str:
    """Normalise a table path: ``StatFin/vaerak/statfin_vaerak_pxt_11rc`` -> ``....px``."""
    table = table.strip().strip("/")
    if not table:
        raise InputError("empty --table; give a path like StatFin/vaerak/statfin_vaerak_pxt_11rc.px")
    return table if table.endswith(".px") else table + ".px"


def load_query(document: Any) -> dict:
    """A PxWeb query from a plain query, a saved query (``queryObj``) or a request record (``body``).

    The response format is forced to ``json-stat2`` (the only one this client parses).
    """
    if isinstance(document, dict) and "queryObj" in document:
        document = document["queryObj"]
    elif isinstance(document, dict) and "body" in document and "query" not in document:
        document = document["body"]
    if not isinstance(document, dict) or not isinstance(document.get("query"), list):
        raise InputError('a PxWeb query must be a JSON object {"query": [...], "response": {...}}')
    for i, item in enumerate(document["query"]):
        sel = item.get("selection") if isinstance(item, dict) else None
        if not isinstance(item, dict) or "code" not in item or not isinstance(sel, dict) \
                or "filter" not in sel or not isinstance(sel.get("values"), list):
            raise InputError(f"query item {i} must be {{'code': ..., 'selection': {{'filter': ..., 'values': [...]}}}}")
    query = copy.deepcopy(document)
    query["response"] = {"format": "json-stat2"}
    return query


# -- metadata -------------------------------------------------------------------------------
def validate_metadata(meta: Any, url: str = "") -> dict:
    if not isinstance(meta, dict) or not isinstance(meta.get("variables"), list):
        raise FetchError(f"malformed PxWeb table metadata from {url}: expected {{'title', 'variables': [...]}}")
    for i, var in enumerate(meta["variables"]):
        if not isinstance(var, dict) or "code" not in var or not isinstance(var.get("values"), list):
            raise FetchError(f"malformed PxWeb table metadata from {url}: variable {i} lacks code/values")
    return meta


def full_query(meta: dict) -> dict:
    """A query selecting every value of every variable (the whole table)."""
    return {
        "query": [{"code": v["code"], "selection": {"filter": "item", "values": list(v["values"])}}
                  for v in meta["variables"]],
        "response": {"format": "json-stat2"},
    }


def _resolve(item: dict, var: dict | None) -> list[str] | None:
    """Explicit value codes of one query item, or ``None`` if they cannot be known in advance."""
    sel = item["selection"]
    kind, values = str(sel["filter"]), [str(v) for v in sel["values"]]
    if kind == "item":
        return values
    if var is None:
        return None
    all_values = [str(v) for v in var["values"]]
    if kind == "all":
        return [v for v in all_values if any(fnmatch.fnmatchcase(v, pat) for pat in values)]
    if kind == "top" and values and values[0].isdigit():
        return all_values[-int(values[0]):] if var.get("time") else all_values[: int(values[0])]
    return None  # agg:..., vs:...: server-side groupings


def count_values(meta: dict, query: dict) -> int:
    """Number of values a query returns (variables left out count once if eliminable)."""
    by_code = {v["code"]: v for v in meta["variables"]}
    selected = {item["code"]: item for item in query["query"]}
    total = 1
    for code, var in by_code.items():
        if code in selected:
            resolved = _resolve(selected[code], var)
            total *= len(resolved) if resolved is not None else len(selected[code]["selection"]["values"])
        elif not var.get("elimination", False):
            total *= len(var["values"])
    return total


def chunk_query(meta: dict, query: dict, max_values: int = MAX_VALUES) -> list[dict]:
    """Split ``query`` into queries of at most ``max_values`` values each.

    Variables are made explicit (``item`` filter) and split, largest first, until every part
    fits; the union of the parts is exactly the original selection.
    """
    if max_values < 1:
        raise InputError(f"max_values must be positive, got {max_values}")
    total = count_values(meta, query)
    if total <= max_values:
        return [query]
    by_code = {v["code"]: v for v in meta["variables"]}
    items = []
    for item in query["query"]:
        resolved = _resolve(item, by_code.get(item["code"]))
        items.append((item, resolved))
    for code, var in by_code.items():  # non-eliminable variables left out: all values
        if code not in {i["code"] for i, _ in items} and not var.get("elimination", False):
            items.append(({"code": code, "selection": {"filter": "item", "values": []}}, [str(v) for v in var["values"]]))
    splittable = sorted((i for i, (_, r) in enumerate(items) if r is not None and len(r) > 1),
                        key=lambda i: -len(items[i][1]))
    sizes = [len(r) if r is not None else len(it["selection"]["values"]) for it, r in items]
    chunk_sizes = list(sizes)
    for i in splittable:
        product = math.prod(chunk_sizes)
        if product <= max_values:
            break
        rest = product // chunk_sizes[i]
        chunk_sizes[i] = max(1, max_values // rest)
    if math.prod(chunk_sizes) > max_values:
        raise InputError(
            f"the query selects {total} values and cannot be split below the limit of {max_values} "
            "(aggregation or value-set filters cannot be split); narrow the query"
        )
    pieces_per_item = []
    for (item, resolved), size in zip(items, chunk_sizes):
        if resolved is None or size >= len(resolved):
            pieces_per_item.append([item if resolved is None else
                                    {"code": item["code"], "selection": {"filter": "item", "values": resolved}}])
        else:
            pieces_per_item.append([
                {"code": item["code"], "selection": {"filter": "item", "values": resolved[k:k + size]}}
                for k in range(0, len(resolved), size)
            ])
    return [{"query": list(combo), "response": {"format": "json-stat2"}}
            for combo in itertools.product(*pieces_per_item)]


# -- json-stat2 -----------------------------------------------------------------------------
def parse_json_stat2(doc: Any, *, labels: bool = False) -> pd.DataFrame:
    """A json-stat2 dataset as a long frame, one row per cell.

    Columns: one per dimension (value codes, in ``id`` order), then ``<dim>_label`` (category
    texts), ``value`` (float, NaN for missing/confidential cells) and ``status`` if present.
    With ``labels=True`` the frame has pxwebpy's record layout instead: columns are the
    dimension labels holding category labels, plus ``value``.
    """
    def bad(detail: str) -> FetchError:
        return FetchError(f"malformed json-stat2 response: {detail}")

    if not isinstance(doc, dict) or doc.get("class") != "dataset":
        raise bad("expected an object with class 'dataset'")
    ids, sizes, dims = doc.get("id"), doc.get("size"), doc.get("dimension")
    if not isinstance(ids, list) or not isinstance(sizes, list) or len(ids) != len(sizes) or not isinstance(dims, dict):
        raise bad("'id', 'size' and 'dimension' are missing or inconsistent")
    n = math.prod(sizes) if sizes else 0
    raw = doc.get("value")
    if isinstance(raw, dict):  # sparse form {"flat index": value}
        values = [None] * n
        for k, v in raw.items():
            values[int(k)] = v
    elif isinstance(raw, list):
        values = raw
    else:
        raise bad("'value' is missing")
    if len(values) != n:
        raise bad(f"{len(values)} values for a cube of size {'x'.join(map(str, sizes))} = {n} (truncated?)")
    codes_per_dim, labels_per_dim = [], []
    for dim, size in zip(ids, sizes):
        cat = (dims.get(dim) or {}).get("category") or {}
        index = cat.get("index")
        if isinstance(index, list):
            order = [str(c) for c in index]
        elif isinstance(index, dict):
            order = [str(c) for c, _ in sorted(index.items(), key=lambda kv: kv[1])]
        elif size == 1 and isinstance(cat.get("label"), dict) and len(cat["label"]) == 1:
            order = [str(next(iter(cat["label"])))]
        else:
            raise bad(f"dimension {dim!r} has no category index")
        if len(order) != size:
            raise bad(f"dimension {dim!r} has {len(order)} categories but size {size}")
        codes_per_dim.append(order)
        lab = cat.get("label") or {}
        labels_per_dim.append([str(lab.get(c, c)) for c in order])
    grid = list(itertools.product(*[range(s) for s in sizes]))  # last dimension fastest
    numeric = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").astype("float64")
    if labels:
        out = {}
        for d, dim in enumerate(ids):
            name = str((dims.get(dim) or {}).get("label", dim))
            out[name] = [labels_per_dim[d][g[d]] for g in grid]
        frame = pd.DataFrame(out)
        frame["value"] = numeric.to_numpy()
        return frame
    frame = pd.DataFrame({dim: [codes_per_dim[d][g[d]] for g in grid] for d, dim in enumerate(ids)})
    for d, dim in enumerate(ids):
        frame[f"{dim}_label"] = [labels_per_dim[d][g[d]] for g in grid]
    frame["value"] = numeric.to_numpy()
    status = doc.get("status")
    if status:
        if isinstance(status, dict):
            frame["status"] = [status.get(str(i)) for i in range(n)]
        elif isinstance(status, list):
            frame["status"] = status if len(status) == n else [status[0]] * n
        elif isinstance(status, str):
            frame["status"] = status
    return frame


class PxWebClient:
    """Client for one PxWeb v1 API root (database level), e.g. ``.../api/v1/fi``."""

    def __init__(self, http: HttpClient | None = None, *, url: str | None = None,
                 max_values: int = MAX_VALUES, **http_options: Any) -> None:
        self.http = http or HttpClient(base_url(url), **http_options)
        self.max_values = max_values

    def table_metadata(self, table: str) -> dict:
        path = table_path(table)
        return validate_metadata(self.http.get_json(path), self.http.url(path))

    def server_limits(self) -> dict:
        """``GET <api root>?config``: ``maxValues``, ``maxCalls``, ``timeWindow`` (live limits)."""
        return self.http.get_json("", params={"config": ""})

    def query(self, table: str, query: dict | None = None, *, meta: dict | None = None,
              progress: bool = False) -> pd.DataFrame:
        """Run ``query`` (default: the whole table) in chunks; one long frame (see :func:`parse_json_stat2`)."""
        from tqdm import tqdm

        path = table_path(table)
        meta = meta if meta is not None else self.table_metadata(table)
        query = load_query(query) if query is not None else full_query(meta)
        known = {v["code"] for v in meta["variables"]}
        unknown = [i["code"] for i in query["query"] if i["code"] not in known]
        if unknown:
            from ..errors import choices_message

            raise InputError(choices_message(f"variable of table {path}", unknown[0], known))
        parts = chunk_query(meta, query, self.max_values)
        frames = []
        for part in tqdm(parts, desc=f"PxWeb {path.rsplit('/', 1)[-1]}", unit="request",
                         disable=not progress or len(parts) < 2):
            frames.append(parse_json_stat2(self.http.post_json(path, part)))
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        dims = [c for c in frame.columns if c not in ("value", "status") and not c.endswith("_label")]
        if frame.duplicated(dims).any():
            raise FetchError(f"PxWeb chunks of {path} overlap: duplicate cells after merging")
        return frame
