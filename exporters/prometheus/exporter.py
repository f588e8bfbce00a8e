"""`PrometheusExporter`: the snapshot cache, `/metrics` and the textfile output, for the daemon to start and stop.

A background thread rebuilds the snapshot every `refresh_seconds`, at a fixed rate from its start (and rewrites
the textfile when one is configured); a scrape renders the cached snapshot, rendered bytes included, so it never
waits on the warehouse unless no fresh snapshot exists.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from exporters.prometheus.exposition import render
from exporters.prometheus.server import MetricsServer
from exporters.prometheus.snapshot import (
    HealthProvider,
    Snapshot,
    SnapshotBuilder,
    SnapshotCache,
    UnitEconomics,
    _registered_collectors,
)
from exporters.prometheus.textfile import write_atomic
from spendscope.clock import Clock, system_clock

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse
    from spendscope.config import Settings

log = logging.getLogger(__name__)


class PrometheusExporter:
    """Metrics from `warehouse` and the daemon's `health` provider, served on settings.exporters.prometheus."""

    def __init__(
        self,
        settings: Settings,
        warehouse: Warehouse,
        health: HealthProvider = dict,
        *,
        clock: Clock = system_clock,
        refresh_seconds: float = 30.0,
        collector_names: Callable[[], Iterable[str]] = _registered_collectors,
        unit_economics: UnitEconomics | None = None,
    ) -> None:
        self.config = settings.exporters.prometheus
        self.builder = SnapshotBuilder(settings, warehouse, health, clock, collector_names, unit_economics)
        if refresh_seconds <= 0:
            raise ValueError(f"refresh_seconds must be positive, not {refresh_seconds}")
        self.refresh_seconds = refresh_seconds
        # A scrape builds only if the background refresh is late by a whole interval.
        self.cache = SnapshotCache(self.builder.build, ttl_seconds=2 * refresh_seconds)
        self.server = MetricsServer(self.render, self.config.host, self.config.port)
        self._rendered: tuple[Snapshot, bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> Snapshot:
        """The current snapshot (the Datadog exporter's source too)."""
        return self.cache.get()

    def render(self) -> bytes:
        """The exposition of the current snapshot, rendered once per snapshot."""
        snap = self.cache.get()
        done = self._rendered
        if done is not None and done[0] is snap:
            return done[1]
        body = render(snap)
        self._rendered = (snap, body)
        return body

    def write_textfile(self, path: str | None = None) -> Path | None:
        """Write the exposition to `path` or the configured textfile; None when neither is set."""
        target = path or self.config.textfile
        return write_atomic(target, self.render()) if target else None

    def refresh(self) -> Snapshot:
        """Rebuild the snapshot now and rewrite the textfile."""
        snap = self.cache.refresh()
        if self.config.textfile:
            try:
                self.write_textfile()
            except OSError as exc:
                log.error("exporter:textfile path:%s error:%s", self.config.textfile, exc)
        return snap

    def _loop(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # keep refreshing; the next round may succeed
                log.error("exporter:refresh error:%s: %s", type(exc).__name__, exc)
            now = time.monotonic()
            self._stop.wait(next_slot(start, self.refresh_seconds, now) - now)

    def start(self) -> None:
        """Serve /metrics (when enabled) and refresh in the background."""
        if self.config.enabled:
            self.server.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="metrics-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.server.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def next_slot(start: float, period: float, now: float) -> float:
    """The first `start + k·period` after `now`: a fixed rate, so the refresh keeps its phase.

    Waiting `period` after each refresh added the refresh's own time every round, so the refresh drifted through
    the collectors' cycles (a 30 s scrape cycle starts with it; the daemon starts both at once). Now it runs as each
    cycle begins, beside the scrape (its memory adds to that moment's peak, and the GPU series it serves may be the
    previous cycle's: at most one period plus one refresh old, as before). A refresh that overran skips the slots
    it missed rather than running twice. Monotonic time: a stepped wall clock can shift the scheduler's phase but
    not this one.
    """
    return start + (int((now - start) // period) + 1) * period
