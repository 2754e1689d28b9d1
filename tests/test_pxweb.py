"""Statistics Finland PxWeb v1 client: json-stat2 parsing, chunking, local-server runs."""
from __future__ import annotations

import copy
import itertools
import json
import math

import pytest
from http_server import API, PX_TABLE, Fault, RecordedApiServer, px_metadata

from analysis.errors import InputError
from analysis.live.http import FetchError
from analysis.live.pxweb import (PxWebClient, chunk_query, count_values, full_query, load_query,
                                 parse_json_stat2, table_path)

PX = API / "pxweb"
CUBE = json.loads((PX / "statfin_vaerak_pxt_11rc_sv_response.json-stat2.json").read_text(encoding="utf-8"))
RECORDS = json.loads((PX / "statfin_vaerak_pxt_11rc_sv_result_records.json").read_text(encoding="utf-8"))
REQUEST = json.loads((PX / "statfin_vaerak_pxt_11rc_sv_request.json").read_text(encoding="utf-8"))
SAVED = json.loads((PX / "statfin_eot_pxt_132a_saved_query.json").read_text(encoding="utf-8"))


def test_json_stat2_matches_the_recorded_flattened_records():
    """pxwebpy's expected records for the recorded StatFin 11rc response, cell by cell."""
    frame = parse_json_stat2(CUBE, labels=True)
    assert frame.to_dict("records") == RECORDS
    assert len(frame) == 90 == math.prod(CUBE["size"])


def test_json_stat2_codes_layout_and_last_dimension_fastest():
    frame = parse_json_stat2(CUBE)
    assert list(frame.columns[:4]) == ["Vuosi", "Sukupuoli", "Ikä", "Tiedot"]
    assert frame.iloc[0][["Vuosi", "Sukupuoli", "Ikä", "value"]].tolist() == ["2020", "SSS", "20-24", 308410.0]
    assert frame.iloc[1]["Ikä"] == "25-29" and frame.iloc[10]["Sukupuoli"] == "1"
    assert frame.iloc[89][["Vuosi", "Sukupuoli", "Ikä", "value"]].tolist() == ["2022", "2", "65-69", 181956.0]
    assert frame["Sukupuoli_label"].iloc[0] == "Totalt"


def test_json_stat2_missing_cells_sparse_values_and_status():
    doc = {"class": "dataset", "id": ["a", "b"], "size": [2, 2],
           "dimension": {"a": {"label": "A", "category": {"index": ["x", "y"]}},
                         "b": {"label": "B", "category": {"index": {"p": 0, "q": 1}, "label": {"p": "P", "q": "Q"}}}},
           "value": {"0": 1.5, "3": 4}, "status": {"1": ".."}}
    frame = parse_json_stat2(doc)
    assert frame["value"].tolist()[0] == 1.5 and frame["value"].isna().tolist() == [False, True, True, False]
    assert frame["status"].isna().tolist() == [True, False, True, True] and frame["status"][1] == ".."
    assert frame["b_label"].tolist() == ["P", "Q", "P", "Q"]


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(value=d["value"][:-3]), r"87 values for a cube of size 3x3x10x1 = 90"),
    (lambda d: d.update(size=[3, 3, 10]), "inconsistent"),
    (lambda d: d.update({"class": "collection"}), "class 'dataset'"),
    (lambda d: d["dimension"]["Ikä"]["category"].pop("index"), "no category index"),
    (lambda d: d.pop("value"), "'value' is missing"),
])
def test_malformed_json_stat2_is_a_clear_error(mutate, message):
    doc = copy.deepcopy(CUBE)
    mutate(doc)
    with pytest.raises(FetchError, match=message):
        parse_json_stat2(doc)


def test_load_query_accepts_plain_saved_and_request_forms():
    assert load_query(REQUEST)["query"] == REQUEST["body"]["query"]
    saved = load_query(SAVED)
    assert [q["code"] for q in saved["query"]] == ["Kotitalouden elinvaihe", "Vuosi", "Tiedot"]
    plain = load_query({"query": REQUEST["body"]["query"], "response": {"format": "csv"}})
    assert plain["response"] == {"format": "json-stat2"}
    with pytest.raises(InputError):
        load_query({"query": [{"code": "Vuosi"}]})
    assert table_path("StatFin/vaerak/statfin_vaerak_pxt_11rc") == PX_TABLE


META = px_metadata(CUBE)


