"""Inventory rows for the demo fleet: GCE instances, GKE node pools, Databricks clusters, as the collector writes them.

One snapshot per resource per day it ran, observed at the end of its last run that day, so the inventory's
"latest row per item" join (collectors/inventory/hosts.py) finds every host of the telemetry window. `hosts`
follows that join: GCE instances by name; GKE node pools by their node-name prefix `<pool base>-*` plus the
node names seen that day; Databricks clusters by `<cluster_id>-*` (their VMs are `<cluster_id>-node-<i>`)
plus those VM names. Prices are the demo's own $/h (VM SKUs net of credits, plus DBUs for Databricks) for
the whole resource at its size that day, `price_source = "config"`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pyarrow as pa

from exporters.warehouse.schema.telemetry import INVENTORY
from spendscope.demo.export_row import global_name, vm_name
from spendscope.demo.fleet import GKE_CLUSTER, REGION, ZONE, Node
from spendscope.demo.plan import Plan, Run, dbu_price, node_hourly
from spendscope.demo.telemetry_hosts import node_of, platform_of
from spendscope.demo.workspace import DBX, DBX_WORKSPACE

MINUTE = dt.timedelta(minutes=1)


def _labels(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(pairs)]


def resource_of(key: str, node: Node) -> tuple[str, str, str, str | None]:
    """(kind, resource_id, resource_name, cluster) of the resource a plan key's VMs belong to."""
    if key in DBX:
        cid = dict(DBX[key].metadata)["cluster_id"]
        return "cluster", cid, key, key
    if platform_of(node) == "gke":
        pool = dict(node.labels)["goog-k8s-node-pool-name"]
        link = f"projects/{node.project.id}/locations/{REGION}/clusters/{GKE_CLUSTER}/nodePools/{pool}"
        return "node_pool", link, pool, GKE_CLUSTER
    instance_id = global_name(node, node.name).rsplit("/", 1)[1]
    return "instance", instance_id, node.name, None


def inventory(plan: Plan, days: list[dt.date], source: str = "demo") -> pa.Table:
    """One row per resource (GPU or not) and day in `days` it ran, in a stable order."""
    wanted = set(days)
    groups: dict[tuple[dt.date, str], list[Run]] = defaultdict(list)
    for run in plan.runs:
        node = node_of(run.key)
        if node is not None and run.start.date() in wanted:
            groups[(run.start.date(), run.key)].append(run)
    rows = []
    for (day, key), runs in sorted(groups.items()):
        node = node_of(key)
        assert node is not None
        kind, rid, name, cluster = resource_of(key, node)
        vms = sorted({vm_name(node, i) for r in runs for i in range(r.first_node, r.first_node + r.nodes)})
        size = max(r.first_node + r.nodes for r in runs) if kind == "node_pool" else max(r.nodes for r in runs)
        price = node_hourly(node)
        c = DBX.get(key)
        if c is not None:
            price += c.dbu_per_node_hour * dbu_price(c.sku, runs[-1].start, plan.jobs_price_change)
        # As the inventory collector writes them: `<mig base>-*` for a pool, `<cluster_id>-*` for a cluster.
        patterns = {"node_pool": [f"{node.name}-*"], "cluster": [f"{rid}-*"]}.get(kind, [])
        gpus = node.machine.gpus
        last = max(r.end for r in runs)
        spot = any("Spot" in sku.description for sku, _ in node.machine.skus)
        rows.append(
            {
                "observed_at": last - MINUTE,
                "platform": platform_of(node),
                "kind": kind,
                "resource_id": rid,
                "resource_name": name,
                "cluster": cluster,
                "state": "RUNNING",
                "project": DBX_WORKSPACE if c else node.project.id,
                "location": REGION if kind == "node_pool" else ZONE,
                "machine_type": node.machine.name,
                "driver_machine_type": node.machine.name if c else None,
                "nodes": size,
                "gpus_per_node": gpus,
                # the family, as the inventory collector and focus_costs.x_GpuModel store it
                "gpu_model": ("A100" if node.machine.name.startswith("a2") else "H100") if gpus else None,
                "gpu_count": gpus * size,
                "is_spot": spot,
                "autotermination_minutes": (0 if c.product == "ALL_PURPOSE" else None) if c else None,
                "creator": ("researcher@acme.example" if c.product == "ALL_PURPOSE" else c.run_as) if c else None,
                "started_at": min(r.start for r in runs),
                "labels": _labels(c.tags if c else node.labels),
                "hosts": patterns + vms,
                "price_usd_per_hour": round(price * size, 4),
                "price_source": "config",
                "_day": day,
                "_source": source,
            }
        )
    return pa.Table.from_pylist(rows, schema=INVENTORY)
