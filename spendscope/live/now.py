"""The live estimate now: the newest estimated hour summed per platform (run-rate, spend so far, projection).

Read by the Live estimate page (dashboards/queries/live.py re-exports it), the Prometheus exporter
(exporters/prometheus/live.py) and any caller that wants "what are we burning right now".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse
    from spendscope.config import Settings

LATEST_SQL = "SELECT MAX(hour) AS hour FROM cost_estimates WHERE _day >= @dmin AND hour <= @at"
NOW_SQL = """
SELECT platform, COUNT(DISTINCT IF(running, resource_id, NULL)) AS running,
       SUM(IF(running, usd_per_hour * correction, 0)) AS usd_per_hour, SUM(usd) AS usd_so_far,
       SUM(projected_usd) AS projected_usd,
       COUNT(DISTINCT IF(running AND usd IS NULL, resource_id, NULL)) AS unpriced, MAX(until) AS until
FROM cost_estimates
WHERE _day = @day AND hour = @hour
GROUP BY platform
ORDER BY platform
"""


@dataclass(frozen=True)
class LiveNow:
    """The latest estimated hour (the one under way when the live job runs): per platform and in total."""

    hour: dt.datetime | None
    until: dt.datetime | None
    usd_per_hour: float
    usd_so_far: float
    projected_usd: float
    running: int
    unpriced: int
    by_platform: pa.Table


def live_now(wh: Warehouse, settings: Settings, at: dt.datetime) -> LiveNow:
    """The newest hour with an estimate at or before `at` (UTC), summed per platform and overall."""
    got = wh.query(LATEST_SQL, {"dmin": at.date() - dt.timedelta(days=31), "at": at}).column("hour")[0].as_py()
    if got is None:
        return LiveNow(None, None, 0.0, 0.0, 0.0, 0, 0, pa.table({}))
    rows = wh.query(NOW_SQL, {"day": got.date(), "hour": got})
    plist = rows.to_pylist()
    return LiveNow(
        got, max((r["until"] for r in plist), default=None), sum(r["usd_per_hour"] or 0.0 for r in plist),
        sum(r["usd_so_far"] or 0.0 for r in plist), sum(r["projected_usd"] or 0.0 for r in plist),
        sum(r["running"] for r in plist), sum(r["unpriced"] for r in plist), rows,
    )  # fmt: skip
