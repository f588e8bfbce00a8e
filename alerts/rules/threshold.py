"""The `threshold` rule: a GPU or network series beyond a limit for a whole duration (or any XID error)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from alerts.rules import telemetry_data as td
from alerts.rules.base import RuleBase
from alerts.rules.registry import RULES
from spendscope.config_base import Duration
from spendscope.records import Finding

if TYPE_CHECKING:
    from alerts.context import EvalContext

MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Metric:
    """A catalog entry: where the values are, their unit, and whether every sample or any must match."""

    source: Literal["gpu", "net"]
    column: str
    unit: str
    title: str
    match: Literal["all", "any"] = "all"


CATALOG: dict[str, Metric] = {
    "gpu_utilization": Metric("gpu", "gpu_util_ratio", "ratio", "GPU utilization"),
    "gpu_memory": Metric("gpu", "gpu_memory_ratio", "ratio", "GPU memory used"),  # fb_used ÷ fb_total
    "gpu_temperature": Metric("gpu", "gpu_temp_celsius_max", "celsius", "GPU temperature"),
    "gpu_power": Metric("gpu", "power_watts", "watts", "GPU power"),
    "xid": Metric("gpu", "xid_last", "code", "XID error", match="any"),  # any non-zero XID in the window
    "network_saturation": Metric("net", "saturation_ratio", "ratio", "network link use"),  # max(rx, tx) ÷ speed
}


@RULES.register("threshold")
class ThresholdRule(RuleBase):
    """A series beyond `value` for `duration`: per GPU (or per host) for GPU metrics, per host interface for network.

    Metrics: gpu_utilization, gpu_memory (used ÷ total framebuffer), network_saturation (ratios 0–1),
    gpu_temperature (°C), gpu_power (W), and xid (any non-zero XID error in the window). A series is
    judged on its newest `duration` of data: every sample must satisfy `op value`, telemetry must cover at
    least `min_coverage` of the duration, and that data must reach within `slack` of now — stale, gappy or
    just-started series say nothing rather than something wrong. `xid` looks at the last duration + slack
    before now and needs one matching minute. This duration is the condition's own; the engine's `for`
    adds its pending time on top. `per: host` makes one finding per host listing its GPUs.

    ```yaml
    rules:
      - name: gpu-memory-high
        type: threshold
        metric: gpu_memory
        op: ">"
        value: 0.9
        duration: 5m
        severity: warning
    ```
    """

    default_alertname: ClassVar[str] = "GpuThreshold"
    type: Literal["threshold"]
    metric: Literal["gpu_utilization", "gpu_memory", "gpu_temperature", "gpu_power", "xid", "network_saturation"]
    op: Literal[">", ">=", "<", "<="] = ">"
    value: float | None = Field(default=None, description="the limit, in the metric's base unit (ratios 0–1)")
    duration: Duration = Field(default=dt.timedelta(minutes=5), description="every sample this long beyond it")
    min_coverage: float = Field(default=0.8, gt=0, le=1, description="share of the duration data must cover")
    slack: Duration = Field(default=dt.timedelta(minutes=5), description="how old the newest data may be")
    per: Literal["gpu", "host"] = Field(default="gpu", description="one finding per GPU, or per host")
    platforms: list[Literal["gce", "gke", "databricks", "unknown"]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> ThresholdRule:
        if self.value is None and self.metric != "xid":
            raise ValueError(f"value is required for metric {self.metric}")
        if CATALOG[self.metric].unit == "ratio" and self.value is not None and not 0 <= self.value <= 1:
            raise ValueError(f"{self.metric} is a ratio 0–1: write 0.85 for 85%")
        if not MINUTE <= self.duration <= dt.timedelta(hours=6):
            raise ValueError("duration must be between 1m and 6h")
        return self

    @property
    def limit(self) -> float:
        return 0.0 if self.value is None else self.value

    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        m = CATALOG[self.metric]
        hits = self._matching(ctx, m)
        if not hits:
            return []
        hostmap = td.hosts(ctx)
        out: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for h in hits:
            item = hostmap.lookup(h["host"])
            if self.platforms and item.platform not in self.platforms:
                continue
            h["platform"], h["cluster"] = item.platform, item.cluster or item.resource_name or h["host"] or ""
            key = (h["series"],) if self.per == "gpu" or m.source == "net" else (h["host"] or "",)
            out.setdefault(key, []).append(h)
        return [self._finding(m, group) for _, group in sorted(out.items())]

    def _matching(self, ctx: EvalContext, m: Metric) -> list[dict[str, Any]]:
        """Per series in its window, the ones that matched, with min/max/mean and coverage (the warehouse's sums)."""
        hours = td.hours_for(self.duration + self.slack)
        dur = int(self.duration.total_seconds() * td.US)
        if m.match == "any":
            w0 = td.us(ctx.now) - dur - int(self.slack.total_seconds() * td.US)
            return td.threshold_hits(ctx, m.source, m.column, hours, op=self.op, limit=self.limit,
                                     window=(w0, td.us(ctx.now) + 60 * td.US))  # fmt: skip
        need = self.min_coverage * self.duration.total_seconds()
        return td.threshold_hits(ctx, m.source, m.column, hours, op=self.op, limit=self.limit, duration_us=dur,
                                 fresh=ctx.now - self.slack, need_s=need)  # fmt: skip

    def _finding(self, m: Metric, group: list[dict[str, Any]]) -> Finding:
        first = group[0]
        worst = max if self.op in (">", ">=") else min
        value = worst(r["v_max" if worst is max else "v_min"] for r in group)
        labels = {"host": td.label_value(first["host"]), "platform": first["platform"], "cluster": first["cluster"],
                  "metric": self.metric}  # fmt: skip
        if m.source == "net":
            labels["interface"] = td.label_value(first["interface"])
        elif self.per == "gpu":
            labels.update(gpu=td.label_value(first["gpu_index"]), gpu_uuid=td.label_value(first["gpu_uuid"]),
                          mig=td.label_value(first["mig_instance"]))  # fmt: skip
        where = f"{first['host']}" + (f" {first['interface']}" if m.source == "net" else "")
        if m.source == "gpu" and self.per == "gpu":
            where = f"GPU {first['gpu_index']}" + (f" MIG {first['mig_instance']}" if first["mig_instance"] else "")
            where += f" on {first['host']}"
        elif m.source == "gpu":
            where = f"{len(group)} GPU(s) on {first['host']}"
        span = self.duration / MINUTE
        cond = f"any XID error in the last {span:g} min (XID {value:g})" if m.match == "any" else (
            f"{m.title} {self.op} {_fmt(self.limit, m.unit)} for {span:g} min (now {_fmt(value, m.unit)})")  # fmt: skip
        summary = f"{where} ({first['platform']} {first['cluster']}): {cond}"
        return Finding(
            labels=td.drop_empty(labels),
            annotations={"summary": summary},
            value=value,
            evidence={
                "metric": self.metric,
                "op": self.op,
                "value": self.limit,
                "duration_minutes": span,
                "observed_min": min(r["v_min"] for r in group),
                "observed_max": max(r["v_max"] for r in group),
                "observed_mean": sum(r["v_mean"] for r in group) / len(group),
                "coverage": min(r["covered_s"] for r in group) / self.duration.total_seconds(),
                "matching_samples": sum(r["matching"] for r in group),
                "window_start": td.iso(min(r["t0_min"] for r in group)),
                "window_end": td.iso(max(r["t1_max"] for r in group)),
                "gpus": [td.label_value(r.get("gpu_index")) for r in group] if m.source == "gpu" else [],
            },
        )


def _fmt(x: float, unit: str) -> str:
    if unit == "ratio":
        return f"{x:.0%}"
    return {"celsius": f"{x:.0f} °C", "watts": f"{x:.0f} W"}.get(unit, f"{x:g}")
