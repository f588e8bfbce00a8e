"""GCP vs Databricks, the migration page: monthly cost against the plan, the split of work, $ per GPU-hour.

Sides: `databricks` is platform databricks (DBUs plus the cluster VMs GCP bills, by focus_gcp.sql's label rule);
`gcp` is platforms gce and gke plus any other Google Cloud charge; anything else is `other`, outside the plan.
Shares are of gcp + databricks. Cost figures follow the sidebar's cost filters (CostFilter); GPU figures come
from economics.unit_economics (docs/unit-economics.md) and follow the date range only, like `spendscope gpu-costs`.

Monthly cost "now" is a run-rate: the billed USD of the 30 reporting days ending on the last day with cost
data on or before the window's end, scaled by 30 ÷ the days the data covers when it reaches back fewer than 30.
The scorecard (migration_score.py) is built from these figures; `view` computes everything the page shows once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from dashboards.queries import migration_score as score
from dashboards.queries.migration_score import DATABRICKS, GCP, GCP_PLATFORMS
from exporters.warehouse.engine import Warehouse
from spendscope import costs, economics
from spendscope.clock import today_in
from spendscope.config import Settings
from spendscope.config_plan import PlanConfig
from spendscope.costs import NO_FILTER, CostFilter

OTHER = "other"
BASELINE = "gcp baseline"  # the units row of the GCP side over plan.baseline_since..until
MONTH_DAYS = 30
_USD = "USD"


@dataclass(frozen=True)
class MonthlyCost:
    """The monthly run-rate per side (USD) against the plan's all-GCP baseline and hybrid target."""

    start: dt.date | None  # first of the 30 reporting days (None: no cost data on or before the window's end)
    end: dt.date | None  # last reporting day with cost data on or before the window's end
    covered_days: int  # days of those 30 the data reaches (from its first day to `end`)
    gcp_usd: float | None
    databricks_usd: float | None
    other_usd: float | None  # other providers, outside the plan and its totals
    baseline_usd: float
    target_usd: float

    @property
    def run_rate_usd(self) -> float | None:
        """GCP + Databricks per 30 days."""
        if self.gcp_usd is None or self.databricks_usd is None:
            return None
        return self.gcp_usd + self.databricks_usd

    @property
    def planned_saving_usd(self) -> float:
        """What the plan saves per month: baseline − target."""
        return self.baseline_usd - self.target_usd

    @property
    def planned_saving_ratio(self) -> float:
        """The planned saving as a share of the baseline."""
        return self.planned_saving_usd / self.baseline_usd

    @property
    def saving_usd(self) -> float | None:
        """Baseline − run-rate."""
        rate = self.run_rate_usd
        return None if rate is None else self.baseline_usd - rate

    @property
    def saving_ratio(self) -> float | None:
        """The saving as a share of the baseline."""
        saved = self.saving_usd
        return None if saved is None else saved / self.baseline_usd

    @property
    def cost_ratio(self) -> float | None:
        """Run-rate ÷ the all-GCP baseline (the scorecard's total cost)."""
        rate = self.run_rate_usd
        return None if rate is None else rate / self.baseline_usd


@dataclass(frozen=True)
class MigrationView:
    """Everything the page shows, computed once per window and filter."""

    since: dt.date
    until: dt.date
    baseline: tuple[dt.date, dt.date]  # the GCP side's reporting days in the scorecard
    monthly: MonthlyCost
    plan_bars: pa.Table  # scenario, side, usd: the baseline, now and the target, per side
    daily: pa.Table  # day, side, cost_usd
    daily_share: pa.Table  # day, measure (spend | GPU-hours), databricks_share, target_share
    split: pa.Table  # side, cost_usd, cost_share, gpu_hours, gpu_hours_share, target_share
    units: pa.Table  # per platform (gce, gke, gcp, databricks[, gcp baseline]): GPU-hours, $ per (busy) GPU-hour
    workloads: pa.Table  # score.WORKLOAD_SCHEMA: throughput and latency, Databricks vs GCP per workload
    runs: pa.Table  # side, since, until, runs, training_cost_usd, cost_per_run_usd
    scorecard: tuple[score.Score, ...]


def side_of(platform: str | None, provider: str | None) -> str:
    """gcp | databricks | other for a cost_daily row."""
    if platform == DATABRICKS:
        return DATABRICKS
    if platform in GCP_PLATFORMS or (provider or "").lower().startswith("google"):
        return GCP
    return OTHER


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def daily_sides(wh: Warehouse, s: Settings, since: dt.date, until: dt.date, flt: CostFilter = NO_FILTER) -> pa.Table:
    """Billed USD per reporting day and side (gcp | databricks | other), through spendscope.costs.summary."""
    rows = costs.summary(wh, ["day", "platform", "provider"], since, until, s.reporting.timezone, flt).to_pylist()
    sums: dict[tuple[dt.date, str], float] = {}
    for r in rows:
        if r["currency"] == _USD:  # the plan is in USD; other billing currencies are never added in
            key = (r["day"], side_of(r["platform"], r["provider"]))
            sums[key] = sums.get(key, 0.0) + (r["billed_cost"] or 0.0)
    out = [{"day": d, "side": side, "cost_usd": v} for (d, side), v in sorted(sums.items())]
    schema = pa.schema([("day", pa.date32()), ("side", pa.string()), ("cost_usd", pa.float64())])
    return pa.Table.from_pylist(out, schema=schema)


