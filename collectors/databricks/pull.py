"""The live pull's plan: the statements, the usage_date windows, the watermark, the ingest-state rows.

Usage is pulled by `usage_date`: from (the last pulled usage_date − trailing_days), or the last
`initial_days` on the first run, through today (UTC, as system tables date usage). Older days are
re-pulled too when rows for them were ingested since the last watermark (corrections arrive later as
RETRACTION / RESTATEMENT records with a new ingestion_date): a small DISTINCT query finds them, and
each such day is its own window. Each window is one statement — INLINE results are capped at
25 MiB, so a week per statement keeps each result, and the memory holding it, bounded — and one
batch that replaces those whole days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from exporters.warehouse import Warehouse

# MAP and STRUCT columns are selected as JSON text: JSON_ARRAY would render them in a form we'd
# otherwise have to guess, and to_json keeps nested members and types.
USAGE_SQL = """SELECT record_id, account_id, workspace_id, sku_name, cloud,
  usage_start_time, usage_end_time, usage_date,
  to_json(custom_tags) AS custom_tags,
  usage_unit, usage_quantity,
  to_json(usage_metadata) AS usage_metadata,
  to_json(identity_metadata) AS identity_metadata,
  record_type, ingestion_date, billing_origin_product,
  to_json(product_features) AS product_features,
  usage_type
FROM system.billing.usage
WHERE usage_date >= :since AND (:until IS NULL OR usage_date < :until)"""

# Days before the trailing window that received rows since the last pull's ingestion watermark.
LATE_DAYS_SQL = """SELECT DISTINCT usage_date
FROM system.billing.usage
WHERE ingestion_date >= :mark AND usage_date < :since
ORDER BY usage_date"""

# The price table is small (one row per price change per SKU): always read whole.
PRICES_SQL = """SELECT price_start_time, price_end_time, account_id, sku_name, cloud,
  currency_code, usage_unit, to_json(pricing) AS pricing
FROM system.billing.list_prices"""


def source_name(host: str) -> str:
    """`databricks:<host>` without scheme or trailing slash: the ingest_state source of a workspace."""
    bare = host.split("://", 1)[-1].rstrip("/")
    return f"databricks:{bare}"


def last_pulled_day(wh: Warehouse, source: str) -> dt.date | None:
    """The latest usage_date partition recorded in ingest_state for `source`, if any."""
    got = wh.query("SELECT MAX(`partition`) AS p FROM ingest_state WHERE source = @source", {"source": source})
    value = got.column("p")[0].as_py() if got.num_rows else None
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def start_day(last: dt.date | None, today: dt.date, trailing_days: int, initial_days: int) -> dt.date:
    """Where the pull starts: trailing days before the last pulled day, else `initial_days` ago."""
    if last is None:
        return today - dt.timedelta(days=initial_days)
    return min(last, today) - dt.timedelta(days=trailing_days)


def windows(since: dt.date, today: dt.date, size: int) -> Iterator[tuple[dt.date, dt.date | None]]:
    """[start, until) windows of `size` days from `since`; the last is open-ended (until None)."""
    start = since
    while True:
        until = start + dt.timedelta(days=size)
        if until > today:
            yield start, None
            return
        yield start, until
        start = until


def window_days(start: dt.date, until: dt.date | None, today: dt.date) -> list[dt.date]:
    """Every day a window covers: its rows replace those days whole, even days that came back empty."""
    end = until or today + dt.timedelta(days=1)
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def state_rows(table: pa.Table, source: str) -> list[dict[str, Any]]:
    """One ingest_state row per usage_date: rows, max ingestion_date (as the watermark), max usage_end."""
    if table.num_rows == 0:
        return []
    grouped = table.group_by("_day").aggregate(
        [("usage_end_time", "max"), ("ingestion_date", "max"), ("_day", "count")]
    )
    out = []
    for r in grouped.to_pylist():
        ingested = r["ingestion_date_max"]
        end = r["usage_end_time_max"]
        mark = dt.datetime(ingested.year, ingested.month, ingested.day, tzinfo=dt.UTC) if ingested else end
        out.append(
            {"source": source, "partition": r["_day"].isoformat(), "watermark": mark,
             "max_usage_end": end, "rows": r["_day_count"], "cost": None}
        )  # fmt: skip
    return out


def days_in(table: pa.Table) -> set[dt.date]:
    """The `_day` values present in a table."""
    return set(pc.unique(table.column("_day")).to_pylist()) if table.num_rows else set()
