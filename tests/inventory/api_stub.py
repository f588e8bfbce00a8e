"""A loopback JSON API stand-in — NOT Databricks, Compute Engine or GKE — that records every request.

Tests register one answer per (method, path, query) with `route`; the real client libraries
(databricks-sdk, google-cloud-compute / google-cloud-container over REST) are pointed at `url`.
Anything not registered answers 404 and lands in `problems`, so a test that asserts `problems == []`
also asserts the client sent exactly the requests it expected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.common.servers import QuietHandler, serving

Query = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Seen:
    """One request as received: method, path, query pairs (in order), lower-cased headers and the raw body."""

    method: str
    path: str
    query: Query
    headers: dict[str, str] = field(hash=False, compare=False)
    body: bytes = field(default=b"", hash=False, compare=False)


@dataclass
class ApiStub:
    """Routes → (status, JSON body); what was seen; what did not match."""

    routes: dict[tuple[str, str, Query], tuple[int, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    url: str = ""
    # Paths answered whatever the query (SDK probes we do not assert on).
    loose: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)

    def route(self, method: str, path: str, body: Any, query: Query = (), status: int = 200) -> None:
        """Answer `method path?query` (query pairs compared as a sorted set) with `body`."""
        self.routes[(method, path, tuple(sorted(query)))] = (status, body)

    def requests(self, path_prefix: str = "/") -> list[tuple[str, str, Query]]:
        """(method, path, query) of every request under `path_prefix`, in order."""
        return [(s.method, s.path, s.query) for s in self.seen if s.path.startswith(path_prefix)]

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        query = tuple(parse_qsl(parts.query, keep_blank_values=True))
        self.seen.append(Seen(method, parts.path, query, headers, body))
        key = (method, parts.path, tuple(sorted(query)))
        if key in self.routes:
            return self.routes[key]
        if (method, parts.path) in self.loose:
            return self.loose[(method, parts.path)]
        self.problems.append(f"unexpected request {method} {raw_path}")
        return 404, {"error": {"code": 404, "message": f"no route {raw_path}", "status": "NOT_FOUND"}}


@contextmanager
def serve(stub: ApiStub) -> Iterator[ApiStub]:
    """Run `stub` on 127.0.0.1 (random port) for the duration of the block."""

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            self.send_json(*stub.handle(self.command, self.path, headers, body))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _reply  # http.server dispatches on these names

    with serving(Handler, poll_interval=0.05) as url:
        stub.url = url
        yield stub
