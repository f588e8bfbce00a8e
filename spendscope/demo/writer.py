"""Write demo rows to files exactly as the real exports look, byte-identical for the same rows.

GCP: newline-delimited JSON as `bq extract --destination_format NEWLINE_DELIMITED_JSON` writes it
(RECORDs as objects, REPEATED as arrays, TIMESTAMP as "YYYY-MM-DD HH:MM:SS UTC", NULL fields left out).
Databricks: JSON lines as a `SELECT * FROM system.billing.usage` result written by Spark (`df.write.json`):
timestamps ISO-8601 with milliseconds and Z, dates as YYYY-MM-DD, maps as objects, null fields left out.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


@functools.lru_cache(maxsize=1 << 16)
def bq_timestamp(value: dt.datetime) -> str:
    """BigQuery's export text for a TIMESTAMP (UTC, microseconds only when present)."""
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + " UTC"


@functools.lru_cache(maxsize=1 << 16)
def spark_timestamp(value: dt.datetime) -> str:
    """Spark's JSON text for a TIMESTAMP in a UTC session: 2026-11-20T10:00:00.000Z."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]], ts: Callable[[dt.datetime], str]) -> tuple[int, int]:
    """Write rows as JSON lines atomically (temp file, then rename); returns (rows, bytes).

    Rows leave NULL columns out (both exports omit them); dates and timestamps are encoded here.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")

    def encode(value: object) -> str:
        if isinstance(value, dt.datetime):
            return ts(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        raise TypeError(f"cannot write {type(value).__name__} as JSON")

    n = 0
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False, default=encode))
            f.write("\n")
            n += 1
    os.replace(tmp, path)
    return n, path.stat().st_size
