"""A real HTTP server on 127.0.0.1 that replays recorded Sotkanet / PxWeb responses.

Runs in a background thread on an ephemeral port. It serves

* Sotkanet REST 1.1 under ``/rest/1.1``: ``/regions`` and ``/json`` from the recorded
  responses in ``tests/fixtures/api/sotkanet`` (``/json`` filtered by the requested
  ``indicator``, ``years`` and ``genders``, as the real service does), ``/indicators`` and
  ``/indicators/<id>`` from the constructed catalogue ``tests/fixtures/constructed``; like the
  real service it answers 403 without a ``User-Agent``;
* PxWeb v1 under ``/PxWeb/api/v1/sv``: table ``StatFin/vaerak/statfin_vaerak_pxt_11rc.px``,
  GET = metadata (built from the recorded json-stat2 cube), POST = the recorded json-stat2 cube
  cut down to the query's selection (403 above ``max_values`` cells, like PxWeb).

Faults are injected per request path (:meth:`RecordedApiServer.inject`): each matching request
consumes the next fault; when the queue is empty, requests are served normally.
"""
from __future__ import annotations

import fnmatch
import itertools
import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"
API = FIXTURES / "api"
SOTKANET_PREFIX = "/rest/1.1"
PXWEB_PREFIX = "/PxWeb/api/v1/sv"
PX_TABLE = "StatFin/vaerak/statfin_vaerak_pxt_11rc.px"


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour."""

    kind: str  # "status", "slow", "truncated_json", "cut_connection", "content_type"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    content_type: str = ""

    @staticmethod
    def http_status(status: int, **headers: str) -> "Fault":
        return Fault("status", status=status, headers=tuple(headers.items()))

    @staticmethod
    def retry_after(seconds: float | str, status: int = 429) -> "Fault":
        return Fault("status", status=status, headers=(("Retry-After", str(seconds)),))

    @staticmethod
    def slow(delay: float) -> "Fault":
        """Answer normally, but only after ``delay`` seconds (a client timeout if shorter)."""
        return Fault("slow", delay=delay)

    @staticmethod
    def truncated_json() -> "Fault":
        """A complete HTTP response whose JSON body is cut in half."""
        return Fault("truncated_json")

    @staticmethod
    def cut_connection() -> "Fault":
        """Announce the full Content-Length, send half the body, close the connection."""
        return Fault("cut_connection")

    @staticmethod
    def wrong_content_type(content_type: str = "text/html; charset=utf-8") -> "Fault":
        """HTTP 200 with an HTML maintenance page instead of JSON."""
        return Fault("content_type", content_type=content_type)


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    body: object | None
    time: float = field(default_factory=time.monotonic)


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _sotkanet_records() -> dict[int, list[dict]]:
    """All recorded data rows per indicator, duplicates (same region/year/gender) removed."""
    out: dict[int, dict[tuple, dict]] = {}
    for f in sorted((API / "sotkanet").glob("sotkanet_*_fixture.json")):
        if "regions" in f.name:
            continue
        for rec in _load(f):
            key = (rec["region"], rec["year"], rec["gender"])
            out.setdefault(int(rec["indicator"]), {})[key] = rec
    return {k: list(v.values()) for k, v in out.items()}


def _px_cube() -> dict:
    return _load(API / "pxweb" / "statfin_vaerak_pxt_11rc_sv_response.json-stat2.json")


def px_metadata(cube: dict) -> dict:
    """PxWeb v1 GET metadata for the recorded cube (shape of the SCB reference response)."""
    variables = []
    time_dims = set(cube.get("role", {}).get("time", []))
    for dim in cube["id"]:
        d = cube["dimension"][dim]
        order = [c for c, _ in sorted(d["category"]["index"].items(), key=lambda kv: kv[1])]
        var = {"code": dim, "text": d["label"], "values": order,
               "valueTexts": [d["category"]["label"][c] for c in order]}
        if dim in time_dims:
            var["time"] = True
        else:
            var["elimination"] = dim in ("Sukupuoli",)
        variables.append(var)
    return {"title": cube["label"], "variables": variables}


def px_subset(cube: dict, query: dict) -> dict:
    """The json-stat2 cube restricted to the query's ``item``/``all`` selections."""
    ids, sizes = cube["id"], cube["size"]
    chosen = []
    selections = {q["code"]: q["selection"] for q in query.get("query", [])}
    for dim in ids:
        index = cube["dimension"][dim]["category"]["index"]
        order = [c for c, _ in sorted(index.items(), key=lambda kv: kv[1])]
        sel = selections.get(dim)
        if sel is None:
            chosen.append(order)
        elif sel["filter"] == "item":
            missing = [v for v in sel["values"] if v not in index]
            if missing:
                raise KeyError(f"{dim}: {missing}")
            chosen.append([v for v in order if v in set(sel["values"])])
        elif sel["filter"] == "all":
            chosen.append([v for v in order if any(fnmatch.fnmatchcase(v, p) for p in sel["values"])])
        else:
            raise KeyError(f"filter {sel['filter']} not supported by the test server")
    strides = [math.prod(sizes[j + 1:]) for j in range(len(sizes))]
    values = []
    for combo in itertools.product(*chosen):
        flat = sum(cube["dimension"][d]["category"]["index"][c] * s for d, c, s in zip(ids, combo, strides))
        values.append(cube["value"][flat])
    out = json.loads(json.dumps(cube))
    out["size"] = [len(c) for c in chosen]
    for dim, cats in zip(ids, chosen):
        cat = out["dimension"][dim]["category"]
        cat["index"] = {c: i for i, c in enumerate(cats)}
        cat["label"] = {c: cat["label"][c] for c in cats}
    out["value"] = values
    return out


