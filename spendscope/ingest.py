"""The ingest runner: drive one collector, write its batches, record watermarks, quarantine, derive.

Kept apart from the collectors so every source gets the same guarantees: whole-partition replaces,
quarantined rows written with file/line/reason, ingest_state updated only after data is committed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from collectors.base import Batch, Collector, Quarantined, RunContext
from exporters.warehouse import derive, gpu_rollup
from exporters.warehouse.engine import Key
from exporters.warehouse.schema import TABLES

log = logging.getLogger(__name__)


@dataclass
class IngestSummary:
    """What one run did; the CLI prints it and the daemon logs it."""

    collector: str
    rows: dict[str, int] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)
    derived_rows: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def lines(self) -> list[str]:
        out = [f"{self.collector}: {self.total_rows} row(s) ingested"]
        for table, n in sorted(self.rows.items()):
            parts = self.partitions.get(table, 0)
            out.append(f"  {table}: {n} row(s) " + (f"in {parts} partition(s)" if parts else "appended"))
        if self.derived_rows:
            out.append(f"  cost_daily: {self.derived_rows} rollup row(s) refreshed (and cost_hourly)")
        if self.quarantined:
            out.append(
                f"  quarantined: {len(self.quarantined)} row(s) (see: spendscope query "
                '"SELECT * FROM quarantine ORDER BY quarantined_at DESC")'
            )
            for q in self.quarantined[:5]:
                where = f"{q.file}:{q.line}" if q.line is not None else q.file
                out.append(f"    {where}: {q.reason}")
            if len(self.quarantined) > 5:
                out.append(f"    … and {len(self.quarantined) - 5} more")
        return out


def _days(keys: Sequence[Key]) -> set[dt.date]:
    """The `_day`s the keys name (keys without one cover the whole table)."""
    return {d for k in keys if isinstance(d := k.get("_day"), dt.date)}


def run(collector: Collector, ctx: RunContext, paths: Sequence[str] | None = None) -> IngestSummary:
    """Run `collector` (its live source, or `paths`) to completion and write everything it yields."""
    summary = IngestSummary(collector=collector.name)
    items: Iterator[Batch | Quarantined] = collector.collect_files(ctx, paths) if paths else collector.collect(ctx)
    touched: dict[str, set[dt.date] | None] = {}
    # UTC hours of the gpu_samples written → their earliest sample: those minutes of gpu_minutes are redone
    gpu_hours: dict[dt.datetime, dt.datetime] = {}
    try:
        for item in items:
            if isinstance(item, Quarantined):
                summary.quarantined.append(item)
                continue
            data = gpu_rollup.tap_hours(item.data, gpu_hours) if item.table == "gpu_samples" else item.data
            n = 0 if item.in_place else ctx.warehouse.replace(item.table, data, item.keys)
            summary.rows[item.table] = summary.rows.get(item.table, 0) + n
            summary.partitions[item.table] = summary.partitions.get(item.table, 0) + len(item.keys)
            if item.state:
                _record_state(ctx, item.state)
            _touch(touched, item.table, _days(item.keys))
    finally:
        # Even when a later batch fails, what was committed gets its derived rows, and quarantined
        # rows are written: nothing half-visible, nothing lost.
        try:
            summary.derived_rows += _derive(ctx, touched, gpu_hours)
        finally:
            if summary.quarantined:
                _write_quarantine(ctx, summary.quarantined)
    return summary


def _touch(touched: dict[str, set[dt.date] | None], table: str, days: set[dt.date]) -> None:
    seen = touched.get(table, set())
    # Keys not by day (a price list, a whole source): rebuild the table's derived rows whole.
    touched[table] = seen | days if days and seen is not None else None


def _derive(
    ctx: RunContext, touched: dict[str, set[dt.date] | None], gpu_hours: dict[dt.datetime, dt.datetime] | None = None
) -> int:
    if gpu_hours:
        defer = ctx.options.get("defer_rollup")
        if callable(defer):  # the daemon: its gpu-rollup job refreshes these minutes (late ones included)
            defer(gpu_hours)
        else:
            gpu_rollup.refresh_hours(ctx.warehouse, gpu_hours, ctx.settings.telemetry)
    if "databricks_list_prices" in touched:
        touched.pop("databricks_usage", None)  # the price refresh re-derives every usage day already
    tz = ctx.settings.reporting.timezone
    return sum(derive.refresh(ctx.warehouse, table, days, tz) for table, days in touched.items())


def _record_state(ctx: RunContext, rows: Sequence[dict[str, object]]) -> None:
    now = ctx.now()
    full = [{"ingested_at": now, "_day": now.date(), **r} for r in rows]
    table = pa.Table.from_pylist(full)
    keys = [{"source": r["source"], "partition": r["partition"]} for r in rows]
    ctx.warehouse.replace("ingest_state", table, keys)


def _write_quarantine(ctx: RunContext, rows: list[Quarantined]) -> None:
    now = ctx.now()
    table = pa.Table.from_pylist(
        [
            {
                "table_name": q.table,
                "file": q.file,
                "line": q.line,
                "reason": q.reason,
                "raw": q.raw[:10_000],
                "quarantined_at": now,
                "_day": now.date(),
                "_source": q.file,
            }
            for q in rows
        ],
        schema=TABLES["quarantine"].schema,
    )
    ctx.warehouse.append("quarantine", table)
    log.warning("quarantined rows:%s collector-table:%s", len(rows), rows[0].table)
