"""One inventory row (the `inventory` table's columns as a dict) and the small conversions every source shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from exporters.warehouse.schema.telemetry import INVENTORY

Row = dict[str, Any]


def new_row(now: dt.datetime, platform: str, kind: str, source: str, **values: Any) -> Row:
    """A row with every inventory column, observed at `now` (its UTC date is the `_day` partition)."""
    row: Row = dict.fromkeys(INVENTORY.names)
    row.update(values)
    row.update(observed_at=now, platform=platform, kind=kind, _day=now.astimezone(dt.UTC).date(), _source=source)
    row["labels"] = row["labels"] or []
    row["hosts"] = row["hosts"] or []
    return row


def labels(*maps: Mapping[str, str] | None) -> list[dict[str, str]]:
    """Merged key/value list, sorted by key; a key in an earlier map wins over a later one."""
    merged: dict[str, str] = {}
    for m in reversed(maps):
        merged.update({str(k): str(v) for k, v in (m or {}).items()})
    return [{"key": k, "value": merged[k]} for k in sorted(merged)]


def unique(values: Iterable[str | None]) -> list[str]:
    """Non-empty values, first occurrence kept, in order."""
    return list(dict.fromkeys(v for v in values if v))


def from_epoch_ms(ms: int | None) -> dt.datetime | None:
    """Databricks epoch milliseconds as UTC; None for absent or zero."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC) if ms else None


def from_rfc3339(text: str | None) -> dt.datetime | None:
    """A GCP RFC 3339 timestamp (any offset, fractional seconds or not) as UTC; None when absent or unreadable."""
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def to_table(rows: list[Row]) -> pa.Table:
    """The rows as an Arrow table in the `inventory` schema."""
    return pa.Table.from_pylist(rows, schema=INVENTORY)
