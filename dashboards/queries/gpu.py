"""GPU efficiency page queries: busy vs idle GPU-hours by host, cluster and team, the top idle clusters with their
$/h, a host × time utilization heatmap, and health (XID errors, temperature, power), all from `gpu_minutes`.

SQL aggregates per host (or per host and time bucket); hosts are mapped to clusters and teams in Python
through dashboards.queries.fleet (economics' host map), so figures match `spendscope gpu-costs` and the idle
rule. A minute is measured when its busy flag is known; a MIG instance weighs its share of a GPU
(economics.mig_weight_sql); utilization is graphics-engine activity, else GPU utilization, as the busy rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from dashboards.queries.fleet import BUCKET_SQL, QUARTER_SQL, Owner, fleet, host_rows, series_query
from exporters.warehouse.engine import Warehouse
from spendscope import economics
from spendscope.config import Settings
from spendscope.costs import NO_FILTER, CostFilter

MAX_HOSTS = 40  # heatmap rows and health table rows; the rest are counted
TOP_IDLE = 10
_W = economics.mig_weight_sql()
_UTIL = "COALESCE(gr_engine_active_ratio, gpu_util_ratio)"
# The window's minutes (UTC bounds of the reporting days: no per-row time zone work), only the columns used.
_MINUTES = f"""
SELECT host, minute, busy, {_UTIL} AS util, xid_last, gpu_temp_celsius_max, power_watts, {_W} AS w,
       COALESCE(gpu_uuid, CONCAT(IFNULL(host, ''), '/', IFNULL(CAST(gpu_index AS STRING), ''))) AS gpu_key,
       IFNULL(mig_instance, '') AS mig
FROM gpu_minutes
WHERE _day BETWEEN @dmin AND @dmax AND minute >= @start AND minute < @end
"""
# DuckDB's COUNTIF over only NULLs is NULL (BigQuery's is 0): counts are SUM(IF(…, 1, 0)).
# Per host over the window: GPUs seen (weighted), measured and busy GPU-hours, mean utilization, health.
_HOSTS_SQL = f"""
WITH g AS (
  SELECT host, gpu_key, mig, ANY_VALUE(w) AS w, SUM(IF(busy IS NULL, 0, 1)) AS measured, SUM(IF(busy, 1, 0)) AS busy_m,
         SUM(util) AS util_sum, COUNT(util) AS util_n, SUM(IF(xid_last > 0, 1, 0)) AS xid_minutes,
         STRING_AGG(DISTINCT IF(xid_last > 0, CAST(CAST(xid_last AS INT64) AS STRING), NULL), ',') AS xids,
         MAX(IF(xid_last > 0, minute, NULL)) AS last_xid, MAX(gpu_temp_celsius_max) AS temp_max,
         SUM(power_watts) AS power_sum, COUNT(power_watts) AS power_n, MAX(power_watts) AS power_max
  FROM ({_MINUTES})
  GROUP BY host, gpu_key, mig
)
SELECT host, SUM(w) AS gpus, SUM(w * measured) / 60 AS measured_gpu_hours, SUM(w * busy_m) / 60 AS busy_gpu_hours,
       SUM(w * util_sum) / NULLIF(SUM(w * util_n), 0) AS utilization,
       CAST(SUM(xid_minutes) AS INT64) AS xid_minutes, STRING_AGG(xids, ',') AS xids, MAX(last_xid) AS last_xid,
       MAX(temp_max) AS temp_max_celsius, SUM(w * power_sum) / NULLIF(SUM(w * power_n), 0) AS power_mean_watts,
       MAX(power_max) AS power_max_watts
FROM g
GROUP BY host
"""
# Per host and local time bucket, through UTC quarter hours (time zone work on the aggregates, not the minutes).
_HEAT_SQL = f"""
WITH q AS (
  SELECT host, {QUARTER_SQL.format(ts="minute")} AS q, SUM(IF(busy IS NULL, 0, w)) AS measured,
         SUM(IF(busy, w, 0)) AS busy_w, SUM(w * util) AS util_sum, SUM(IF(util IS NULL, 0, w)) AS util_w
  FROM ({_MINUTES})
  WHERE host IN UNNEST(@hosts)
  GROUP BY host, q
)
SELECT host, {BUCKET_SQL.format(ts="q")} AS bucket, SUM(measured) / 60 AS gpu_hours,
       SUM(busy_w) / NULLIF(SUM(measured), 0) AS busy_ratio, SUM(util_sum) / NULLIF(SUM(util_w), 0) AS utilization
FROM q
GROUP BY host, bucket
ORDER BY host, bucket
"""
_TREND_SQL = f"""
WITH q AS (
  SELECT {QUARTER_SQL.format(ts="minute")} AS q, MAX(gpu_temp_celsius_max) AS temp_max,
         SUM(w * power_watts) AS power_sum, SUM(IF(power_watts IS NULL, 0, w)) AS power_w,
         SUM(IF(xid_last > 0, 1, 0)) AS xid_minutes
  FROM ({_MINUTES})
  WHERE host IN UNNEST(@hosts)
  GROUP BY q
)
SELECT {BUCKET_SQL.format(ts="q")} AS bucket, MAX(temp_max) AS temp_max_celsius,
       SUM(power_sum) / NULLIF(SUM(power_w), 0) AS power_mean_watts, CAST(SUM(xid_minutes) AS INT64) AS xid_gpu_minutes
