"""GPU unit economics per platform and reporting day ($ per GPU-hour, $ per busy GPU-hour, idle $), and idle now.

Money and GPU-hours come from billing (unit_economics.sql over focus_costs); how busy the GPUs were comes
from telemetry (gpu_busy_daily.sql over gpu_minutes), each host mapped to its platform through the latest
`inventory` rows. The definitions, null cases and a worked example are in docs/unit-economics.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from collectors.inventory.hosts import HostIndex
from exporters.warehouse.engine import Warehouse
from exporters.warehouse.sqltext import load_sql
from spendscope.config_telemetry import TelemetryConfig

PLATFORMS = ("gce", "gke", "databricks")
UNKNOWN = "unknown"  # telemetry of hosts the inventory does not know: its own row, in no platform's busy share
# Billing rows for a day arrive up to weeks late (adjustments) and sit in later partitions.
_LATE = dt.timedelta(days=45)
_DAY = dt.timedelta(days=1)
# A Databricks node's hostname starts with its cluster id, e.g. 0921-040211-llmft7a2-10-128-0-5.
_DATABRICKS_HOST = re.compile(r"^\d{4}-\d{6}-[a-z0-9]+")

F, S = pa.float64(), pa.string()
UNIT_ECONOMICS = pa.schema(
    [
        pa.field("day", pa.date32()),
        pa.field("platform", S),
        pa.field("gpu_hours", F),
        pa.field("busy_gpu_hours", F),
        pa.field("idle_gpu_hours", F),
        pa.field("gpu_cost_usd", F),
        pa.field("cost_per_gpu_hour_usd", F),
        pa.field("cost_per_busy_gpu_hour_usd", F),
        pa.field("idle_cost_usd", F),
        pa.field("busy_ratio", F),
        pa.field("telemetry_gpu_hours", F),
        pa.field("telemetry_coverage_ratio", F),
        pa.field("training_hours", F),
        pa.field("training_cost_usd", F),
        pa.field("cost_per_training_hour_usd", F),
    ]
)


@dataclass(frozen=True)
class Item:
    """What a host belongs to: an inventory item, or only a platform (name rule, or `unknown`)."""

    platform: str
    kind: str | None = None
    resource_id: str | None = None
    resource_name: str | None = None
    cluster: str | None = None
    gpu_count: int | None = None
    price_usd_per_hour: float | None = None


class HostMap:
    """Host → inventory item (hosts.HostIndex); else `unknown` on days the inventory ran, else the name rule."""

    def __init__(self, rows: Iterable[dict[str, Any]], days: Iterable[dt.date] | None = None) -> None:
        self.index = HostIndex(list(rows))
        self.days = None if days is None else set(days)

    def covers(self, day: dt.date | None = None) -> bool:
        """Whether the inventory ran around `day`: rows that UTC day or one either side (any day when None)."""
        # When it ran it would know the host: an unmatched one is then not guessed from its name.
        if self.days is None:
            return bool(self.index)
        if day is None:
            return bool(self.days)
        return any(day + dt.timedelta(days=k) in self.days for k in (-1, 0, 1))

    def lookup(self, host: str | None, day: dt.date | None = None) -> Item:
        """The host's item; one the inventory does not know is `unknown`, or named by the fallback rule."""
        r = self.index.lookup(host)
        if r is not None:
            return Item(r["platform"], r.get("kind"), r.get("resource_id"), r.get("resource_name"), r.get("cluster"),
                        r.get("gpu_count"), r.get("price_usd_per_hour"))  # fmt: skip
        return Item(UNKNOWN if self.covers(day) else platform_from_name((host or "").lower()))


def platform_from_name(host: str) -> str:
    """The no-inventory fallback: gke-* nodes are GKE, <cluster-id>-* nodes Databricks, any other host GCE."""
    if host.startswith("gke-"):
        return "gke"
    if _DATABRICKS_HOST.match(host):
        return "databricks"
    return "gce"


