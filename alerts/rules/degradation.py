"""The `degradation` rule: a workload metric markedly worse than its own recent baseline."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from alerts.rules.base import RuleBase
from alerts.rules.registry import RULES
from spendscope.config_base import Duration
from spendscope.records import Finding

if TYPE_CHECKING:
    from alerts.context import EvalContext

Direction = Literal["lower_is_worse", "higher_is_worse"]

# Recent mean and baseline median per workload, metric and platform. The SQL text is fixed and the
# parameters depend on the window and baseline only, so rules for several metrics share one query.
# PERCENTILE_CONT is analytic in BigQuery: computed over a window, then one row per group.
_SQL = """
WITH w AS (
  SELECT IFNULL(workload, '') AS workload, IFNULL(metric, '') AS metric, IFNULL(platform, '') AS platform,
         ts, value
  FROM workload_metrics
  WHERE _day BETWEEN @dmin AND @dmax AND ts >= @base_start AND ts <= @now AND value IS NOT NULL
),
recent AS (
  SELECT workload, metric, platform, COUNT(*) AS recent_n, AVG(value) AS recent, MAX(ts) AS last_ts
  FROM w
  WHERE ts > @recent_start
  GROUP BY workload, metric, platform
),
base AS (
  SELECT DISTINCT workload, metric, platform,
         PERCENTILE_CONT(value, 0.5) OVER (PARTITION BY workload, metric, platform) AS baseline,
         COUNT(*) OVER (PARTITION BY workload, metric, platform) AS baseline_n
  FROM w
  WHERE ts <= @recent_start
)
SELECT r.workload, r.metric, r.platform, r.recent_n, r.recent, r.last_ts, b.baseline, b.baseline_n
FROM recent AS r
JOIN base AS b ON r.workload = b.workload AND r.metric = b.metric AND r.platform = b.platform
"""


def default_direction(metric: str) -> Direction:
    """Latency and durations are worse when higher; throughput, busy ratios and the like when lower."""
    name = metric.lower()
    if "latency" in name or name.endswith(("_seconds", "_duration", "_errors", "_error_ratio")):
        return "higher_is_worse"
    return "lower_is_worse"


@RULES.register("degradation")
class DegradationRule(RuleBase):
    """A workload metric `drop` (default 15%) worse over the recent `window` (mean) than its `baseline` (median).

    Reads `workload_metrics` (training_throughput, inference_latency_seconds, gpu_busy_ratio or your own);
    one finding per workload, metric and platform, so Databricks and GCP runs of one workload are compared
    each with its own past. Latency-like metrics (name containing `latency`, or ending `_seconds`) are
    worse when higher, the rest when lower, unless `direction` says otherwise. Both sides need
    `min_samples` / `min_baseline_samples`: a workload that stopped, or a new one, says nothing.

    ```yaml
    rules:
      - name: training-throughput-degraded
        type: degradation
        metric: training_throughput
        drop: 0.15
        window: 1h
        baseline: 7d
    ```
    """

    default_alertname: ClassVar[str] = "WorkloadDegraded"
    type: Literal["degradation"]
    metric: str | None = Field(default=None, description="one metric name; none: every metric")
    direction: Direction | None = Field(default=None, description="default: from the metric name")
    drop: float = Field(default=0.15, gt=0, lt=10, description="relative change that counts as worse (0.15 = 15%)")
    window: Duration = Field(default=dt.timedelta(hours=1), description="recent span, averaged")
    baseline: Duration = Field(default=dt.timedelta(days=7), description="span before the window, its median")
    min_samples: int = Field(default=6, ge=1, description="recent samples needed")
    min_baseline_samples: int = Field(default=30, ge=1, description="baseline samples needed")
    workloads: list[str] = Field(default_factory=list, description="only these workloads (empty: all)")
    platforms: list[str] = Field(default_factory=list, description="only these platforms (empty: all)")

    @field_validator("window", "baseline")
    @classmethod
    def _positive(cls, v: dt.timedelta) -> dt.timedelta:
        if v < dt.timedelta(minutes=1):
            raise ValueError("must be at least 1m")
        return v

    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        recent_start = ctx.now - self.window
        base_start = recent_start - self.baseline
        day = dt.timedelta(days=1)
        params = {"now": ctx.now, "recent_start": recent_start, "base_start": base_start,
                  "dmin": base_start.date() - day, "dmax": ctx.now.date() + day}  # fmt: skip
        out = []
        for r in sorted(ctx.query(_SQL, params).to_pylist(), key=lambda r: (r["workload"], r["metric"], r["platform"])):
            if self._wanted(r) and (f := self._finding(r)) is not None:
                out.append(f)
        return out

    def _wanted(self, r: dict[str, Any]) -> bool:
        return (
            (self.metric is None or r["metric"] == self.metric)
            and (not self.workloads or r["workload"] in self.workloads)
            and (not self.platforms or r["platform"] in self.platforms)
            and r["recent_n"] >= self.min_samples
            and r["baseline_n"] >= self.min_baseline_samples
        )

    def _finding(self, r: dict[str, Any]) -> Finding | None:
        base, recent = r["baseline"], r["recent"]
        if base is None or recent is None or base <= 0:
            return None  # a change relative to zero or a negative baseline means nothing
        change = recent / base - 1
        direction = self.direction or default_direction(r["metric"])
        worse = -change if direction == "lower_is_worse" else change
        if worse < self.drop:
            return None
        labels = {k: r[k] for k in ("workload", "metric", "platform") if r[k]}
        where = f"{r['workload'] or '(no workload)'}" + (f" on {r['platform']}" if r["platform"] else "")
        way = "down" if change < 0 else "up"
        summary = (
            f"{where}: {r['metric']} {way} {abs(change):.0%} vs its baseline ({recent:.4g} over the last "
            f"{_span(self.window)} vs median {base:.4g} over the {_span(self.baseline)} before)"
        )
        return Finding(
            labels=labels,
            annotations={"summary": summary},
            value=change,
            evidence={
                "recent": recent,
                "baseline": base,
                "change_ratio": change,
                "direction": direction,
                "recent_samples": r["recent_n"],
                "baseline_samples": r["baseline_n"],
                "window_minutes": self.window.total_seconds() / 60,
                "baseline_hours": self.baseline.total_seconds() / 3600,
                "last_sample": r["last_ts"].isoformat() if r["last_ts"] is not None else None,
            },
        )


def _span(d: dt.timedelta) -> str:
    s = d.total_seconds()
    if s % 86400 == 0:
        return f"{s / 86400:g}d"
    if s % 3600 == 0:
        return f"{s / 3600:g}h"
    return f"{s / 60:g}m"
