"""Live-estimate benchmark (issue 6): price 2,000 running resources and refresh `spend_live`; target < 1 s on 2 cores.

The lake holds (all synthetic, in the real table schemas): the price book (the demo's Catalog SKUs and DBU rates),
inventory snapshots every 5 minutes for the 2 hours the job reads — 1,200 GCE instances (A3 on demand and
Spot, C4A), 500 GKE node pools (1–12 Spot A3 nodes) and 300 Databricks clusters (2–8 A3 nodes, DBU rates in
config) across 35 sources — a month of `cost_hourly` for three platforms (the billing cuts) and a week of
`estimate_errors` (the correction factors). Timed: `LiveJob.run` as the daemon calls it every 5 minutes — the
first run of an hour (reconcile + relearn + estimate + write + cuts) and the warm runs within the hour
(estimate the previous and current hour from the snapshots, replace those rows, recompute the cuts), then a
read of today's `spend_live` as a rule would make it. Baseline from the same run: a bare DuckDB scan of every
column of the snapshot window of `inventory`.

    .venv/bin/python -m bench.live_estimate [--resources 2000] [--repeat 5] [--churn 0.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import tempfile
import time
from typing import Any

import pyarrow as pa

from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema import TABLES
from exporters.warehouse.schema.prices import PRICES
from spendscope.config import Settings
from spendscope.demo.live import price_rows
from spendscope.demo.plan import Plan
from spendscope.live.job import LiveJob

NOW = dt.datetime(2026, 11, 20, 12, 31, tzinfo=dt.UTC)
TICK = dt.timedelta(minutes=5)
PLATFORMS = ("gce", "gke", "databricks")


def snapshot_rows(resources: int, churn: float = 0.0) -> list[dict[str, Any]]:
    """Every resource at every 5-minute tick from 2 hours before NOW (60 % GCE, 25 % GKE, 15 % Databricks);
    the first `churn` share of the GKE pools and Databricks clusters changes size at every tick (autoscaling)."""
    n_gce, n_gke = int(resources * 0.6), int(resources * 0.25)
    items = []
    for i in range(resources):
        if i < n_gce:
            machine = ("a3-highgpu-8g", "c4a-highmem-16")[i % 2]  # every 4th (an A3) on Spot
            items.append(
                ("gce", "instance", f"gce:p{i % 20}", f"{9_000_000 + i}", f"vm-{i:05d}", machine, 1, i % 4 == 0)
            )
        elif i < n_gce + n_gke:
            link = f"projects/p{i % 10}/locations/us-central1/clusters/c{i % 7}/nodePools/pool-{i}"
            items.append(("gke", "node_pool", f"gke:p{i % 10}", link, f"pool-{i}", "a3-highgpu-8g", 1 + i % 12, True))
        else:
            items.append(("databricks", "cluster", f"databricks:ws{i % 5}", f"1120-{i:06d}-bench", f"cluster-{i}",
                          "a3-highgpu-8g", 2 + i % 7, False))  # fmt: skip
    rows = []
    t, tick = NOW - dt.timedelta(hours=2), 0
    scaling = int((resources - n_gce) * churn)
    while t <= NOW:
        for k, (platform_, kind, source, rid, name, machine, size, spot) in enumerate(items):
            nodes = size + (tick % 3 if n_gce <= k < n_gce + scaling else 0)
            rows.append({
                "observed_at": t, "platform": platform_, "kind": kind, "resource_id": rid, "resource_name": name,
                "state": "RUNNING", "project": source.split(":")[1], "location": "us-central1-a",
                "machine_type": machine, "driver_machine_type": machine if platform_ == "databricks" else None,
                "nodes": nodes, "gpus_per_node": 8 if machine.startswith("a3") else 0, "gpu_model": "H100",
                "gpu_count": nodes * 8, "is_spot": spot, "started_at": NOW - dt.timedelta(hours=5),
                "labels": [{"key": "team", "value": f"team-{hash(rid) % 40}"}], "hosts": [name],
                "price_usd_per_hour": None, "price_source": None, "_day": t.date(), "_source": source,
            })  # fmt: skip
        t += TICK
        tick += 1
    return rows


def cost_hourly() -> pa.Table:
    hours = [NOW.replace(minute=0) - dt.timedelta(hours=h) for h in range(8, 30 * 24)]
    rows = [
        {"hour": h, "provider": "Google Cloud", "platform": p, "service": "Compute Engine", "team": "team-1",
         "project": "p1", "billed_cost": 5000.0, "effective_cost": 5000.0, "charges": 100,
         "data_until": h + dt.timedelta(hours=1), "x_SourceTable": "gcp_billing_export", "_day": h.date(),
         "_source": "bench"}
        for h in hours for p in PLATFORMS
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=TABLES["cost_hourly"].schema)


def estimate_errors() -> pa.Table:
    hours = [NOW.replace(minute=0) - dt.timedelta(hours=h) for h in range(15, 7 * 24)]
    rows = [
        {"hour": h, "platform": p, "level": "platform", "estimated_raw_usd": 5000.0, "estimated_usd": 5000.0,
         "billed_usd": 4800.0, "error_usd": 200.0, "ratio": 0.96, "_day": h.date(), "_source": "bench"}
        for h in hours for p in PLATFORMS
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=TABLES["estimate_errors"].schema)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resources", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--churn", type=float, default=0.0, help="share of pools/clusters resizing at every tick")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as root:
        settings = Settings.model_validate({
            "warehouse": {"path": f"{root}/lake"}, "reporting": {"timezone": "UTC"},
            "live": {"dbu_per_hour": {"a3-highgpu-8g": 38.0}},
        })  # fmt: skip
        wh = DuckDbLake(settings.warehouse.path, reporting_tz="UTC")
        t = time.perf_counter()
        snaps = snapshot_rows(args.resources, args.churn)
        wh.append("inventory", pa.Table.from_pylist(snaps, schema=TABLES["inventory"].schema))
        wh.append("prices", pa.Table.from_pylist(price_rows(Plan([], 0)), schema=PRICES))
        wh.append("cost_hourly", cost_hourly())
        wh.append("estimate_errors", estimate_errors())
        print(f"seeded: {args.resources:,} resources, {len(snaps):,} inventory snapshot rows in "
              f"{time.perf_counter() - t:.1f}s")  # fmt: skip
        since = NOW.replace(minute=0) - dt.timedelta(hours=1) - settings.live.stale_after
        base = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            wh.query("SELECT * FROM inventory WHERE observed_at >= @s AND observed_at <= @n", {"s": since, "n": NOW})
            base.append(time.perf_counter() - t)
        job = LiveJob(settings, wh, lambda: NOW)
        t = time.perf_counter()
        first = job.run(NOW)
        cold = time.perf_counter() - t
        running = len({r["resource_id"] for r in first.rows if r["hour"] == NOW.replace(minute=0) and r["running"]})
        print(f"first run of the hour (reconcile + relearn + estimate + write + cuts): {cold:.2f}s "
              f"{ {k: round(v, 3) for k, v in first.seconds.items()} }; {len(first.rows):,} estimate rows, "
              f"{running:,} resources running at ${first.running_usd_per_hour:,.0f}/h, "
              f"unpriced {len(first.unpriced)}")  # fmt: skip
        warm, reads, parts = [], [], []
        for i in range(args.repeat):
            at = NOW + dt.timedelta(seconds=i + 1)
            t = time.perf_counter()
            run = job.run(at)
            warm.append(time.perf_counter() - t)
            parts.append(run.seconds)
            t = time.perf_counter()
            live = wh.query("SELECT platform, basis, SUM(usd) AS usd FROM spend_live WHERE hour >= @d GROUP BY 1, 2",
                            {"d": NOW.replace(hour=0, minute=0)})  # fmt: skip
            reads.append(time.perf_counter() - t)
        med, bare, read = statistics.median(warm), statistics.median(base), statistics.median(reads)
        split = {k: round(statistics.median(p[k] for p in parts), 3) for k in parts[0]}
        print(f"warm runs (estimate + write + spend_live cuts): median {med:.2f}s, max {max(warm):.2f}s over "
              f"{len(warm)} {split} (target < 1 s)")  # fmt: skip
        print(f"spend_live read of today (per platform and basis): median {read:.3f}s, {live.num_rows} rows")
        print(f"warm run + spend_live read: {med + read:.2f}s")
        print(f"baseline bare scan of the snapshot window of inventory (every column): median {bare:.2f}s")
        print(f"ratio warm run / bare scan: {med / bare:.2f}")
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
