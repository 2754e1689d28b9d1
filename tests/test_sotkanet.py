"""Sotkanet REST 1.1 client against the local server replaying recorded responses."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from http_server import API, Fault, RecordedApiServer

from analysis.errors import InputError
from analysis.live.http import FetchError
from analysis.live.sotkanet import SotkanetClient, parse_years, records_to_frame, validate_records


def _load(name):
    return json.loads((API / "sotkanet" / name).read_text(encoding="utf-8"))


@pytest.fixture
def server():
    with RecordedApiServer() as s:
        yield s


def make_client(server, **kw):
    options = dict(backoff_base=0.001, rate_limit=None, seed=0, timeout=5.0)
    options.update(kw)
    return SotkanetClient(url=server.sotkanet_url, **options)


def test_regions_map_internal_ids_to_municipality_codes(server):
    regions = make_client(server).regions()
    kunta = regions[regions["category"] == "KUNTA"].set_index("id")["code"].to_dict()
    assert kunta == {20: "049", 46: "091", 261: "564", 378: "837", 389: "853"}  # Espoo, Helsinki, Oulu, Tampere, Turku
    assert set(regions["category"]) == {"KUNTA", "MAAKUNTA"}


def test_fetch_indicator_127_values_arrive_intact(server):
    frame = make_client(server).fetch_indicator(127, [2019, 2023])
    got = frame.set_index(["kunta", "year"])["value"].to_dict()
    # recorded values (the 2019 ones equal geofi's sotkadata_population, API_FORMATS.md)
    assert got[("091", 2019)] == 653835 and got[("091", 2023)] == 674500
    assert got[("049", 2019)] == 289731 and got[("853", 2023)] == 201863
    assert len(frame) == 10 and frame["abs_value"].isna().all()
    expected = {(r["region"], r["year"]): r["value"] for r in _load("sotkanet_127_g2_fixture.json")}
    assert {(int(i), y): v for i, y, v in frame[["region_id", "year", "value"]].itertuples(index=False)} == expected


def test_abs_value_is_kept_when_present(server):
    frame = make_client(server).fetch_indicator(171, [2019, 2023])
    row = frame[(frame["kunta"] == "091") & (frame["year"] == 2019)].iloc[0]
    assert row["value"] == 7.4 and row["abs_value"] == 48189
    assert frame["value"].dtype == "float64"


def test_years_and_genders_are_repeated_parameters_in_blocks(server):
    client = make_client(server)
    client.data_records(127, list(range(2006, 2024)), years_per_request=5)
    seen = server.requests_to("/json")
    assert len(seen) == 4  # 18 years in blocks of 5
    assert seen[0].query["years"] == ["2006", "2007", "2008", "2009", "2010"]
    assert seen[-1].query["years"] == ["2021", "2022", "2023"]
    assert all(s.query["genders"] == ["total"] and s.query["indicator"] == ["127"] for s in seen)


def test_fetch_survives_faults_on_every_endpoint(server):
    server.inject("/regions", Fault.http_status(500), Fault.slow(0.6))
    server.inject("/json", Fault.retry_after(0), Fault.cut_connection())
    frame = make_client(server, timeout=0.3).fetch_indicator(5513, [2023])
    assert frame.set_index("kunta")["value"].to_dict() == {"049": 11.6, "091": 12.9, "564": 13.5, "837": 12.7, "853": 13.0}


def test_unknown_region_id_is_an_error():
    regions = pd.DataFrame({"id": [46], "code": ["091"], "category": ["KUNTA"], "name_fi": ["Helsinki"],
                            "name_sv": [None], "name_en": [None]})
    recs = [{"indicator": 127, "region": 999, "year": 2019, "gender": "total", "value": 1}]
    with pytest.raises(FetchError, match=r"region id\(s\) \[999\]"):
        records_to_frame(recs, regions)


def test_other_region_categories_are_dropped():
    regions = pd.DataFrame({"id": [46, 488], "code": ["091", "01"], "category": ["KUNTA", "MAAKUNTA"],
                            "name_fi": ["Helsinki", "Uusimaa"], "name_sv": [None] * 2, "name_en": [None] * 2})
    recs = [{"indicator": 127, "region": 46, "year": 2019, "gender": "total", "value": 1},
            {"indicator": 127, "region": 488, "year": 2019, "gender": "total", "value": 2}]
    assert records_to_frame(recs, regions)["kunta"].tolist() == ["091"]


@pytest.mark.parametrize("payload, message", [
    ({"error": "x"}, "expected a JSON array"),
    ([{"indicator": 127, "region": 46, "year": 2019}], "lacks indicator/region/year/value"),
    ([{"indicator": 128, "region": 46, "year": 2019, "value": 1}], "for indicator 128, not 127"),
    ([{"indicator": 127, "region": 46, "year": 1999, "value": 1}], "year 1999, which was not requested"),
    ([{"indicator": 127, "region": 46, "year": 2019, "value": "n/a"}], "non-numeric value"),
])
def test_malformed_data_responses_are_clear_errors(payload, message):
    with pytest.raises(FetchError, match=message):
        validate_records(payload, 127, [2019])


def test_indicator_search(server):
    client = make_client(server)
    assert client.search_indicators("17 - 24")["id"].tolist() == [3219]
    assert client.search_indicators("TYÖTTÖMÄT")["id"].tolist() == [181]
    assert client.search_indicators("75")["id"].tolist() == [703]
    assert client.search_indicators("no such indicator").empty
    assert client.indicator_metadata(3219)["title"]["fi"].startswith("Koulutuksen ulkopuolelle")


def test_parse_years():
    assert parse_years("2006-2009") == [2006, 2007, 2008, 2009]
    assert parse_years("2016,2015,2015") == [2015, 2016]
    for bad in ("2009-2006", "abc", "", "1200"):
        with pytest.raises(InputError):
            parse_years(bad)


def test_base_url_from_environment(monkeypatch, server):
    monkeypatch.setenv("KUNTAKOKEILU_SOTKANET_URL", server.sotkanet_url)
    client = SotkanetClient(backoff_base=0.001)
    assert client.http.base_url == server.sotkanet_url
    assert len(client.regions()) == 7
