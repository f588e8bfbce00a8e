"""The `gpu_minutes` rollup of raw `gpu_samples`, refreshed an hour at a time, and raw-sample retention.

An hour of minutes is recomputed whole from the samples with ts in [hour, hour + 1h) and replaces the
rows keyed `{"_day": day, "hour": hour}` (gpu_minutes.sql), so re-running a refresh, or ingesting the same
samples twice, never doubles a minute. Two triggers: the ingest runner refreshes the hours a gpu_samples
batch touched (`tap_hours` watches the batch as it is written), and the daemon's gpu-rollup job refreshes
the minutes its collectors wrote since its last run (`refresh_hours` with `since`) after catching up once
with `refresh_recent` (the hours since the rollup's watermark). Hours are UTC: the reporting time zone only applies
when minutes are summed into days (spendscope/economics.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from exporters.warehouse.engine import Data, Warehouse
from exporters.warehouse.schema import TABLES
from exporters.warehouse.sqltext import load_sql
from spendscope.config_telemetry import TelemetryConfig

log = logging.getLogger(__name__)

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
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


def earliest_by_hour(data: pa.Table | pa.RecordBatch) -> dict[dt.datetime, dt.datetime]:
    """UTC hour (floored) → the earliest `ts` of `data` in it."""
    if "ts" not in data.schema.names or data.num_rows == 0:
        return {}
    ts_type = TABLES["gpu_samples"].schema.field("ts").type
    ts = data.column("ts") if data.column("ts").type == ts_type else data.column("ts").cast(ts_type)
    grouped = pa.table({"h": pc.floor_temporal(ts, unit="hour"), "ts": ts}).group_by("h").aggregate([("ts", "min")])
    return {h: t for h, t in zip(grouped["h"].to_pylist(), grouped["ts_min"].to_pylist(), strict=True) if h is not None}


def merge_marks(marks: dict[dt.datetime, dt.datetime], more: dict[dt.datetime, dt.datetime]) -> None:
    """Fold `more` into `marks`, keeping the earliest sample per hour."""
    for hour, ts in more.items():
        marks[hour] = min(ts, marks.get(hour, ts))


def tap_hours(data: Data, marks: dict[dt.datetime, dt.datetime]) -> Data:
    """`data` unchanged for the writer, recording in `marks` each hour of its rows and its earliest sample.

    A table is read at once (and stays a table, which the engine may re-read on a write conflict); a
    stream of batches is wrapped, so it is still consumed only once.
    """
    if isinstance(data, pa.Table):
        merge_marks(marks, earliest_by_hour(data))
        return data

    def watched(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            merge_marks(marks, earliest_by_hour(batch))
            yield batch

    return watched(data)


def _floor_hour(t: dt.datetime) -> dt.datetime:
    return _floor_minute(t).replace(minute=0)


def _floor_minute(t: dt.datetime) -> dt.datetime:
    aware = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).replace(second=0, microsecond=0)


def refresh_hours(
    wh: Warehouse,
    hours: Iterable[dt.datetime],
    telemetry: TelemetryConfig | None = None,
    since: Mapping[dt.datetime, dt.datetime] | None = None,
) -> int:
    """Recompute gpu_minutes for the given UTC hours; returns rows written.

    Without `since`, each hour is recomputed whole (one replace per day). With `since` (hour → the earliest
    sample written into it since the last refresh), only the minutes from that sample's minute on are
    recomputed and replaced (keys by minute), the hour's earlier minutes left as they are: every sample that
    could change a minute is in the minutes recomputed, so the result is the same as a whole-hour refresh.
    """
    cfg = telemetry or TelemetryConfig()
    floored = {_floor_hour(h) for h in hours}
    start = {h: _floor_minute(since[h]) if since and h in since else h for h in floored}
    groups: dict[tuple[dt.date, dt.datetime | None], list[dt.datetime]] = {}
    for h in floored:
        partial = start[h] if start[h] > h else None
        groups.setdefault((h.date(), partial), []).append(h)
    sql = load_sql("gpu_minutes")
    written = 0
    for (day, partial), day_hours in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or dt.datetime.min.replace(tzinfo=dt.UTC))
    ):
        day_hours.sort()
        params = {
            "hours": day_hours,
            "tmin": day_hours[0],
            "tmax": day_hours[-1] + HOUR,
            "from": partial or day_hours[0],
            "dmin": day - dt.timedelta(days=1),
            "dmax": day + dt.timedelta(days=1),
            "busy_gr": float(cfg.busy_gr_engine_active),
            "busy_util": float(cfg.busy_utilization),
        }
        if partial is None:
            keys: list[dict[str, object]] = [{"_day": day, "hour": h} for h in day_hours]
        else:
            # Only the minutes recomputed are replaced; the hour's earlier minutes stay in their files. Replacing
            # the whole hour rewrote up to an hour of minutes every run (92K rows at 1,536 GPUs by its end), so
            # the daemon's memory rose and fell with the position in the hour.
            (hour,) = day_hours
            minutes = int((hour + HOUR - partial) / MINUTE)
            keys = [{"_day": day, "minute": partial + MINUTE * i} for i in range(minutes)]
        written += wh.replace_from_query("gpu_minutes", sql, params, keys)
    if groups:
        log.info("derived table:gpu_minutes hours:%s rows:%s", len(floored), written)
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