FROM q
GROUP BY bucket
ORDER BY bucket
"""
F, S, I64 = pa.float64(), pa.string(), pa.int64()
_HOURS = [("gpus", F), ("measured_gpu_hours", F), ("busy_gpu_hours", F), ("idle_gpu_hours", F), ("busy_ratio", F)]
HOSTS = pa.schema([("host", S), ("platform", S), ("cluster", S), ("team", S), *_HOURS, ("utilization", F),
                   ("xid_minutes", I64), ("xids", S), ("last_xid", pa.timestamp("us", tz="UTC")),
                   ("temp_max_celsius", F), ("power_mean_watts", F), ("power_max_watts", F)])  # fmt: skip
CLUSTERS = pa.schema([("cluster", S), ("platform", S), ("kind", S), ("team", S), ("hosts", I64), *_HOURS,
                      ("utilization", F), ("price_usd_per_hour", F), ("idle_usd_per_hour", F),
                      ("idle_cost_usd", F)])  # fmt: skip
TEAMS = pa.schema([("team", S), ("clusters", I64), *_HOURS, ("idle_cost_usd", F)])
HEALTH = ["host", "cluster", "team", "gpus", "xid_minutes", "xids", "last_xid", "temp_max_celsius",
          "power_mean_watts", "power_max_watts"]  # fmt: skip


@dataclass(frozen=True)
class Efficiency:
    """The page's window figures, all from one per-host read of gpu_minutes."""

    totals: dict[str, Any]  # hosts, gpus, measured / busy / idle GPU-hours, busy_ratio, idle_cost_usd
    hosts: pa.Table  # HOSTS, most GPU-hours first
    clusters: pa.Table  # CLUSTERS, most GPU-hours first
    teams: pa.Table  # TEAMS, most GPU-hours first
    top_idle: pa.Table  # CLUSTERS rows with idle time, most est. idle $ (then idle GPU-hours) first
    health: pa.Table  # HEALTH columns of the first `max_hosts` hosts by XID minutes, then max temperature
    heat_hosts: tuple[str, ...]  # the `max_hosts` hosts with the most GPU-hours: the heatmap's rows
    kept_hosts: tuple[str, ...]  # every host the filters keep
    bucket_hours: int


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _sum(rows: Iterable[dict[str, Any]], key: str) -> float:
    return sum(r[key] or 0.0 for r in rows)


def _host(r: dict[str, Any], o: Owner) -> dict[str, Any]:
    xids = sorted({int(x) for x in (r["xids"] or "").split(",") if x})
    measured, busy = r["measured_gpu_hours"], r["busy_gpu_hours"]
    return {**r, "platform": o.platform, "cluster": o.name, "team": o.team, "idle_gpu_hours": measured - busy,
            "busy_ratio": _ratio(busy, measured), "xids": ", ".join(map(str, xids))}  # fmt: skip


def _group(o: Owner, members: list[dict[str, Any]]) -> dict[str, Any]:
    measured, busy = _sum(members, "measured_gpu_hours"), _sum(members, "busy_gpu_hours")
    known = [m for m in members if m["utilization"] is not None]
    price, count = o.price_usd_per_hour, o.gpu_count
    return {
        "cluster": o.name, "platform": o.platform, "kind": o.kind, "team": o.team, "hosts": len(members),
        "gpus": _sum(members, "gpus"), "measured_gpu_hours": measured, "busy_gpu_hours": busy,
        "idle_gpu_hours": measured - busy, "busy_ratio": _ratio(busy, measured),
        "utilization": _ratio(sum(m["utilization"] * m["measured_gpu_hours"] for m in known),
                              _sum(known, "measured_gpu_hours")),
        "price_usd_per_hour": price,
        "idle_usd_per_hour": None if price is None or not measured else price * (measured - busy) / measured,
        # idle GPU-hours at the item's $ per GPU-hour (inventory $/h ÷ its GPUs): an estimate, not billing
        "idle_cost_usd": None if price is None or not count else (measured - busy) * price / count,
    }  # fmt: skip


