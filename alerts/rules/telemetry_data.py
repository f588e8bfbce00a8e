"""Recent telemetry and inventory as the idle, threshold and runtime rules read them.

The window rules (idle, threshold) have the warehouse aggregate their windows: each gets back one row per
series or per hit, so what a rule holds does not grow with the window or the fleet's minutes. The latest
inventory is one query per evaluation, shared by every rule (EvalContext.query memoizes by SQL and parameters).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from spendscope.economics import PLATFORMS, HostMap, mig_weight_sql
from spendscope.records import Resource

if TYPE_CHECKING:
    from alerts.context import EvalContext

HOUR = dt.timedelta(hours=1)
US = 1_000_000
# Upstream states in which a resource's VMs are up (Databricks RESIZING, GKE RUNNING_WITH_ERROR and
# RECONCILING keep their nodes): anything else — TERMINATED, STOPPING, PENDING, … — is not running.
RUNNING_STATES = frozenset({"RUNNING", "RESIZING", "RUNNING_WITH_ERROR", "RECONCILING"})

# The rows the window rules judge, aggregated in the warehouse: a rule gets one row per series (or per hit), never
# the window's raw rows. An hour of 1,536 GPUs is ~92K minute rows; loaded into Arrow and joined in Python they
# made the daemon's RSS grow with the window for its first hour (bench/daemon_replay.py: +45 MB from 5 to 60
# minutes of history with the rules on, +7 MB with them off). Each row: `series` (one GPU or MIG instance, or
# one host interface), the span it measures in epoch µs (t0, t1: a minute row [minute, minute + 1m), a network
# sample the `interval_seconds` before its ts) and `v`, the judged value; rows without a value are not read.
# `{value}` is one of GPU_VALUES / NET_VALUES below: fixed SQL of this module, never text from a rule file.
_GPU_ROWS = f"""
SELECT
  CONCAT(IFNULL(host, ''), '|', IFNULL(gpu_uuid, ''), '|', IFNULL(CAST(gpu_index AS STRING), ''), '|',
         IFNULL(mig_instance, '')) AS series,
  host, gpu_index, gpu_uuid, gpu_model, mig_instance, {mig_weight_sql()} AS w, busy,
  UNIX_MICROS(minute) AS t0, UNIX_MICROS(minute) + 60000000 AS t1, {{value}} AS v
FROM gpu_minutes
WHERE _day BETWEEN @dmin AND @dmax AND minute >= @start AND minute <= @now AND {{value}} IS NOT NULL
"""

_NET_ROWS = """
SELECT
  CONCAT(IFNULL(host, ''), '|', IFNULL(interface, '')) AS series, host, interface,
  UNIX_MICROS(ts) - CAST(IFNULL(interval_seconds, 0) * 1000000 AS INT64) AS t0, UNIX_MICROS(ts) AS t1, {value} AS v
FROM net_samples
WHERE _day BETWEEN @dmin AND @dmax AND ts > @start AND ts <= @now AND {value} IS NOT NULL
"""

GPU_VALUES = {
    "busy": "busy",
    "gpu_util_ratio": "gpu_util_ratio",
    "gpu_memory_ratio": "SAFE_DIVIDE(fb_used_bytes, fb_total_bytes)",
    "gpu_temp_celsius_max": "gpu_temp_celsius_max",
    "power_watts": "power_watts",
    "xid_last": "xid_last",
}
NET_VALUES = {"saturation_ratio": "saturation_ratio"}
GPU_KEYS = ("series", "host", "gpu_index", "gpu_uuid", "mig_instance", "gpu_model")
NET_KEYS = ("series", "host", "interface")

_HOSTS_SQL = "SELECT DISTINCT IFNULL(host, '') AS host FROM ({rows})"

# Idle windows: every host's inventory item (@items) and that item's window length (@spans, µs) come from the
# caller; an item's window ends at the end of its newest minute (`anchor`), and is judged only when that is
# at least @fresh. A series counts when it has data inside its item's window; covered_s is how many seconds
# of the window its rows measure.
_IDLE_SQL = """
WITH m AS (
  -- Offsets joined rather than @items[OFFSET(i)]: bqemulator misreads the subscript (one element off).
  SELECT h AS host_key, it AS item, sp AS span
  FROM UNNEST(@hosts) AS h WITH OFFSET AS i
  JOIN UNNEST(@items) AS it WITH OFFSET AS j ON i = j
  JOIN UNNEST(@spans) AS sp WITH OFFSET AS k ON i = k
),
a AS (
  SELECT r.*, m.span, MAX(r.t1) OVER (PARTITION BY m.item) AS anchor
  FROM ({rows}) AS r JOIN m ON IFNULL(r.host, '') = m.host_key
)
SELECT series, host, MAX(w) AS w, SUM(LEAST(t1, anchor) - GREATEST(t0, anchor - span)) / 1e6 AS covered_s,
       CAST(COUNTIF(busy) AS INT64) AS busy_minutes, MAX(t0) AS last_seen
