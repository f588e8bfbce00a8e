"""Servers for tests on loopback: real server binaries (Prometheus, Alertmanager: Debian packages), and the
plumbing of the HTTP stand-ins (a quiet handler base that answers bytes or JSON, serving it on a free port)."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.common.tls import serve_tls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(fn: Callable[[], Any], timeout: float = 30.0, every: float = 0.1) -> Any:
    """fn() until it returns something truthy (exceptions count as not yet); AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            out = fn()
            if out:
                return out
        except Exception as exc:
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out waiting (last error: {last!r})")


@contextlib.contextmanager
def real_server(argv: Sequence[str], log_path: Path, base_url: str) -> Iterator[str]:
    """Run `argv` (output to `log_path`) until its `/-/ready` answers 200; yield `base_url`; terminate after."""
    assert shutil.which(argv[0]), f"{argv[0]} must be installed (Debian packages prometheus, prometheus-alertmanager)"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT)
        try:
            poll(lambda: httpx.get(f"{base_url}/-/ready", timeout=2).status_code == 200)
            yield base_url
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    """Terminate `proc`; kill it when it has not exited after `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class QuietHandler(BaseHTTPRequestHandler):
    """Base of the loopback stand-ins' handlers: no request logging; `send_body` / `send_json` answer."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_body(self, code: int, data: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, code: int, payload: Any) -> None:
        self.send_body(code, json.dumps(payload).encode(), "application/json")


@contextlib.contextmanager
def serving(
    handler: type[BaseHTTPRequestHandler], poll_interval: float = 0.5, tls: ssl.SSLContext | None = None
) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 (a free port; HTTPS with `tls`) in a thread; yields the base URL; stops after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        serve_tls(server, tls)
    threading.Thread(target=server.serve_forever, args=(poll_interval,), daemon=True).start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
