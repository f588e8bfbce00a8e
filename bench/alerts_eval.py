"""Alert evaluation benchmark (issue 4): one cycle of 1,000 budgets + the idle and threshold rules over
1,536 GPUs (192 hosts × 8) with a day of `gpu_minutes`; target < 2 s on 2 cores.

The lake holds (all synthetic): 24 h of per-minute rollups for every GPU (2.2 M rows), 192 GCE/GKE inventory
items, a month of `cost_daily` for 40 teams × 25 projects × 3 platforms × 12 services, and net_samples.
Rules: 1,000 monthly/daily budget rules scoped to team/project/platform, plus the shipped idle and
threshold rules. We time `AlertEngine.evaluate` (rules, transitions, alert_events writes; no notifiers),
the first cycle (state rebuilt from alert_events) and warm ones, and print, from the same run, the baseline:
a bare DuckDB scan of every column of the day of gpu_minutes.

    .venv/bin/python -m bench.alerts_eval [--hosts 192] [--budgets 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time

import numpy as np
import pyarrow as pa

from alerts.engine import AlertEngine
from alerts.loader import SHIPPED, load_rule_file
from alerts.rules import Rule, RuleBase
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema import TABLES
from spendscope.config import Settings

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
MODEL = "NVIDIA H100 80GB HBM3"
TEAMS, PROJECTS, SERVICES = 40, 25, 12


def gpu_minutes(hosts: int) -> pa.Table:
    """24 h × 1,536 GPUs; hosts 0–7 idle for the last hour, hosts 8–9 saturated, the rest mixed."""
    naive = NOW.replace(tzinfo=None)  # numpy datetimes carry no zone: UTC by construction
    minutes = np.arange(naive - dt.timedelta(hours=24), naive, dt.timedelta(minutes=1)).astype("datetime64[us]")
    m, g = len(minutes), hosts * 8
    minute = np.tile(minutes, g)
    gpu = np.repeat(np.arange(g), m)
    host = gpu // 8
    rng = np.random.default_rng(4)
    util = rng.uniform(0.2, 0.8, g * m)
    last_hour = minute >= np.datetime64(naive - dt.timedelta(hours=1))
    util[(host < 8) & last_hour] = 0.0
    util[(host >= 8) & (host < 10)] = 0.97
    names = np.array([f"a3-node-{h:04d}" for h in range(hosts)])
    ts = pa.array(minute, pa.timestamp("us", tz="UTC"))
    return pa.table(
        {
            "minute": ts,
            "hour": pa.compute.floor_temporal(ts, unit="hour"),
            "host": names[host],
            "gpu_index": (gpu % 8).astype("int32"),
            "gpu_uuid": np.char.add("GPU-", gpu.astype(str)),
            "gpu_model": np.full(g * m, MODEL),
            "source": np.full(g * m, "dcgm"),
            "samples": np.full(g * m, 2, dtype="int64"),
            "gpu_util_ratio": util,
            "gr_engine_active_ratio": util,
            "fb_used_bytes": util * 80e9,
            "fb_total_bytes": np.full(g * m, 80e9),
            "power_watts": 100 + util * 600,
            "gpu_temp_celsius_max": 40 + util * 40,
            "xid_last": np.zeros(g * m),
            "busy": util >= 0.05,
            "_day": pa.compute.cast(ts, pa.date32()),
            "_source": np.full(g * m, "bench"),
        }
    )


def inventory(hosts: int) -> pa.Table:
    rows = [
        {"observed_at": NOW - dt.timedelta(minutes=2), "platform": "gce", "kind": "instance",
         "resource_id": str(9000 + h), "resource_name": f"a3-node-{h:04d}", "state": "RUNNING",
         "project": "ml-prod", "location": "us-central1-a",
         "machine_type": "a3-highgpu-8g", "nodes": 1, "gpus_per_node": 8, "gpu_model": "H100", "gpu_count": 8,
         "started_at": NOW - dt.timedelta(hours=h % 48), "labels": [{"key": "team", "value": f"team-{h % TEAMS}"}],
         "hosts": [f"a3-node-{h:04d}"], "price_usd_per_hour": 88.49, "price_source": "config",
         "_day": NOW.date(), "_source": "bench"}
        for h in range(hosts)
    ]  # fmt: skip
    return pa.Table.from_pylist(rows)


def cost_daily() -> pa.Table:
    days = [NOW.date() - dt.timedelta(days=d) for d in range(NOW.day)]
    rows = [
        {"day": d, "tz": "UTC", "provider": "Google Cloud" if p != "databricks" else "Databricks", "platform": p,
         "service": f"service-{s}", "category": "Compute", "team": f"team-{t}", "project": f"project-{t % PROJECTS}",
         "billed_cost": 5.0 + (t * 7 + s) % 13, "effective_cost": 5.0, "list_cost": 6.0, "charges": 10,
         "data_until": dt.datetime.combine(d, dt.time(), dt.UTC) + dt.timedelta(days=1),
         "x_SourceTable": "gcp_billing_export" if p != "databricks" else "databricks_usage", "_day": d,
         "_source": "bench"}
        for d in days for p in ("gce", "gke", "databricks") for s in range(SERVICES) for t in range(TEAMS)
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=TABLES["cost_daily"].schema)


def budget_rules(n: int) -> list[RuleBase]:
    from pydantic import TypeAdapter

    adapter: TypeAdapter[RuleBase] = TypeAdapter(Rule)
    out = []
    for i in range(n):
        kind = i % 3
        platform_ = ["gce", "gke", "databricks"][i % 3]
        scope = ({"team": f"team-{i % TEAMS}"} if kind == 0 else
                 {"project": f"project-{i % PROJECTS}"} if kind == 1 else {"platform": platform_})  # fmt: skip
        out.append(adapter.validate_python({
            "name": f"budget-{i:04d}", "type": "budget", "period": "month" if i % 2 else "day",
            "scope": scope, "amount_usd": 500.0 + (i % 50) * 100, "forecast": True,
        }))  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=192)
    ap.add_argument("--budgets", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as root:
        settings = Settings.model_validate({"warehouse": {"path": f"{root}/lake"}, "reporting": {"timezone": "UTC"}})
        wh = DuckDbLake(settings.warehouse.path, reporting_tz="UTC")
        t = time.perf_counter()
        minutes = gpu_minutes(args.hosts)
        wh.append("gpu_minutes", minutes)
        wh.append("inventory", inventory(args.hosts))
        wh.append("cost_daily", cost_daily())
        print(f"seeded: gpu_minutes {minutes.num_rows:,} rows, {args.hosts} inventory items, "
              f"cost_daily {TEAMS * SERVICES * 3 * NOW.day:,} rows in {time.perf_counter() - t:.1f}s")  # fmt: skip
        shipped = [r for r in load_rule_file(SHIPPED) if r.type in ("idle", "threshold")]  # type: ignore[attr-defined]
        rules = budget_rules(args.budgets) + shipped
        print(f"rules: {args.budgets} budgets + {len(shipped)} idle/threshold rules")
        day = NOW.date()
        base = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            wh.query("SELECT * FROM gpu_minutes WHERE _day >= @d", {"d": day - dt.timedelta(days=1)})
            base.append(time.perf_counter() - t)
        cycles = []
        clock_at = [NOW]
        engine = AlertEngine(settings, wh, rules, clock=lambda: clock_at[0])
        for i in range(args.repeat + 1):
            clock_at[0] = NOW + dt.timedelta(minutes=i)
            t = time.perf_counter()
            result = engine.evaluate()
            cycles.append(time.perf_counter() - t)
            if i == 0:
                kinds: dict[str, int] = {}
                for a in result.firing:
                    kinds[a.alertname] = kinds.get(a.alertname, 0) + 1
                print(f"first cycle (state rebuilt from alert_events): {cycles[0]:.2f}s, {result.findings} findings, "
                      f"firing {kinds}, errors: {result.rule_errors or 'none'}")  # fmt: skip
        warm = cycles[1:]
        med, bare = statistics.median(warm), statistics.median(base)
        print(f"warm cycles: median {med:.2f}s, max {max(warm):.2f}s over {len(warm)} (target < 2 s)")
        print(f"baseline bare scan of the day of gpu_minutes (every column): median {bare:.2f}s")
        print(f"ratio cycle / bare scan: {med / bare:.2f}")


if __name__ == "__main__":
    main()