def monthly_cost(wh: Warehouse, s: Settings, until: dt.date, flt: CostFilter = NO_FILTER) -> MonthlyCost:
    """The run-rate of the 30 reporting days ending on the last day with cost data on or before `until`."""
    plan = s.plan
    none = MonthlyCost(None, None, 0, None, None, None, plan.baseline_monthly_usd, plan.target_monthly_usd)
    # The span is the data's, not the filter's: a team that spends only on weekdays still has 30 days.
    end = wh.query("SELECT MAX(day) AS d FROM cost_daily WHERE day <= @until", {"until": until}).column("d")[0]
    if not end.is_valid:
        return none
    last: dt.date = end.as_py()
    start = last - dt.timedelta(days=MONTH_DAYS - 1)
    first = wh.query("SELECT MIN(day) AS d FROM cost_daily WHERE day BETWEEN @a AND @b", {"a": start, "b": last})
    covered = (last - first.column("d")[0].as_py()).days + 1
    per_side = {GCP: 0.0, DATABRICKS: 0.0, OTHER: 0.0}
    for r in daily_sides(wh, s, start, last, flt).to_pylist():
        per_side[r["side"]] += r["cost_usd"]
    scale = MONTH_DAYS / covered
    return MonthlyCost(start, last, covered, per_side[GCP] * scale, per_side[DATABRICKS] * scale,
                       per_side[OTHER] * scale, plan.baseline_monthly_usd, plan.target_monthly_usd)  # fmt: skip


def plan_bars(monthly: MonthlyCost, plan: PlanConfig) -> pa.Table:
    """USD per 30 days by scenario (all-GCP baseline, now, hybrid target) and side, for the plan chart."""
    share = plan.target_databricks_share
    rows: list[tuple[str, str, float | None]] = [
        ("baseline (all GCP)", GCP, plan.baseline_monthly_usd),
        ("baseline (all GCP)", DATABRICKS, 0.0),
    ]
    if monthly.run_rate_usd is not None:
        rows += [("now", GCP, monthly.gcp_usd), ("now", DATABRICKS, monthly.databricks_usd)]
    rows += [("target (hybrid)", GCP, plan.target_monthly_usd * (1 - share)),
             ("target (hybrid)", DATABRICKS, plan.target_monthly_usd * share)]  # fmt: skip
    return pa.Table.from_pylist([{"scenario": a, "side": b, "usd": c} for a, b, c in rows])


def unit_costs(wh: Warehouse, s: Settings, since: dt.date, until: dt.date) -> tuple[pa.Table, pa.Table]:
    """(per platform gce, gke, gcp = both, databricks: economics.by_platform's columns; unit_economics' daily rows)."""
    daily = economics.unit_economics(wh, since, until, s.reporting.timezone)
    per_platform = economics.by_platform(daily)
    totals = {r["platform"]: r for r in per_platform.to_pylist()}
    rows = [totals.get(p) or {"platform": p} for p in GCP_PLATFORMS]
    rows += [combine(GCP, rows), totals.get(DATABRICKS) or {"platform": DATABRICKS}]
    fields = [pa.field("since", pa.date32()), pa.field("until", pa.date32())]
    schema = pa.schema(fields + [f for f in per_platform.schema if f.name != "days"])
    out = [{"since": since, "until": until, **{k: v for k, v in r.items() if k != "days"}} for r in rows]
    return pa.Table.from_pylist(out, schema=schema), daily


