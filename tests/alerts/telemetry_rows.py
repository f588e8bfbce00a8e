"""Synthetic telemetry rows (gpu_minutes, net_samples, inventory, workload_metrics) for the telemetry rule tests.

All synthetic, in the warehouse's own schemas (exporters/warehouse/schema/telemetry.py), written straight to a
test lake. Hosts follow the real naming: GCE instance names, GKE `gke-<cluster>-<pool>-<hash>-<id>` nodes, and
Databricks `<cluster_id>-<dashed ip>` container hostnames.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any

import pyarrow as pa

from alerts.context import EvalContext
from exporters.warehouse.engine import Warehouse
from exporters.warehouse.schema import TABLES
from spendscope.config import Settings

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
H100 = "NVIDIA H100 80GB HBM3"
FB_TOTAL = 81559.0 * 2**20


def gpu_minutes(host: str, gpus: int, start: dt.datetime, count: int, **metrics: Any) -> list[dict[str, Any]]:
    """`count` minutes from `start` for each of `gpus` GPUs of `host`; `metrics` are column values (busy, …).

    A callable metric value is called with (gpu index, minute index) for per-GPU, per-minute values.
    """
    mig = metrics.pop("mig", None)
    model = metrics.pop("gpu_model", H100)
    out = []
    for g in range(gpus):
        for i in range(count):
            minute = start + i * MIN
            values = {k: (v(g, i) if callable(v) else v) for k, v in metrics.items()}
            out.append({"minute": minute, "hour": minute.replace(minute=0), "host": host, "gpu_index": g,
                        "gpu_uuid": f"GPU-{host}-{g}", "gpu_model": model, "mig_instance": mig[0] if mig else None,
                        "mig_profile": mig[1] if mig else None, "source": "dcgm", "samples": 2,
                        "fb_total_bytes": FB_TOTAL, "xid_last": 0.0, "_day": minute.date(), "_source": "test",
                        **values})  # fmt: skip
    return out


def net_samples(host: str, start: dt.datetime, count: int, step_s: int, saturation: Any, iface: str = "eth0"
                ) -> list[dict[str, Any]]:  # fmt: skip
    """node_exporter-style samples every `step_s` seconds; the first after `start` has no rate (boot)."""
    speed = 200e9 / 8
    out = []
    for i in range(count):
        ts = start + dt.timedelta(seconds=step_s * (i + 1))
        sat = saturation(i) if callable(saturation) else saturation
        out.append({"ts": ts, "host": host, "interface": iface, "source": "node_exporter",
                    "target": f"http://{host}:9100/metrics", "interval_seconds": None if i == 0 else float(step_s),
                    "rx_bytes_per_second": None if i == 0 else sat * speed, "speed_bytes_per_second": speed,
                    "saturation_ratio": None if i == 0 else sat, "counter_reset": False,
                    "_day": ts.date(), "_source": "test"})  # fmt: skip
    return out


def inventory_row(platform: str, kind: str, resource_id: str, name: str, hosts: list[str], **extra: Any
                  ) -> dict[str, Any]:  # fmt: skip
    """One inventory observation (defaults: running, observed 2 minutes before NOW, started a day before)."""
    observed = extra.pop("observed_at", NOW - 2 * MIN)
    labels = extra.pop("labels", {"team": "ml-research"})
    row = {"observed_at": observed, "platform": platform, "kind": kind, "resource_id": resource_id,
           "resource_name": name, "cluster": name if kind != "instance" else None, "state": "RUNNING",
           "project": "acme-ml-prod", "location": "us-central1-a", "nodes": 1, "gpu_count": 8,
           "started_at": NOW - dt.timedelta(days=1), "hosts": hosts, "price_usd_per_hour": 88.0,
           "price_source": "config", "_day": observed.date(), "_source": "test"}  # fmt: skip
    row.update(extra)
    row["labels"] = [{"key": k, "value": v} for k, v in sorted(labels.items())]
    return row


def workload_rows(workload: str, metric: str, platform: str, start: dt.datetime, values: list[float],
                  step: dt.timedelta = 5 * MIN) -> list[dict[str, Any]]:  # fmt: skip
    """One workload_metrics series: values[i] at start + i × step."""
    unit = "seconds" if metric.endswith("_seconds") else "samples_per_second"
    return [{"ts": start + i * step, "workload": workload, "metric": metric, "value": v, "unit": unit,
             "platform": platform, "team": "ml", "source": "prometheus", "_day": (start + i * step).date(),
             "_source": "test"} for i, v in enumerate(values)]  # fmt: skip


def write(wh: Warehouse, table: str, rows: list[dict[str, Any]]) -> None:
    wh.append(table, pa.Table.from_pylist(rows, schema=TABLES[table].schema))


def context(wh: Warehouse, settings: Settings, now: dt.datetime = NOW) -> EvalContext:
    return EvalContext(wh=wh, settings=settings, now=now)


def yaml_example(cls: type) -> str:
    """The ```yaml block of a rule class docstring."""
    doc = textwrap.dedent((cls.__doc__ or "").split("\n", 1)[1])
    return doc.split("```yaml\n", 1)[1].split("```", 1)[0]
