"""``kuntakokeilu fetch`` / ``indicators`` end to end against the local server, writing into a
temporary copy of ``data/raw`` (never the real one)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from http_server import API, PX_TABLE, Fault, RecordedApiServer

from analysis import paths
from analysis.cli import main
from analysis.errors import InputError
from analysis.live import fetchers, snapshots
from analysis.live.config import read_config
from analysis.live.sotkanet import SotkanetClient
from analysis.raw import raw_path, read_manifest

REAL_RAW = paths.project_root() / "data" / "raw"


@pytest.fixture
def root(tmp_path):
    """A project root with a copy of the shipped manifest and two raw files."""
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    for name in ("MANIFEST.csv", "sotkanet_regions_kunta_2013.csv", "abolished_municipalities_1922_2022.csv"):
        shutil.copy2(REAL_RAW / name, raw / name)
    return tmp_path


@pytest.fixture
def server():
    with RecordedApiServer(max_values=25) as s:
        yield s


def state(folder: Path) -> dict[str, str]:
    """Every file in the folder (hidden ones too) with its sha256."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def fetch(root, server, *extra, service="sotkanet"):
    url = server.sotkanet_url if service == "sotkanet" else server.pxweb_url
    return main(["fetch", service, *extra, "--base-url", url, "--root", str(root), "--quiet"])


def test_fetch_sotkanet_writes_a_checked_snapshot_and_manifest_row(root, server, capsys):
    raw = root / "data" / "raw"
    before = (raw / "MANIFEST.csv").read_bytes()
    assert fetch(root, server, "--indicator", "171", "--years", "2019,2023") == 0
    out = capsys.readouterr().out
    new = [n for n in read_manifest(raw) if n.startswith("sotkanet_171_")]
    assert len(new) == 1 and new[0] in out
    name = new[0]
    entry = read_manifest(raw)[name]
    path = raw_path(name, raw)  # sha256 verified against the manifest
    assert entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and entry.bytes == path.stat().st_size
    assert entry.licence == "CC BY 4.0" and "Sotkanet, THL" in entry.attribution
    assert server.sotkanet_url + "/json?indicator=171&years=2019&years=2023&genders=total" in entry.source
    assert "retrieved 20" in entry.source and entry.source.rstrip().endswith("kuntakokeilu fetch")
    assert entry.original_id.startswith("Sotkanet indicator 171; query: indicator=171; years=2019,2023")
    frame = pd.read_csv(path, dtype={"kunta": str})
    assert entry.rows == len(frame) == 10
    assert frame.set_index(["kunta", "year"]).loc[("853", 2023), "value"] == 10.5  # Turku, recorded
    assert frame.set_index(["kunta", "year"]).loc[("853", 2023), "abs_value"] == 21174
    # the shipped rows are untouched: the manifest only grew by one line
    after = (raw / "MANIFEST.csv").read_bytes()
    assert after.startswith(before) and after[len(before):].count(b"\n") == 1
    assert not [p for p in raw.iterdir() if p.name.startswith(".")]


def test_fetch_statfin_with_query_file_in_chunks(root, server, tmp_path):
    qfile = tmp_path / "query.json"
    shutil.copy2(API / "pxweb" / "statfin_vaerak_pxt_11rc_sv_request.json", qfile)
    assert fetch(root, server, "--table", PX_TABLE, "--query", str(qfile), "--max-values", "20",
                 service="statfin") == 0
    raw = root / "data" / "raw"
    name = next(n for n in read_manifest(raw) if n.startswith("statfin_vaerak_pxt_11rc_"))
    entry = read_manifest(raw)[name]
    assert entry.attribution == "Source: Statistics Finland" and entry.rows == 90
    assert '"filter":"item"' in entry.original_id and entry.source.count(PX_TABLE) == 1
    frame = pd.read_csv(raw_path(name, raw), dtype=str)
    assert len([r for r in server.requests if r.method == "POST"]) > 1
    cube = json.loads((API / "pxweb" / "statfin_vaerak_pxt_11rc_sv_response.json-stat2.json").read_text(encoding="utf-8"))
    assert sorted(frame["value"].astype(float)) == sorted(map(float, cube["value"]))


@pytest.mark.parametrize("fault, message", [
    (Fault.http_status(500), "HTTP 500"),
    (Fault.truncated_json(), "malformed or truncated JSON"),
    (Fault.wrong_content_type(), "content type 'text/html"),
    (Fault.http_status(404), "HTTP 404"),
])
def test_failed_fetch_writes_nothing(root, server, capsys, fault, message):
    raw = root / "data" / "raw"
    before = state(raw)
    server.inject("/json", fault, fault)
    code = fetch(root, server, "--indicator", "127", "--years", "2019,2023", "--retries", "0")
    assert code == 2
    err = capsys.readouterr().err
    assert "kuntakokeilu fetch: error:" in err and message in err
    assert state(raw) == before


