"""A warehouse seeded with costs, GPU samples and minutes, network samples, inventory and alert events (synthetic
rows written to the telemetry and alert schemas), a budget rule, and a health provider with a few jobs: what the
exporter tests read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from alerts.store import event_row
from exporters.prometheus.snapshot import SnapshotBuilder
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.records import AlertState, Severity, State
from spendscope.scheduler import JobHealth
from tests.seed import seed_costs

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)  # 04:00 in Los Angeles: reporting day 2026-11-20
YESTERDAY_NOON = dt.datetime(2026, 11, 19, 20, tzinfo=dt.UTC)  # 12:00 LA on 2026-11-19
EARLIER_THIS_MONTH = dt.datetime(2026, 11, 5, 20, tzinfo=dt.UTC)
H100 = "NVIDIA H100 80GB HBM3"


def gpu_row(host: str, index: int, ts: dt.datetime, util: float | None, **extra: Any) -> dict[str, Any]:
    return {
        "ts": ts, "host": host, "gpu_index": index, "gpu_uuid": f"GPU-{host}-{index}", "gpu_model": H100,
        "mig_instance": None, "source": "dcgm", "gpu_util_ratio": util, "gr_engine_active_ratio": util,
        "fb_used_bytes": 40e9, "fb_free_bytes": 39.5e9, "fb_reserved_bytes": 0.5e9, "power_watts": 350.5,
        "gpu_temp_celsius": 61.0, "xid_last": 0.0,
        "_day": ts.date(), "_source": "test", **extra,
    }  # fmt: skip


COSTS = [
    {"BilledCost": 100.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine", "Tags": '{"team": "ml"}',
     "ChargePeriodStart": YESTERDAY_NOON},
    {"BilledCost": 40.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine", "Tags": '{"team": "ml"}',
     "ChargePeriodStart": EARLIER_THIS_MONTH},
    {"BilledCost": 7.5, "ProviderName": "Databricks", "ServiceName": "Jobs Compute",
     "ChargePeriodStart": EARLIER_THIS_MONTH},
]  # fmt: skip


# The month budget of team ml: 140 of 200 USD spent by the seeded costs (100 yesterday, 40 earlier this month).
BUDGET_RULES = [{"name": "ml-monthly", "type": "budget", "period": "month", "scope": {"team": "ml"},
                 "amount_usd": 200.0, "forecast": True}]  # fmt: skip


def alert_state(rule: str, fingerprint: str, state: State, severity: Severity = Severity.warning) -> AlertState:
    """An alert as the engine keeps it (alerts/store.py writes alert_events rows from these)."""
    at = NOW - dt.timedelta(minutes=10)
    labels = {"alertname": "GpuIdle", "rule": rule, "severity": str(severity), "cluster": fingerprint}
    return AlertState(fingerprint, rule, labels, {"summary": "synthetic"}, severity, state, at, at)


def seed_alert_events(wh: DuckDbLake) -> None:
    """gpu-idle: one alert firing (after pending) and one resolved; ml-monthly: one that fired and resolved."""
    t0, t1 = NOW - dt.timedelta(minutes=10), NOW - dt.timedelta(minutes=5)
    rows = [
        event_row(alert_state("gpu-idle", "a1", State.pending), "pending", t0, 0),
        event_row(alert_state("gpu-idle", "a1", State.firing), "firing", t1, 0),
        event_row(alert_state("gpu-idle", "a1", State.firing), "notified", t1, 1, notifier="ops"),
        event_row(alert_state("gpu-idle", "a2", State.firing), "firing", t0, 1),
        event_row(alert_state("gpu-idle", "a2", State.resolved), "resolved", t1, 2),
        event_row(alert_state("ml-monthly", "b1", State.firing, Severity.critical), "firing", t0, 2),
        event_row(alert_state("ml-monthly", "b1", State.resolved, Severity.critical), "resolved", t1, 3),
    ]
    wh.append("alert_events", pa.Table.from_pylist(rows))


def seed_all(wh: DuckDbLake) -> None:
    """Costs for yesterday and earlier this month, 2 hosts × 2 GPUs, one interface, two inventory items, alerts."""
    seed_costs(wh, COSTS)
    old = NOW - dt.timedelta(minutes=30)  # older than the freshness window: must not win over the latest sample
    rows = [
        gpu_row("a3-node-1", 0, old, 0.10),
        gpu_row("a3-node-1", 0, NOW - dt.timedelta(seconds=30), 0.93, xid_last=79.0),
        gpu_row("a3-node-1", 1, NOW - dt.timedelta(seconds=30), 0.0),
        gpu_row("dbx-worker-1", 0, NOW - dt.timedelta(seconds=20), 0.5),
        gpu_row("dbx-worker-1", 0, NOW - dt.timedelta(seconds=20), None, mig_instance="3",
                mig_profile="1g.10gb", gr_engine_active_ratio=0.25),
        gpu_row("stale-node", 0, NOW - dt.timedelta(hours=1), 0.7),
    ]  # fmt: skip
    wh.append("gpu_samples", pa.Table.from_pylist(rows))
    minutes = []
    for m in range(30):
        minute = NOW - dt.timedelta(minutes=30 - m)
        # a3-node-1: GPU 0 busy throughout, GPU 1 idle throughout; dbx-worker-1's GPU busy only in the first minutes.
        for host, idx, busy in (("a3-node-1", 0, True), ("a3-node-1", 1, False), ("dbx-worker-1", 0, m < 5)):
            minutes.append({"minute": minute, "hour": minute.replace(minute=0), "host": host, "gpu_index": idx,
                            "gpu_model": H100, "busy": busy, "_day": minute.date(), "_source": "test"})  # fmt: skip
    wh.append("gpu_minutes", pa.Table.from_pylist(minutes))
    wh.append(
        "net_samples",
        pa.Table.from_pylist(
            [
                {"ts": NOW - dt.timedelta(seconds=15), "host": "a3-node-1", "interface": 'eth"0\\x',
                 "rx_bytes_per_second": 1.25e9, "tx_bytes_per_second": 2.5e8, "saturation_ratio": 0.5,
                 "_day": NOW.date(), "_source": "test"},
            ]
        ),
    )  # fmt: skip
    observed = NOW - dt.timedelta(minutes=3)
    wh.append(
        "inventory",
        pa.Table.from_pylist(
            [
                {"observed_at": observed, "platform": "gce", "kind": "instance", "resource_id": "111",
                 "resource_name": "a3-node-1", "cluster": None, "state": "RUNNING", "gpu_count": 2,
                 "hosts": ["a3-node-1"], "price_usd_per_hour": 88.0, "_day": observed.date(), "_source": "test"},
                {"observed_at": observed, "platform": "databricks", "kind": "cluster", "resource_id": "0101-abc",
                 "resource_name": "training", "cluster": "training", "state": "RUNNING", "gpu_count": 1,
                 "hosts": ["dbx-worker-1"], "price_usd_per_hour": 10.0, "_day": observed.date(), "_source": "test"},
            ]
        ),
    )  # fmt: skip
    seed_alert_events(wh)
    seed_estimates(wh)


# The live job's estimate of the hour before NOW: a GCE VM priced, a Databricks cluster's DBUs with a learned
# correction of 1.25, and a serving endpoint no price was found for.
ESTIMATE_HOUR = NOW - dt.timedelta(hours=1)
ESTIMATES = [
    ("gce", "111", "vm", 88.0, 1.0),
    ("databricks", "0101-abc", "dbu", 4.0, 1.25),
    ("databricks", "serving-chat", "unpriced", None, 1.25),
]


def seed_estimates(wh: DuckDbLake) -> None:
    rows = [
        {"hour": ESTIMATE_HOUR, "platform": platform, "resource_id": rid, "resource_name": rid, "component": comp,
         "running": True, "run_hours": 1.0, "usd_per_hour": rate, "usd_raw": rate, "correction": f,
         "usd": None if rate is None else rate * f, "projected_usd": None if rate is None else rate * f,
         "until": NOW, "computed_at": NOW, "_day": ESTIMATE_HOUR.date(), "_source": "test"}
        for platform, rid, comp, rate, f in ESTIMATES
    ]  # fmt: skip
    wh.append("cost_estimates", pa.Table.from_pylist(rows))


def fake_health() -> Mapping[str, JobHealth]:
    return {
        "focus": JobHealth(up=True, runs=3, failures=1, last_success=NOW - dt.timedelta(minutes=5),
                           last_duration_s=1.5, last_rows=42),
        "databricks": JobHealth(up=False, runs=2, failures=2, consecutive_failures=2, last_error="SourceError: 503",
                                last_duration_s=0.25),
        "lake-maintenance": JobHealth(),
    }  # fmt: skip


def fake_unit_economics(wh: Any, since: dt.date, until: dt.date, tz: str) -> pa.Table:
    """Fixed ratios in spendscope.economics.unit_economics' columns, so a test controls what is exported (the real
    function is checked against demo data in test_economics.py)."""
    return pa.Table.from_pylist(
        [{"day": since, "platform": "gce", "gpu_hours": 48.0, "busy_gpu_hours": 24.0, "idle_gpu_hours": 24.0,
          "gpu_cost_usd": 96.0, "cost_per_gpu_hour_usd": 2.0, "cost_per_busy_gpu_hour_usd": 4.0, "idle_cost_usd": 48.0}]
    )  # fmt: skip


COLLECTORS = ["databricks", "focus", "gcp-billing"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """tests/conftest.py's settings with one budget rule and no rule files (the budget series need a rule)."""
    return Settings.model_validate(
        {
            "home": str(tmp_path / "home"),
            "warehouse": {"path": str(tmp_path / "lake")},
            "exporters": {"prometheus": {"port": 0}},
            "alerts": {"rule_files": [], "rules": BUDGET_RULES},
        }
    )


@pytest.fixture
def seeded(lake: DuckDbLake) -> DuckDbLake:
    seed_all(lake)
    return lake


@pytest.fixture
def builder(settings: Settings, seeded: DuckDbLake) -> SnapshotBuilder:
    return SnapshotBuilder(
        settings, seeded, fake_health, fixed_clock(NOW), collector_names=lambda: COLLECTORS,
        unit_economics=fake_unit_economics,
    )  # fmt: skip
