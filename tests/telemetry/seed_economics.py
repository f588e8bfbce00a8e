"""A small seeded warehouse for unit economics, with every figure hand-computable (synthetic rows).

Billing goes in the upstream shapes (gcp_billing_export rows, Databricks usage + list prices) and reaches
unit economics through the same focus_costs views as real data. Reporting zone America/Los_Angeles; all
charges and minutes lie between 18:00 and 20:00 UTC (10:00–12:00 Pacific) of the day they belong to.

Day D (2026-11-18):
  gce         a3-train-01 (workload=training), 2 hours: GPU SKU 8 GPUs × 73.60, core 7.00, RAM 3.00 per hour
              → gpu_hours 16, cost 167.20. A c4a VM (5.00) and the VM's Hyperdisk (2.00) are not GPU cost.
              Telemetry: 8 GPUs × 60 min, 45 busy → busy_ratio 0.75, telemetry 8 GPU-hours (coverage 0.5).
  gke         an h100 node (workload=batch), 1 hour: GPU 40.00, core 4.00, RAM 1.00 → gpu_hours 8, cost 45.00;
              the cluster fee (0.10) is not GPU cost. Telemetry: 8 GPUs × 60 min, 15 busy → 0.25 (host matched
              by the inventory's node-name prefix).
  databricks  llm-finetune (workload=training): its GCE VM 1 hour (GPU 50.00, core 10.00) + 38 DBU × 0.15
              = 5.70 → gpu_hours 8, cost 65.70; a serverless SQL warehouse (no GPU) is not GPU cost.
              Its VM carries Databricks' default tags as GCE labels (vendor=databricks, clusterid, …).
              Telemetry: 8 GPUs × 60 min, none busy (host matched by the cluster's `<cluster id>-*` pattern).
Day D+1: only the GCE VM's billing, no telemetry.  Day D+2: only telemetry (GCE, 4 GPUs × 30 min, all busy).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from exporters.warehouse.engine import Warehouse
from exporters.warehouse.schema import TABLES
from tests.telemetry.helpers import minute_rows, write_minutes

D = dt.date(2026, 11, 18)
TZ = "America/Los_Angeles"
GKE_NODE = "gke-ml-gke-prod-h100-ondemand-5e0a93f2-ab12"
DBX_CLUSTER = "0921-040211-llmft7a2"
DBX_HOST = f"{DBX_CLUSTER}-10-128-0-5"
H100, CORE, RAM = "Nvidia H100 80GB GPU running in Americas", "A3 Instance Core running in Americas", "A3 Instance Ram"


def _t(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


def _kv(**labels: str) -> list[dict[str, str]]:
    return [{"key": k.replace("_", "-"), "value": v} for k, v in labels.items()]


def _charge(start: dt.datetime, sku: str, cost: float, resource: str | None, labels: list[dict[str, str]],
            gpus: int = 0, service: str = "Compute Engine", hours: int = 1) -> dict[str, Any]:  # fmt: skip
    end = start + dt.timedelta(hours=hours)
    return {
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9",
        "service": {"id": service[:4], "description": service},
        "sku": {"id": sku[:12], "description": sku},
        "usage_start_time": start,
        "usage_end_time": end,
        "project": {"id": "acme-ml-prod", "name": "acme-ml-prod"},
        "labels": labels,
        "resource": None if resource is None else {"name": resource, "global_name": f"//compute/{resource}"},
        "cost": cost,
        "currency": "USD",
        "usage": {"amount": float(gpus * 3600 * hours) if gpus else 1.0, "unit": "seconds"},
        "credits": [],
        "invoice": {"month": start.strftime("%Y%m")},
        "cost_type": "regular",
        "_day": start.date(),
        "_source": "seed",
    }


def _vm(
    start: dt.datetime, name: str, labels: list[dict[str, str]], gpu: float, core: float, ram: float
) -> list[dict[str, Any]]:
    return [_charge(start, H100, gpu, name, labels, gpus=8), _charge(start, CORE, core, name, labels),
            _charge(start, RAM, ram, name, labels)]  # fmt: skip


def billing_rows() -> list[dict[str, Any]]:
    train = _kv(team="ml-research", workload="training")
    gke = _kv(goog_k8s_cluster_name="ml-gke-prod", goog_k8s_node_pool_name="h100-ondemand", workload="batch")
    dbx = _kv(vendor="databricks", clusterid=DBX_CLUSTER, clustername="llm-finetune", workload="training")
    return [
        *_vm(_t(D, 18), "a3-train-01", train, 73.6, 7.0, 3.0),
        *_vm(_t(D, 19), "a3-train-01", train, 73.6, 7.0, 3.0),
        _charge(_t(D, 18), "C4A Instance Core running in Americas", 5.0, "c4a-etl-1", _kv(workload="training")),
        _charge(_t(D, 18), "Hyperdisk Balanced Capacity", 2.0, "a3-train-01-data", train),
        _charge(_t(D, 18), H100, 40.0, GKE_NODE, gke, gpus=8),
        _charge(_t(D, 18), CORE, 4.0, GKE_NODE, gke),
        _charge(_t(D, 18), RAM, 1.0, GKE_NODE, gke),
        _charge(_t(D, 18), "Regional Kubernetes Clusters", 0.1, "ml-gke-prod", gke[:1], service="Kubernetes Engine"),
        _charge(_t(D, 18), H100, 50.0, "0921-040211-llmft7a2-node-0", dbx, gpus=8),
        _charge(_t(D, 18), CORE, 10.0, "0921-040211-llmft7a2-node-0", dbx),
        *_vm(_t(D + dt.timedelta(days=1), 18), "a3-train-01", train, 73.6, 7.0, 3.0),
    ]


def _usage(start: dt.datetime, sku: str, dbu: float, meta: dict[str, str], tags: dict[str, str]) -> dict[str, Any]:
    return {"record_id": f"{sku}-{start:%H}", "account_id": "acct", "workspace_id": "1482936051728364",
            "sku_name": sku, "cloud": "GCP", "usage_start_time": start, "usage_end_time": start + dt.timedelta(hours=1),
            "usage_date": start.date(), "custom_tags": [{"key": k, "value": v} for k, v in tags.items()],
            "usage_unit": "DBU", "usage_quantity": dbu, "usage_metadata": meta, "record_type": "ORIGINAL",
            "ingestion_date": start.date(), "_day": start.date(), "_source": "seed"}  # fmt: skip


def seed_billing(wh: Warehouse) -> None:
    wh.append("gcp_billing_export", pa.Table.from_pylist(billing_rows(), schema=TABLES["gcp_billing_export"].schema))
    jobs, sql = "PREMIUM_JOBS_COMPUTE", "PREMIUM_SERVERLESS_SQL_COMPUTE_US_CENTRAL"
    usage = [
        _usage(_t(D, 18), jobs, 38.0, {"cluster_id": DBX_CLUSTER, "node_type": "a3-highgpu-8g"},
               {"workload": "training"}),
        _usage(_t(D, 18), sql, 10.0, {"warehouse_id": "4f9a2c81d0e37b65"}, {"workload": "analytics"}),
    ]  # fmt: skip
    wh.append("databricks_usage", pa.Table.from_pylist(usage, schema=TABLES["databricks_usage"].schema))
    prices = [{"price_start_time": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "sku_name": s, "cloud": "GCP",
               "currency_code": "USD", "usage_unit": "DBU", "pricing": {"default": p},
               "_day": dt.date(2024, 1, 1), "_source": "seed"} for s, p in ((jobs, 0.15), (sql, 0.70))]  # fmt: skip
    wh.append("databricks_list_prices", pa.Table.from_pylist(prices, schema=TABLES["databricks_list_prices"].schema))


def seed_inventory(wh: Warehouse, observed: dt.datetime) -> None:
    items = [
        {"platform": "gce", "kind": "instance", "resource_id": "111", "resource_name": "a3-train-01",
         "hosts": ["a3-train-01"], "gpu_count": 8, "price_usd_per_hour": 83.6},
        {"platform": "gke", "kind": "node_pool", "resource_id": "ml-gke-prod/h100-ondemand",
         "resource_name": "h100-ondemand", "cluster": "ml-gke-prod",
         "hosts": ["gke-ml-gke-prod-h100-ondemand-5e0a93f2-*"], "gpu_count": 8, "price_usd_per_hour": 45.0},
        {"platform": "databricks", "kind": "cluster", "resource_id": DBX_CLUSTER, "resource_name": "llm-finetune",
         "cluster": "llm-finetune", "hosts": [f"{DBX_CLUSTER}-*"], "gpu_count": 8, "price_usd_per_hour": 65.7},
    ]  # fmt: skip
    rows = [
        {**i, "observed_at": observed, "state": "RUNNING", "_day": observed.date(), "_source": "seed"} for i in items
    ]
    wh.append("inventory", pa.Table.from_pylist(rows, schema=TABLES["inventory"].schema))


def seed_telemetry(wh: Warehouse) -> None:
    start = _t(D, 18)
    rows = [
        *minute_rows("a3-train-01", 8, start, 45, True),
        *minute_rows("a3-train-01", 8, start + dt.timedelta(minutes=45), 15, False),
        *minute_rows("a3-train-01", 1, start + dt.timedelta(minutes=60), 10, None),  # not measured: not counted
        *minute_rows(GKE_NODE, 8, start, 15, True),
        *minute_rows(GKE_NODE, 8, start + dt.timedelta(minutes=15), 45, False),
        *minute_rows(DBX_HOST, 8, start, 60, False),
        *minute_rows("a3-train-01", 4, _t(D + dt.timedelta(days=2), 18), 30, True),
    ]
    write_minutes(wh, rows)


def seed_all(wh: Warehouse) -> None:
    seed_billing(wh)
    seed_inventory(wh, _t(D, 17))
    seed_telemetry(wh)
