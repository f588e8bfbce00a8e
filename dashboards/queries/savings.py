"""Savings page queries: auto-shutdown savings (realized and dry-run) and idle GPU waste still open.

Realized savings (docs/dashboards.md, "Savings"): each *executed* stop in `action_log` (step `executed`, not
dry-run) is credited its logged `saving_usd_per_hour` × the hours the resource stayed off — from the stop to
the last `inventory` observation of the resource that still shows it off (stopped state, or a node pool at
zero nodes) before one shows it running again, cut at the next stop of the same resource, at now and at
CREDIT_CAP. A stop no inventory observation confirms is credited 0 h. Dry-run plans (step `planned`) are
"would have saved": the rate × the hours the idle alert behind the plan stayed open (until its `resolved` or
`inactive` event in `alert_events`, else now), with the same cuts; they are never added to realized savings.
Savings fall on the reporting days the off-hours fall on, so a window counts only its own part.

Idle waste is what no stop has cut: measured minus busy GPU-hours per cluster (gpu_busy_daily.sql, hosts
mapped to inventory items as unit economics maps them) at the item's $ per GPU-hour, and what idle_now finds
idle right now. Spot share and spend against the plan are in dashboards/queries/savings_plan.py.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from alerts.actions.base import STOPPED_STATES
from dashboards.queries import fleet
from exporters.warehouse.engine import Warehouse
from exporters.warehouse.sqltext import load_sql
from spendscope import economics
from spendscope.clock import local_day, local_midnight
from spendscope.config import Settings
from spendscope.costs import NO_FILTER, CostFilter

# A stop (or plan) is credited for at most a week: a resource nobody restarts for longer would have been
# cleaned up by people anyway, and crediting it forever would inflate the savings.
CREDIT_CAP = dt.timedelta(days=7)
REALIZED, WOULD = "realized", "would have saved"
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)

_ACTIONS_SQL = """
SELECT `at`, step, action, platform, resource_id, resource_name, project, fingerprint, saving_usd_per_hour
FROM action_log
WHERE _day BETWEEN @dmin AND @dmax AND `at` >= @since AND `at` < @end
  AND ((step = 'executed' AND NOT IFNULL(dry_run, FALSE)) OR step = 'planned') {filters}
