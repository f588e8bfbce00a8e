"""The `runtime` rule: a cluster or VM that has been up longer than N hours, and what it has cost since."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from alerts.rules import telemetry_data as td
from alerts.rules.base import RuleBase
from alerts.rules.registry import RULES
from spendscope.config_base import Duration
from spendscope.records import Finding

if TYPE_CHECKING:
    from alerts.context import EvalContext

HOUR = dt.timedelta(hours=1)


@RULES.register("runtime")
class RuntimeRule(RuleBase):
    """A running inventory item whose `started_at` is more than `max_hours` ago (one finding per item).

    Judged on each item's latest inventory row, which must be at most `max_inventory_age` old: an item the
    inventory has not seen lately is unknown, not long-running. The state must be running (Databricks
    RUNNING / RESIZING, GCE RUNNING, GKE RUNNING…), a node pool scaled to zero nodes is not up, and an item
    without a start time (GKE node pools report none) is never reported. The cost since start is the
    item's current $/h times its hours up: an estimate, since its size may have changed.

    ```yaml
    rules:
      - name: cluster-up-24h
        type: runtime
        max_hours: 24
        kinds: [cluster, instance]
        min_gpus: 1
        exclude_labels: {always-on: "true"}
    ```
    """

    default_alertname: ClassVar[str] = "LongRunningCluster"
    type: Literal["runtime"]
    max_hours: float = Field(default=24, gt=0, description="up longer than this many hours")
    max_inventory_age: Duration = Field(default=HOUR, description="older inventory rows are unknown")
    platforms: list[Literal["gce", "gke", "databricks"]] = Field(default_factory=list, description="empty: all")
    kinds: list[Literal["cluster", "instance", "node_pool"]] = Field(default_factory=list, description="empty: all")
    min_gpus: int = Field(default=0, ge=0, description="only items with at least this many GPUs")
    exclude_labels: dict[str, str] = Field(default_factory=dict, description="skip items with label=value ('*': any)")

    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        seen_since = ctx.now - self.max_inventory_age
        out = []
        for row in sorted(td.inventory(ctx), key=lambda r: (r["platform"], r["resource_id"] or "")):
            if row["observed_at"] < seen_since or not self._wanted(row):
                continue
            started = row.get("started_at")
            if started is None:
                continue
            up = (ctx.now - started) / HOUR
            if up > self.max_hours:
                out.append(self._finding(row, up))
        return out

    def _wanted(self, row: dict[str, Any]) -> bool:
        return (
            td.running(row)
            and row.get("nodes") != 0
            and (not self.platforms or row["platform"] in self.platforms)
            and (not self.kinds or row["kind"] in self.kinds)
            and (row.get("gpu_count") or 0) >= self.min_gpus
            and not td.excluded(td.kv(row.get("labels")), self.exclude_labels)
        )

    def _finding(self, row: dict[str, Any], hours: float) -> Finding:
        name = row.get("resource_name") or row["resource_id"]
        price = row.get("price_usd_per_hour")
        cost = None if price is None else price * hours
        money = "" if cost is None else f", ~${cost:,.0f} so far at ${price:,.2f}/h"
        summary = f"{row['platform']} {row['kind']} {name} up {hours:.1f} h (limit {self.max_hours:g} h){money}"
        labels = {"platform": row["platform"], "cluster": td.label_value(row.get("cluster") or name),
                  "resource_id": td.label_value(row["resource_id"]), "kind": td.label_value(row["kind"])}  # fmt: skip
        return Finding(
            labels=td.drop_empty(labels),
            annotations={"summary": summary},
            value=hours,
            evidence={
                "hours_up": hours,
                "started_at": row["started_at"].isoformat(),
                "observed_at": row["observed_at"].isoformat(),
                "state": row.get("state"),
                "gpu_count": row.get("gpu_count"),
                "price_usd_per_hour": price,
                "estimated_cost_usd": cost,
            },
            resource=td.resource(row),
        )  # fmt: skip
