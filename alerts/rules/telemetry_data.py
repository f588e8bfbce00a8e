"""Recent telemetry and inventory as the idle, threshold and runtime rules read them: one query each per evaluation.

The SQL texts are fixed and their parameters depend only on `ctx.now` (and a whole number of hours to
read), so every rule of an evaluation shares one read of the last hour of `gpu_minutes`, one of
`net_samples` and one of the latest inventory (EvalContext.query memoizes them); each rule then works
on the Arrow tables in memory. Rows carry `series` (one GPU or MIG instance, or one host interface) and
the span of time they measure in epoch microseconds (`t0`, `t1`): a minute row measures [minute,
minute + 1m), a network sample the `interval_seconds` before its `ts`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from spendscope.economics import PLATFORMS, HostMap, mig_weight_sql
from spendscope.records import Resource

if TYPE_CHECKING:
    from alerts.context import EvalContext

HOUR = dt.timedelta(hours=1)
US = 1_000_000
# Upstream states in which a resource's VMs are up (Databricks RESIZING, GKE RUNNING_WITH_ERROR and
# RECONCILING keep their nodes): anything else — TERMINATED, STOPPING, PENDING, … — is not running.
RUNNING_STATES = frozenset({"RUNNING", "RESIZING", "RUNNING_WITH_ERROR", "RECONCILING"})

_GPU_SQL = f"""
SELECT
  CONCAT(IFNULL(host, ''), '|', IFNULL(gpu_uuid, ''), '|', IFNULL(CAST(gpu_index AS STRING), ''), '|',
         IFNULL(mig_instance, '')) AS series,
  host, gpu_index, gpu_uuid, gpu_model, mig_instance, minute,
  {mig_weight_sql()} AS w,
  busy, gpu_util_ratio, SAFE_DIVIDE(fb_used_bytes, fb_total_bytes) AS gpu_memory_ratio,
  gpu_temp_celsius_max, power_watts, xid_last
FROM gpu_minutes
WHERE _day BETWEEN @dmin AND @dmax AND minute >= @start AND minute <= @now
"""

_NET_SQL = """
SELECT CONCAT(IFNULL(host, ''), '|', IFNULL(interface, '')) AS series, host, interface, ts, interval_seconds,
       saturation_ratio, speed_bytes_per_second
FROM net_samples
WHERE _day BETWEEN @dmin AND @dmax AND ts > @start AND ts <= @now
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
    """Whole hours to read so the longest span fits: rules with spans up to an hour share one read."""
    return max(1, math.ceil(max(spans, default=HOUR) / HOUR))


def us(t: dt.datetime) -> int:
    """A time as epoch microseconds."""
    return int(t.timestamp() * US)


def gpu_rows(ctx: EvalContext, hours: int = 1) -> pa.Table:
    """gpu_minutes of the last `hours` hours with `series`, the MIG weight `w`, `t0`/`t1` (epoch µs)."""

    def compute() -> pa.Table:
        start = ctx.now - hours * HOUR
        got = ctx.query(_GPU_SQL, {"start": start, "now": ctx.now, "dmin": start.date(), "dmax": ctx.now.date()})
        t0 = pc.cast(got["minute"], pa.int64())
        return got.append_column("t0", t0).append_column("t1", pc.add(t0, 60 * US))

    return ctx.cached(("gpu_rows", hours), compute)


def net_rows(ctx: EvalContext, hours: int = 1) -> pa.Table:
    """net_samples of the last `hours` hours with `series` and `t0`/`t1`: the interval each rate is over."""

    def compute() -> pa.Table:
        start = ctx.now - hours * HOUR
        # net_samples are dated by their collector: read a day either side, the ts range does the rest.
        params = {"start": start, "now": ctx.now, "dmin": start.date() - dt.timedelta(days=1),
                  "dmax": ctx.now.date() + dt.timedelta(days=1)}  # fmt: skip
        got = ctx.query(_NET_SQL, params)
        t1 = pc.cast(got["ts"], pa.int64())
        span = pc.cast(pc.multiply(pc.fill_null(got["interval_seconds"], 0.0), float(US)), pa.int64())
        return got.append_column("t0", pc.subtract(t1, span)).append_column("t1", t1)

    return ctx.cached(("net_rows", hours), compute)


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


def in_windows(rows: pa.Table, windows: pa.Table) -> pa.Table:
    """Rows inside their series' window (`windows`: series, w0, w1 in epoch µs), with `covered_s`.

    `covered_s` is how many seconds of [w0, w1) the row measures, so Σ covered_s ÷ window is the coverage.
    """
    j = rows.join(windows, "series", join_type="inner")
    j = j.filter((pc.field("t1") > pc.field("w0")) & (pc.field("t0") < pc.field("w1")))
    lo = pc.max_element_wise(j["t0"], j["w0"])
    hi = pc.min_element_wise(j["t1"], j["w1"])
    return j.append_column("covered_s", pc.divide(pc.cast(pc.subtract(hi, lo), pa.float64()), float(US)))


def newest(rows: pa.Table) -> pa.Table:
    """series → t_last, the end of its newest row."""
    got = rows.group_by("series").aggregate([("t1", "max")])
    return pa.table({"series": got["series"], "t_last": got["t1_max"]})


def iso(us: int | None) -> str | None:
    """Epoch µs as ISO 8601 UTC."""
    return None if us is None else dt.datetime.fromtimestamp(us / US, dt.UTC).isoformat()


def label_value(value: Any) -> str:
    """A label value: text, '' for none."""
    return "" if value is None else str(value)


def drop_empty(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels without empty values (an absent label and an empty one are the same to Alertmanager)."""
    return {k: v for k, v in labels.items() if v != ""}
