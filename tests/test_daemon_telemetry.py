"""The daemon's telemetry wiring: GPU scrapes append, the gpu-rollup job derives minutes, /metrics is served.

A loopback http.server answers as a dcgm-exporter would (the fixture h100_8gpu_exporter3.txt); our own
Prometheus exporter is started by the daemon on a free port and read over real HTTP.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pytest

from collectors.base import Batch, Collector, Item, RunContext
from collectors.gpu.dcgm import DcgmCollector
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema.telemetry import GPU_SAMPLES
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.errors import ConfigError
from spendscope.scheduler import Daemon

SCRAPE = (Path(__file__).parent / "fixtures" / "dcgm" / "h100_8gpu_exporter3.txt").read_bytes()
NOW = dt.datetime(2026, 11, 20, 12, 0, 30, tzinfo=dt.UTC)

pytestmark = pytest.mark.integration


@pytest.fixture
def dcgm_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(SCRAPE)))
            self.end_headers()
            self.wfile.write(SCRAPE)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        server.shutdown()
        server.server_close()


def _settings(tmp_path: Path, dcgm_url: str, port: int = 0) -> Settings:
    return Settings.model_validate(
        {
            "home": str(tmp_path / "home"),
            "warehouse": {"path": str(tmp_path / "lake")},
            "collectors": {"dcgm": {"enabled": True, "targets": [dcgm_url]}},
            "exporters": {"prometheus": {"port": port}},
        }
    )


def test_gpu_scrapes_append_samples_and_the_rollup_job_derives_minutes(tmp_path: Path, dcgm_url: str) -> None:
    settings = _settings(tmp_path, dcgm_url)
    lake = DuckDbLake(settings.warehouse.path)
    daemon = Daemon(settings, lake, fixed_clock(NOW))
    assert {"dcgm", "gpu-rollup", "telemetry-retention"} <= set(daemon.jobs)
    assert daemon.run_job("dcgm")
    assert lake.query("SELECT COUNT(*) AS n FROM gpu_samples").column("n")[0].as_py() == 8
    # The 30 s scrape cycle only appends; the minutes come from the rollup job.
    assert lake.query("SELECT COUNT(*) AS n FROM gpu_minutes").column("n")[0].as_py() == 0
    assert daemon.run_job("gpu-rollup")
    minutes = lake.query("SELECT minute, gpu_index, samples FROM gpu_minutes ORDER BY gpu_index").to_pylist()
    assert [m["gpu_index"] for m in minutes] == list(range(8))
    assert {m["minute"] for m in minutes} == {NOW.replace(second=0)}
    assert {m["samples"] for m in minutes} == {1}


def test_without_gpu_collectors_there_is_no_rollup_job(tmp_path: Path) -> None:
    settings = Settings.model_validate({"home": str(tmp_path / "h"), "warehouse": {"path": str(tmp_path / "l")}})
    daemon = Daemon(settings, DuckDbLake(settings.warehouse.path), fixed_clock(NOW))
    assert "gpu-rollup" not in daemon.jobs


def test_the_running_daemon_serves_metrics_with_collector_health(tmp_path: Path, dcgm_url: str) -> None:
    settings = _settings(tmp_path, dcgm_url)
    daemon = Daemon(settings, DuckDbLake(settings.warehouse.path))
    daemon.run_job("dcgm")
    daemon.start()
    try:
        assert daemon.exporter is not None
        daemon.exporter.refresh()  # do not wait for the background interval
        with urllib.request.urlopen(daemon.exporter.server.url, timeout=10) as resp:
            body = resp.read().decode()
    finally:
        daemon.stop()
    assert 'spendscope_collector_up{collector="dcgm"} 1' in body
    assert 'spendscope_collector_runs_total{collector="dcgm"}' in body
    assert "spendscope_gpu_utilization_ratio{" in body


def test_a_metrics_port_in_use_is_a_clear_config_error(tmp_path: Path, dcgm_url: str) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        settings = _settings(tmp_path, dcgm_url, port=taken.getsockname()[1])
        daemon = Daemon(settings, DuckDbLake(settings.warehouse.path))
        with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1"):
            daemon.start()
        assert daemon.scheduler is not None and not daemon.scheduler.running
    finally:
        taken.close()


class LateSamples(Collector):
    """Stands for a source catching up (a Prometheus backfill, nvidia-smi files synced late): one old sample."""

    name = "late-samples"

    @classmethod
    def from_settings(cls, settings: Settings) -> LateSamples:
        return cls()

    def enabled(self, settings: Settings) -> bool:
        return True

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        ts = NOW - dt.timedelta(hours=5, minutes=20)
        row = {"ts": ts, "host": "late-host", "gpu_index": 0, "gpu_uuid": "GPU-late", "source": "nvml",
               "gpu_util_ratio": 0.5, "_day": ts.date(), "_source": "late"}  # fmt: skip
        yield Batch("gpu_samples", pa.Table.from_pylist([row], schema=GPU_SAMPLES))


def test_late_samples_written_by_a_daemon_job_are_rolled_up_too(tmp_path: Path, dcgm_url: str) -> None:
    settings = _settings(tmp_path, dcgm_url)
    lake = DuckDbLake(settings.warehouse.path)
    daemon = Daemon(
        settings, lake, fixed_clock(NOW), collectors=[DcgmCollector(settings.collectors.dcgm), LateSamples()]
    )
    assert daemon.run_job("dcgm") and daemon.run_job("gpu-rollup")  # the rollup's watermark is now 12:00
    assert daemon.run_job("late-samples")  # 06:40, hours before the watermark
    assert daemon.run_job("gpu-rollup")
    got = lake.query("SELECT minute, gpu_util_ratio FROM gpu_minutes WHERE host = 'late-host'").to_pylist()
    assert got == [{"minute": dt.datetime(2026, 11, 20, 6, 40, tzinfo=dt.UTC), "gpu_util_ratio": 0.5}]
