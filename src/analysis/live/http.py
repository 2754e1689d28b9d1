"""A small, careful JSON-over-HTTP client shared by the Sotkanet and PxWeb loaders.

* a ``requests`` session with an identifying ``User-Agent`` (Sotkanet answers 403 without one);
* retries with exponential backoff and jitter on timeouts, dropped or truncated transfers,
  HTTP 408, 429 (honouring ``Retry-After``) and 5xx;
* a clear :class:`FetchError` (no retry) for other 4xx answers, a wrong content type and
  malformed or truncated JSON;
* a sliding-window rate limit (Statistics Finland: at most 30 calls per 10 s).

Sleeping, the clock and the random jitter are injectable so that tests stay fast and
deterministic.
"""
from __future__ import annotations

import collections
import email.utils
import json
import random as _random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import requests

from .. import __version__
from ..errors import InputError

USER_AGENT = f"kuntakokeilu-analysis/{__version__} (+https://github.com/; municipal pilot evaluation)"
JSON_CONTENT_TYPES = ("application/json", "text/json")
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class FetchError(InputError):
    """A remote request failed for good (after retries) or returned unusable data.

    A subclass of :class:`~analysis.errors.InputError`, so the command line prints the message
    and exits with code 2 instead of a traceback.
    """


@dataclass
class RateLimiter:
    """At most ``max_calls`` calls in any ``period`` seconds (sliding window)."""

    max_calls: int = 30
    period: float = 10.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _calls: collections.deque = field(default_factory=collections.deque, repr=False)

    def wait(self) -> float:
        """Block until a call is allowed, record it, and return the seconds waited."""
        waited = 0.0
        while True:
            now = self.clock()
            while self._calls and now - self._calls[0] >= self.period:
                self._calls.popleft()
            if len(self._calls) < self.max_calls:
                self._calls.append(now)
                return waited
            pause = self.period - (now - self._calls[0])
            pause = max(pause, 1e-3)
            self.sleep(pause)
            waited += pause


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def _snippet(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text[:n] + ("..." if len(text) > n else "")


class HttpClient:
    """JSON client for one API root.

    Parameters
    ----------
    base_url : API root, e.g. ``https://sotkanet.fi/rest/1.1``; request paths are appended.
    timeout : seconds for connecting and for each read.
    max_retries : retries after the first attempt for transient failures.
    backoff_base, backoff_max : the n-th retry waits ``min(backoff_max, backoff_base * 2**n)``
        scaled by a jitter factor drawn uniformly from [0.5, 1] ("equal jitter").
    max_retry_after : a ``Retry-After`` longer than this is not waited out but reported.
    rate_limit : ``(max_calls, period_seconds)``; ``None`` disables it.
    sleep, clock, seed : injectable for tests.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_retry_after: float = 300.0,
        rate_limit: tuple[int, float] | None = (30, 10.0),
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise InputError(f"base URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self._rng = _random.Random(seed)
        self.rate_limiter = (
            RateLimiter(rate_limit[0], rate_limit[1], clock=clock, sleep=sleep) if rate_limit else None
        )
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        self.calls = 0  # HTTP attempts made, including retries
        self.retries = 0

    # -- public -----------------------------------------------------------------------------
    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    def get_json(self, path: str, params: Sequence[tuple[str, Any]] | Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return the decoded JSON body."""
        return self.request_json("GET", path, params=params)

    def post_json(self, path: str, body: Any) -> Any:
        """POST ``body`` as JSON to ``path`` and return the decoded JSON body."""
        return self.request_json("POST", path, json_body=body)

    def prepared_url(self, path: str, params=None) -> str:
        """The full URL (with the query string) a GET would use; for provenance records."""
        return requests.Request("GET", self.url(path), params=params).prepare().url

    def request_json(self, method: str, path: str, *, params=None, json_body=None) -> Any:
        url = self.url(path)
        attempt = 0
        while True:
            if self.rate_limiter is not None:
                self.rate_limiter.wait()
            self.calls += 1
            problem, wait_hint = None, None
            try:
                response = self.session.request(
                    method, url, params=params, json=json_body, timeout=(self.timeout, self.timeout)
                )
                content = response.content  # reads the whole body; a short read raises here
            except requests.Timeout as exc:
                problem = f"timed out after {self.timeout:g} s ({type(exc).__name__})"
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"connection failed or the transfer was cut short ({_snippet(str(exc), 160)})"
            except requests.RequestException as exc:  # invalid URL and the like: not transient
                raise FetchError(f"{method} {url} failed: {exc}") from exc
            else:
                status = response.status_code
                if status in RETRY_STATUSES:
                    problem = f"HTTP {status} {response.reason or ''}".strip()
                    if status == 429 or status == 503:
                        wait_hint = parse_retry_after(response.headers.get("Retry-After"))
                        if wait_hint is not None and wait_hint > self.max_retry_after:
                            raise FetchError(
                                f"{method} {url}: HTTP {status}, the server asks to retry after "
                                f"{wait_hint:g} s (more than the {self.max_retry_after:g} s this client "
                                "waits); try again later"
                            )
                elif status >= 400:
                    raise FetchError(
                        f"{method} {url}: HTTP {status} {response.reason or ''}; the request was "
                        f"refused (not retried). Server said: {_snippet(response.text) or '(empty body)'}"
                    )
                else:
                    return self._decode(method, url, response, content)
            if attempt >= self.max_retries:
                raise FetchError(
                    f"{method} {url} failed after {attempt + 1} attempt(s): {problem}. "
                    "Check the network or the --base-url, or try again later; nothing was written."
                )
            delay = self._backoff(attempt)
            if wait_hint is not None:
                delay = max(delay, wait_hint)
            attempt += 1
            self.retries += 1
            self.sleep(delay)

    # -- internals --------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: uniform in [d/2, d], d = base * 2**attempt."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** attempt))
        return ceiling * (0.5 + 0.5 * self._rng.random())

    @staticmethod
    def _decode(method: str, url: str, response: requests.Response, content: bytes) -> Any:
        ctype = response.headers.get("Content-Type", "")
        media = ctype.split(";")[0].strip().lower()
        if not (media in JSON_CONTENT_TYPES or media.endswith("+json")):
            raise FetchError(
                f"{method} {url}: expected a JSON response but got content type {ctype or '(none)'!r} "
                f"(is --base-url pointing at the API root?). Body starts: {_snippet(response.text, 120)!r}"
            )
        expected = response.headers.get("Content-Length")
        if expected is not None and expected.isdigit() and int(expected) != len(content) \
                and not response.headers.get("Content-Encoding"):
            raise FetchError(
                f"{method} {url}: truncated response ({len(content)} of {expected} bytes received)"
            )
        try:
            text = content.decode(response.encoding or "utf-8-sig")
            if text.startswith("\ufeff"):
                text = text[1:]
            return json.loads(text)
        except (UnicodeDecodeError, LookupError, json.JSONDecodeError) as exc:
            raise FetchError(
                f"{method} {url}: malformed or truncated JSON ({exc}; {len(content)} bytes received). "
                "Nothing was written; try again, and report the problem if it persists."
            ) from exc
