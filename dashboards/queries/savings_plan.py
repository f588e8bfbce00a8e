"""Savings page queries against the plan (settings.plan): spot share of GPU-hours and spend vs baseline → target.

Spot share: billed GPU-hours on spot / preemptible capacity (cost_daily.is_spot, FOCUS x_IsSpot) ÷ all billed
GPU-hours, per side of `plan.spot_share_targets` — gcp = platforms gce + gke, databricks = the GCE VMs under
Databricks clusters (the DBU rows carry no GPU-hours). Spend vs plan: each week's billed spend over its
complete reporting days, scaled to a month (× 365.25 / 12 ÷ days), against the all-GCP baseline and the hybrid
target; savings = baseline − that monthly rate, the target saving = baseline − target.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from alerts.context import EvalContext
from exporters.warehouse.engine import Warehouse
from spendscope.clock import local_day
from spendscope.config import Settings
from spendscope.costs import NO_FILTER, CostFilter

SIDES = {"gce": "gcp", "gke": "gcp", "databricks": "databricks"}
MONTH_DAYS = 365.25 / 12
DAY = dt.timedelta(days=1)

_SPOT_SQL = """
SELECT {week} IF(platform = 'databricks', 'databricks', 'gcp') AS side,
       SUM(gpu_hours) AS gpu_hours, SUM(IF(is_spot, gpu_hours, 0)) AS spot_gpu_hours
FROM cost_daily
WHERE day BETWEEN @since AND @until AND gpu_hours > 0 AND platform IN UNNEST(@platforms) {filters}
GROUP BY {group}
"""
_WEEKLY_SQL = """
SELECT CAST(DATE_TRUNC(day, WEEK(MONDAY)) AS DATE) AS week, SUM(billed_cost) AS spend_usd
FROM cost_daily
WHERE day BETWEEN @since AND @until AND IFNULL(currency, 'USD') = @currency
GROUP BY 1
"""

SPOT = pa.schema(
    [
        pa.field("side", pa.string()),  # gcp | databricks
        pa.field("gpu_hours", pa.float64()),
        pa.field("spot_gpu_hours", pa.float64()),
        pa.field("spot_share", pa.float64()),  # null without GPU-hours
        pa.field("target", pa.float64()),
        pa.field("gap", pa.float64()),  # spot_share − target (negative: short of it)
    ]
)
SPOT_WEEKLY = pa.schema([pa.field("week", pa.date32()), *SPOT])
PROGRESS = pa.schema(
    [
        pa.field("week", pa.date32()),  # its Monday
        pa.field("days", pa.int64()),  # complete reporting days of the week inside the window
        pa.field("spend_usd", pa.float64()),
        pa.field("monthly_rate_usd", pa.float64()),
        pa.field("baseline_monthly_usd", pa.float64()),
        pa.field("target_monthly_usd", pa.float64()),
        pa.field("savings_usd_per_month", pa.float64()),
        pa.field("target_savings_usd_per_month", pa.float64()),
        pa.field("progress_ratio", pa.float64()),  # savings ÷ target savings (1.0 = on target)
    ]
)


def _spot(wh: Warehouse, s: Settings, since: dt.date, until: dt.date, flt: CostFilter, weekly: bool) -> list[Any]:
    conds, params = flt.clauses()
    week = "CAST(DATE_TRUNC(day, WEEK(MONDAY)) AS DATE) AS week," if weekly else ""
    sql = _SPOT_SQL.format(week=week, group="1, 2" if weekly else "1", filters="".join(" AND " + c for c in conds))
    rows = wh.query(sql, {"since": since, "until": until, "platforms": list(SIDES), **params}).to_pylist()
    targets = s.plan.spot_share_targets
    out = []
    for r in rows:
        hours, spot, target = r["gpu_hours"] or 0.0, r["spot_gpu_hours"] or 0.0, targets.get(r["side"])
        share = spot / hours if hours else None
        gap = None if share is None or target is None else share - target
        out.append({**r, "gpu_hours": hours, "spot_gpu_hours": spot, "spot_share": share, "target": target,
                    "gap": gap})  # fmt: skip
    return out


def spot_share(wh: Warehouse, s: Settings, since: dt.date, until: dt.date, flt: CostFilter = NO_FILTER) -> pa.Table:
    """Spot share of billed GPU-hours per side over since..until against settings.plan.spot_share_targets."""
    got = {r["side"]: r for r in _spot(wh, s, since, until, flt, weekly=False)}
    sides = [*s.plan.spot_share_targets, *sorted(got.keys() - s.plan.spot_share_targets.keys())]
    empty = {"gpu_hours": 0.0, "spot_gpu_hours": 0.0, "spot_share": None, "gap": None}
    rows = [got.get(side, {**empty, "side": side, "target": s.plan.spot_share_targets.get(side)}) for side in sides]
    return pa.Table.from_pylist(rows, schema=SPOT)


def spot_share_weekly(
    wh: Warehouse, s: Settings, since: dt.date, until: dt.date, flt: CostFilter = NO_FILTER
) -> pa.Table:
    """The same per ISO week (Monday) and side, for the trend against the targets."""
    rows = sorted(_spot(wh, s, since, until, flt, weekly=True), key=lambda r: (r["week"], r["side"]))
    return pa.Table.from_pylist(rows, schema=SPOT_WEEKLY)


def last_complete_day(wh: Warehouse, s: Settings, now: dt.datetime | None = None) -> dt.date | None:
    """The last reporting day every cost source has delivered whole (None without cost data)."""
    ctx = EvalContext(wh, s, dt.datetime.now(dt.UTC) if now is None else now)
    reach = [min(u, ctx.now) for u in ctx.cost_data_until().values()]
    return local_day(min(reach), ctx.tz) - DAY if reach else None


def plan_progress(
    wh: Warehouse, s: Settings, since: dt.date, until: dt.date, now: dt.datetime | None = None
) -> pa.Table:
    """Weekly spend as a monthly rate against the plan's baseline and target, over complete days (fleet-wide:
    the plan has no per-team or per-platform amounts, so the sidebar's value filters do not apply)."""
    last = last_complete_day(wh, s, now)
    if last is None or last < since:
        return PROGRESS.empty_table()
    last = min(last, until)
    got = wh.query(_WEEKLY_SQL, {"since": since, "until": last, "currency": s.reporting.currency}).to_pylist()
    spend = {r["week"]: r["spend_usd"] or 0.0 for r in got}
    base, target = s.plan.baseline_monthly_usd, s.plan.target_monthly_usd
    rows = []
    week = since - dt.timedelta(days=since.weekday())
    while week <= last:
        days = (min(week + 6 * DAY, last) - max(week, since)).days + 1
        rate = spend.get(week, 0.0) / days * MONTH_DAYS
        rows.append({"week": week, "days": days, "spend_usd": spend.get(week, 0.0), "monthly_rate_usd": rate,
                     "baseline_monthly_usd": base, "target_monthly_usd": target,
                     "savings_usd_per_month": base - rate, "target_savings_usd_per_month": base - target,
                     "progress_ratio": (base - rate) / (base - target) if base != target else None})  # fmt: skip
        week += 7 * DAY
    return pa.Table.from_pylist(rows, schema=PROGRESS)
