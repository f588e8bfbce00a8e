"""A loopback stand-in for node_exporter's `/metrics` — NOT node_exporter: it serves saved scrapes in turn.

Each path has a queue of bodies; every GET answers the next one (the last repeats), with the content type
node_exporter sends for text 0.0.4. A path with no queue answers 500, as an exporter whose collector broke.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.common.servers import QuietHandler, serving

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class ExporterStub:
    bodies: dict[str, list[str]]
    base: str = ""
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Accept header)

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def serve(bodies: dict[str, list[str]]) -> Iterator[ExporterStub]:
    stub = ExporterStub({k: list(v) for k, v in bodies.items()})
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            with lock:
                stub.seen.append((self.path, self.headers.get("Accept", "")))
                queue = stub.bodies.get(self.path)
                body = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
            if body is None:
                self.send_response(500)
                self.end_headers()
                return
            self.send_body(200, body.encode("utf-8"), CONTENT_TYPE)

    with serving(Handler) as url:
        stub.base = url
        yield stub