def host_map(wh: Warehouse, seen_since: dt.date) -> HostMap:
    """The latest observation of every inventory item seen since `seen_since`, and the days it ran."""
    params = {"since": seen_since, "platforms": list(PLATFORMS)}
    rows = wh.query(
        """SELECT platform, kind, resource_id, resource_name, cluster, hosts, gpu_count, price_usd_per_hour
           FROM inventory
           WHERE _day >= @since AND platform IN UNNEST(@platforms)
           QUALIFY ROW_NUMBER() OVER (PARTITION BY platform, resource_id ORDER BY observed_at DESC) = 1""",
        params,
    )
    days = wh.query("SELECT DISTINCT _day AS d FROM inventory WHERE _day >= @since AND platform IN UNNEST(@platforms)",
                    params)  # fmt: skip
    return HostMap(rows.to_pylist(), days.column("d").to_pylist())


def _div(a: float | None, b: float | None) -> float | None:
    """a / b, None when either is unknown or b is 0: a ratio over nothing is not a number."""
    return None if a is None or b is None or b == 0 else a / b


def _row(day: dt.date, platform: str, cost: dict[str, Any], tele: tuple[float, float] | None) -> dict[str, Any]:
    gpu_hours, gpu_cost = cost.get("gpu_hours"), cost.get("gpu_cost_usd")
    measured, busy = tele or (0.0, 0.0)
    busy_ratio = _div(busy, measured)
    busy_hours = None if gpu_hours is None or busy_ratio is None else gpu_hours * busy_ratio
    training_hours, training_cost = cost.get("training_hours"), cost.get("training_cost_usd")
    return {
        "day": day,
        "platform": platform,
        "gpu_hours": gpu_hours,
        "busy_gpu_hours": busy_hours,
        "idle_gpu_hours": None if busy_hours is None or gpu_hours is None else gpu_hours - busy_hours,
        "gpu_cost_usd": gpu_cost,
        "cost_per_gpu_hour_usd": _div(gpu_cost, gpu_hours),
        "cost_per_busy_gpu_hour_usd": _div(gpu_cost, busy_hours),
        "idle_cost_usd": None if gpu_cost is None or busy_ratio is None else gpu_cost * (1 - busy_ratio),
        "busy_ratio": busy_ratio,
        "telemetry_gpu_hours": measured,
        "telemetry_coverage_ratio": _div(measured, gpu_hours),
        "training_hours": training_hours,
        "training_cost_usd": training_cost,
        "cost_per_training_hour_usd": _div(training_cost, training_hours),
    }


def unit_economics(wh: Warehouse, since: dt.date, until: dt.date, tz: str) -> pa.Table:
    """One row per reporting day and platform with GPU billing or GPU telemetry, `since`..`until` inclusive.

    Telemetry of hosts the inventory does not know (on days it ran) is a row of platform `unknown` with only
    the telemetry columns (`telemetry_gpu_hours`, `busy_ratio`): it is in no platform's busy share.
    """
    costs = wh.query(
        load_sql("unit_economics"),
        {"since": since, "until": until, "tz": tz, "dmin": since - _DAY, "dmax": until + _LATE},
    )
    by_key: dict[tuple[dt.date, str], dict[str, Any]] = {(r["day"], r["platform"]): r for r in costs.to_pylist()}
    busy = wh.query(
        load_sql("gpu_busy_daily"),
        {"since": since, "until": until, "tz": tz, "dmin": since - _DAY, "dmax": until + _DAY},
    )
    hosts = host_map(wh, since - _DAY)
    tele: dict[tuple[dt.date, str], tuple[float, float]] = {}
    for r in busy.to_pylist():
        key = (r["day"], hosts.lookup(r["host"], r["day"]).platform)
        measured, busy_h = tele.get(key, (0.0, 0.0))
        tele[key] = (measured + (r["measured_gpu_hours"] or 0.0), busy_h + (r["busy_gpu_hours"] or 0.0))
    rows = [_row(d, p, by_key.get((d, p), {}), tele.get((d, p))) for d, p in sorted(by_key.keys() | tele.keys())]
    return pa.Table.from_pylist(rows, schema=UNIT_ECONOMICS)


