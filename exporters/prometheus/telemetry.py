"""GPU and network metrics: the latest sample per GPU (or MIG instance) and per interface, if recent.

A GPU that stopped reporting drops out after `FRESH_SECONDS` rather than showing its last value forever.
Labels are the minimal set a PromQL user groups by: host, gpu ("0", or "0/3" for MIG instance 3 of GPU 0),
gpu_model, and platform/cluster from the inventory (unit_costs.load_inventory; a host the inventory does not
know is platform "unknown" with the host itself as cluster — the name rule applies only with no inventory).

A GPU is identified as in gpu_minutes.sql: its UUID, else host + index, plus its MIG instance; when several
collectors report it, the best-ranked source with a fresh sample wins (dcgm > prometheus > nvml > nvidia-smi),
so its series do not alternate between two sources' values from one snapshot to the next.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from exporters.prometheus.snapshot import PartContext, Samples

FRESH_SECONDS = 300
# Hosts may run many virtual interfaces (veth per pod): keep the busiest few per host.
MAX_INTERFACES_PER_HOST = 16

# Identity and source ranking are gpu_minutes.sql's, so the live series and the rollup agree on what one GPU is.
_GPU_SQL = """
SELECT host, gpu_index, gpu_uuid, mig_instance, gpu_model, gpu_util_ratio, gr_engine_active_ratio, fb_used_bytes,
       fb_free_bytes, fb_reserved_bytes, power_watts, gpu_temp_celsius, xid_last,
       CASE source WHEN 'dcgm' THEN 1 WHEN 'prometheus' THEN 2 WHEN 'nvml' THEN 3 WHEN 'nvidia-smi' THEN 4 ELSE 5 END
         AS source_rank
FROM gpu_samples
WHERE ts >= @since AND _day >= @since_day
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY COALESCE(gpu_uuid, CONCAT(IFNULL(host, ''), '/', IFNULL(CAST(gpu_index AS STRING), ''))),
               IFNULL(mig_instance, '')
  ORDER BY source_rank, ts DESC) = 1
ORDER BY source_rank, ts DESC
"""

_NET_SQL = """
SELECT host, interface, rx_bytes_per_second, tx_bytes_per_second, saturation_ratio
FROM net_samples
WHERE ts >= @since AND _day >= @since_day AND rx_bytes_per_second IS NOT NULL
QUALIFY ROW_NUMBER() OVER (PARTITION BY host, interface ORDER BY ts DESC) = 1
"""

GPU_COLUMNS = {
    "spendscope_gpu_memory_used_bytes": "fb_used_bytes",
    "spendscope_gpu_power_watts": "power_watts",
    "spendscope_gpu_temperature_celsius": "gpu_temp_celsius",
    "spendscope_gpu_xid_last": "xid_last",
}


def _window(ctx: PartContext) -> dict[str, object]:
    since = ctx.now - dt.timedelta(seconds=FRESH_SECONDS)
    # `_day` is the sample's UTC day; one day of slack keeps the partition filter safe near midnight.
    return {"since": since, "since_day": since.astimezone(dt.UTC).date() - dt.timedelta(days=1)}


def gpu_label(index: int | None, mig_instance: str | None, uuid: str | None = None) -> str:
    """'0' for a whole GPU, '0/3' for MIG instance 3 of GPU 0; the UUID stands in for an unknown index."""
    # Two index-less GPUs of one host would otherwise share every label; the UUID is used whenever the index is
    # missing (not only on a clash), so a GPU's series keeps its labels when a second such GPU appears.
    base = str(index) if index is not None else uuid or ""
    return f"{base}/{mig_instance}" if mig_instance else base


def is_busy(gr_engine_active: float | None, utilization: float | None, ctx: PartContext) -> bool | None:
    """The gpu_minutes rule on one sample: graphics-engine activity if measured, else utilization."""
    t = ctx.settings.telemetry
    if gr_engine_active is not None:
        return gr_engine_active >= t.busy_gr_engine_active
    if utilization is not None:
        return utilization >= t.busy_utilization
    return None


def memory_total(used: float | None, free: float | None, reserved: float | None) -> float | None:
    """Framebuffer total as gpu_minutes.sql computes it: used + free + reserved (reserved is often unreported)."""
    # Without both used and free there is no total. Reserved (the driver's carve-out) is missing from some sources
    # and counts as 0 then: the total is a little low, never below used, so used / total stays within 0-1.
    if used is None or free is None:
        return None
    return used + free + (reserved or 0.0)


def gpu_metrics(ctx: PartContext) -> Samples:
    """The seven spendscope_gpu_* gauges from each GPU's latest recent sample."""
    host_labels: Callable[[str], tuple[str, str]] = ctx.found.get("labels", lambda _host: ("", ""))
    out: Samples = defaultdict(list)
    seen: set[tuple[str, ...]] = set()
    # Rows come best source first, then newest: on a label clash (one GPU reported with its UUID by one source
    # and without by another, or a GPU swapped in under the same index) the first is kept, since a repeated
    # series would make Prometheus reject the whole scrape.
    for r in ctx.warehouse.query(_GPU_SQL, _window(ctx)).to_pylist():
        host = r["host"] or ""
        platform, cluster = host_labels(host)
        gpu = gpu_label(r["gpu_index"], r["mig_instance"], r["gpu_uuid"])
        labels = (host, gpu, r["gpu_model"] or "", platform, cluster)
        if labels in seen:
            continue
        seen.add(labels)
        util = r["gpu_util_ratio"] if r["gpu_util_ratio"] is not None else r["gr_engine_active_ratio"]
        if util is not None:
            out["spendscope_gpu_utilization_ratio"].append((labels, util))
        busy = is_busy(r["gr_engine_active_ratio"], r["gpu_util_ratio"], ctx)
        if busy is not None:
            out["spendscope_gpu_busy"].append((labels, 1.0 if busy else 0.0))
        for name, column in GPU_COLUMNS.items():
            if r[column] is not None:
                out[name].append((labels, r[column]))
        total = memory_total(r["fb_used_bytes"], r["fb_free_bytes"], r["fb_reserved_bytes"])
        if total is not None and total > 0:
            out["spendscope_gpu_memory_total_bytes"].append((labels, total))
    return dict(out)


def network_metrics(ctx: PartContext) -> Samples:
    """Receive/transmit rates and saturation per interface from its latest recent sample."""
    per_host: dict[str, list[dict[str, object]]] = defaultdict(list)
    for r in ctx.warehouse.query(_NET_SQL, _window(ctx)).to_pylist():
        per_host[r["host"] or ""].append(r)
    out: Samples = defaultdict(list)
    for host, rows in per_host.items():
        rows.sort(key=lambda r: -max(float(r["rx_bytes_per_second"] or 0), float(r["tx_bytes_per_second"] or 0)))  # type: ignore[arg-type]
        for r in rows[:MAX_INTERFACES_PER_HOST]:
            labels = (host, str(r["interface"] or ""))
            for name, column in (
                ("spendscope_network_receive_bytes_per_second", "rx_bytes_per_second"),
                ("spendscope_network_transmit_bytes_per_second", "tx_bytes_per_second"),
                ("spendscope_network_saturation_ratio", "saturation_ratio"),
            ):
                if r[column] is not None:
                    out[name].append((labels, float(r[column])))  # type: ignore[arg-type]
    return dict(out)
