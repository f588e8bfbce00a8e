"""`/metrics` over real HTTP on a free loopback port, and the atomic node_exporter textfile."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exporters.prometheus import PrometheusExporter
from exporters.prometheus.exporter import next_slot
from exporters.prometheus.exposition import CONTENT_TYPE
from exporters.prometheus.server import MetricsServer
from exporters.prometheus.textfile import write_atomic
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from tests.exporters.conftest import COLLECTORS, NOW, fake_health, fake_unit_economics


def exporter(settings: Settings, wh: DuckDbLake, textfile: Path | None = None) -> PrometheusExporter:
    prom = {"port": 0, "textfile": str(textfile) if textfile else None}
    s = Settings.model_validate({**settings.model_dump(exclude_unset=True), "exporters": {"prometheus": prom}})
    return PrometheusExporter(
        s, wh, fake_health, clock=fixed_clock(NOW), collector_names=lambda: COLLECTORS,
        unit_economics=fake_unit_economics,
    )  # fmt: skip


@pytest.mark.integration
def test_metrics_index_and_404_over_http(settings: Settings, seeded: DuckDbLake) -> None:
    exp = exporter(settings, seeded)
    exp.start()
    try:
        base = f"http://127.0.0.1:{exp.server.port}"
        assert exp.server.port != 0
        r = httpx.get(base + "/metrics", timeout=30)
        assert r.status_code == 200
        assert r.headers["content-type"] == CONTENT_TYPE
        assert 'spendscope_gpu_utilization_ratio{host="a3-node-1",gpu="0"' in r.text
        assert r.content == exp.render()
        index = httpx.get(base + "/", timeout=10)
        assert index.status_code == 200 and 'href="/metrics"' in index.text
        assert httpx.get(base + "/nope", timeout=10).status_code == 404
    finally:
        exp.stop()


@pytest.mark.integration
def test_a_render_error_answers_500_and_the_server_keeps_serving() -> None:
    calls: Iterator[Exception | bytes] = iter([RuntimeError("boom"), b"spendscope_x 1\n"])

    def render() -> bytes:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    server = MetricsServer(render, port=0)
    server.start()
    try:
        assert httpx.get(server.url, timeout=10).status_code == 500
        assert httpx.get(server.url, timeout=10).text == "spendscope_x 1\n"
    finally:
        server.stop()


def test_render_is_cached_per_snapshot(settings: Settings, seeded: DuckDbLake) -> None:
    exp = exporter(settings, seeded)
    first = exp.render()
    assert exp.render() is first  # same snapshot: the same bytes object, no re-render
    exp.refresh()
    assert exp.render() is not first


def test_textfile_is_the_exposition_written_atomically(settings: Settings, seeded: DuckDbLake, tmp_path: Path) -> None:
    target = tmp_path / "textfile" / "spendscope.prom"
    exp = exporter(settings, seeded, target)
    exp.refresh()  # the background refresh writes the textfile too
    assert target.read_bytes() == exp.render()
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in target.parent.iterdir()] == ["spendscope.prom"]  # no temporary file left


def test_write_atomic_never_exposes_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "m.prom"
    big_a, big_b = b"a" * 2_000_000, b"b" * 2_000_000
    write_atomic(target, big_a)
    seen: set[bytes] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            data = target.read_bytes()
            seen.add(data[:1] + str(len(data)).encode())

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(10):
        write_atomic(target, big_b if i % 2 == 0 else big_a)
    stop.set()
    reader.join()
    assert seen <= {b"a2000000", b"b2000000"}


def test_write_atomic_cleans_up_when_the_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(tmp_path / "m.prom", b"x")
    assert list(tmp_path.iterdir()) == []


def test_refresh_runs_at_a_fixed_rate_and_skips_the_slots_an_overrun_missed() -> None:
    assert next_slot(100.0, 30.0, 100.0) == 130.0  # just refreshed at the start
    assert next_slot(100.0, 30.0, 101.4) == 130.0  # a 1.4 s refresh does not push the next one to 131.4
    assert next_slot(100.0, 30.0, 130.0) == 160.0
    assert next_slot(100.0, 30.0, 3100.9) == 3130.0  # 100 rounds later, still on the start's phase
    assert next_slot(100.0, 30.0, 175.0) == 190.0  # a 45 s overrun: the 160 slot is skipped, not run late


def test_a_refresh_period_that_is_not_positive_is_refused(settings: Settings, lake: DuckDbLake) -> None:
    with pytest.raises(ValueError, match="refresh_seconds must be positive"):
        PrometheusExporter(settings, lake, refresh_seconds=0)