FROM a
WHERE anchor >= @fresh AND t1 > anchor - span AND t0 < anchor
GROUP BY series, host
ORDER BY series
"""

# Threshold windows: with @any, [@w0, @w1) for every series and a hit is any matching row; else each series'
# newest @dur of data (ending at its newest row, which must reach @fresh), a hit when every row matches and
# the rows cover at least @need seconds. @op is one of the threshold rule's >, >=, <, <=. Ordered by series, so a
# finding lists its GPUs in the same order on either engine.
_THRESHOLD_SQL = """
WITH s AS (
  SELECT r.*, MAX(t1) OVER (PARTITION BY series) AS t_last FROM ({rows}) AS r
),
j AS (
  SELECT *, IF(@any, @w0, t_last - @dur) AS lo, IF(@any, @w1, t_last) AS hi,
         CASE @op WHEN '>' THEN v > @limit WHEN '>=' THEN v >= @limit WHEN '<' THEN v < @limit
                  ELSE v <= @limit END AS ok
  FROM s
  WHERE @any OR t_last >= @fresh
)
SELECT {keys}, CAST(COUNTIF(ok) AS INT64) AS matching, COUNT(*) AS samples,
       SUM(LEAST(t1, hi) - GREATEST(t0, lo)) / 1e6 AS covered_s,
       MIN(v) AS v_min, MAX(v) AS v_max, AVG(v) AS v_mean, MIN(t0) AS t0_min, MAX(t1) AS t1_max
FROM j
WHERE t1 > lo AND t0 < hi
GROUP BY {keys}
HAVING IF(@any, COUNTIF(ok) > 0, COUNTIF(ok) = COUNT(*) AND SUM(LEAST(t1, hi) - GREATEST(t0, lo)) / 1e6 >= @need)
ORDER BY series
"""

# The newest row of every item observed in the day up to now (LATEST_INVENTORY_SQL, bounded by now so a
# replayed evaluation does not see the future).
_INVENTORY_SQL = """
SELECT observed_at, platform, kind, resource_id, resource_name, cluster, state, project, location, nodes,
       gpu_count, started_at, labels, hosts, price_usd_per_hour