def combine(name: str, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Platforms' period totals (economics.by_platform rows) as one row named `name`."""
    # As by_platform does for days: each platform's busy share stays on its own hours, and the hours of a
    # platform without telemetry get the measured platforms' share: Σ hours × (Σ busy ÷ Σ hours where known).
    rows = list(rows)

    def total(col: str, where: list[dict[str, Any]] = rows) -> float | None:
        known = [r[col] for r in where if r.get(col) is not None]
        return sum(known) if known else None

    known = [r for r in rows if r.get("busy_gpu_hours") is not None]
    hours, cost = total("gpu_hours"), total("gpu_cost_usd")
    ratio = _div(total("busy_gpu_hours", known), total("gpu_hours", known))
    busy = None if ratio is None or hours is None else hours * ratio
    training_cost, training_hours = total("training_cost_usd"), total("training_hours")
    return {
        "platform": name, "gpu_hours": hours, "busy_gpu_hours": busy,
        "idle_gpu_hours": None if busy is None or hours is None else hours - busy, "gpu_cost_usd": cost,
        "cost_per_gpu_hour_usd": _div(cost, hours), "cost_per_busy_gpu_hour_usd": _div(cost, busy),
        "idle_cost_usd": None if ratio is None or cost is None else cost * (1 - ratio), "busy_ratio": ratio,
        "telemetry_gpu_hours": total("telemetry_gpu_hours"),
        "telemetry_coverage_ratio": _div(total("telemetry_gpu_hours"), hours),
        "training_hours": training_hours, "training_cost_usd": training_cost,
        "cost_per_training_hour_usd": _div(training_cost, training_hours),
    }  # fmt: skip


def split(daily: pa.Table, units: pa.Table, plan: PlanConfig) -> pa.Table:
    """Per side: USD and GPU-hours over the window and their shares of gcp + databricks, with the plan's share."""
    spend = {GCP: 0.0, DATABRICKS: 0.0, OTHER: 0.0}
    for r in daily.to_pylist():
        spend[r["side"]] += r["cost_usd"]
    hours = {r["platform"]: r["gpu_hours"] for r in units.to_pylist()}
    both_usd = spend[GCP] + spend[DATABRICKS]
    both_hours = (hours.get(GCP) or 0.0) + (hours.get(DATABRICKS) or 0.0)
    target = {DATABRICKS: plan.target_databricks_share, GCP: 1 - plan.target_databricks_share}
    rows = [{"side": side, "cost_usd": spend[side], "cost_share": _div(spend[side], both_usd),
             "gpu_hours": hours.get(side), "gpu_hours_share": _div(hours.get(side), both_hours),
             "target_share": target[side]} for side in (DATABRICKS, GCP)]  # fmt: skip
    if spend[OTHER]:
        rows.append({"side": OTHER, "cost_usd": spend[OTHER], "cost_share": None, "gpu_hours": None,
                     "gpu_hours_share": None, "target_share": None})  # fmt: skip
    return pa.Table.from_pylist(rows)


def daily_share(daily: pa.Table, economics_daily: pa.Table, plan: PlanConfig) -> pa.Table:
    """Databricks' share of gcp + databricks per reporting day, by spend and by billed GPU-hours."""
    sums: dict[tuple[str, dt.date], dict[str, float]] = {}
    for r in daily.to_pylist():
        if r["side"] != OTHER:
            sums.setdefault(("spend", r["day"]), {}).setdefault(r["side"], 0.0)
            sums[("spend", r["day"])][r["side"]] += r["cost_usd"]
    for r in economics_daily.to_pylist():
        side = DATABRICKS if r["platform"] == DATABRICKS else GCP if r["platform"] in GCP_PLATFORMS else None
        if side is not None and r["gpu_hours"] is not None:
            sums.setdefault(("GPU-hours", r["day"]), {}).setdefault(side, 0.0)
            sums[("GPU-hours", r["day"])][side] += r["gpu_hours"]
    rows = [{"day": day, "measure": measure, "databricks_share": _div(v.get(DATABRICKS, 0.0), sum(v.values())),
             "target_share": plan.target_databricks_share} for (measure, day), v in sorted(sums.items())]  # fmt: skip
    schema = pa.schema([("day", pa.date32()), ("measure", pa.string()), ("databricks_share", pa.float64()),
                        ("target_share", pa.float64())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def view(wh: Warehouse, s: Settings, since: dt.date, until: dt.date, flt: CostFilter = NO_FILTER) -> MigrationView:
    """The whole page for reporting days `since`..`until`: one cached call, each figure computed once."""
    plan = s.plan
    # The plan's figures are the whole fleet's: a team's slice measured against the fleet baseline would "pass".
    # Complete reporting days only: today's partial spend would pull the run-rate down.
    monthly = monthly_cost(wh, s, min(until, today_in(s.reporting.timezone) - dt.timedelta(days=1)))
    daily = daily_sides(wh, s, since, until, flt)
    units, econ_daily = unit_costs(wh, s, since, until)
    window = (since, until)
    base = score.baseline_window(plan, since, until)
    rows = units.to_pylist()
    gcp = next(r for r in rows if r["platform"] == GCP)
    dbx = next(r for r in rows if r["platform"] == DATABRICKS)
    runs = score.training_runs(wh, s, since, until)
    gcp_runs = runs
    if base != window:
        gcp = next(r for r in unit_costs(wh, s, *base)[0].to_pylist() if r["platform"] == GCP)
        units = pa.concat_tables([units, pa.Table.from_pylist([{**gcp, "platform": BASELINE}], schema=units.schema)])
        gcp_runs = score.training_runs(wh, s, *base)
    workloads = score.workload_ratios(wh, s, since, until)
    gcp_count = sum(gcp_runs.get(p, 0) for p in GCP_PLATFORMS)
    runs_t = score.runs_table(gcp, dbx, gcp_count, runs.get(DATABRICKS, 0), base, window)
    return MigrationView(
        since=since,
        until=until,
        baseline=base,
        monthly=monthly,
        plan_bars=plan_bars(monthly, plan),
        daily=daily,
        daily_share=daily_share(daily, econ_daily, plan),
        split=split(daily, units, plan),
        units=units,
        workloads=workloads,
        runs=runs_t,
        scorecard=score.scorecard(plan, monthly.run_rate_usd, gcp, dbx, workloads, runs_t),
    )