def test_failure_in_a_later_request_leaves_no_partial_snapshot(root, server):
    """Years in blocks: the first block arrives, the second fails for good -> nothing written."""
    raw = root / "data" / "raw"
    before = state(raw)
    server.inject("/json", Fault.slow(0), *[Fault.http_status(503)] * 5)
    client = SotkanetClient(url=server.sotkanet_url, backoff_base=0.001, max_retries=2, rate_limit=None)
    with pytest.raises(InputError, match=r"failed after 3 attempt\(s\): HTTP 503"):
        fetchers.fetch_sotkanet(127, [2019, 2023], client=client, raw_dir=raw, years_per_request=1)
    assert len(server.requests_to("/json")) == 4  # 1 ok + 3 failed attempts
    assert state(raw) == before


def test_retried_fetch_succeeds(root, server):
    server.inject("/json", Fault.http_status(500), Fault.retry_after(0), Fault.cut_connection())
    client = SotkanetClient(url=server.sotkanet_url, backoff_base=0.001, rate_limit=None)
    result = fetchers.fetch_sotkanet(127, [2019, 2023], client=client, raw_dir=root / "data" / "raw")
    assert result.rows == 10 and result.requests == 5  # regions + 4 attempts


def test_never_overwrites_an_existing_snapshot(root, server):
    raw = root / "data" / "raw"
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    client = SotkanetClient(url=server.sotkanet_url, backoff_base=0.001, rate_limit=None)
    first = fetchers.fetch_sotkanet(127, [2019], client=client, raw_dir=raw, retrieved_at=when)
    assert first.name == "sotkanet_127_20260102T030405Z.csv"
    before = state(raw)
    with pytest.raises(InputError, match="exists already.*never overwritten"):
        fetchers.fetch_sotkanet(127, [2019, 2023], client=client, raw_dir=raw, retrieved_at=when)
    assert state(raw) == before
    # a file of that name not (yet) in the manifest is not overwritten either
    (raw / "sotkanet_127_20260102T030406Z.csv").write_text("precious\n")
    with pytest.raises(InputError, match="exists already"):
        fetchers.fetch_sotkanet(127, [2019], client=client, raw_dir=raw, retrieved_at=when + dt.timedelta(seconds=1))
    assert (raw / "sotkanet_127_20260102T030406Z.csv").read_text() == "precious\n"


def test_manifest_failure_removes_the_new_snapshot(root, monkeypatch):
    raw = root / "data" / "raw"
    before = state(raw)

    def boom(row, manifest):
        raise OSError("disk full")

    monkeypatch.setattr(snapshots, "_manifest_text_with", boom)
    prov = snapshots.Provenance("svc", "http://x", "q", "id", "CC BY 4.0", "a",
                                dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    with pytest.raises(OSError, match="disk full"):
        snapshots.write_snapshot(pd.DataFrame({"a": [1]}), "x_20260101T000000Z.csv", prov, raw)
    assert state(raw) == before


def test_panel_variable_option_declares_the_snapshot(root, server):
    assert fetch(root, server, "--indicator", "127", "--years", "2019,2023", "--panel-variable", "population_live",
                 "--aggregation", "sum", "--unit", "persons", "--label", "Population") == 0
    entries = read_config(root / "data" / "fetched_sources.yaml")
    assert len(entries) == 1 and entries[0]["name"] == "population_live" and entries[0]["kind"] == "sotkanet"
    assert entries[0]["snapshot"].startswith("sotkanet_127_") and entries[0]["aggregation"] == "sum"


def test_environment_variable_points_at_the_server(root, server, monkeypatch, capsys):
    monkeypatch.setenv("KUNTAKOKEILU_SOTKANET_URL", server.sotkanet_url)
    assert main(["indicators", "--search", "17 - 24"]) == 0
    out = capsys.readouterr().out
    assert "3219" in out and "Koulutuksen ulkopuolelle" in out
    assert main(["indicators", "--search", "nothing like this"]) == 1


def test_indicators_catalogue_offline(capsys):
    assert main(["indicators", "--model", "housing_services"]) == 0
    out = capsys.readouterr().out
    assert "share_75_plus_living_at_home" in out and "population" in out
    assert main(["indicators", "--model", "nope"]) == 2


@pytest.mark.parametrize("args, message", [
    (["--indicator", "127", "--years", "2023-2019"], "bad years"),
    (["--indicator", "127", "--gender", "other"], "unknown gender"),
])
def test_bad_arguments_are_input_errors(root, server, capsys, args, message):
    assert fetch(root, server, *args) == 2
    assert message in capsys.readouterr().err


def test_bad_query_file(root, server, tmp_path, capsys):
    q = tmp_path / "q.json"
    q.write_text("{not json")
    assert fetch(root, server, "--table", PX_TABLE, "--query", str(q), service="statfin") == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_progress_is_shown_for_multi_request_fetches(root, server, capsys):
    client = SotkanetClient(url=server.sotkanet_url, backoff_base=0.001, rate_limit=None)
    fetchers.fetch_sotkanet(127, [2019, 2023], client=client, raw_dir=root / "data" / "raw", progress=True,
                            years_per_request=1)
    err = capsys.readouterr().err
    assert "Sotkanet 127" in err and "2/2" in err
