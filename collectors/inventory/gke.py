"""GKE node pools (`ClusterManagerClient.list_clusters`, GET /v1/projects/P/locations/-/clusters).

One row per node pool (kind "node_pool"): every cluster in the answer carries its pools, so one call per
project suffices. The API has no live node count per pool, so `nodes` is, in order: the count of the pool's
VMs from the same project's GCE listing (the collector's merge, when the project is also in gce_projects);
the cluster's `currentNodeCount` when the cluster has a single pool; else `initialNodeCount` × the pool's
zones, held inside the autoscaling bounds (total_* bounds, else per-zone bounds × zones).
GPUs per node: `config.accelerators` (summed), else the machine type's shape. `is_spot`: `config.spot` or
`config.preemptible`. Labels: the pool's resource labels over its Kubernetes node labels over the cluster's
resource labels. `started_at` stays null: the API gives a pool no start time.

Hosts: a GKE node's name is its managed instance group's base name plus a 4-character suffix, and the group
is named `<base>-grp` (`gke-<cluster>-<pool>-<hash>-grp`, cluster and pool names shortened by GKE when long).
So each `instanceGroupUrls` entry gives the exact pattern `<base>-*`; without URLs the pattern is
`gke-<cluster>-<pool>-*` (right for short names).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from collectors.inventory.item import Row, labels, new_row, unique
from collectors.inventory.node_types import accelerator_model, shape_of, short_name

if TYPE_CHECKING:
    from google.cloud.container_v1 import ClusterManagerClient


def host_patterns(cluster: str, pool: Any) -> list[str]:
    """Node-name prefix patterns (ending in '*') of a pool's VMs, from its instance group URLs."""
    bases = [short_name(url) or "" for url in pool.instance_group_urls]
    found = unique(f"{b.removesuffix('-grp')}-*" for b in bases if b)
    return found or [f"gke-{cluster}-{pool.name}-*"]


def pool_nodes(cluster: Any, pool: Any) -> int:
    """Best node count the cluster answer supports (see the module docstring)."""
    if len(cluster.node_pools) == 1 and cluster.current_node_count:
        return int(cluster.current_node_count)
    zones = len(pool.locations) or len(cluster.locations) or 1
    nodes = int(pool.initial_node_count) * zones
    auto = pool.autoscaling
    if auto and auto.enabled:
        low, high = (
            (auto.total_min_node_count, auto.total_max_node_count)
            if auto.total_max_node_count
            else (auto.min_node_count * zones, auto.max_node_count * zones)
        )
        nodes = max(low, min(high, nodes)) if high else max(low, nodes)
    return nodes


def _gpus(config: Any) -> tuple[int, str | None]:
    accelerators = list(config.accelerators)
    if accelerators:
        count = sum(int(a.accelerator_count or 0) for a in accelerators)
        return count, accelerator_model(accelerators[0].accelerator_type)
    shape = shape_of(config.machine_type)
    return (shape.count, shape.model) if shape else (0, None)


def parse_pool(cluster: Any, pool: Any, *, project: str, now: dt.datetime) -> Row:
    """One node pool of one `container_v1.Cluster` as an inventory row (pure)."""
    config = pool.config
    per_node, model = _gpus(config)
    nodes = pool_nodes(cluster, pool)
    location = cluster.location or cluster.zone
    return new_row(
        now,
        "gke",
        "node_pool",
        f"gke:{project}",
        resource_id=pool.self_link
        or f"projects/{project}/locations/{location}/clusters/{cluster.name}/nodePools/{pool.name}",
        resource_name=pool.name,
        cluster=cluster.name,
        state=pool.status.name if pool.status else None,
        project=project,
        location=location,
        machine_type=config.machine_type or None,
        nodes=nodes,
        gpus_per_node=per_node,
        gpu_model=model,
        gpu_count=per_node * nodes,
        is_spot=bool(config.spot or config.preemptible),
        labels=labels(dict(config.resource_labels), dict(config.labels), dict(cluster.resource_labels)),
        hosts=host_patterns(cluster.name, pool),
    )


def parse_clusters(clusters: Iterable[Any], *, project: str, now: dt.datetime) -> list[Row]:
    """Rows for every node pool of every cluster (pure)."""
    return [parse_pool(c, p, project=project, now=now) for c in clusters for p in c.node_pools if p.name]


def fetch(client: ClusterManagerClient, project: str) -> list[Any]:
    """Every cluster of the project in all locations (`locations/-`), node pools included."""
    return list(client.list_clusters(parent=f"projects/{project}/locations/-").clusters)
