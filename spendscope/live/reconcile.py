"""Reconciliation: once billing covers an hour, the estimate against the bill per platform and per resource.

`estimate_errors` keeps that history: a platform row per hour the estimate ran for (it has rows that hour for
some platform, so an hour the job was down does not read as a 100 % miss) and a row per resource — estimated
resources matched to their billed charges the way the inventory collector matches them (resource id, a GCE
global name ending in the id, else a host name or pattern: GKE node names, Databricks cluster VMs), and billed
resources the estimate missed (serverless endpoints, cluster fees) with `matched = false`. Days are recomputed
whole, up to each platform's cut, so late billing corrects the history. factors.py learns from it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from collectors.inventory.hosts import HostIndex
from exporters.warehouse.schema.live import ESTIMATE_ERRORS
from spendscope.live.complete import EPOCH, Cut

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse

log = logging.getLogger(__name__)
DAY = dt.timedelta(days=1)

PLATFORM_BILLED_SQL = """
SELECT hour, platform, SUM(billed_cost) AS billed
FROM cost_hourly
WHERE hour >= @start AND hour < @end AND platform IN UNNEST(@platforms)
GROUP BY 1, 2
"""
ESTIMATES_SQL = """
SELECT hour, platform, resource_id, ANY_VALUE(resource_name) AS resource_name, component = 'carried' AS carried,
       SUM(usd_raw) AS raw, SUM(usd) AS usd, STRING_AGG(DISTINCT price_source, '+') AS price_source
FROM cost_estimates
WHERE _day BETWEEN @dmin AND @dmax AND hour >= @start AND hour < @end
GROUP BY 1, 2, 3, 5
"""
CHARGES_SQL = """
SELECT TIMESTAMP_TRUNC(ChargePeriodStart, HOUR) AS hour, x_Platform AS platform, ResourceId AS resource_id,
       ResourceName AS resource_name, ProviderName AS provider, ServiceName AS service, x_Team AS team,
       SubAccountId AS project, SUM(BilledCost) AS cost
FROM focus_costs
WHERE _day >= @dmin AND ChargePeriodStart >= @start AND ChargePeriodStart < @end
  AND x_Platform IN UNNEST(@platforms) AND ChargeCategory = 'Usage' AND BilledCost IS NOT NULL
  AND UNIX_SECONDS(ChargePeriodEnd) - UNIX_SECONDS(ChargePeriodStart) <= 3600
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""
HOSTS_SQL = """
SELECT platform, resource_id, hosts
FROM inventory
WHERE _day BETWEEN @dmin AND @dmax AND resource_id IN UNNEST(@ids)
QUALIFY ROW_NUMBER() OVER (PARTITION BY platform, resource_id ORDER BY observed_at DESC) = 1
"""


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _error_row(hour: dt.datetime, platform: str, level: str, est: Mapping[str, Any] | None, billed: float,
               cut: dt.datetime, at: dt.datetime, **extra: Any) -> dict[str, Any]:  # fmt: skip
    raw = (est or {}).get("raw") or 0.0
    usd = (est or {}).get("usd") or 0.0
    return {
        "hour": hour, "platform": platform, "level": level, "estimated_raw_usd": raw, "estimated_usd": usd,
        "billed_usd": billed, "error_usd": usd - billed, "error_ratio": _ratio(usd - billed, billed),
        "ratio": _ratio(billed, raw), "complete_until": cut, "computed_at": at, "_day": hour.date(),
        "_source": "live", **extra,
    }  # fmt: skip


class Matcher:
    """A billed charge → the estimated resource it belongs to: its id (or a global name ending in it), else the
    inventory item whose hosts name the charge's resource (an exact VM name, a GKE / Databricks name pattern)."""

    def __init__(self, ids: Iterable[tuple[str, str]], host_rows: Sequence[Mapping[str, Any]]) -> None:
        self.ids = set(ids)
        rows = [r for r in host_rows if (r["platform"], r["resource_id"]) in self.ids]
        self.hosts = {p: HostIndex([r for r in rows if r["platform"] == p]) for p in {r["platform"] for r in rows}}

    def owner(self, platform: str, resource_id: str | None, resource_name: str | None) -> str | None:
        rid = resource_id or ""
        for candidate in (rid, rid.rsplit("/", 1)[-1]):
            if candidate and (platform, candidate) in self.ids:
                return candidate
        index = self.hosts.get(platform)
        found = index.lookup(resource_name) if index and resource_name else None
        return None if found is None else str(found["resource_id"])


