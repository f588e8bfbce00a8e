"""Databricks clusters (`WorkspaceClient.clusters.list`, GET /api/2.1/clusters/list) as inventory rows.

Size: `nodes` = driver + workers, workers being the live executors of a running cluster, else `num_workers`
(for an autoscaling cluster the API gives the current target there), else `autoscale.min_workers`.
GPUs: `gpu_count` = driver GPUs + workers × worker GPUs; `gpus_per_node` is the worker type's (the
driver's for a single-node cluster). GPUs per node type come from `clusters.list_node_types()` `num_gpus`
where the workspace answers it, else from node_types.SHAPES. `is_spot` describes the workers (Databricks
keeps the driver on demand): GCP PREEMPTIBLE_GCP / PREEMPTIBLE_WITH_FALLBACK_GCP (or the older
use_preemptible_executors), AWS SPOT / SPOT_WITH_FALLBACK, Azure SPOT_AZURE / SPOT_WITH_FALLBACK_AZURE.
`started_at` is the last (re)start, else the creation request time.

Hosts (how GPU samples join, see hosts.py): each Spark node's `private_ip` and `host_private_ip`, its
`node_id` and `instance_id`, then the pattern `<cluster_id>-*`: a Databricks container's hostname is the
cluster id followed by its IP with dashes (e.g. `1120-093012-abc123de-10-4-0-12`), which is what
dcgm-exporter or nvidia-smi run by an init script reports as Hostname.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from collectors.inventory.item import Row, from_epoch_ms, labels, new_row, unique
from collectors.inventory.node_types import GpuShape, model_from_text, shape_of

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.compute import ClusterDetails, NodeType

log = logging.getLogger(__name__)

SPOT_AVAILABILITY = {
    "PREEMPTIBLE_GCP",
    "PREEMPTIBLE_WITH_FALLBACK_GCP",
    "SPOT",
    "SPOT_WITH_FALLBACK",
    "SPOT_AZURE",
    "SPOT_WITH_FALLBACK_AZURE",
}

NodeCatalog = Mapping[str, GpuShape]


def workspace_name(host: str) -> str:
    """The workspace as stored in `project`: the host name of its URL."""
    return urlsplit(host).hostname or host


def node_catalog(node_types: Iterable[NodeType]) -> dict[str, GpuShape]:
    """node_type_id → GPU shape for the GPU node types the workspace lists (`num_gpus` > 0)."""
    out: dict[str, GpuShape] = {}
    for nt in node_types:
        if not nt.node_type_id or not nt.num_gpus:
            continue
        known = shape_of(nt.node_type_id) or shape_of(nt.instance_type_id)
        model = (known.model if known else None) or model_from_text(nt.description) or "unknown"
        out[nt.node_type_id] = GpuShape(model, int(nt.num_gpus))
    return out


def _shape(node_type: str | None, catalog: NodeCatalog) -> GpuShape | None:
    if not node_type:
        return None
    return catalog.get(node_type) or shape_of(node_type)


def _workers(c: ClusterDetails) -> int:
    if c.executors:
        return len(c.executors)
    if c.num_workers is not None:
        return c.num_workers
    return (c.autoscale.min_workers or 0) if c.autoscale else 0


def _availability(c: ClusterDetails) -> tuple[bool | None, str | None]:
    """(workers on spot?, zone) from whichever cloud's attributes the cluster carries."""
    for attrs in (c.gcp_attributes, c.aws_attributes, c.azure_attributes):
        if attrs is None:
            continue
        avail = getattr(attrs, "availability", None)
        value = avail.value if avail is not None else None
        spot = value in SPOT_AVAILABILITY or bool(getattr(attrs, "use_preemptible_executors", False))
        return spot, getattr(attrs, "zone_id", None)
    return None, None


def cluster_hosts(c: ClusterDetails) -> list[str]:
    """Addresses and ids of the driver and executors, then the `<cluster_id>-*` hostname pattern."""
    nodes = [n for n in [c.driver, *(c.executors or [])] if n is not None]
    found = unique(v for n in nodes for v in (n.private_ip, n.host_private_ip, n.node_id, n.instance_id))
    return found + ([f"{c.cluster_id}-*"] if c.cluster_id else [])


def parse_cluster(c: ClusterDetails, *, workspace: str, now: dt.datetime, catalog: NodeCatalog) -> Row:
    """One cluster as an inventory row (pure)."""
    workers = _workers(c)
    worker = _shape(c.node_type_id, catalog)
    driver = _shape(c.driver_node_type_id or c.node_type_id, catalog)
    per_node = worker if workers else driver
    named = worker or driver
    gpus = (driver.count if driver else 0) + workers * (worker.count if worker else 0)
    spot, zone = _availability(c)
    return new_row(
        now,
        "databricks",
        "cluster",
        f"databricks:{workspace}",
        resource_id=c.cluster_id,
        resource_name=c.cluster_name,
        cluster=c.cluster_name,
        state=c.state.value if c.state else None,
        project=workspace,
        location=zone,
        machine_type=c.node_type_id,
        driver_machine_type=c.driver_node_type_id or c.node_type_id,
        nodes=workers + 1,
        gpus_per_node=per_node.count if per_node else 0,
        gpu_model=named.model if named else None,
        gpu_count=gpus,
        is_spot=spot,
        autotermination_minutes=c.autotermination_minutes,
        creator=c.creator_user_name,
        started_at=from_epoch_ms(c.last_restarted_time or c.start_time),
        labels=labels(c.custom_tags, c.default_tags),
        hosts=cluster_hosts(c),
    )


def parse_clusters(
    clusters: Iterable[ClusterDetails], *, workspace: str, now: dt.datetime, catalog: NodeCatalog
) -> list[Row]:
    """Every cluster with an id as a row (pure; a cluster without `cluster_id` cannot be joined and is skipped)."""
    return [parse_cluster(c, workspace=workspace, now=now, catalog=catalog) for c in clusters if c.cluster_id]


def fetch(client: WorkspaceClient) -> tuple[list[ClusterDetails], dict[str, GpuShape]]:
    """All listed clusters (every page) and the workspace's GPU node catalog.

    The catalog is a refinement: when list-node-types fails the built-in table is used and the clusters still count.
    """
    from databricks.sdk.errors import DatabricksError

    clusters = list(client.clusters.list())
    try:
        catalog = node_catalog(client.clusters.list_node_types().node_types or [])
    except DatabricksError as exc:
        log.warning("databricks list-node-types failed, using the built-in table: error:%s", exc)
        catalog = {}
    return clusters, catalog
