"""Synthetic `cost_daily` / `cost_hourly` rows for the budget, spike and credit rule tests.

All synthetic, in the rollups' own schemas (exporters/warehouse/schema/rollup.py), written straight to a test
lake so the arithmetic of each test is exact. `data_until` is how far a source's data reaches, which is what
EvalContext.cost_data_until() reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from alerts.context import EvalContext
from exporters.warehouse.engine import Warehouse
from exporters.warehouse.schema import TABLES
from spendscope.config import Settings

LA = "America/Los_Angeles"
GCP, DBX = "gcp_billing_export", "databricks_usage"


def la(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    """A wall-clock time in Los Angeles (the default reporting zone), as UTC."""
    return dt.datetime(y, m, d, h, mi, tzinfo=ZoneInfo(LA)).astimezone(dt.UTC)


def daily(
    day: dt.date, cost: float, until: dt.datetime, source: str = GCP, tz: str = LA, **dims: Any
) -> dict[str, Any]:
    """One cost_daily row: `cost` billed (list = 1.25 × billed, effective = billed) on reporting day `day`."""
    provider = "Databricks" if source == DBX else "Google Cloud"
    return {"day": day, "tz": tz, "provider": provider, "platform": "databricks" if source == DBX else "gce",
            "service": "Compute Engine", "category": "Compute", "charge_category": "Usage", "currency": "USD",
            "billed_cost": cost, "effective_cost": cost, "list_cost": cost * 1.25, "charges": 1, "unpriced": 0,
            "data_until": until, "x_SourceTable": source, "_day": day, "_source": "test", **dims}  # fmt: skip


def hourly(hour: dt.datetime, cost: float, source: str = GCP, **dims: Any) -> dict[str, Any]:
    """One cost_hourly row: usage spend `cost` in the UTC hour starting at `hour`."""
    return {"hour": hour, "provider": "Google Cloud", "platform": "gke", "service": "Compute Engine",
            "billed_cost": cost, "effective_cost": cost, "charges": 1, "data_until": hour + dt.timedelta(hours=1),
            "x_SourceTable": source, "_day": hour.date(), "_source": "test", **dims}  # fmt: skip


def put(wh: Warehouse, table: str, rows: list[dict[str, Any]]) -> None:
    wh.append(table, pa.Table.from_pylist(rows, schema=TABLES[table].schema))


def context(settings: Settings, wh: Warehouse, now: dt.datetime) -> EvalContext:
    return EvalContext(wh=wh, settings=settings, now=now)


class CountingWarehouse:
    """Wraps a warehouse and counts its queries (to show rules share one memoized read)."""

    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh
        self.queries: list[str] = []

    def query(self, sql: str, params: Any = None) -> pa.Table:
        self.queries.append(sql)
        return self.wh.query(sql, params)