ORDER BY `at`
"""
_INVENTORY_SQL = """
SELECT platform, resource_id, observed_at, state, nodes FROM inventory
WHERE _day >= @dmin AND observed_at > @since AND resource_id IN UNNEST(@ids)
ORDER BY observed_at
"""
_CLOSED_SQL = """
SELECT fingerprint, `at` FROM alert_events
WHERE _day >= @dmin AND `at` > @since AND fingerprint IN UNNEST(@fps) AND event IN ('resolved', 'inactive')
ORDER BY `at`
"""

ACTIONS = pa.schema(
    [
        pa.field("at", pa.timestamp("us", tz="UTC")),
        pa.field("kind", pa.string()),  # realized | would have saved
        pa.field("action", pa.string()),
        pa.field("platform", pa.string()),
        pa.field("resource_name", pa.string()),
        pa.field("resource_id", pa.string()),
        pa.field("project", pa.string()),
        pa.field("saving_usd_per_hour", pa.float64()),
        pa.field("off_until", pa.timestamp("us", tz="UTC")),
        pa.field("hours", pa.float64()),  # the whole credited interval
        pa.field("window_hours", pa.float64()),  # its part inside the window
        pa.field("saved_usd", pa.float64()),  # rate × window_hours; null when the step logged no rate
        pa.field("ended_by", pa.string()),
    ]
)
DAILY = pa.schema([pa.field("day", pa.date32()), pa.field("kind", pa.string()), pa.field("saved_usd", pa.float64()),
                   pa.field("hours", pa.float64())])  # fmt: skip


@dataclass(frozen=True)
class Savings:
    """Auto-shutdown savings in a window: totals, one row per credited stop or plan, and per reporting day."""

    realized_usd: float
    would_have_saved_usd: float
    stops: int  # executed stops with off-hours in the window
    plans: int  # dry-run plans with idle hours in the window
    realized_hours: float
    actions: pa.Table  # ACTIONS
    daily: pa.Table  # DAILY


def _now(now: dt.datetime | None) -> dt.datetime:
    return dt.datetime.now(dt.UTC) if now is None else now


def _off(obs: Mapping[str, Any]) -> bool:
    """An inventory observation showing the resource stopped (a GKE pool stays RUNNING at zero nodes)."""
    return (obs["state"] or "").upper() in STOPPED_STATES or obs["nodes"] == 0


def _stop_end(at: dt.datetime, obs: Sequence[Mapping[str, Any]]) -> tuple[dt.datetime, str]:
    """Until when inventory confirms a stop held: its last 'off' observation before one shows it running."""
    end, why = at, "no inventory observation since the stop"
    for o in obs:
        if o["observed_at"] <= at:
            continue
        if not _off(o):
            return end, f"running again at {o['observed_at']:%Y-%m-%d %H:%M} UTC"
        end, why = o["observed_at"], "still off"
    return end, why


def _plan_end(at: dt.datetime, closed: Sequence[dt.datetime], now: dt.datetime) -> tuple[dt.datetime, str]:
    """Until the idle alert behind a dry-run plan closed (the resource was busy or gone again), else now."""
    after = [c for c in closed if c > at]
    return (after[0], "idle alert resolved") if after else (now, "still idle")


def _split(start: dt.datetime, end: dt.datetime, tz: str) -> list[tuple[dt.date, float]]:
    """Hours of [start, end) on each reporting day."""
    out = []
    day = local_day(start, tz)
    while start < end:
        cut = min(end, local_midnight(day + DAY, tz))
        out.append((day, (cut - start) / HOUR))
        start, day = cut, day + DAY
    return out


def savings(
    wh: Warehouse,
    s: Settings,
    since: dt.date,
    until: dt.date,
    flt: CostFilter = NO_FILTER,
    now: dt.datetime | None = None,
) -> Savings:
    """Realized and would-have-been auto-shutdown savings over reporting days since..until (platform and
    project filters apply)."""
    tz, now = s.reporting.timezone, _now(now)
    start, end = local_midnight(since, tz), min(local_midnight(until + DAY, tz), now)
    where: list[str] = []
    params: dict[str, Any] = {"since": start - CREDIT_CAP, "end": end, "dmin": (start - CREDIT_CAP).date() - DAY,
                         "dmax": end.date() + DAY}  # fmt: skip
    if flt.platforms:
        where.append("platform IN UNNEST(@platforms)")
        params["platforms"] = list(flt.platforms)
    if flt.projects:
        where.append("IFNULL(project, '(none)') IN UNNEST(@projects)")
        params["projects"] = list(flt.projects)
    rows = wh.query(_ACTIONS_SQL.format(filters="".join(" AND " + w for w in where)), params).to_pylist()
    obs, closed = _evidence(wh, rows, params["since"])
    out: list[dict[str, Any]] = []
    daily: dict[tuple[dt.date, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for i, r in enumerate(rows):
        kind = REALIZED if r["step"] == "executed" else WOULD
        key = (r["platform"], r["resource_id"])
        if kind == REALIZED:
            stop, why = _stop_end(r["at"], obs.get(key, []))
        else:
            stop, why = _plan_end(r["at"], closed.get(r["fingerprint"], []), now)
        # The resource's next stop or plan ends this one's credit: no hour is credited twice.
        later = [x["at"] for x in rows[i + 1 :] if (x["platform"], x["resource_id"]) == key]
        for limit, reason in ((later[0] if later else None, "next stop"), (r["at"] + CREDIT_CAP, "credit cap"),
                              (now, "now")):  # fmt: skip
            if limit is not None and stop > limit:
                stop, why = limit, f"{why}; cut at {reason}"
        parts = _split(max(r["at"], start), min(stop, end), tz)
        if not parts and not start <= r["at"] < end:
            continue  # credited only before the window (a stop in it that inventory never confirmed stays listed)
        rate = r["saving_usd_per_hour"]
        window_hours = sum(h for _, h in parts)
        for day, h in parts:
            daily[day, kind][0] += (rate or 0.0) * h
            daily[day, kind][1] += h
        out.append({**{k: r[k] for k in ("at", "action", "platform", "resource_name", "resource_id", "project")},
                    "kind": kind, "saving_usd_per_hour": rate, "off_until": stop,
                    "hours": (stop - r["at"]) / HOUR, "window_hours": window_hours,
                    "saved_usd": None if rate is None else rate * window_hours, "ended_by": why})  # fmt: skip
    days = [{"day": d, "kind": k, "saved_usd": v[0], "hours": v[1]} for (d, k), v in sorted(daily.items())]
    return Savings(
        realized_usd=sum((v[0] for (_, k), v in daily.items() if k == REALIZED), 0.0),
        would_have_saved_usd=sum((v[0] for (_, k), v in daily.items() if k == WOULD), 0.0),
        stops=sum(1 for o in out if o["kind"] == REALIZED),
        plans=sum(1 for o in out if o["kind"] == WOULD),
        realized_hours=sum((v[1] for (_, k), v in daily.items() if k == REALIZED), 0.0),
        actions=pa.Table.from_pylist(out, schema=ACTIONS),
        daily=pa.Table.from_pylist(days, schema=DAILY),
    )


def _evidence(
    wh: Warehouse, rows: Sequence[Mapping[str, Any]], since: dt.datetime
) -> tuple[dict[tuple[str, str], list[dict[str, Any]]], dict[str, list[dt.datetime]]]:
    """Inventory observations of the stopped resources and close events of the planned ones' idle alerts."""
    obs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    closed: dict[str, list[dt.datetime]] = defaultdict(list)
    dmin = since.date() - DAY
    ids = sorted({r["resource_id"] for r in rows if r["step"] == "executed" and r["resource_id"]})
    if ids:
        for o in wh.query(_INVENTORY_SQL, {"dmin": dmin, "since": since, "ids": ids}).to_pylist():
            obs[o["platform"], o["resource_id"]].append(o)
    fps = sorted({r["fingerprint"] for r in rows if r["step"] == "planned" and r["fingerprint"]})
    if fps:
        for e in wh.query(_CLOSED_SQL, {"dmin": dmin, "since": since, "fps": fps}).to_pylist():
            closed[e["fingerprint"]].append(e["at"])
    return obs, closed


