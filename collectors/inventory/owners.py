"""Which platform manages a GCE VM (the one label rule), and folding owned VMs into their owner's row.

The label rule is shared with billing: exporters/warehouse/sql/focus_gcp.sql writes the same rule for
`x_Platform`, and tests/inventory/test_owners.py runs both on the same label sets. Databricks comes first,
as in SQL, so a Databricks VM that GKE also hosts lands on Databricks on both sides.
- Databricks: Databricks on GCP puts its default tags on the GCE VMs and disks it creates, keys and values
  lower-cased, characters other than letters, digits, `_` and `-` removed ("Default tags and tag keys
  automatically propagate to labels on GCE resources such as VM and its persistent disks",
  https://docs.databricks.com/gcp/en/admin/account-settings/usage-detail-tags): `vendor=databricks`,
  `clusterid`, `clustername`, `creator` (+ `runname`, `jobid` on job compute; `databricksinstancepoolid`,
  `databricksinstancepoolcreatorid` on pool VMs). A VM is Databricks when `vendor` is `databricks` or any
  label key starts with `databricks` (hand-written `databricks-cluster-id` / `databricks_cluster_id` labels,
  pool keys). Its cluster id: `clusterid`, else `databricks-cluster-id`, else `databricks_cluster_id`.
- GKE: a `goog-k8s-cluster-name` label (GKE sets it on its node VMs).

A VM is folded into its owner's row only when that row is in the same run (the GKE pool whose host pattern
names it, in the same project; the Databricks cluster whose id its labels carry). Folded VMs give their owner
live hosts (names and IPs); a GKE pool also gets its live node count (VMs in RUNNING) and GPU count from them.
A VM whose owner was not listed stays its own row, on its owner's platform, so nothing is lost and its
telemetry lands on the platform billing puts its cost on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from collectors.inventory.hosts import matches
from collectors.inventory.item import Row, unique

GKE_CLUSTER_LABEL = "goog-k8s-cluster-name"
DATABRICKS_KEY_PREFIX = "databricks"
DATABRICKS_CLUSTER_ID_LABELS = ("clusterid", "databricks-cluster-id", "databricks_cluster_id")


def label_map(labels: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """A `[{key, value}]` list as a dict; the first value of a repeated key wins (as LABEL_VALUE in SQL)."""
    out: dict[str, str] = {}
    for kv in labels or []:
        out.setdefault(kv["key"], kv["value"])
    return out


def is_databricks(tags: Mapping[str, str]) -> bool:
    """Labels of a VM Databricks created: `vendor=databricks` (any case) or a key starting with `databricks`."""
    return (tags.get("vendor") or "").lower() == "databricks" or any(k.startswith(DATABRICKS_KEY_PREFIX) for k in tags)


def platform_of(tags: Mapping[str, str]) -> str | None:
    """`databricks` or `gke` for a VM another platform manages, by its labels; None for a plain GCE VM."""
    if is_databricks(tags):
        return "databricks"
    if GKE_CLUSTER_LABEL in tags:
        return "gke"
    return None


def owner(row: Row) -> tuple[str, str | None] | None:
    """(platform, GKE cluster name or Databricks cluster id) of a VM another platform manages, else None.

    The cluster is None where the labels do not name it (an idle Databricks pool VM).
    """
    tags = label_map(row["labels"])
    platform = platform_of(tags)
    if platform == "databricks":
        return platform, next((tags[k] for k in DATABRICKS_CLUSTER_ID_LABELS if tags.get(k)), None)
    if platform == "gke":
        return platform, tags[GKE_CLUSTER_LABEL] or None
    return None


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
        if found and found[1] and found[0] == "gke":
            target = _gke_pool(vm, found[1], gke)
        elif found and found[1] and found[0] == "databricks":
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
