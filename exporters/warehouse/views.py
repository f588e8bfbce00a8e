"""The views both engines define: each raw cost table mapped to FOCUS, and `focus_costs`, their union.

`focus_costs` is a view, not a copy: ingest writes each raw row once, and every reader sees the FOCUS form of
whatever is committed. Dashboards and `spendscope costs` read the small `cost_daily` rollup instead
(refreshed per ingested partition, see derive.py), so no page scans months of raw rows.
"""

from __future__ import annotations

from exporters.warehouse.schema.focus import FOCUS_COSTS
from exporters.warehouse.sqltext import load_sql

# raw table → (view name, SQL file): the FOCUS rows of that table.
SOURCES: dict[str, tuple[str, str]] = {
    "gcp_billing_export": ("focus_gcp", "focus_gcp"),
    "databricks_usage": ("focus_databricks", "focus_databricks"),
    "focus_import": ("focus_from_import", "focus_import"),
}


def focus_costs_sql() -> str:
    """The union, with an explicit column list so every branch lines up whatever its SELECT order."""
    cols = ", ".join(FOCUS_COSTS.names)
    return "\nUNION ALL\n".join(f"SELECT {cols} FROM {view}" for view, _ in SOURCES.values())


def view_definitions() -> dict[str, str]:
    """name → BigQuery SQL, in dependency order (the per-source views before the union)."""
    views = {view: load_sql(sql_file) for view, sql_file in SOURCES.values()}
    views["focus_costs"] = focus_costs_sql()
    views["spend_live"] = load_sql("spend_live")  # billed where complete, the live estimate after (docs/live.md)
    return views