def test_count_values_and_chunks_cover_the_query_exactly():
    query = load_query(REQUEST)
    assert count_values(META, query) == 90
    assert chunk_query(META, query, 120_000) == [query]
    for limit in (1, 7, 20, 30, 45, 89):
        parts = chunk_query(META, query, limit)
        assert all(count_values(META, p) <= limit for p in parts)
        cells = []
        for p in parts:
            sel = {q["code"]: q["selection"]["values"] for q in p["query"]}
            cells += list(itertools.product(*[sel[c] for c in ("Vuosi", "Sukupuoli", "Ikä")]))
        assert sorted(cells) == sorted(itertools.product(*[q["selection"]["values"] for q in query["query"]]))
        assert len(cells) == len(set(cells))


def test_120000_value_limit_on_a_statfin_sized_query():
    meta = {"variables": [
        {"code": "Alue", "values": [f"KU{i:03d}" for i in range(320)]},
        {"code": "Vuosi", "values": [str(y) for y in range(1990, 2024)], "time": True},
        {"code": "Ikä", "values": [str(a) for a in range(101)]},
        {"code": "Sukupuoli", "values": ["SSS", "1", "2"], "elimination": True}]}
    query = {"query": [{"code": "Alue", "selection": {"filter": "all", "values": ["*"]}},
                       {"code": "Vuosi", "selection": {"filter": "top", "values": ["18"]}},
                       {"code": "Ikä", "selection": {"filter": "item", "values": [str(a) for a in range(101)]}}],
             "response": {"format": "json-stat2"}}
    assert count_values(meta, query) == 320 * 18 * 101  # Sukupuoli eliminated
    parts = chunk_query(meta, query)
    assert all(count_values(meta, p) <= 120_000 for p in parts)
    assert sum(count_values(meta, p) for p in parts) == 320 * 18 * 101
    years = {v for p in parts for q in p["query"] if q["code"] == "Vuosi" for v in q["selection"]["values"]}
    assert years == {str(y) for y in range(2006, 2024)}  # top 18 time values


@pytest.fixture
def server():
    with RecordedApiServer(max_values=25) as s:
        yield s


def make_client(server, **kw):
    options = dict(backoff_base=0.001, rate_limit=None, seed=0, timeout=5.0, max_values=25)
    options.update(kw)
    return PxWebClient(url=server.pxweb_url, **options)


def _sorted(frame):
    return frame.sort_values(["Vuosi", "Sukupuoli", "Ikä"]).reset_index(drop=True)


def test_chunked_query_over_http_equals_the_recorded_response(server):
    client = make_client(server)
    frame = client.query(PX_TABLE, REQUEST)
    posts = [r for r in server.requests if r.method == "POST"]
    assert len(posts) > 1 and all(math.prod(len(q["selection"]["values"]) for q in p.body["query"]) <= 25 for p in posts)
    assert all(p.body["response"] == {"format": "json-stat2"} for p in posts)
    assert _sorted(frame).equals(_sorted(parse_json_stat2(CUBE)))


def test_whole_table_default_query_and_faults(server):
    server.inject(".px", Fault.http_status(500), Fault.retry_after(0), Fault.slow(0.6), Fault.cut_connection())
    frame = make_client(server, timeout=0.3).query(PX_TABLE)
    assert len(frame) == 90 and frame["value"].sum() == sum(CUBE["value"])


def test_server_value_limit_is_a_clear_error_without_retry(server):
    client = make_client(server, max_values=120_000)  # client thinks the limit is higher
    with pytest.raises(FetchError, match=r"HTTP 403.*not retried.*Too many values"):
        client.query(PX_TABLE, REQUEST)


def test_unknown_variable_and_table_are_clear_errors(server):
    client = make_client(server)
    bad = {"query": [{"code": "Alue", "selection": {"filter": "item", "values": ["KU091"]}}]}
    with pytest.raises(InputError, match="unknown variable of table .* 'Alue'"):
        client.query(PX_TABLE, bad)
    with pytest.raises(FetchError, match="HTTP 404"):
        client.table_metadata("StatFin/xyz/statfin_xyz_pxt_000.px")


def test_metadata_and_full_query():
    q = full_query(META)
    assert [v["code"] for v in q["query"]] == ["Vuosi", "Sukupuoli", "Ikä", "Tiedot"]
    assert count_values(META, q) == 90


def test_server_limits(server):
    limits = make_client(server).server_limits()
    assert limits["maxValues"] == 25 and limits["maxCalls"] == 30 and limits["timeWindow"] == 10
    assert server.requests[-1].query == {"config": [""]}
