"""The freshness rule: stale cost sources and daemon jobs that stay down (synthetic cost_daily rows)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from alerts.context import EvalContext
from alerts.loader import parse_rules
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema import TABLES
from spendscope.config import Settings
from spendscope.scheduler import JobHealth

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def seed(lake: DuckDbLake, reach: dict[str, dt.datetime]) -> None:
    rows = [{"day": until.date(), "tz": "UTC", "provider": "x", "billed_cost": 1.0, "data_until": until,
             "x_SourceTable": source, "_day": until.date(), "_source": "synthetic"}
            for source, until in reach.items()]  # fmt: skip
    lake.append("cost_daily", pa.Table.from_pylist(rows, schema=TABLES["cost_daily"].schema))


RULE = "rules:\n  - {name: fresh, type: freshness, max_age: {gcp_billing_export: 36h, databricks_usage: 36h}}\n"


def test_stale_source_fires_fresh_and_absent_do_not(settings: Settings, lake: DuckDbLake) -> None:
    seed(lake, {"gcp_billing_export": NOW - dt.timedelta(hours=40), "databricks_usage": NOW - dt.timedelta(hours=5)})
    [rule] = parse_rules(RULE)
    findings = rule.evaluate(EvalContext(wh=lake, settings=settings, now=NOW))
    assert [f.labels for f in findings] == [{"source": "gcp_billing_export", "kind": "data"}]
    assert "40.0 h old" in findings[0].annotations["summary"]
    assert findings[0].value == 40 * 3600


def test_jobs_down_longer_than_allowed(settings: Settings, lake: DuckDbLake) -> None:
    [rule] = parse_rules(RULE)
    health = {
        "dcgm": JobHealth(up=False, consecutive_failures=40, last_success=NOW - dt.timedelta(minutes=20),
                          last_error="SourceError: connection refused"),
        "inventory": JobHealth(up=False, consecutive_failures=1, last_success=NOW - dt.timedelta(minutes=5)),
        "network": JobHealth(up=True, last_success=NOW),
        "nvml": JobHealth(up=False, consecutive_failures=3, last_success=None, last_error="no driver"),
    }  # fmt: skip
    findings = rule.evaluate(EvalContext(wh=lake, settings=settings, now=NOW, health=health))
    assert sorted(f.labels["job"] for f in findings) == ["dcgm", "nvml"]
    assert "connection refused" in next(f for f in findings if f.labels["job"] == "dcgm").annotations["description"]
    assert rule.evaluate(EvalContext(wh=lake, settings=settings, now=NOW)) == []  # the CLI: no job health
