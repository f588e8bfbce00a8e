"""Repairing what a set-aside file's days fed (lake_check.py records them; this recomputes and marks them).

- A raw cost table (GCP export, Databricks usage, FOCUS import): its days' cost_daily/cost_hourly rows are
  recomputed from what remains, and the ingest watermarks of those days are forgotten, so the next collector
  run pulls the days again from the source (a BigQuery export or a Databricks table; a file import needs the
  file ingested again — the record says which table and day).
- A rollup (cost_daily, cost_hourly): recomputed for its days from the raw tables.
- gpu_samples: gpu_minutes recomputed for its days from the samples that remain; gpu_minutes: recomputed from
  gpu_samples.
- Any other table: nothing derives from it; its rows in the file are out of the table (the file is kept).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from exporters.warehouse import derive, gpu_rollup
from exporters.warehouse.schema import TABLES
from exporters.warehouse.views import SOURCES

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse
    from spendscope.config_telemetry import TelemetryConfig

log = logging.getLogger(__name__)

# raw table → the ingest_state sources that record watermarks of its partitions ("<day>" or "<day>|…").
STATE_SOURCES = {
    "gcp_billing_export": "gcp_billing:",
    "databricks_usage": "databricks:",
    "focus_import": "focus:",
}


def repair(wh: Warehouse, records: Iterable[dict[str, Any]], tz: str, telemetry: TelemetryConfig) -> list[str]:
    """Recompute what depended on the records' days; one line per table said what was done."""
    days: dict[str, set[dt.date]] = {}
    for r in records:
        if r.get("day"):
            days.setdefault(r["table"], set()).add(dt.date.fromisoformat(r["day"]))
        else:
            days.setdefault(r["table"], set())
    done = []
    for table, its_days in sorted(days.items()):
        done.append(f"{table}: {_repair_table(wh, table, sorted(its_days), tz, telemetry)}")
    for line in done:
        log.warning("lake repair %s", line)
    return done


def _repair_table(wh: Warehouse, table: str, days: list[dt.date], tz: str, telemetry: TelemetryConfig) -> str:
    span = ", ".join(d.isoformat() for d in days) or "all days"
    if table in SOURCES:
        derive.refresh(wh, table, days or None, tz)
        forgotten = forget_watermarks(wh, table, days)
        return (f"rollups recomputed for {span}; {forgotten} ingest watermark(s) forgotten, so the next run of its "
                "collector pulls those days again (a file import: ingest the file again)")  # fmt: skip
    if table in derive.ROLLUPS:
        for source in SOURCES:
            derive.refresh(wh, source, days or None, tz)
        return f"recomputed for {span} from the raw tables"
    if table in ("gpu_samples", "gpu_minutes"):
        hours = [dt.datetime.combine(d, dt.time(h), dt.UTC) for d in days for h in range(24)]
        gpu_rollup.refresh_hours(wh, hours, telemetry)
        return f"gpu_minutes recomputed for {span} from the samples that remain"
    return f"nothing derives from it; the rows of its file for {span} are out of the table (the file is kept)"


def forget_watermarks(wh: Warehouse, table: str, days: list[dt.date]) -> int:
    """Delete the ingest_state rows of `days` for the sources that feed `table`; returns how many."""
    prefix = STATE_SOURCES.get(table)
    if prefix is None or not days:
        return 0
    rows = wh.query(
        "SELECT source, `partition` FROM ingest_state "
        "WHERE STARTS_WITH(source, @prefix) AND SUBSTR(`partition`, 1, 10) IN UNNEST(@days)",
        {"prefix": prefix, "days": [d.isoformat() for d in days]},
    ).to_pylist()
    if rows:
        keys = [{"source": r["source"], "partition": r["partition"]} for r in rows]
        wh.replace("ingest_state", TABLES["ingest_state"].schema.empty_table(), keys)
    return len(rows)