IDLE = pa.schema(
    [
        pa.field("platform", pa.string()),
        pa.field("cluster", pa.string()),  # cluster (/ node pool), VM, or unknown host
        pa.field("measured_gpu_hours", pa.float64()),
        pa.field("idle_gpu_hours", pa.float64()),
        pa.field("idle_ratio", pa.float64()),
        pa.field("usd_per_gpu_hour", pa.float64()),  # inventory $/h ÷ its GPUs; null for unknown hosts
        pa.field("idle_cost_usd", pa.float64()),
        pa.field("idle_gpus_now", pa.float64()),  # GPUs with no busy minute in the last IDLE_NOW_MINUTES
        pa.field("idle_usd_per_hour_now", pa.float64()),
    ]
)
IDLE_NOW_MINUTES = 30  # the idle rule's default window


@dataclass(frozen=True)
class IdleWaste:
    """Idle GPU-hours and their cost per cluster over a window, and what is idle right now."""

    idle_gpu_hours: float
    idle_cost_usd: float
    open_usd_per_hour: float  # idle $/h of everything idle now
    open_clusters: int
    by_cluster: pa.Table  # IDLE, costliest first


def idle_waste(
    wh: Warehouse,
    s: Settings,
    since: dt.date,
    until: dt.date,
    flt: CostFilter = NO_FILTER,
    now: dt.datetime | None = None,
) -> IdleWaste:
    """Measured minus busy GPU-hours (gpu_busy_daily.sql) per cluster since..until, priced at the inventory's
    $ per GPU-hour, plus idle_now's open idle $/h (the platform and team filters apply)."""
    tz, now = s.reporting.timezone, _now(now)
    busy = wh.query(load_sql("gpu_busy_daily"), {"since": since, "until": until, "tz": tz, "dmin": since - DAY,
                                                 "dmax": until + DAY})  # fmt: skip
    hosts = economics.host_map(wh, since - DAY)
    teams = fleet.fleet(wh, since).teams  # the item's team label, as the GPU page filters on it

    def team(platform: str, rid: str | None) -> str:
        return (teams.get((platform, rid)) if rid is not None else None) or fleet.UNTAGGED

    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for r in busy.to_pylist():
        item = hosts.lookup(r["host"], r["day"])
        g = groups.setdefault(_key(item.platform, item.resource_id, r["host"]),
                              {"name": _name(item.cluster, item.resource_name, r["host"]), "measured": 0.0,
                               "busy": 0.0, "rate": _gpu_rate(item), "gpus": 0.0, "usd": 0.0,
                               "team": team(item.platform, item.resource_id)})  # fmt: skip
        g["measured"] += r["measured_gpu_hours"] or 0.0
        g["busy"] += r["busy_gpu_hours"] or 0.0
    for r in economics.idle_now(wh, now, IDLE_NOW_MINUTES).to_pylist():
        host = r["hosts"][0] if r["hosts"] else ""
        g = groups.setdefault(_key(r["platform"], r["resource_id"], host),
                              {"name": _name(r["cluster"], r["resource_name"], host), "measured": 0.0, "busy": 0.0,
                               "rate": None, "gpus": 0.0, "usd": 0.0,
                               "team": team(r["platform"], r["resource_id"])})  # fmt: skip
        g["gpus"] += r["idle_gpus"] or 0.0
        g["usd"] += r["idle_cost_usd_per_hour"] or 0.0
    rows: list[dict[str, Any]] = []
    for (platform, _), g in groups.items():
        if (flt.platforms and platform not in flt.platforms) or (flt.teams and g["team"] not in flt.teams):
            continue
        measured, idle, rate = g["measured"], g["measured"] - g["busy"], g["rate"]
        rows.append({"platform": platform, "cluster": g["name"], "measured_gpu_hours": measured,
                     "idle_gpu_hours": idle, "idle_ratio": idle / measured if measured else None,
                     "usd_per_gpu_hour": rate, "idle_cost_usd": None if rate is None else rate * idle,
                     "idle_gpus_now": g["gpus"], "idle_usd_per_hour_now": g["usd"]})  # fmt: skip
    rows.sort(key=lambda r: (-(r["idle_cost_usd"] or 0.0), -r["idle_gpu_hours"], r["platform"], r["cluster"]))
    return IdleWaste(
        idle_gpu_hours=sum((r["idle_gpu_hours"] for r in rows), 0.0),
        idle_cost_usd=sum(r["idle_cost_usd"] or 0.0 for r in rows),
        open_usd_per_hour=sum((r["idle_usd_per_hour_now"] for r in rows), 0.0),
        open_clusters=sum(1 for r in rows if r["idle_gpus_now"] > 0),
        by_cluster=pa.Table.from_pylist(rows, schema=IDLE),
    )


def _key(platform: str, resource_id: str | None, host: str) -> tuple[str, str]:
    """One inventory item (a VM, a node pool, a Databricks cluster), or one host the inventory does not know."""
    return platform, resource_id or f"host:{host}"


def _name(cluster: str | None, resource_name: str | None, host: str) -> str:
    """'ml-gke-prod / h100-spot' for a node pool, the cluster or VM name otherwise, else the host."""
    if cluster and resource_name and resource_name != cluster:
        return f"{cluster} / {resource_name}"
    return cluster or resource_name or host


def _gpu_rate(item: economics.Item) -> float | None:
    if item.price_usd_per_hour is None or not item.gpu_count:
        return None
    return item.price_usd_per_hour / item.gpu_count
