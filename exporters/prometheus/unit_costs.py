"""Inventory-joined metrics, through `spendscope.economics` (the one definition of idle and unit economics).

- host → (platform, cluster) labels for the GPU series: `economics.host_map` (exact names, GKE node-pool
  prefixes, FQDNs; "unknown" for hosts the inventory does not know, a name rule only with no inventory);
- `spendscope_gpu_idle_cost_usd_per_hour{cluster,platform}`: `economics.idle_now` over the last
  `IDLE_WINDOW_MINUTES` (an item's $/h × its GPUs idle the whole window ÷ its GPUs), summed per cluster;
- `spendscope_cost_per_gpu_hour_usd` / `…_per_busy_gpu_hour_usd{platform}`: `economics.unit_economics` for
  yesterday's reporting day (a null ratio — no GPU-hours, no telemetry — gives no series).

Unit economics reads 45 days of focus_costs partitions (late billing rows), seconds on a large lake, yet changes
only when its inputs do: it is cached across snapshots, keyed by the reporting day and the versions of
cost_daily (rewritten after every billing ingest), gpu_minutes and inventory. idle_now reads 30 minutes of
gpu_minutes and runs on every snapshot.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

from exporters.prometheus.snapshot import PartContext, Sample, Samples
from spendscope.clock import local_day

IDLE_WINDOW_MINUTES = 30
# Written whenever the billing (via its cost_daily rollup), the busy minutes or the host → platform map change.
UNIT_ECONOMICS_INPUTS = ("cost_daily", "gpu_minutes", "inventory")


def cluster_of(item: Any, host: str) -> str:
    """The cluster label: the cluster, else the resource's name (a lone VM), else the host — as idle_now names it."""
    return str(item.cluster or item.resource_name or host)


def load_inventory(ctx: PartContext) -> Samples:
    """Put a host → (platform, cluster) function in ctx.found["labels"] for the GPU part."""
    from spendscope.economics import host_map

    hosts = host_map(ctx.warehouse, ctx.now.astimezone(dt.UTC).date() - dt.timedelta(days=1))
    cache: dict[str, tuple[str, str]] = {}

    def labels(host: str) -> tuple[str, str]:
        if host not in cache:
            item = hosts.lookup(host)
            cache[host] = (str(item.platform or ""), cluster_of(item, host))
        return cache[host]

    ctx.found["labels"] = labels
    return {}


def _finite(v: Any) -> bool:
    return v is not None and math.isfinite(v)


def economics_metrics(ctx: PartContext) -> Samples:
    """Idle $/hour now per cluster, and yesterday's $ per GPU-hour and per busy GPU-hour per platform."""
    from spendscope import economics

    idle: dict[tuple[str, str], float] = defaultdict(float)
    for r in economics.idle_now(ctx.warehouse, ctx.now, IDLE_WINDOW_MINUTES).to_pylist():
        if _finite(r["idle_cost_usd_per_hour"]):
            idle[(str(r["cluster"] or ""), str(r["platform"] or ""))] += r["idle_cost_usd_per_hour"]
    return {"spendscope_gpu_idle_cost_usd_per_hour": [(k, v) for k, v in idle.items()], **_unit_samples(ctx)}


def _unit_samples(ctx: PartContext) -> Samples:
    """Yesterday's $ per GPU-hour and per busy GPU-hour, recomputed only when a cache-key input changed."""
    from spendscope import economics

    tz = ctx.settings.reporting.timezone
    yesterday = local_day(ctx.now, tz) - dt.timedelta(days=1)
    unit = ctx.unit_economics or economics.unit_economics
    # Versions are read before computing: a write in between costs one more recompute, never a stale value kept.
    key = (yesterday, tz, unit, *(ctx.warehouse.table_version(t) for t in UNIT_ECONOMICS_INPUTS))
    cached = ctx.memo.get("unit_economics")
    if cached is not None and cached[0] == key:
        return cached[1]
    per_gpu: list[Sample] = []
    per_busy: list[Sample] = []
    for r in unit(ctx.warehouse, since=yesterday, until=yesterday, tz=tz).to_pylist():
        platform = str(r["platform"] or "")
        if _finite(r.get("cost_per_gpu_hour_usd")):
            per_gpu.append(((platform,), float(r["cost_per_gpu_hour_usd"])))
        if _finite(r.get("cost_per_busy_gpu_hour_usd")):
            per_busy.append(((platform,), float(r["cost_per_busy_gpu_hour_usd"])))
    samples: Samples = {"spendscope_cost_per_gpu_hour_usd": per_gpu, "spendscope_cost_per_busy_gpu_hour_usd": per_busy}
    ctx.memo["unit_economics"] = (key, samples)
    return samples
