"""Derived tables, refreshed incrementally after each ingest: the `cost_daily` and `cost_hourly` rollups.

`focus_costs` itself is a view (views.py). After a raw table's partitions are replaced, the rollup rows
of exactly those partitions are recomputed from the view by one BigQuery-dialect SQL for both rollups
(cost_rollups.sql: cost_daily, reporting days and every dimension; cost_hourly, UTC hours of usage for the
spike rule), which the engine runs once and splits by table (`Warehouse.replace_many_from_query`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from exporters.warehouse.engine import Warehouse
from exporters.warehouse.sqltext import load_sql
from exporters.warehouse.views import SOURCES

log = logging.getLogger(__name__)

# Rollups of focus_costs refreshed per ingested source partition, all from sql/cost_rollups.sql.
ROLLUPS = ("cost_daily", "cost_hourly")

# Bounds memory and transaction size on big backfills; each chunk's replace is atomic.
DAYS_PER_REFRESH = 31
# Charges of a partition normally lie within days of it (late exports, adjustments); the quarter-hour
# lookup in cost_rollups.sql covers this window around the partition days and converts the rest row by row.
_LOOKUP_BEFORE, _LOOKUP_AFTER = dt.timedelta(days=45), dt.timedelta(days=2)


def _params(table: str, days: list[dt.date], tz: str) -> dict[str, object]:
    first = days[0] if days else dt.date(1970, 1, 1)
    last = days[-1] if days else first

    def quarter(d: dt.date) -> int:
        return int(dt.datetime.combine(d, dt.time(), dt.UTC).timestamp()) // 900

    return {"days": days, "source": table, "tz": tz,
            "qmin": quarter(first - _LOOKUP_BEFORE), "qmax": quarter(last + _LOOKUP_AFTER)}  # fmt: skip


def refresh(wh: Warehouse, table: str, days: Iterable[dt.date] | None, tz: str) -> int:
    """Recompute the cost rollups for `days` of raw `table` (all of its days when None); returns cost_daily rows."""
    if table == "databricks_list_prices":
        # A price change re-prices every usage row it covers: rebuild all Databricks rows.
        return refresh(wh, "databricks_usage", None, tz)
    if table not in SOURCES:
        return 0
    sql = load_sql("cost_rollups")
    if days is None:
        found = wh.query(f"SELECT DISTINCT _day FROM {table}").column("_day").to_pylist()
        day_list = sorted(d for d in found if d is not None)
        # One replace over the whole source, so rollup rows of vanished days go too.
        counts = wh.replace_many_from_query(
            {rollup: [{"x_SourceTable": table}] for rollup in ROLLUPS}, sql, _params(table, day_list, tz)
        )
    else:
        day_list = sorted(set(days))
        counts = dict.fromkeys(ROLLUPS, 0)
        for i in range(0, len(day_list), DAYS_PER_REFRESH):
            chunk = day_list[i : i + DAYS_PER_REFRESH]
            keys = [{"x_SourceTable": table, "_day": d} for d in chunk]
            done = wh.replace_many_from_query({rollup: keys for rollup in ROLLUPS}, sql, _params(table, chunk, tz))
            counts = {rollup: counts[rollup] + done[rollup] for rollup in ROLLUPS}
    for rollup in ROLLUPS:
        log.info("derived table:%s source:%s days:%s rows:%s", rollup, table, len(day_list), counts[rollup])
    return counts["cost_daily"]


def rebuild_all(wh: Warehouse, tz: str) -> int:
    """Recompute the whole rollups (after the reporting time zone changed, or to repair)."""
    return sum(refresh(wh, table, None, tz) for table in SOURCES)