class RecordedApiServer:
    """Context manager: ``with RecordedApiServer() as server: server.sotkanet_url ...``."""

    def __init__(self, max_values: int = 120_000) -> None:
        self.max_values = max_values
        self.faults: list[tuple[str, deque]] = []
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self.sotkanet = _sotkanet_records()
        self.regions = _load(API / "sotkanet" / "sotkanet_regions_fixture.json")
        self.indicators = _load(FIXTURES / "constructed" / "sotkanet_indicators.json")
        self.cube = _px_cube()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # -- control ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def sotkanet_url(self) -> str:
        return self.url + SOTKANET_PREFIX

    @property
    def pxweb_url(self) -> str:
        return self.url + PXWEB_PREFIX

    def inject(self, path_contains: str, *faults: Fault) -> None:
        """Queue ``faults`` for the next requests whose path contains ``path_contains``."""
        with self._lock:
            self.faults.append((path_contains, deque(faults)))

    def requests_to(self, path_contains: str) -> list[Seen]:
        return [r for r in self.requests if path_contains in r.path]

    def start(self) -> "RecordedApiServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> "RecordedApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            for pattern, queue in self.faults:
                if pattern in path and queue:
                    return queue.popleft()
        return None

    # -- routing ------------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict, headers: dict, body) -> tuple[int, object]:
        if path.startswith(SOTKANET_PREFIX):
            if not headers.get("user-agent"):
                return 403, {"error": "Forbidden: User-Agent header required"}
            rest = path[len(SOTKANET_PREFIX):].rstrip("/")
            if method != "GET":
                return 405, {"error": "method not allowed"}
            if rest == "/regions":
                return 200, self.regions
            if rest == "/indicators":
                return 200, self.indicators
            if rest.startswith("/indicators/"):
                ident = rest.rsplit("/", 1)[-1]
                for item in self.indicators:
                    if str(item["id"]) == ident:
                        return 200, item
                return 404, {"error": f"indicator {ident} not found"}
            if rest == "/json":
                try:
                    indicator = int(query["indicator"][0])
                    years = {int(y) for y in query.get("years", [])}
                except (KeyError, ValueError):
                    return 400, {"error": "indicator and years are required"}
                genders = set(query.get("genders", ["total"]))
                rows = [r for r in self.sotkanet.get(indicator, [])
                        if r["year"] in years and r["gender"] in genders]
                return 200, rows
            return 404, {"error": f"no such resource {path}"}
        if path.startswith(PXWEB_PREFIX):
            rest = path[len(PXWEB_PREFIX):].strip("/")
            if rest == "" and "config" in query:  # live limits (fields read by rOpenGov/pxweb)
                return 200, {"maxValues": self.max_values, "maxCalls": 30, "timeWindow": 10, "CORS": True}
            if rest != PX_TABLE:
                return 404, {"error": f"table {rest} not found"}
            if method == "GET":
                return 200, px_metadata(self.cube)
            if not isinstance(body, dict) or "query" not in body:
                return 400, {"error": "bad query"}
            try:
                out = px_subset(self.cube, body)
            except KeyError as exc:
                return 400, {"error": f"bad query: {exc}"}
            if math.prod(out["size"]) > self.max_values:
                return 403, {"error": "Too many values selected"}
            return 200, out
        return 404, {"error": "not found"}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query, keep_blank_values=True)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(Seen(method, parts.path, query, headers, body))
                fault = server._next_fault(parts.path)
                if fault is not None and fault.kind == "status":
                    payload = json.dumps({"error": f"injected HTTP {fault.status}"}).encode()
                    self._send(fault.status, payload, "application/json", dict(fault.headers))
                    return
                if fault is not None and fault.kind == "slow":
                    time.sleep(fault.delay)
                status, obj = server.route(method, parts.path, query, headers, body)
                payload = json.dumps(obj, ensure_ascii=False).encode("utf-8")
                ctype = "application/json; charset=utf-8"
                if fault is not None and fault.kind == "truncated_json":
                    payload = payload[: len(payload) // 2]
                elif fault is not None and fault.kind == "content_type":
                    payload = b"<html><body><h1>Service temporarily unavailable</h1></body></html>"
                    ctype = fault.content_type
                elif fault is not None and fault.kind == "cut_connection":
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._send(status, payload, ctype)

            def _send(self, status: int, payload: bytes, ctype: str, extra: dict | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in (extra or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout test)
                    pass

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

        return Handler