def mig_weight_sql(profile: str = "mig_profile", model: str = "gpu_model") -> str:
    """SQL for the share of a GPU one row is: 1 for a whole GPU; a MIG instance weighs its compute slices ÷ its
    GPU's (A30: 4, A100/H100/H200/B200: 7), as in gpu_busy_daily.sql. `profile`/`model` are the expressions."""
    return (
        f"IF(mig_instance IS NULL, 1.0, IFNULL(SAFE_CAST(REGEXP_EXTRACT({profile}, r'^(\\d+)g') AS FLOAT64), 1.0)"
        f" / IF(STRPOS(UPPER(IFNULL({model}, '')), 'A30') > 0, 4, 7))"
    )


_IDLE_SQL = f"""
SELECT host, gpu_uuid, gpu_index, mig_instance,
       {mig_weight_sql("ANY_VALUE(mig_profile)", "ANY_VALUE(gpu_model)")} AS w,
       CAST(COUNTIF(busy IS NOT NULL) AS INT64) AS measured_minutes, CAST(COUNTIF(busy) AS INT64) AS busy_minutes,
       MAX(minute) AS last_seen
FROM gpu_minutes
WHERE _day BETWEEN @dmin AND @dmax AND minute >= @start AND minute < @end
GROUP BY host, gpu_uuid, gpu_index, mig_instance
HAVING COUNTIF(busy IS NOT NULL) > 0
"""

IDLE_NOW = pa.schema(
    [
        pa.field("platform", S),
        pa.field("cluster", S),  # GKE / Databricks cluster name, else the resource's or the host's name
        pa.field("kind", S),
        pa.field("resource_id", S),
        pa.field("resource_name", S),
        pa.field("hosts", pa.list_(S)),
        pa.field("gpus", F),  # GPUs measured in the window (a MIG instance counts its share of one)
        pa.field("idle_gpus", F),  # of which no minute was busy
        pa.field("busy_ratio", F),  # busy minutes ÷ measured minutes in the window
        pa.field("idle", pa.bool_()),  # every measured GPU idle for the whole window
        pa.field("price_usd_per_hour", F),
        pa.field("idle_cost_usd_per_hour", F),
        pa.field("last_seen", pa.timestamp("us", tz="UTC")),
    ]
)


def idle_now(wh: Warehouse, now: dt.datetime, window_minutes: int = 30) -> pa.Table:
    """Every host group with GPU telemetry in the last `window_minutes`: idle GPUs and their $/h.

    Groups are inventory items (a GCE instance, a GKE node pool, a Databricks cluster); a host the
    inventory does not know is its own group, with no price and platform `unknown` (the name rule when
    there is no inventory). `idle_cost_usd_per_hour` is the item's $/h × idle GPUs ÷ its GPUs (the
    inventory's gpu_count when larger than what telemetry saw).
    """
    end = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    start = end - dt.timedelta(minutes=window_minutes)
    gpus = wh.query(
        _IDLE_SQL, {"start": start, "end": end, "dmin": start.date() - _DAY, "dmax": end.date() + _DAY}
    ).to_pylist()
    rows = idle_groups(gpus, host_map(wh, end.date() - _DAY))
    return pa.Table.from_pylist(rows, schema=IDLE_NOW)


def group_key(item: Item, host: str | None) -> tuple[str, str]:
    """The idle group a host's GPUs belong to: its inventory item, or the host alone when no item knows it."""
    return item.platform, item.resource_id or f"host:{host}"


def idle_groups(gpus: Iterable[Mapping[str, Any]], hosts: HostMap) -> list[dict[str, Any]]:
    """Per-GPU window figures grouped per inventory item: IDLE_NOW rows plus `measured_gpu_minutes`.

    Each GPU row has host, w (its weight: 1, or a MIG instance's share of its GPU), measured_minutes,
    busy_minutes and last_seen, as _IDLE_SQL computes them; the idle rule passes rows from its own read.
    `measured_gpu_minutes` is Σ w × measured minutes (how much of the window telemetry covered).
    """
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for g in gpus:
        item = hosts.lookup(g["host"])
        grp = groups.setdefault(group_key(item, g["host"]), {
            "item": item, "host": g["host"], "hosts": set(), "gpus": 0.0, "idle": 0.0, "measured": 0.0, "busy": 0.0,
            "last_seen": g["last_seen"]})  # fmt: skip
        grp["hosts"].add(g["host"])
        grp["gpus"] += g["w"]
        grp["idle"] += g["w"] if g["busy_minutes"] == 0 else 0.0
        grp["measured"] += g["w"] * g["measured_minutes"]
        grp["busy"] += g["w"] * g["busy_minutes"]
        grp["last_seen"] = max(grp["last_seen"], g["last_seen"])
    return [_idle_row(grp) for _, grp in sorted(groups.items())]


