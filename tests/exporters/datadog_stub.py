"""A stand-in for the Datadog intake on 127.0.0.1: the REAL datadog-api-client talks to it over HTTP.

It checks what the client sends (method, path, the DD-API-KEY header, the Content-Encoding and the JSON shape
of /api/v2/series and /api/v1/events, formats.md §5), records each request decoded, and answers with the
documented shapes: 202 {"errors": []} for series, 202 {"status": "ok", "event": {...}} for events. A test
can queue other answers (429, 5xx) per path.
"""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import zlib
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.common.tls import serve_tls

API_KEY = "test-dd-key"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    wire_bytes: int  # the body as sent (compressed or not)
    body_bytes: int  # decompressed
    json: Any
    status: int = 0  # what the stub answered


def series_problems(body: Any) -> list[str]:
    """Shape errors of a v2 MetricPayload, per the client's models (formats.md §5.1)."""
    if not isinstance(body, dict) or not isinstance(body.get("series"), list):
        return ["payload must be {series: [...]}"]
    problems = []
    for s in body["series"]:
        if not isinstance(s.get("metric"), str) or s.get("type") not in (0, 1, 2, 3):
            problems.append(f"bad metric/type: {s}")
        points = s.get("points")
        if not points or not all(isinstance(p.get("timestamp"), int) and isinstance(p.get("value"), int | float)
                                 for p in points):  # fmt: skip
            problems.append(f"bad points: {s}")
        if not all(isinstance(t, str) and ":" in t for t in s.get("tags", [])):
            problems.append(f"bad tags: {s}")
        if not all(set(r) == {"name", "type"} for r in s.get("resources", [])):
            problems.append(f"bad resources: {s}")
    return problems


class DatadogStub:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.queued: dict[str, deque[tuple[int, dict[str, Any], dict[str, str]]]] = defaultdict(deque)
        self._httpd: ThreadingHTTPServer | None = None
        self.tls: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._httpd.server_address[1]}"

    def queue(self, path: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.queued[path].append((status, body, headers or {}))

    def series(self, accepted_only: bool = False) -> list[dict[str, Any]]:
        reqs = [r for r in self.requests if r.path == "/api/v2/series" and (r.status == 202 or not accepted_only)]
        return [s for r in reqs for s in r.json["series"]]

    def start(self, tls: ssl.SSLContext | None = None) -> DatadogStub:
        """Serve on a free loopback port; HTTPS with `tls`, a server context (tests/common/tls.py)."""
        stub = self
        self.tls = tls

        class Handler(BaseHTTPRequestHandler):
            recorded: Recorded | None = None

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                enc = self.headers.get("Content-Encoding")
                if enc == "gzip":
                    data = gzip.decompress(raw)
                elif enc == "deflate":
                    data = zlib.decompress(raw)
                elif enc is None:
                    data = raw
                else:
                    return self.answer(415, {"errors": [f"unsupported encoding {enc}"]})
                body = json.loads(data)
                self.recorded = Recorded("POST", self.path, dict(self.headers), len(raw), len(data), body)
                stub.requests.append(self.recorded)
                if self.headers.get("DD-API-KEY") != API_KEY:
                    return self.answer(403, {"errors": ["Forbidden"]})
                if self.path == "/api/v2/series":
                    problems = series_problems(body)
                    if problems:
                        return self.answer(400, {"errors": problems})
                    ok: dict[str, Any] = {"errors": []}
                elif self.path == "/api/v1/events":
                    if not body.get("title") or not body.get("text"):
                        return self.answer(400, {"errors": ["title and text are required"]})
                    ok = {"status": "ok", "event": {"id": len(stub.requests), "title": body["title"],
                                                    "text": body["text"], "tags": body.get("tags", [])}}  # fmt: skip
                else:
                    return self.answer(404, {"errors": ["Not found"]})
                if stub.queued[self.path]:
                    status, answer, headers = stub.queued[self.path].popleft()
                    return self.answer(status, answer, headers)
                return self.answer(202, ok)

            def answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                out = json.dumps(body).encode()
                if self.recorded is not None:
                    self.recorded.status = status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            serve_tls(self._httpd, tls)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
