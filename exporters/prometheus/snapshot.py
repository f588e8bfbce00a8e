"""What the exporters expose: a `Snapshot` of metric families, computed from the warehouse and the daemon's job health.

A snapshot is built at most every `ttl` seconds (`SnapshotCache`), so a scrape only renders memory. Each part
(costs, GPUs, network, economics, budgets, alerts, collectors) is computed on its own: one that fails is logged
and counted in `spendscope_exporter_snapshot_errors_total{part}`, and the others are still served.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exporters.prometheus.catalog import MetricSpec, catalog
from spendscope.clock import Clock, system_clock

if TYPE_CHECKING:
    import pyarrow as pa

    from exporters.warehouse.engine import Warehouse
    from spendscope.config import Settings
    from spendscope.scheduler import JobHealth

log = logging.getLogger(__name__)

Labels = tuple[str, ...]
Sample = tuple[Labels, float]
Samples = dict[str, list[Sample]]  # metric name → samples, label values in the catalog's label order
HealthProvider = Callable[[], Mapping[str, "JobHealth"]]
UnitEconomics = Callable[..., "pa.Table"]  # spendscope.economics.unit_economics(wh, since, until, tz)

PARTS = ("costs", "inventory", "gpu", "network", "economics", "live", "budgets", "alerts", "collectors")


@dataclass
class Family:
    """One metric: its catalog entry and its samples."""

    spec: MetricSpec
    samples: list[Sample]


@dataclass
class Snapshot:
    """Every family with samples, in catalog order, and when it was taken."""

    families: list[Family]
    taken_at: dt.datetime
    duration_s: float = 0.0

    def family(self, name: str) -> Family | None:
        return next((f for f in self.families if f.spec.name == name), None)

    def value(self, name: str, **labels: str) -> float | None:
        """The value of the one sample whose labels include `labels` (tests, the Datadog events)."""
        fam = self.family(name)
        if fam is None:
            return None
        idx = [(fam.spec.labels.index(k), v) for k, v in labels.items()]
        hits = [v for values, v in fam.samples if all(values[i] == want for i, want in idx)]
        return hits[0] if len(hits) == 1 else None


@dataclass
class PartContext:
    """What every part reads: the warehouse, the settings, now, and what earlier parts found."""

    warehouse: Warehouse
    settings: Settings
    now: dt.datetime
    health: HealthProvider
    collector_names: Callable[[], Iterable[str]]
    unit_economics: UnitEconomics | None
    found: dict[str, Any] = field(default_factory=dict)  # e.g. "labels": host → (platform, cluster)
    memo: dict[str, Any] = field(default_factory=dict)  # kept across builds: results cached by their inputs


def _registered_collectors() -> list[str]:
    from collectors import load_all

    return load_all().names()


class SnapshotBuilder:
    """Builds snapshots; the environment (warehouse, health, clock, economics) is injected."""

    def __init__(
        self,
        settings: Settings,
        warehouse: Warehouse,
        health: HealthProvider = dict,
        clock: Clock = system_clock,
        collector_names: Callable[[], Iterable[str]] = _registered_collectors,
        unit_economics: UnitEconomics | None = None,
    ) -> None:
        self.settings = settings
        self.warehouse = warehouse
        self.health = health
        self.clock = clock
        self.collector_names = collector_names
        self.unit_economics = unit_economics
        self.errors = dict.fromkeys(PARTS, 0)
        self.memo: dict[str, Any] = {}

    def build(self) -> Snapshot:
        from exporters.prometheus import alerting, costs, health, live, telemetry, unit_costs

        started = time.perf_counter()
        ctx = PartContext(
            self.warehouse, self.settings, self.clock(), self.health, self.collector_names, self.unit_economics,
            memo=self.memo,
        )  # fmt: skip
        steps: dict[str, Callable[[PartContext], Samples]] = {
            "costs": costs.cost_metrics,
            "inventory": unit_costs.load_inventory,
            "gpu": telemetry.gpu_metrics,
            "network": telemetry.network_metrics,
            "economics": unit_costs.economics_metrics,
            "live": live.live_metrics,
            "budgets": alerting.budget_metrics,
            "alerts": alerting.alert_metrics,
            "collectors": health.collector_metrics,
        }
        samples: Samples = {}
        for part, step in steps.items():
            try:
                samples.update(step(ctx))
            except Exception as exc:  # one broken part (a stale rollup, a missing table) must not hide the rest
                self.errors[part] += 1
                log.warning("exporter:snapshot part:%s error:%s: %s", part, type(exc).__name__, exc)
        duration = time.perf_counter() - started
        samples["spendscope_exporter_snapshot_timestamp_seconds"] = [((), ctx.now.timestamp())]
        samples["spendscope_exporter_snapshot_duration_seconds"] = [((), duration)]
        samples["spendscope_exporter_snapshot_errors_total"] = [((p,), float(n)) for p, n in self.errors.items()]
        return assemble(samples, ctx.now, duration)


def assemble(samples: Samples, taken_at: dt.datetime, duration_s: float = 0.0) -> Snapshot:
    """Families in catalog order, samples sorted; a name outside the catalog is a programming error."""
    specs = catalog()
    unknown = set(samples) - set(specs)
    if unknown:
        raise KeyError(f"metrics not in exporters/metrics.csv: {', '.join(sorted(unknown))}")
    families = []
    for name, spec in specs.items():
        rows = samples.get(name)
        if rows:
            bad = [values for values, _ in rows if len(values) != len(spec.labels)]
            if bad:
                raise ValueError(f"{name}: expected labels {spec.labels}, got {bad[0]}")
            families.append(Family(spec, sorted(rows)))
    return Snapshot(families, taken_at, duration_s)


class SnapshotCache:
    """The latest snapshot, rebuilt when older than `ttl_seconds`; one build at a time."""

    def __init__(self, build: Callable[[], Snapshot], ttl_seconds: float = 30.0) -> None:
        self._build = build
        self.ttl_seconds = ttl_seconds
        self._snapshot: Snapshot | None = None
        self._built_at = 0.0
        self._lock = threading.Lock()

    def refresh(self) -> Snapshot:
        """Build a new snapshot now."""
        with self._lock:
            snap = self._build()
            self._snapshot, self._built_at = snap, time.monotonic()
            return snap

    def get(self) -> Snapshot:
        """The cached snapshot; built first if there is none or it is older than the TTL."""
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._built_at < self.ttl_seconds:
            return snap
        with self._lock:  # a scrape that waited on another's build takes that result
            if self._snapshot is not None and time.monotonic() - self._built_at < self.ttl_seconds:
                return self._snapshot
            snap = self._build()
            self._snapshot, self._built_at = snap, time.monotonic()
            return snap

    @property
    def current(self) -> Snapshot | None:
        return self._snapshot
