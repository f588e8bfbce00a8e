"""The migration plan's scorecard: Databricks over the page's window against the GCP baseline, pass / fail / no data.

The GCP side (gce + gke) is measured over `plan.baseline_since..baseline_until` when set, else over the same
reporting days. Targets are `settings.plan.targets`. Definitions, in the issue's order:

* **training throughput** = mean `training_throughput` on Databricks ÷ its mean on GCP, per (workload, unit) measured
  on both sides; the value is those ratios averaged, weighted by Databricks' samples. Pass: ≥ training_throughput_min.
* **inference latency** = the same over `inference_latency_seconds`, per (workload, unit, `quantile` label), so a
  p95 is never set against a p50. Pass: ≤ inference_latency_max.
* **cost efficiency** = (busy GPU-hours ÷ GPU $) on Databricks ÷ the same on GCP, from economics.unit_economics
  (GPU $ = the GPU resources' billed cost; busy GPU-hours = billed GPU-hours × telemetry's busy share).
  Pass: ≥ cost_efficiency_min.
* **resource utilization** = busy ÷ billed GPU-hours on Databricks (absolute). Pass: ≥ utilization_min.
* **total cost** = monthly run-rate (migration.MonthlyCost) ÷ plan.baseline_monthly_usd. Pass: ≤ total_cost_max.
* **cost per training run** = (Databricks training GPU $ ÷ its training runs) ÷ (the same on GCP). Training GPU $ =
  unit_economics `training_cost_usd`: GPU resources labelled `workload=training*` (GCP label, Databricks tag). A
  training run = an MLflow `run_id` reporting `training_throughput`; for series without one (Prometheus) a stretch
  of one workload's throughput on one platform with no gap over RUN_GAP. A run counts on the reporting day it
  starts. Pass: ≤ cost_per_training_run_max.

A figure that cannot be computed is `no data` with the reason, never a pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from exporters.warehouse.engine import Warehouse
from spendscope.config import Settings
from spendscope.config_plan import PlanConfig

PASS, FAIL, NO_DATA = "pass", "fail", "no data"
GCP, DATABRICKS = "gcp", "databricks"
GCP_PLATFORMS = ("gce", "gke")
THROUGHPUT, LATENCY = "training_throughput", "inference_latency_seconds"  # collectors/workload/rows.KNOWN_UNITS
RUN_GAP = dt.timedelta(minutes=30)  # longer than any scrape or logging step; shorter than a pause between runs
RUN_LOOKBACK = dt.timedelta(days=7)  # rows read before the window so a run that began earlier is dated right
_DAY = dt.timedelta(days=1)
Row = Mapping[str, Any]

_WORKLOADS_SQL = """
WITH m AS (
  SELECT metric, workload, IFNULL(unit, '') AS unit, IFNULL(LABEL_VALUE(labels, 'quantile'), '') AS quantile,
         IF(platform = 'databricks', 'databricks', 'gcp') AS side, value, DATE(ts, @tz) AS day
  FROM workload_metrics
  WHERE _day BETWEEN @dmin AND @dmax AND metric IN UNNEST(@metrics) AND platform IN UNNEST(@platforms)
    AND value IS NOT NULL
)
SELECT metric, workload, unit, quantile, side, AVG(value) AS mean, COUNT(*) AS samples
FROM m
WHERE (side = 'databricks' AND day BETWEEN @since AND @until) OR (side = 'gcp' AND day BETWEEN @bsince AND @buntil)
GROUP BY metric, workload, unit, quantile, side
"""

_RUNS_SQL = """
WITH t AS (
  SELECT platform, workload, run_id, ts
  FROM workload_metrics
  WHERE _day BETWEEN @dmin AND @dmax AND metric = @metric AND platform IN UNNEST(@platforms)
),
sessions AS (
  SELECT platform, ts, LAG(ts) OVER (PARTITION BY platform, workload ORDER BY ts) AS prev
  FROM t WHERE run_id IS NULL
),
starts AS (
  SELECT platform, MIN(ts) AS start FROM t WHERE run_id IS NOT NULL GROUP BY platform, run_id
  UNION ALL
  SELECT platform, ts AS start FROM sessions WHERE prev IS NULL OR TIMESTAMP_DIFF(ts, prev, SECOND) > @gap
)
SELECT platform, COUNT(*) AS runs FROM starts WHERE DATE(start, @tz) BETWEEN @since AND @until GROUP BY platform
"""

WORKLOAD_SCHEMA = pa.schema(
    [(c, pa.string()) for c in ("metric", "workload", "unit", "quantile")]
    + [(f"{side}_{c}", t) for side in (GCP, DATABRICKS) for c, t in (("mean", pa.float64()), ("samples", pa.int64()))]
    + [("ratio", pa.float64())]
)


@dataclass(frozen=True)
class Score:
    """One scorecard row: the target, the measured value (a ratio) and pass / fail / no data."""

    metric: str
    target: str  # e.g. "≥ 95% of GCP"
    goal: float
    actual: float | None
    status: str  # PASS | FAIL | NO_DATA
    detail: str  # the figures behind the value, or why there is none


def baseline_window(plan: PlanConfig, since: dt.date, until: dt.date) -> tuple[dt.date, dt.date]:
    """The GCP side's reporting days in the scorecard: plan.baseline_since..until when set, else the window."""
    if plan.baseline_since is not None and plan.baseline_until is not None:
        return plan.baseline_since, plan.baseline_until
    return since, until


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def workload_ratios(wh: Warehouse, s: Settings, since: dt.date, until: dt.date) -> pa.Table:
    """Mean throughput and latency per workload on Databricks (window) and GCP (baseline), and their ratio."""
    bsince, buntil = baseline_window(s.plan, since, until)
    params = {"since": since, "until": until, "bsince": bsince, "buntil": buntil, "tz": s.reporting.timezone,
              "dmin": min(since, bsince) - _DAY, "dmax": max(until, buntil) + _DAY, "metrics": [THROUGHPUT, LATENCY],
              "platforms": [*GCP_PLATFORMS, DATABRICKS]}  # fmt: skip
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in wh.query(_WORKLOADS_SQL, params).to_pylist():
        g = groups.setdefault((r["metric"], r["workload"], r["unit"], r["quantile"]), {})
        g[f"{r['side']}_mean"], g[f"{r['side']}_samples"] = r["mean"], r["samples"]
    rows = []
    for (metric, workload, unit, quantile), g in sorted(groups.items()):
        ratio = _div(g.get("databricks_mean"), g.get("gcp_mean"))
        rows.append({"metric": metric, "workload": workload, "unit": unit, "quantile": quantile, **g, "ratio": ratio})
    return pa.Table.from_pylist(rows, schema=WORKLOAD_SCHEMA)


