"""The dcgm collector end to end: real HTTP scrapes of fixture answers from a loopback server into the lake.

The server is Python's http.server on 127.0.0.1 (random port) serving the files in tests/fixtures/dcgm as a
dcgm-exporter would (`text/plain; version=0.0.4`), plus one path answering 500, one answering an HTML page
with 200, and a closed port standing for a node that is down.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import collectors.gpu.dcgm  # noqa: F401  (registers "dcgm")
from collectors import registry
from collectors.base import RunContext
from collectors.gpu.dcgm import DcgmCollector
from spendscope import ingest
from spendscope.config_telemetry import DcgmConfig
from spendscope.errors import ConfigError, SourceError

FIX = Path(__file__).parents[1] / "fixtures" / "dcgm"
MIB = 1048576

pytestmark = pytest.mark.integration


class Exporters:
    """Paths → fixture files; `broken` paths answer 500 until repaired."""

    def __init__(self) -> None:
        self.files = {
            "/node1/metrics": "h100_8gpu_exporter3.txt",
            "/node2/metrics": "h100_exporter4_lowercase.txt",
            "/bad/metrics": "bad_lines.txt",
            "/html/metrics": "not_metrics.html",
            "/flaky/metrics": "issue250_v100_no_pci_bus_id.txt",
        }
        self.broken = {"/err/metrics", "/flaky/metrics"}
        self.requests: list[tuple[str, str | None]] = []


@pytest.fixture
def exporters() -> Iterator[tuple[str, Exporters]]:
    state = Exporters()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("Accept")))
            if self.path in state.broken or self.path not in state.files:
                self.send_error(500 if self.path in state.broken else 404)
                return
            body = (FIX / state.files[self.path]).read_bytes()
            ctype = "text/html" if self.path.startswith("/html") else "text/plain; version=0.0.4; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_collect_stores_good_targets_and_reports_down_500_and_html_ones(
    ctx: RunContext, exporters: tuple[str, Exporters], closed_port: int
) -> None:
    base, state = exporters
    down = f"http://127.0.0.1:{closed_port}/metrics"
    targets = [f"{base}/node1/metrics", f"{base}/node2/metrics", f"{base}/html/metrics", f"{base}/err/metrics", down]
    ctx.options["targets"] = targets
    collector = DcgmCollector(DcgmConfig(timeout_seconds=2))
    summary = ingest.run(collector, ctx)

    assert summary.rows == {"gpu_samples": 10}
    got = ctx.warehouse.query(
        "SELECT host, gpu_index, target, source, _source, ts, _day, gpu_util_ratio, fb_used_bytes "
        "FROM gpu_samples ORDER BY host, gpu_index"
    ).to_pylist()
    assert [(r["host"], r["gpu_index"]) for r in got] == [("a3-highgpu-8g-0001", i) for i in range(8)] + [
        ("gke-gpu-pool-a3-7f2k", 0),
        ("gke-gpu-pool-a3-7f2k", 1),
    ]
    assert {r["target"] for r in got[:8]} == {f"{base}/node1/metrics"}
    assert all(r["source"] == "dcgm" and r["_source"] == "dcgm" for r in got)
    assert {r["ts"] for r in got} == {ctx.now()} and {r["_day"] for r in got} == {ctx.now().date()}
    assert got[8]["gpu_util_ratio"] == 1.0 and got[8]["fb_used_bytes"] == 79872 * MIB

    stats = collector.last_stats
    assert stats is not None
    assert (stats.targets_ok, stats.targets_failed, stats.rows, stats.samples) == (2, 3, 10, 24 * 8 + 16)
    assert stats.failures[f"{base}/err/metrics"] == "HTTP 500"
    assert "no GPU sample" in stats.failures[f"{base}/html/metrics"]
    assert stats.failures[down].startswith("ConnectError")
    assert ("/node1/metrics", "text/plain;version=0.0.4;q=0.9,*/*;q=0.1") in state.requests


def test_every_target_failing_raises_source_error(ctx: RunContext, closed_port: int) -> None:
    ctx.options["targets"] = [f"http://127.0.0.1:{closed_port}/metrics"]
    collector = DcgmCollector(DcgmConfig(timeout_seconds=1))
    with pytest.raises(SourceError, match="all 1 target"):
        list(collector.collect(ctx))
    assert collector.last_stats is not None and collector.last_stats.targets_failed == 1


def test_a_down_target_is_logged_when_it_goes_down_and_when_it_recovers_only(
    ctx: RunContext, exporters: tuple[str, Exporters], caplog: pytest.LogCaptureFixture
) -> None:
    base, state = exporters
    ctx.options["targets"] = [f"{base}/node1/metrics", f"{base}/flaky/metrics"]
    collector = DcgmCollector(DcgmConfig(timeout_seconds=2))
    caplog.set_level(logging.INFO, logger="collectors.gpu.dcgm")
    for _ in range(3):
        list(collector.collect(ctx))
    state.broken.discard("/flaky/metrics")
    for _ in range(2):
        batches = list(collector.collect(ctx))
    messages = [r.getMessage() for r in caplog.records]
    assert sum("status:down" in m for m in messages) == 1
    assert sum("status:recovered" in m for m in messages) == 1
    assert batches[0].data.num_rows == 9  # type: ignore[union-attr]


def test_skipped_samples_are_counted_in_last_stats_not_fatal(ctx: RunContext, exporters: tuple[str, Exporters]) -> None:
    base, _ = exporters
    ctx.options["targets"] = [f"{base}/bad/metrics"]
    collector = DcgmCollector(DcgmConfig())
    (batch,) = list(collector.collect(ctx))
    stats = collector.last_stats
    assert stats is not None
    assert (stats.skipped_non_numeric, stats.garbage_lines, stats.non_finite) == (1, 2, 2)
    assert stats.targets_ok == 1 and batch.data.num_rows == 2  # type: ignore[union-attr]
    hosts = sorted(batch.data.column("host").to_pylist())  # type: ignore[union-attr]
    assert hosts == ["127.0.0.1", "node-with-}-brace"]  # no host label: the target's host


def test_config_targets_are_used_and_cli_targets_override_them(
    ctx: RunContext, exporters: tuple[str, Exporters]
) -> None:
    base, state = exporters
    collector = registry.get("dcgm")(DcgmConfig(targets=[f"{base}/node2/metrics"]))  # type: ignore[call-arg]
    assert next(iter(collector.collect(ctx))).data.num_rows == 2  # type: ignore[union-attr]
    ctx.options["targets"] = [f"{base}/node1/metrics"]
    assert next(iter(collector.collect(ctx))).data.num_rows == 8  # type: ignore[union-attr]
    assert [p for p, _ in state.requests] == ["/node2/metrics", "/node1/metrics"]


def test_no_targets_or_a_non_http_target_is_a_config_error(ctx: RunContext) -> None:
    with pytest.raises(ConfigError, match="no targets"):
        list(DcgmCollector(DcgmConfig()).collect(ctx))
    ctx.options["targets"] = ["node1:9400/metrics"]
    with pytest.raises(ConfigError, match="not an http"):
        list(DcgmCollector(DcgmConfig()).collect(ctx))
