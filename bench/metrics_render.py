"""/metrics render benchmark (issue 3): 1,536 GPUs (192 hosts × 8) + network + costs, target < 250 ms.

Prints, from one run: our render of the snapshot (exporters.prometheus.exposition.render), the baseline
`prometheus_client.generate_latest` over a custom Collector yielding the same families and samples, their
ratio, and how long building that snapshot from a DuckDB lake takes (the background refresh, not the scrape).

    .venv/bin/python -m bench.metrics_render [--hosts 192] [--repeat 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator

import pyarrow as pa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from exporters.prometheus.exposition import render
from exporters.prometheus.snapshot import Samples, Snapshot, SnapshotBuilder, assemble
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
MODEL = "NVIDIA H100 80GB HBM3"
GPU = ["utilization_ratio", "busy", "memory_used_bytes", "power_watts", "temperature_celsius", "xid_last"]


def synthetic_samples(hosts: int) -> Samples:
    """What a 192-node A3 fleet exposes: 6 GPU gauges per GPU, 4 interfaces per host, costs, collector health."""
    out: Samples = {}
    gpus = [(f"gke-a3-pool-{h:04d}", str(g), MODEL, "gke", f"cluster-{h % 4}") for h in range(hosts) for g in range(8)]
    for i, name in enumerate(GPU):
        out[f"spendscope_gpu_{name}"] = [(labels, (j * 7 + i) % 100 / 100) for j, labels in enumerate(gpus)]
    nics = [(f"gke-a3-pool-{h:04d}", f"eth{n}") for h in range(hosts) for n in range(4)]
    for name in ("receive_bytes_per_second", "transmit_bytes_per_second", "saturation_ratio"):
        out[f"spendscope_network_{name}"] = [(labels, 1.25e9 * (k % 10) / 10) for k, labels in enumerate(nics)]
    out["spendscope_cost_usd"] = [
        (("Google Cloud", p, f"service-{s}", f"team-{t}", period), 100.0 + s + t)
        for p in ("gce", "gke", "databricks") for s in range(16) for t in range(10) for period in ("day", "month")
    ]  # fmt: skip
    collectors = ["dcgm", "nvml", "network", "inventory", "gcp-billing", "databricks", "focus"]
    out["spendscope_collector_up"] = [((c,), 1.0) for c in collectors]
    out["spendscope_collector_runs_total"] = [((c,), 120.0) for c in collectors]
    return out


class SameCollector:
    """The baseline: prometheus_client's own exposition of the same families."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        for fam in self.snap.families:
            spec = fam.spec
            cls = CounterMetricFamily if spec.type == "counter" else GaugeMetricFamily
            name = spec.name.removesuffix("_total") if spec.type == "counter" else spec.name
            m = cls(name, spec.help, labels=list(spec.labels))
            for values, v in fam.samples:
                m.add_metric(list(values), v)
            yield m


def timed(fn, repeat: int) -> tuple[float, bytes]:  # type: ignore[no-untyped-def]
    times, out = [], b""
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def seed_lake(root: str, hosts: int) -> DuckDbLake:
    """gpu_samples (10 per GPU over 5 min), gpu_minutes (30 min), net_samples, inventory: a fleet's telemetry."""
    wh = DuckDbLake(root)
    rows = [
        {"ts": NOW - dt.timedelta(seconds=30 * k), "host": f"gke-a3-pool-{h:04d}", "gpu_index": g, "gpu_model": MODEL,
         "gpu_util_ratio": 0.5, "gr_engine_active_ratio": 0.5, "fb_used_bytes": 4e10, "power_watts": 400.0,
         "gpu_temp_celsius": 60.0, "xid_last": 0.0, "_day": NOW.date(), "_source": "bench"}
        for h in range(hosts) for g in range(8) for k in range(10)
    ]  # fmt: skip
    wh.append("gpu_samples", pa.Table.from_pylist(rows))
    minutes = [
        {"minute": NOW - dt.timedelta(minutes=m), "host": f"gke-a3-pool-{h:04d}", "gpu_index": g, "busy": g % 2 == 0,
         "_day": NOW.date(), "_source": "bench"}
        for h in range(hosts) for g in range(8) for m in range(1, 31)
    ]  # fmt: skip
    wh.append("gpu_minutes", pa.Table.from_pylist(minutes))
    nets = [
        {"ts": NOW - dt.timedelta(seconds=10), "host": f"gke-a3-pool-{h:04d}", "interface": f"eth{n}",
         "rx_bytes_per_second": 1e9, "tx_bytes_per_second": 5e8, "saturation_ratio": 0.4, "_day": NOW.date(),
         "_source": "bench"}
        for h in range(hosts) for n in range(4)
    ]  # fmt: skip
    wh.append("net_samples", pa.Table.from_pylist(nets))
    inv = [
        {"observed_at": NOW, "platform": "gke", "kind": "node_pool", "resource_id": f"pool-{c}",
         "resource_name": f"pool-{c}", "cluster": f"cluster-{c}", "gpu_count": hosts * 2,
         "hosts": [f"gke-a3-pool-{h:04d}" for h in range(hosts) if h % 4 == c],
         "price_usd_per_hour": 88.0 * hosts / 4, "_day": NOW.date(), "_source": "bench"}
        for c in range(4)
    ]  # fmt: skip
    wh.append("inventory", pa.Table.from_pylist(inv))
    return wh


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=192)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    snap = assemble(synthetic_samples(args.hosts), NOW)
    n = sum(len(f.samples) for f in snap.families)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"snapshot: {args.hosts * 8} GPUs, {n} samples in {len(snap.families)} families")
    ours, body = timed(lambda: render(snap), args.repeat)
    registry = CollectorRegistry()
    registry.register(SameCollector(snap))  # type: ignore[arg-type]
    base, base_body = timed(lambda: generate_latest(registry), args.repeat)
    print(f"prometheus_client.generate_latest (baseline): {base * 1000:.1f} ms, {len(base_body):,} bytes")
    print(f"ours, render(snapshot): {ours * 1000:.1f} ms, {len(body):,} bytes  (target < 250 ms)")
    print(f"ratio baseline / ours: {base / ours:.1f}x")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate({"home": tmp, "warehouse": {"path": f"{tmp}/lake"}})
        wh = seed_lake(settings.warehouse.path, args.hosts)
        builder = SnapshotBuilder(settings, wh, dict, fixed_clock(NOW), collector_names=lambda: ["dcgm"])
        builder.build()  # warm: DuckDB views, Delta snapshots
        t = time.perf_counter()
        built = builder.build()
        took = time.perf_counter() - t
        gpus = built.family("spendscope_gpu_utilization_ratio")
        print(f"snapshot build from the lake (background refresh, not per scrape): {took * 1000:.0f} ms, "
              f"{len(gpus.samples) if gpus else 0} GPUs, part errors {sum(builder.errors.values())}")  # fmt: skip
        t = time.perf_counter()
        render(built)
        print(f"render of that snapshot: {(time.perf_counter() - t) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