def _idle_row(grp: dict[str, Any]) -> dict[str, Any]:
    item: Item = grp["item"]
    denominator = max(grp["gpus"], float(item.gpu_count or 0))
    price = item.price_usd_per_hour
    return {
        "platform": item.platform,
        "cluster": item.cluster or item.resource_name or grp["host"],
        "kind": item.kind,
        "resource_id": item.resource_id,
        "resource_name": item.resource_name,
        "hosts": sorted(grp["hosts"]),
        "gpus": grp["gpus"],
        "idle_gpus": grp["idle"],
        "busy_ratio": _div(grp["busy"], grp["measured"]),
        "idle": grp["idle"] == grp["gpus"],
        "price_usd_per_hour": price,
        "idle_cost_usd_per_hour": None if price is None else price * grp["idle"] / denominator,
        "last_seen": grp["last_seen"],
        "measured_gpu_minutes": grp["measured"],
    }


def busy_threshold_note(cfg: TelemetryConfig) -> str:
    """How a minute is called busy, for CLI and report footers."""
    return (
        f"busy minute: graphics-engine activity ≥ {cfg.busy_gr_engine_active:g}, "
        f"else GPU utilization ≥ {cfg.busy_utilization:g} (settings.telemetry)"
    )


_SUMMED = ("gpu_hours", "gpu_cost_usd", "telemetry_gpu_hours", "training_hours", "training_cost_usd")


def _total(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def by_platform(daily: pa.Table) -> pa.Table:
    """Period totals per platform from `unit_economics` rows; ratios recomputed from the totals.

    busy_ratio is Σ busy GPU-hours ÷ Σ billed GPU-hours of the days whose busy share is known, and
    busy GPU-hours, $ per busy GPU-hour and idle $ are the daily formulas applied to the totals.
    """
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in daily.to_pylist():
        rows.setdefault(r["platform"], []).append(r)
    out = []
    for platform, days in sorted(rows.items()):
        t: dict[str, Any] = {c: _total(d[c] for d in days) for c in _SUMMED}
        busy = _total(d["busy_gpu_hours"] for d in days)
        known_hours = _total(d["gpu_hours"] for d in days if d["busy_ratio"] is not None)
        ratio = _div(busy, known_hours)
        busy_hours = None if ratio is None or t["gpu_hours"] is None else t["gpu_hours"] * ratio
        out.append({
            **t,
            "platform": platform,
            "days": len(days),
            "busy_gpu_hours": busy_hours,
            "idle_gpu_hours": None if busy_hours is None else t["gpu_hours"] - busy_hours,
            "cost_per_gpu_hour_usd": _div(t["gpu_cost_usd"], t["gpu_hours"]),
            "cost_per_busy_gpu_hour_usd": _div(t["gpu_cost_usd"], busy_hours),
            "idle_cost_usd": None if ratio is None or t["gpu_cost_usd"] is None else t["gpu_cost_usd"] * (1 - ratio),
            "busy_ratio": ratio,
            "telemetry_coverage_ratio": _div(t["telemetry_gpu_hours"], t["gpu_hours"]),
            "cost_per_training_hour_usd": _div(t["training_cost_usd"], t["training_hours"]),
        })  # fmt: skip
    schema = pa.schema([pa.field("platform", S), pa.field("days", pa.int64())]
                       + [f for f in UNIT_ECONOMICS if f.name not in ("day", "platform")])  # fmt: skip
    return pa.Table.from_pylist(out, schema=schema)
