"""The shared HTTP client against a real local server that injects faults.

Every test runs the client against ``tests/http_server.py`` on 127.0.0.1 (no internet) with a
recording ``sleep`` so that backoff and Retry-After waits are checked without waiting.
"""
from __future__ import annotations

import json

import pytest
from http_server import API, Fault, RecordedApiServer

from analysis.live.http import FetchError, HttpClient, RateLimiter, parse_retry_after

RECORDED_127 = json.loads((API / "sotkanet" / "sotkanet_127_g2_fixture.json").read_text(encoding="utf-8"))


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def server():
    with RecordedApiServer() as s:
        yield s


def client(server, **kw) -> tuple[HttpClient, Sleeps]:
    sleeps = Sleeps()
    options = dict(timeout=2.0, max_retries=3, backoff_base=0.5, sleep=sleeps, seed=1, rate_limit=None)
    options.update(kw)
    return HttpClient(server.sotkanet_url, **options), sleeps


PARAMS = [("indicator", 127), ("years", 2019), ("years", 2023), ("genders", "total")]


def test_data_arrive_intact_with_user_agent(server):
    http, sleeps = client(server)
    got = http.get_json("json", params=PARAMS)
    key = lambda r: (r["region"], r["year"])  # noqa: E731
    assert sorted(got, key=key) == sorted(RECORDED_127, key=key)
    seen = server.requests_to("/json")[0]
    assert seen.headers["user-agent"].startswith("kuntakokeilu-analysis/")
    assert seen.query == {"indicator": ["127"], "years": ["2019", "2023"], "genders": ["total"]}
    assert sleeps == [] and http.calls == 1


def test_missing_user_agent_is_a_clear_403_without_retry(server):
    http, sleeps = client(server, user_agent="")
    with pytest.raises(FetchError, match=r"HTTP 403.*not retried.*User-Agent"):
        http.get_json("regions")
    assert http.calls == 1 and sleeps == []


def test_500_then_success_is_retried_with_exponential_backoff(server):
    server.inject("/json", Fault.http_status(500), Fault.http_status(503))
    http, sleeps = client(server)
    got = http.get_json("json", params=PARAMS)
    assert len(got) == len(RECORDED_127)
    assert http.calls == 3 and http.retries == 2
    # equal jitter: n-th wait in [base*2**n / 2, base*2**n]
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


def test_backoff_is_capped_and_jittered():
    http = HttpClient("http://127.0.0.1:9", backoff_base=1.0, backoff_max=8.0, seed=3, rate_limit=None)
    waits = [http._backoff(n) for n in range(8)]
    for n, w in enumerate(waits):
        ceiling = min(8.0, 2.0 ** n)
        assert ceiling / 2 <= w <= ceiling
    assert len(set(waits)) == len(waits)  # jitter: not a fixed schedule


def test_429_retry_after_is_honoured(server):
    server.inject("/regions", Fault.retry_after(7))
    http, sleeps = client(server)
    regions = http.get_json("regions")
    assert [r["code"] for r in regions][:2] == ["049", "091"]
    assert sleeps == [7.0]  # Retry-After (7 s) exceeds the first backoff (<= 0.5 s)


def test_429_retry_after_longer_than_the_limit_is_reported(server):
    server.inject("/regions", Fault.retry_after(3600))
    http, sleeps = client(server, max_retry_after=60)
    with pytest.raises(FetchError, match=r"HTTP 429.*retry after 3600 s"):
        http.get_json("regions")
    assert sleeps == []


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 30) == pytest.approx(30)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_timeout_then_success(server):
    server.inject("/regions", Fault.slow(1.5))
    http, sleeps = client(server, timeout=0.3)
    regions = http.get_json("regions")
    assert len(regions) == 7
    assert http.calls == 2 and len(sleeps) == 1


def test_persistent_failure_gives_a_clear_error(server):
    server.inject("/json", *[Fault.http_status(502)] * 10)
    http, sleeps = client(server, max_retries=2)
    with pytest.raises(FetchError, match=r"failed after 3 attempt\(s\): HTTP 502.*nothing was written"):
        http.get_json("json", params=PARAMS)
    assert http.calls == 3 and len(sleeps) == 2


def test_persistent_timeout_gives_a_clear_error(server):
    server.inject("/regions", Fault.slow(1.0), Fault.slow(1.0))
    http, _ = client(server, timeout=0.2, max_retries=1)
    with pytest.raises(FetchError, match=r"failed after 2 attempt\(s\): timed out after 0.2 s"):
        http.get_json("regions")


def test_truncated_json_is_a_clear_error_without_retry(server):
    server.inject("/json", Fault.truncated_json())
    http, sleeps = client(server)
    with pytest.raises(FetchError, match=r"malformed or truncated JSON"):
        http.get_json("json", params=PARAMS)
    assert http.calls == 1 and sleeps == []


def test_connection_cut_midway_is_retried(server):
    server.inject("/json", Fault.cut_connection())
    http, sleeps = client(server)
    got = http.get_json("json", params=PARAMS)
    assert len(got) == len(RECORDED_127) and http.calls == 2


def test_connection_cut_every_time_is_a_clear_error(server):
    server.inject("/json", *[Fault.cut_connection()] * 5)
    http, _ = client(server, max_retries=1)
    with pytest.raises(FetchError, match=r"failed after 2 attempt\(s\): connection failed or the transfer was cut short"):
        http.get_json("json", params=PARAMS)


def test_wrong_content_type_is_a_clear_error(server):
    server.inject("/regions", Fault.wrong_content_type())
    http, sleeps = client(server)
    with pytest.raises(FetchError, match=r"expected a JSON response but got content type 'text/html"):
        http.get_json("regions")
    assert http.calls == 1


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_4xx_is_a_clear_error_without_retry(server, status):
    server.inject("/json", Fault.http_status(status))
    http, sleeps = client(server)
    with pytest.raises(FetchError, match=rf"HTTP {status}.*not retried"):
        http.get_json("json", params=PARAMS)
    assert http.calls == 1 and sleeps == []


def test_base_url_must_be_http():
    from analysis.errors import InputError

    with pytest.raises(InputError, match="http:// or https://"):
        HttpClient("ftp://example.org")


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.now += s


def test_rate_limiter_allows_30_calls_per_10_seconds():
    clock = FakeClock()
    limiter = RateLimiter(30, 10.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(95):
        limiter.wait()
        stamps.append(clock.now)
    # no window of 10 s ever holds more than 30 calls, and the limiter does not wait needlessly
    for i in range(len(stamps) - 30):
        assert stamps[i + 30] - stamps[i] >= 10.0 - 1e-9
    assert stamps[29] == 0.0 and stamps[30] == pytest.approx(10.0)
    assert stamps[-1] == pytest.approx(30.0)


def test_client_applies_the_rate_limit_to_every_attempt(server):
    clock = FakeClock()
    http = HttpClient(server.sotkanet_url, rate_limit=(2, 10.0), sleep=clock.sleep, clock=clock,
                      backoff_base=0.0, seed=0)
    server.inject("/regions", Fault.http_status(500))
    http.get_json("regions")  # two attempts: 500 then 200
    http.get_json("regions")  # third call must wait for the window
    assert http.calls == 3 and clock.now == pytest.approx(10.0)