def training_runs(wh: Warehouse, s: Settings, since: dt.date, until: dt.date) -> dict[str, int]:
    """Training runs started per platform on reporting days `since`..`until` (the run rule in the module doc)."""
    params = {"since": since, "until": until, "tz": s.reporting.timezone, "metric": THROUGHPUT,
              "dmin": since - RUN_LOOKBACK, "dmax": until + _DAY, "gap": int(RUN_GAP.total_seconds()),
              "platforms": [*GCP_PLATFORMS, DATABRICKS]}  # fmt: skip
    return {r["platform"]: r["runs"] for r in wh.query(_RUNS_SQL, params).to_pylist()}


def runs_table(
    gcp: Row, dbx: Row, gcp_runs: int, dbx_runs: int, base: tuple[dt.date, dt.date], window: tuple[dt.date, dt.date]
) -> pa.Table:
    """Per side: its days, training runs, training GPU $ (unit_costs rows) and $ per run."""
    rows = []
    for side, units, runs, (since, until) in ((GCP, gcp, gcp_runs, base), (DATABRICKS, dbx, dbx_runs, window)):
        cost = units.get("training_cost_usd")
        rows.append({"side": side, "since": since, "until": until, "runs": runs, "training_cost_usd": cost,
                     "cost_per_run_usd": _div(cost, runs) if cost else None})  # fmt: skip
    schema = pa.schema([("side", pa.string()), ("since", pa.date32()), ("until", pa.date32()), ("runs", pa.int64()),
                        ("training_cost_usd", pa.float64()), ("cost_per_run_usd", pa.float64())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


# What each target is a share of (utilization is absolute).
_OF = {"Resource utilization": "", "Total cost": " of the all-GCP baseline"}


def _judge(metric: str, goal: float, at_least: bool, actual: float | None, detail: str) -> Score:
    target = f"{'≥' if at_least else '≤'} {goal:.0%}" + _OF.get(metric, " of GCP")
    if actual is None:
        return Score(metric, target, goal, None, NO_DATA, detail)
    ok = actual >= goal if at_least else actual <= goal
    return Score(metric, target, goal, actual, PASS if ok else FAIL, detail)


def _workload_score(metric: str, name: str, goal: float, at_least: bool, workloads: pa.Table) -> Score:
    rows = [r for r in workloads.to_pylist() if r["metric"] == name]
    both = [r for r in rows if r["ratio"] is not None]
    if both:
        weight = sum(r["databricks_samples"] for r in both)
        value = sum(r["ratio"] * r["databricks_samples"] for r in both) / weight
        names = ", ".join(f"{r['workload']} {r['ratio']:.1%}" for r in both)
        return _judge(metric, goal, at_least, value, f"Databricks ÷ GCP mean {name}: {names}")
    dbx = sorted({r["workload"] for r in rows if r["databricks_samples"]})
    gcp = sorted({r["workload"] for r in rows if r["gcp_samples"]})
    if not dbx or not gcp:
        missing = " or ".join(side for side, found in (("Databricks", dbx), ("GCP (gce/gke)", gcp)) if not found)
        return _judge(metric, goal, at_least, None, f"no {name} from {missing} in workload_metrics")
    why = f"no workload reports {name} on both sides (Databricks: {', '.join(dbx)}; GCP: {', '.join(gcp)})"
    return _judge(metric, goal, at_least, None, why)


def _gpu_gap(side: str, row: Row, need_busy: bool = True) -> str | None:
    """Why a side's GPU figures are missing, or None when they are there."""
    if not row.get("gpu_cost_usd"):
        return f"no {side} GPU cost billed"
    if row.get("gpu_hours") is None:
        return f"no {side} GPU-hours billed (its VMs' GCP billing rows are missing)"
    if need_busy and row.get("busy_gpu_hours") is None:
        return f"no {side} GPU telemetry: its busy share is unknown"
    return None


def _efficiency(goal: float, gcp: Row, dbx: Row) -> Score:
    metric = "Cost efficiency"
    gap = _gpu_gap("Databricks", dbx) or _gpu_gap("GCP", gcp)
    if gap is None and not gcp["busy_gpu_hours"]:
        gap = "GCP busy GPU-hours are 0"
    if gap is not None:
        return _judge(metric, goal, True, None, gap)
    value = (dbx["busy_gpu_hours"] / dbx["gpu_cost_usd"]) / (gcp["busy_gpu_hours"] / gcp["gpu_cost_usd"])
    detail = (f"busy GPU-hours per $: Databricks {dbx['busy_gpu_hours']:,.0f} / ${dbx['gpu_cost_usd']:,.0f}, "
              f"GCP {gcp['busy_gpu_hours']:,.0f} / ${gcp['gpu_cost_usd']:,.0f}")  # fmt: skip
    return _judge(metric, goal, True, value, detail)


def _utilization(goal: float, dbx: Row) -> Score:
    metric = "Resource utilization"
    gap = _gpu_gap("Databricks", dbx)
    if gap is not None:
        return _judge(metric, goal, True, None, gap)
    coverage = dbx.get("telemetry_coverage_ratio")
    detail = (f"Databricks: {dbx['busy_gpu_hours']:,.0f} busy of {dbx['gpu_hours']:,.0f} billed GPU-hours"
              + ("" if coverage is None else f"; telemetry saw {coverage:.0%} of them"))  # fmt: skip
    return _judge(metric, goal, True, dbx["busy_ratio"], detail)


def _total(plan: PlanConfig, run_rate: float | None) -> Score:
    metric, goal = "Total cost", plan.targets.total_cost_max
    if run_rate is None:
        return _judge(metric, goal, False, None, "no cost data on or before the window's end")
    detail = f"run-rate ${run_rate:,.0f} per 30 days ÷ all-GCP baseline ${plan.baseline_monthly_usd:,.0f}"
    return _judge(metric, goal, False, run_rate / plan.baseline_monthly_usd, detail)


def _per_run(goal: float, runs: pa.Table) -> Score:
    metric = "Cost per training run"
    sides = {r["side"]: r for r in runs.to_pylist()}
    for side, name in ((DATABRICKS, "Databricks"), (GCP, "GCP")):
        r = sides[side]
        if not r["runs"]:
            return _judge(metric, goal, False, None, f"no training runs from {name} {r['since']}..{r['until']}")
        if not r["training_cost_usd"]:
            return _judge(metric, goal, False, None, f"no {name} GPU cost labelled workload=training*")
    d, g = sides[DATABRICKS], sides[GCP]
    detail = (f"Databricks ${d['training_cost_usd']:,.0f} / {d['runs']} runs, "
              f"GCP ${g['training_cost_usd']:,.0f} / {g['runs']} runs")  # fmt: skip
    return _judge(metric, goal, False, d["cost_per_run_usd"] / g["cost_per_run_usd"], detail)


def scorecard(
    plan: PlanConfig, run_rate: float | None, gcp: Row, dbx: Row, workloads: pa.Table, runs: pa.Table
) -> tuple[Score, ...]:
    """The six rows, in the issue's order; `gcp` / `dbx` are migration.unit_costs rows (GCP over the baseline)."""
    t = plan.targets
    return (
        _workload_score("Training throughput", THROUGHPUT, t.training_throughput_min, True, workloads),
        _workload_score("Inference latency", LATENCY, t.inference_latency_max, False, workloads),
        _efficiency(t.cost_efficiency_min, gcp, dbx),
        _utilization(t.utilization_min, dbx),
        _total(plan, run_rate),
        _per_run(t.cost_per_training_run_max, runs),
    )
