"""Reading what earlier runs recorded in `ingest_state` (the runner writes it; collectors read their watermark)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse


def last_watermark(wh: Warehouse, source: str, partition: str | None = None) -> dt.datetime | None:
    """The latest watermark recorded for `source` (and `partition`, when given); None before the first run."""
    sql = "SELECT MAX(watermark) AS w FROM ingest_state WHERE source = @source"
    params: dict[str, object] = {"source": source}
    if partition is not None:
        sql += " AND `partition` = @partition"
        params["partition"] = partition
    got = wh.query(sql, params)
    value = got.column("w")[0].as_py() if got.num_rows else None
    return value if isinstance(value, dt.datetime) else None
