"""Attach GCE VMs that GKE or Databricks manage to their owner's row, so no VM is counted twice.

A VM is moved only when its owner row is in the same run (the GKE pool whose host pattern names it, in the
same project; the Databricks cluster whose id its `clusterid` label carries). Moved VMs give their owner live
hosts (names and IPs); a GKE pool also gets its live node count (VMs in RUNNING) and GPU count from them.
A VM whose owner was not listed stays a GCE row, marked with its GKE cluster, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from collectors.inventory.gce import owner
from collectors.inventory.hosts import matches
from collectors.inventory.item import Row, unique


def _gke_pool(vm: Row, cluster: str, pools: Sequence[Row]) -> Row | None:
    best, best_score = None, 0
    for pool in pools:
        if pool["project"] != vm["project"] or pool["cluster"] != cluster:
            continue
        score = max((matches(e, vm["resource_name"]) for e in pool["hosts"] if e.endswith("*")), default=0)
        if score > best_score:
            best, best_score = pool, score
    return best


def merge(gce: Sequence[Row], gke: Sequence[Row], databricks: Sequence[Row]) -> list[Row]:
    """All rows, with owned VMs folded into their GKE pool or Databricks cluster (mutates those rows)."""
    clusters = {r["resource_id"]: r for r in databricks}
    members: dict[int, list[Row]] = {}
    kept: list[Row] = []
    for vm in gce:
        found = owner(vm)
        target = None
        if found and found[0] == "gke":
            target = _gke_pool(vm, found[1], gke)
        elif found and found[0] == "databricks":
            target = clusters.get(found[1])
        if target is None:
            kept.append(vm)
            continue
        members.setdefault(id(target), []).append(vm)
        target["hosts"] = unique([*target["hosts"], *vm["hosts"]])
    for pool in gke:
        vms = members.get(id(pool))
        if vms:
            pool["nodes"] = sum(1 for vm in vms if vm["state"] == "RUNNING")
            pool["gpu_count"] = pool["nodes"] * (pool["gpus_per_node"] or 0)
    return [*kept, *gke, *databricks]