def reconcile_rows(
    estimates: Sequence[Mapping[str, Any]],
    platform_billed: Sequence[Mapping[str, Any]],
    charges: Sequence[Mapping[str, Any]],
    hosts: Sequence[Mapping[str, Any]],
    cuts: Mapping[str, dt.datetime],
    at: dt.datetime,
) -> list[dict[str, Any]]:
    """estimate_errors rows (pure): platform rows for hours the estimate ran, then per-resource rows."""
    covered = {e["hour"] for e in estimates}
    est_platform: dict[tuple[dt.datetime, str], dict[str, float]] = {}
    est_resource: dict[tuple[dt.datetime, str, str], Mapping[str, Any]] = {}
    carried: dict[tuple[dt.datetime, str, str], Mapping[str, Any]] = {}  # carried billing: not inventory items
    for e in estimates:
        p = est_platform.setdefault((e["hour"], e["platform"]), {"raw": 0.0, "usd": 0.0})
        p["raw"] += e["raw"] or 0.0
        p["usd"] += e["usd"] or 0.0
        (carried if e["carried"] else est_resource)[(e["hour"], e["platform"], e["resource_id"])] = e
    billed = {(b["hour"], b["platform"]): float(b["billed"] or 0.0) for b in platform_billed}
    out = []
    for hour, platform in sorted({k for k in est_platform} | {k for k in billed if k[0] in covered}):
        if hour >= cuts.get(platform, EPOCH):
            continue
        out.append(_error_row(hour, platform, "platform", est_platform.get((hour, platform)),
                              billed.get((hour, platform), 0.0), cuts[platform], at))  # fmt: skip
    matcher = Matcher({(k[1], k[2]) for k in est_resource if k[2]}, hosts)
    per_resource: dict[tuple[dt.datetime, str, str], float] = {}
    missed: dict[tuple[dt.datetime, str, str], dict[str, Any]] = {}
    for c in charges:
        if c["hour"] not in covered or c["hour"] >= cuts.get(c["platform"], EPOCH):
            continue
        rid = matcher.owner(c["platform"], c["resource_id"], c["resource_name"])
        if rid is not None:
            key = (c["hour"], c["platform"], rid)
            per_resource[key] = per_resource.get(key, 0.0) + float(c["cost"])
        else:
            key = (c["hour"], c["platform"], c["resource_id"] or c["resource_name"] or "(none)")
            got = missed.setdefault(key, {"resource_name": c["resource_name"], "cost": 0.0, **{
                k: c.get(k) for k in ("provider", "service", "team", "project")}})  # fmt: skip
            got["cost"] += float(c["cost"])
    for key in sorted(set(est_resource) | set(per_resource)):
        hour, platform, rid = key
        if hour >= cuts.get(platform, EPOCH):
            continue
        est = est_resource.get(key) or {}
        out.append(_error_row(hour, platform, "resource", est, per_resource.get(key, 0.0), cuts[platform], at,
                              resource_id=rid, resource_name=est.get("resource_name"), matched=True,
                              price_source=est.get("price_source")))  # fmt: skip
    for key in sorted(set(missed) | {k for k in carried if k[1] in cuts and k[0] < cuts[k[1]]}):
        hour, platform, rid = key
        m = dict(missed.get(key) or {"cost": 0.0, "resource_name": carried[key]["resource_name"]})
        out.append(_error_row(hour, platform, "resource", carried.get(key), m.pop("cost"), cuts[platform], at,
                              resource_id=rid, matched=False, price_source=(carried.get(key) or {}).get(
                                  "price_source"), **m))  # fmt: skip
    return out


def reconcile(
    wh: Warehouse,
    cuts: Sequence[Cut],
    at: dt.datetime,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    hosts: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Recompute estimate_errors for whole UTC days from `since` (default: a day before the latest cut) to `until`."""
    real = {c.platform: c.complete_until for c in cuts if c.complete_until > EPOCH}
    if not real:
        return 0
    end = min(max(real.values()), until) if until is not None else max(real.values())
    first = (since or end - DAY).astimezone(dt.UTC).date()
    start = dt.datetime.combine(first, dt.time(), dt.UTC)
    if start >= end:
        return 0
    last = (end - dt.timedelta(microseconds=1)).date()
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    platforms = sorted(real)
    dmin, dmax = days[0], days[-1]
    span = {"start": start, "end": end, "dmin": dmin, "dmax": dmax}
    estimates = wh.query(ESTIMATES_SQL, span).to_pylist()
    billed = wh.query(PLATFORM_BILLED_SQL, {**span, "platforms": platforms}).to_pylist()
    charges = wh.query(CHARGES_SQL, {**span, "dmin": dmin - dt.timedelta(days=2), "platforms": platforms}).to_pylist()
    ids = sorted({e["resource_id"] for e in estimates if e["resource_id"]})
    if hosts is None:  # the inventory's latest hosts of every estimated item (the demo passes its own)
        hosts = wh.query(HOSTS_SQL, {"dmin": dmin - DAY, "dmax": dmax, "ids": ids}).to_pylist() if ids else []
    rows = [r for r in reconcile_rows(estimates, billed, charges, hosts, real, at) if r["hour"] < end]
    keys = [{"_day": d, "platform": p} for d in days for p in platforms]
    n = wh.replace("estimate_errors", pa.Table.from_pylist(rows, schema=ESTIMATE_ERRORS), keys)
    log.info("live reconcile days:%s..%s platforms:%s rows:%s", dmin, dmax, ",".join(platforms), n)
    return n
