"""Per (billing account, day) keys and totals of normalized rows: the replace keys and ingest_state rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

STATE_SOURCE = "gcp_billing:file"
_KEY = ["billing_account_id", "_day"]


@dataclass(frozen=True)
class Stats:
    """Totals of one (account, day): rows, Σ cost, max export_time (the watermark), max usage_end_time."""

    rows: int
    cost: float
    watermark: dt.datetime | None
    max_usage_end: dt.datetime | None

    def merge(self, other: Stats) -> Stats:
        """The totals of both."""
        return Stats(
            self.rows + other.rows,
            self.cost + other.cost,
            _max(self.watermark, other.watermark),
            _max(self.max_usage_end, other.max_usage_end),
        )


Summary = dict[tuple[str, dt.date], Stats]


def _max(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else max(a, b)


def keys_of(table: pa.Table) -> set[tuple[str, dt.date]]:
    """The distinct (billing_account_id, _day) pairs of `table`."""
    if not table.num_rows:
        return set()
    g = table.select(_KEY).group_by(_KEY).aggregate([])
    return set(zip(g.column(_KEY[0]).to_pylist(), g.column(_KEY[1]).to_pylist(), strict=True))


def summarize(table: pa.Table) -> Summary:
    """Stats per (billing_account_id, _day) of normalized rows (every row has both)."""
    if not table.num_rows:
        return {}
    g = table.group_by(_KEY).aggregate(
        [("cost", "sum"), ("cost", "count"), ("export_time", "max"), ("usage_end_time", "max")]
    )
    cols = [g.column(c).to_pylist() for c in (*_KEY, "cost_count", "cost_sum", "export_time_max", "usage_end_time_max")]
    return {(a, d): Stats(n, s or 0.0, w, e) for a, d, n, s, w, e in zip(*cols, strict=True)}


def merge(into: Summary, part: Summary) -> None:
    """Add `part`'s stats to `into`."""
    for key, stats in part.items():
        into[key] = into[key].merge(stats) if key in into else stats


def state_rows(summary: Summary) -> list[dict[str, Any]]:
    """ingest_state rows: one per (account, day) a file ingest replaced."""
    return [
        {
            "source": STATE_SOURCE,
            "partition": f"{day.isoformat()}|{acct}",
            "watermark": s.watermark,
            "max_usage_end": s.max_usage_end,
            "rows": s.rows,
            "cost": s.cost,
        }
        for (acct, day), s in sorted(summary.items())
    ]
