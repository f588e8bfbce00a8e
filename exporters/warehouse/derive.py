"""Derived tables, refreshed incrementally after each ingest: `focus_costs` from every raw cost table.

Each raw table has one BigQuery-dialect SQL file that maps a set of its `_day` partitions to FOCUS
rows; the refresh replaces exactly those partitions of `focus_costs` (tagged by `x_SourceTable`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from exporters.warehouse.engine import Warehouse
from exporters.warehouse.sqltext import load_sql

log = logging.getLogger(__name__)

DAYS_PER_REFRESH = 31

# raw table → SQL file deriving its focus_costs rows for @days.
FOCUS_SOURCES = {
    "gcp_billing_export": "focus_gcp",
    "databricks_usage": "focus_databricks",
    "focus_import": "focus_import",
}


def refresh_focus(wh: Warehouse, table: str, days: Iterable[dt.date] | None = None) -> int:
    """Recompute focus_costs for `days` of `table` (all of its days when None); returns rows written."""
    if table == "databricks_list_prices":
        # A price change re-prices every usage row it covers: rebuild all Databricks rows.
        return refresh_focus(wh, "databricks_usage", None)
    sql_name = FOCUS_SOURCES.get(table)
    if sql_name is None:
        return 0
    if days is None:
        found = wh.query(f"SELECT DISTINCT _day FROM {table}").column("_day").to_pylist()
        day_list = sorted(d for d in found if d is not None)
        keys: list[dict[str, object]] = [{"x_SourceTable": table}]  # also clears rows of vanished days
    else:
        day_list = sorted(set(days))
        keys = [{"x_SourceTable": table, "_day": d} for d in day_list]
    if not day_list and days is not None:
        return 0
    sql = load_sql(sql_name)
    if days is None:
        # Whole-table rebuild (prices changed): one replace, so rows of vanished days go too.
        n = wh.replace_from_query("focus_costs", sql, {"days": day_list}, keys)
    else:
        # A few days at a time bounds memory on big backfills; each chunk's replace is atomic.
        n = 0
        for i in range(0, len(day_list), DAYS_PER_REFRESH):
            chunk = day_list[i : i + DAYS_PER_REFRESH]
            n += wh.replace_from_query("focus_costs", sql, {"days": chunk}, keys[i : i + DAYS_PER_REFRESH])
    log.info("derived table:focus_costs source:%s days:%s rows:%s", table, len(day_list), n)
    return n
