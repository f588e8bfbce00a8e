"""`/metrics` over HTTP: a ThreadingHTTPServer in a background thread, serving bytes rendered elsewhere."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from exporters.prometheus.exposition import CONTENT_TYPE

log = logging.getLogger(__name__)

INDEX = (
    b"<html><head><title>spendscope exporter</title></head><body><h1>spendscope exporter</h1>"
    b'<p><a href="/metrics">/metrics</a></p></body></html>\n'
)


class MetricsServer:
    """Serves `render()` at GET /metrics, a small index at GET /, 404 elsewhere; start()/stop() from the daemon."""

    def __init__(self, render: Callable[[], bytes], host: str = "127.0.0.1", port: int = 9464) -> None:
        self.render = render
        self.host = host
        self.port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def start(self) -> None:
        """Bind (port 0 picks a free port, then `self.port` holds it) and serve in a daemon thread."""
        render = self.render

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    try:
                        body, ctype, status = render(), CONTENT_TYPE, 200
                    except Exception as exc:  # a scrape must get an answer, and the server must live on
                        log.error("exporter:render error:%s: %s", type(exc).__name__, exc)
                        body, ctype, status = f"render failed: {exc}\n".encode(), "text/plain; charset=utf-8", 500
                elif path == "/":
                    body, ctype, status = INDEX, "text/html; charset=utf-8", 200
                else:
                    body, ctype, status = b"not found\n", "text/plain; charset=utf-8", 404
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("exporter:http " + format, *args)

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics-http", daemon=True)
        self._thread.start()
        log.info("exporter:prometheus listening:%s", self.url)

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