FROM inventory
WHERE _day BETWEEN @dmin AND @dmax AND observed_at > @since AND observed_at <= @now
QUALIFY ROW_NUMBER() OVER (PARTITION BY platform, resource_id ORDER BY observed_at DESC) = 1
"""


def hours_for(*spans: dt.timedelta) -> int:
    """Whole hours to read so the longest span fits (rules with spans up to an hour read the same hour)."""
    return max(1, math.ceil(max(spans, default=HOUR) / HOUR))


def us(t: dt.datetime) -> int:
    """A time as epoch microseconds."""
    return int(t.timestamp() * US)


def _rows_sql(source: str, value: str) -> str:
    """The row SELECT of `source` ("gpu" or "net") judging `value`, a key of GPU_VALUES / NET_VALUES."""
    if source == "gpu":
        return _GPU_ROWS.format(value=GPU_VALUES[value])
    return _NET_ROWS.format(value=NET_VALUES[value])


def _span_params(ctx: EvalContext, source: str, hours: int) -> dict[str, Any]:
    start = ctx.now - hours * HOUR
    if source == "gpu":
        return {"start": start, "now": ctx.now, "dmin": start.date(), "dmax": ctx.now.date()}
    # net_samples are dated by their collector: read a day either side, the ts range does the rest.
    day = dt.timedelta(days=1)
    return {"start": start, "now": ctx.now, "dmin": start.date() - day, "dmax": ctx.now.date() + day}


def idle_stats(
    ctx: EvalContext, hours: int, item_of: Callable[[str], tuple[str, int]], fresh: dt.datetime
) -> list[dict[str, Any]]:
    """Per GPU series in its item's idle window: host, w (max), covered_s, busy_minutes, last_seen (epoch µs).

    `item_of(host)` names the host's item and that item's window in µs; rows of the last `hours` hours with a
    `busy` value are read, and items whose newest minute ends before `fresh` are left out.
    """
    rows = _rows_sql("gpu", "busy")
    params = _span_params(ctx, "gpu", hours)
    hosts = [r["host"] for r in ctx.query(_HOSTS_SQL.format(rows=rows), params).to_pylist()]
    if not hosts:
        return []
    items = [item_of(h) for h in hosts]
    got = ctx.query(
        _IDLE_SQL.format(rows=rows),
        {**params, "hosts": hosts, "items": [i[0] for i in items], "spans": [i[1] for i in items], "fresh": us(fresh)},
    )
    return got.to_pylist()


def threshold_hits(
    ctx: EvalContext,
    source: str,
    value: str,
    hours: int,
    *,
    op: str,
    limit: float,
    window: tuple[int, int] | None = None,
    duration_us: int = 0,
    fresh: dt.datetime | None = None,
    need_s: float = 0.0,
) -> list[dict[str, Any]]:
    """The series of `source` whose `value` matched `op limit` in their window, with the window's figures.

    `window` (epoch µs): one window for every series, where any matching row is a hit. Without it each series'
    window is its newest `duration_us` of data, which must reach `fresh`, and a hit needs every row to match
    and `need_s` seconds covered. Rows: the keys, matching, samples, covered_s, v_min/v_max/v_mean, t0_min, t1_max.
    """
    keys = ", ".join(GPU_KEYS if source == "gpu" else NET_KEYS)
    params = _span_params(ctx, source, hours)
    w0, w1 = window or (0, 0)
    params.update(any=window is not None, w0=w0, w1=w1, dur=duration_us, op=op, limit=float(limit),
                  fresh=us(fresh or ctx.now), need=need_s - 1e-6)  # fmt: skip
    sql = _THRESHOLD_SQL.format(rows=_rows_sql(source, value), keys=keys)
    return ctx.query(sql, params).to_pylist()


def inventory(ctx: EvalContext) -> list[dict[str, Any]]:
    """The latest row of every inventory item observed in the day up to ctx.now."""

    def compute() -> list[dict[str, Any]]:
        since = ctx.now - dt.timedelta(days=1)
        params = {"since": since, "now": ctx.now, "dmin": since.date() - dt.timedelta(days=1),
                  "dmax": ctx.now.date() + dt.timedelta(days=1)}  # fmt: skip
        rows: list[dict[str, Any]] = ctx.query(_INVENTORY_SQL, params).to_pylist()
        return rows

    return ctx.cached("inventory_latest", compute)


def hosts(ctx: EvalContext) -> HostMap:
    """Host → inventory item over the latest inventory (an unknown host is `unknown` when there is any)."""
    return ctx.cached("inventory_hosts", lambda: HostMap([r for r in inventory(ctx) if r["platform"] in PLATFORMS]))


def by_item(ctx: EvalContext) -> dict[tuple[str, str], dict[str, Any]]:
    """(platform, resource_id) → its latest inventory row."""
    return ctx.cached("inventory_by_item", lambda: {(r["platform"], r["resource_id"]): r for r in inventory(ctx)})


def kv(labels: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    """A KV_LIST column value as a dict."""
    return {e["key"]: e["value"] for e in labels or [] if e.get("key") is not None and e.get("value") is not None}


def resource(row: Mapping[str, Any]) -> Resource:
    """The Resource an auto-shutdown action acts on, from an inventory row."""
    return Resource(
        platform=row["platform"],
        kind=row["kind"],
        resource_id=row["resource_id"],
        name=row.get("resource_name"),
        project=row.get("project"),
        location=row.get("location"),
        cluster=row.get("cluster"),
        state=row.get("state"),
        labels=kv(row.get("labels")),
        price_usd_per_hour=row.get("price_usd_per_hour"),
        hosts=tuple(row.get("hosts") or ()),
    )


def running(row: Mapping[str, Any]) -> bool:
    """Whether the row's upstream state says its VMs are up."""
    return (row.get("state") or "").upper() in RUNNING_STATES


def excluded(labels: Mapping[str, str], exclude: Mapping[str, str]) -> bool:
    """Whether a label matches `exclude` (key → value, '*' for any value)."""
    return any(k in labels and v in ("*", labels[k]) for k, v in exclude.items())


def iso(us: int | None) -> str | None:
    """Epoch µs as ISO 8601 UTC."""
    return None if us is None else dt.datetime.fromtimestamp(us / US, dt.UTC).isoformat()


def label_value(value: Any) -> str:
    """A label value: text, '' for none."""
    return "" if value is None else str(value)


def drop_empty(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels without empty values (an absent label and an empty one are the same to Alertmanager)."""
    return {k: v for k, v in labels.items() if v != ""}
