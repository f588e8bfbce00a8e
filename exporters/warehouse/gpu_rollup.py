"""The `gpu_minutes` rollup of raw `gpu_samples`, refreshed an hour at a time, and raw-sample retention.

An hour of minutes is recomputed whole from the samples with ts in [hour, hour + 1h) and replaces the
rows keyed `{"_day": day, "hour": hour}` (gpu_minutes.sql), so re-running a refresh, or ingesting the same
samples twice, never doubles a minute. Two triggers: the ingest runner refreshes the hours a gpu_samples
batch touched (`tap_hours` watches the batch as it is written), and `refresh_recent` (a daemon job)
refreshes the hours since the rollup's watermark. Hours are UTC: the reporting time zone only applies
when minutes are summed into days (spendscope/economics.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from exporters.warehouse.engine import Data, Warehouse
from exporters.warehouse.schema import TABLES
from exporters.warehouse.sqltext import load_sql
from spendscope.config_telemetry import TelemetryConfig

log = logging.getLogger(__name__)

HOUR = dt.timedelta(hours=1)
RAW_TABLES = ("gpu_samples", "net_samples")


def hours_of(data: pa.Table | pa.RecordBatch) -> set[dt.datetime]:
    """The distinct UTC hours (floored) of the `ts` column; empty when there is none."""
    if "ts" not in data.schema.names or data.num_rows == 0:
        return set()
    ts = data.column("ts")
    if ts.type != TABLES["gpu_samples"].schema.field("ts").type:
        ts = ts.cast(TABLES["gpu_samples"].schema.field("ts").type)
    floored = pc.unique(pc.floor_temporal(ts, unit="hour"))
    return {h for h in floored.to_pylist() if h is not None}


def tap_hours(data: Data, hours: set[dt.datetime]) -> Data:
    """`data` unchanged for the writer, adding the hours of its rows to `hours` as they go by.

    A table is read at once (and stays a table, which the engine may re-read on a write conflict); a
    stream of batches is wrapped, so it is still consumed only once.
    """
    if isinstance(data, pa.Table):
        hours |= hours_of(data)
        return data

    def watched(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            hours.update(hours_of(batch))
            yield batch

    return watched(data)


def _floor_hour(t: dt.datetime) -> dt.datetime:
    aware = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def refresh_hours(wh: Warehouse, hours: Iterable[dt.datetime], telemetry: TelemetryConfig | None = None) -> int:
    """Recompute gpu_minutes for the given UTC hours (one replace per day); returns rows written."""
    cfg = telemetry or TelemetryConfig()
    by_day: dict[dt.date, list[dt.datetime]] = {}
    for h in {_floor_hour(h) for h in hours}:
        by_day.setdefault(h.date(), []).append(h)
    sql = load_sql("gpu_minutes")
    written = 0
    for day, day_hours in sorted(by_day.items()):
        day_hours.sort()
        params = {
            "hours": day_hours,
            "tmin": day_hours[0],
            "tmax": day_hours[-1] + HOUR,
            "dmin": day - dt.timedelta(days=1),
            "dmax": day + dt.timedelta(days=1),
            "busy_gr": float(cfg.busy_gr_engine_active),
            "busy_util": float(cfg.busy_utilization),
        }
        keys = [{"_day": day, "hour": h} for h in day_hours]
        written += wh.replace_from_query("gpu_minutes", sql, params, keys)
    if by_day:
        log.info("derived table:gpu_minutes hours:%s rows:%s", sum(map(len, by_day.values())), written)
    return written


def refresh_recent(
    wh: Warehouse,
    now: dt.datetime,
    tz: str | None = None,
    telemetry: TelemetryConfig | None = None,
    lookback_hours: int = 2,
) -> int:
    """The daemon job: refresh every sampled hour since the rollup's watermark (at least `lookback_hours`).

    `tz` is accepted for the job signature and unused: minutes are UTC instants. With no rollup yet, the
    whole raw retention window is rolled up once.
    """
    del tz
    cfg = telemetry or TelemetryConfig()
    current = _floor_hour(now)
    horizon = current - dt.timedelta(days=cfg.raw_retention_days + 1)
    found = wh.query(
        "SELECT MAX(hour) AS h FROM gpu_minutes WHERE _day >= @d", {"d": horizon.date()}
    ).column("h")[0].as_py()  # fmt: skip
    start = current - (lookback_hours - 1) * HOUR
    start = horizon if found is None else min(start, _floor_hour(found))
    sampled = wh.query(
        "SELECT DISTINCT TIMESTAMP_TRUNC(ts, HOUR) AS h FROM gpu_samples "
        "WHERE _day >= @d AND ts >= @start AND ts < @end",
        {"d": start.date() - dt.timedelta(days=1), "start": start, "end": current + HOUR},
    ).column("h")
    return refresh_hours(wh, [h for h in sampled.to_pylist() if h is not None], cfg)


def prune_raw(wh: Warehouse, today: dt.date, keep_days: int) -> dict[str, int]:
    """Delete gpu_samples / net_samples day partitions before the last `keep_days` days (today included).

    gpu_minutes is kept. Returns the partitions deleted per table.
    """
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    cut = today - dt.timedelta(days=keep_days - 1)
    deleted: dict[str, int] = {}
    for table in RAW_TABLES:
        days = wh.query(f"SELECT DISTINCT _day FROM {table} WHERE _day < @cut", {"cut": cut}).column("_day")
        keys = [{"_day": d} for d in sorted(d for d in days.to_pylist() if d is not None)]
        if keys:
            wh.replace(table, TABLES[table].schema.empty_table(), keys)
            log.info("retention table:%s partitions_deleted:%s before:%s", table, len(keys), cut)
        deleted[table] = len(keys)
    return deleted
