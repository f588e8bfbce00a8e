"""The `idle` rule: a cluster, node pool or VM whose GPUs were all idle for the last N minutes, and what it costs."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from alerts.rules import telemetry_data as td
from alerts.rules.base import RuleBase
from alerts.rules.registry import RULES
from spendscope.config_base import Duration
from spendscope.economics import UNKNOWN, busy_threshold_note, group_key, idle_groups
from spendscope.records import Finding

if TYPE_CHECKING:
    from alerts.context import EvalContext

Platform = Literal["gce", "gke", "databricks", "unknown"]
MINUTE = dt.timedelta(minutes=1)


@RULES.register("idle")
class IdleRule(RuleBase):
    """GPUs billing while idle: one finding per inventory item (GCE VM, GKE node pool, Databricks cluster).

    A GPU minute is busy or idle by settings.telemetry's thresholds (graphics-engine activity, else
    utilization). An item is idle when every GPU measured in its newest `window` of telemetry had no busy
    minute and telemetry covered at least `min_coverage` of the window for all of them — a host with a data
    gap, one that just started (or whose inventory `started_at` is inside the window), or one whose data
    is older than `stale_after` is not called idle. Items whose inventory state is not running are
    skipped; a host the inventory does not know is its own group (platform `unknown`). On Databricks the
    GPUs decide, not whether a notebook is attached: an attached but idle notebook keeps a cluster up and
    billing, which is what this rule is for. `shutdown: true` lets the action engine stop the resource.

    ```yaml
    rules:
      - name: gpu-idle
        type: idle
        window: 30m
        windows: {gce: 15m}
        severity: warning
        shutdown: false
    ```
    """

    default_alertname: ClassVar[str] = "GpuIdle"
    type: Literal["idle"]
    window: Duration = Field(default=dt.timedelta(minutes=30), description="idle this long")
    windows: dict[Platform, Duration] = Field(default_factory=dict, description="per-platform window, e.g. {gce: 15m}")
    platforms: list[Platform] = Field(default_factory=list, description="only these platforms (empty: all)")
    min_coverage: float = Field(default=0.9, gt=0, le=1, description="share of the window telemetry must cover")
    stale_after: Duration = Field(default=dt.timedelta(minutes=5), description="newer data needed to judge")
    exclude_labels: dict[str, str] = Field(default_factory=dict, description="skip items with label=value ('*': any)")
    shutdown: bool = Field(default=False, description="opt in to auto-shutdown by the action engine")

    @field_validator("window")
    @classmethod
    def _window(cls, v: dt.timedelta) -> dt.timedelta:
        if not MINUTE <= v <= dt.timedelta(hours=24):
            raise ValueError("window must be between 1m and 24h")
        return v

    @field_validator("windows")
    @classmethod
    def _windows(cls, v: dict[str, dt.timedelta]) -> dict[str, dt.timedelta]:
        for platform, w in v.items():
            if not MINUTE <= w <= dt.timedelta(hours=24):
                raise ValueError(f"windows.{platform} must be between 1m and 24h")
        return v

    def window_of(self, platform: str) -> dt.timedelta:
        """The idle window for `platform`."""
        return next((w for p, w in self.windows.items() if p == platform), self.window)

    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        longest = max([self.window, *self.windows.values()])
        hostmap = td.hosts(ctx)

        def item_of(host: str) -> tuple[str, int]:
            # The groups idle_groups makes below; each judged on its own newest telemetry, so a collector that
            # lags a minute or two does not eat into the window.
            item = hostmap.lookup(host)
            return "\x1f".join(group_key(item, host)), int(self.window_of(item.platform).total_seconds() * td.US)

        stats = td.idle_stats(ctx, td.hours_for(longest + self.stale_after), item_of, ctx.now - self.stale_after)
        gpus = [
            {"host": r["host"], "w": r["w"], "measured_minutes": r["covered_s"] / 60,
             "busy_minutes": r["busy_minutes"], "last_seen": r["last_seen"]}
            for r in stats
        ]  # fmt: skip
        return [f for g in idle_groups(gpus, hostmap) if (f := self._finding(ctx, g)) is not None]

    def _finding(self, ctx: EvalContext, g: dict[str, Any]) -> Finding | None:
        platform = g["platform"]
        if not g["idle"] or (self.platforms and platform not in self.platforms):
            return None
        window = self.window_of(platform)
        minutes = window / MINUTE
        coverage = g["measured_gpu_minutes"] / (g["gpus"] * minutes) if g["gpus"] else 0.0
        if coverage < self.min_coverage:
            return None
        row = td.by_item(ctx).get((platform, g["resource_id"])) if g["resource_id"] else None
        if row is not None:
            labels = td.kv(row.get("labels"))
            if not td.running(row) and row.get("state") is not None:
                return None
            started = row.get("started_at")
            start_of_window = dt.datetime.fromtimestamp(g["last_seen"] / td.US, dt.UTC) + MINUTE - window
            if started is not None and started > start_of_window:
                return None  # just started: not idle for the whole window yet
            if td.excluded(labels, self.exclude_labels):
                return None
        return Finding(
            labels=td.drop_empty({"platform": platform, "cluster": td.label_value(g["cluster"]),
                                  "resource_id": td.label_value(g["resource_id"]), "kind": td.label_value(g["kind"])}),
            annotations=self._text(ctx, g, minutes),
            value=g["idle_cost_usd_per_hour"],
            evidence={
                "window_minutes": minutes,
                "gpus": g["gpus"],
                "idle_gpus": g["idle_gpus"],
                "busy_ratio": g["busy_ratio"],
                "coverage": coverage,
                "last_seen": td.iso(g["last_seen"]),
                "hosts": g["hosts"],
                "idle_cost_usd_per_hour": g["idle_cost_usd_per_hour"],
                "price_usd_per_hour": g["price_usd_per_hour"],
                "inventory_gpus": None if row is None else row.get("gpu_count"),
            },
            resource=None if row is None else td.resource(row),
        )  # fmt: skip

    def _text(self, ctx: EvalContext, g: dict[str, Any], minutes: float) -> dict[str, str]:
        what = g["cluster"] if g["platform"] == UNKNOWN else f"{g['platform']} {g['kind'] or 'resource'} {g['cluster']}"
        cost = g["idle_cost_usd_per_hour"]
        money = f", ${cost:,.2f}/h" if cost is not None else " (no price known)"
        summary = f"{what}: {g['idle_gpus']:g}/{g['gpus']:g} GPUs idle for {minutes:g} min{money}"
        hosts = ", ".join(g["hosts"][:5]) + (f" and {len(g['hosts']) - 5} more" if len(g["hosts"]) > 5 else "")
        description = (
            f"No GPU of {what} had a busy minute in the last {minutes:g} minutes (hosts: {hosts}). "
            f"{busy_threshold_note(ctx.settings.telemetry)}."
        )
        if g["platform"] == "databricks":
            description += " An attached notebook does not count as use: only GPU activity does."
        return {"summary": summary, "description": description}