def _teams(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for g in groups:
        zero = {"clusters": 0, "gpus": 0.0, "measured_gpu_hours": 0.0, "busy_gpu_hours": 0.0, "idle_gpu_hours": 0.0}
        t = out.setdefault(g["team"], {"team": g["team"], **zero, "idle_cost_usd": None})
        t["clusters"] += 1
        for k in ("gpus", "measured_gpu_hours", "busy_gpu_hours", "idle_gpu_hours"):
            t[k] += g[k]
        if g["idle_cost_usd"] is not None:
            t["idle_cost_usd"] = (t["idle_cost_usd"] or 0.0) + g["idle_cost_usd"]
    rows = [{**t, "busy_ratio": _ratio(t["busy_gpu_hours"], t["measured_gpu_hours"])} for t in out.values()]
    return sorted(rows, key=lambda t: (-t["measured_gpu_hours"], t["team"]))


def _totals(groups: list[dict[str, Any]]) -> dict[str, Any]:
    measured, busy = _sum(groups, "measured_gpu_hours"), _sum(groups, "busy_gpu_hours")
    priced = [g["idle_cost_usd"] for g in groups if g["idle_cost_usd"] is not None]
    return {"hosts": sum(g["hosts"] for g in groups), "gpus": _sum(groups, "gpus"), "measured_gpu_hours": measured,
            "busy_gpu_hours": busy, "idle_gpu_hours": measured - busy, "busy_ratio": _ratio(busy, measured),
            "idle_cost_usd": sum(priced) if priced else None}  # fmt: skip


def efficiency(
    wh: Warehouse,
    s: Settings,
    since: dt.date,
    until: dt.date,
    flt: CostFilter = NO_FILTER,
    max_hosts: int = MAX_HOSTS,
    top: int = TOP_IDLE,
) -> Efficiency:
    """Busy vs idle GPU-hours by host, cluster (inventory item, as the idle rule groups) and team; top idle
    clusters with their $/h and est. idle $; health by host — reporting days `since`..`until` inclusive."""
    got = host_rows(wh, s, _HOSTS_SQL, since, until, flt)
    owners = got.owners
    hosts = sorted((_host(r, owners[r["host"]]) for r in got.rows), key=lambda r: (-r["measured_gpu_hours"], r["host"]))
    by: dict[str, tuple[Owner, list[dict[str, Any]]]] = {}
    for h in hosts:
        by.setdefault(owners[h["host"]].key, (owners[h["host"]], []))[1].append(h)
    groups = sorted((_group(o, m) for o, m in by.values()), key=lambda g: (-g["measured_gpu_hours"], g["cluster"]))
    idle = sorted((g for g in groups if g["idle_gpu_hours"] > 0),
                  key=lambda g: (-(g["idle_cost_usd"] or 0.0), -g["idle_gpu_hours"], g["cluster"]))  # fmt: skip
    sick = sorted(hosts, key=lambda r: (-r["xid_minutes"], -(r["temp_max_celsius"] or 0.0), r["host"]))
    return Efficiency(
        totals=_totals(groups),
        hosts=pa.Table.from_pylist(hosts, schema=HOSTS),
        clusters=pa.Table.from_pylist(groups, schema=CLUSTERS),
        teams=pa.Table.from_pylist(_teams(groups), schema=TEAMS),
        top_idle=pa.Table.from_pylist(idle[:top], schema=CLUSTERS),
        health=pa.Table.from_pylist(sick[:max_hosts], schema=HOSTS).select(HEALTH),
        heat_hosts=tuple(h["host"] for h in hosts[:max_hosts]),
        kept_hosts=tuple(h["host"] for h in hosts),
        bucket_hours=got.bucket_hours,
    )


def heatmap(wh: Warehouse, s: Settings, since: dt.date, until: dt.date, hosts: tuple[str, ...]) -> pa.Table:
    """GPU-hours, busy share and mean utilization per host and local time bucket (Efficiency.heat_hosts)."""
    if not hosts:
        return pa.table({"host": pa.array([], S)})
    return series_query(wh, s, _HEAT_SQL, since, until, hosts=hosts)


def health_trend(wh: Warehouse, s: Settings, since: dt.date, until: dt.date, hosts: tuple[str, ...]) -> pa.Table:
    """Per local time bucket over `hosts`: max GPU temperature, mean power per GPU, GPU-minutes with an XID."""
    if not hosts:
        return pa.table({"bucket": pa.array([], pa.timestamp("us"))})
    return series_query(wh, s, _TREND_SQL, since, until, hosts=hosts)


def idle_now(wh: Warehouse, s: Settings, now: dt.datetime, flt: CostFilter = NO_FILTER, minutes: int = 30) -> pa.Table:
    """economics.idle_now's groups whose GPUs were all idle the last `minutes`, with their $/h and idle $/h."""
    f = fleet(wh, now.date())
    out = []
    for r in economics.idle_now(wh, now, minutes).to_pylist():
        o = f.owner(r["hosts"][0])  # every host of a group has the same owner
        if r["idle"] and f.keep(o, flt):
            keep = ("idle_gpus", "price_usd_per_hour", "idle_cost_usd_per_hour", "last_seen")
            out.append({"cluster": o.name, "platform": r["platform"], "team": o.team, "hosts": len(r["hosts"]),
                        **{k: r[k] for k in keep}})  # fmt: skip
    schema = pa.schema([("cluster", S), ("platform", S), ("team", S), ("hosts", I64), ("idle_gpus", F),
                        ("price_usd_per_hour", F), ("idle_cost_usd_per_hour", F),
                        ("last_seen", pa.timestamp("us", tz="UTC"))])  # fmt: skip
    return pa.Table.from_pylist(sorted(out, key=lambda r: -(r["idle_cost_usd_per_hour"] or 0.0)), schema=schema)
