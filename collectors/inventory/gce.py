"""Compute Engine instances (`InstancesClient.aggregated_list`, GET /compute/v1/projects/P/aggregated/instances).

GPUs: the VM's `guestAccelerators` (A3/A2/G2 VMs list their built-in GPUs there too), else the machine
type's shape from node_types (a VM read from a partial answer still gets its GPUs). `is_spot`:
`scheduling.provisioningModel == "SPOT"` or the legacy `scheduling.preemptible`. `started_at`: the last
start, else the creation time. Hosts: the instance name (a GCE VM's hostname is its name unless a custom
`hostname` is set; then that too, with its first label), and each NIC's internal IP.

Ownership (no double counting): `owners.owner()` says from the VM's labels whether GKE or Databricks manages
it (the label rule billing uses too, see owners.py). Such a VM's row is on its owner's platform (`cluster`:
the GKE cluster, or the Databricks cluster's name, else id); the collector folds it into its owner's row when
that platform is listed too, and then uses it to give that row live hosts and node counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from collectors.inventory.item import Row, from_rfc3339, labels, new_row, unique
from collectors.inventory.node_types import accelerator_model, shape_of, short_name
from collectors.inventory.owners import label_map, owner

if TYPE_CHECKING:
    from google.cloud.compute_v1 import InstancesClient


def _gpus(instance: Any, machine_type: str | None) -> tuple[int, str | None]:
    accelerators = list(instance.guest_accelerators)
    if accelerators:
        count = sum(int(a.accelerator_count or 0) for a in accelerators)
        return count, accelerator_model(accelerators[0].accelerator_type)
    shape = shape_of(machine_type)
    return (shape.count, shape.model) if shape else (0, None)


def parse_instance(instance: Any, *, project: str, scope: str, now: dt.datetime) -> Row:
    """One `compute_v1.Instance` as an inventory row (pure)."""
    machine_type = short_name(instance.machine_type)
    gpus, model = _gpus(instance, machine_type)
    scheduling = instance.scheduling
    spot = scheduling.provisioning_model == "SPOT" or bool(scheduling.preemptible)
    hostname = instance.hostname or None
    row = new_row(
        now,
        "gce",
        "instance",
        f"gce:{project}",
        resource_id=str(instance.id) if instance.id else instance.name,
        resource_name=instance.name,
        state=instance.status or None,
        project=project,
        location=short_name(instance.zone) or short_name(scope),
        machine_type=machine_type,
        nodes=1,
        gpus_per_node=gpus,
        gpu_model=model,
        gpu_count=gpus,
        is_spot=spot,
        started_at=from_rfc3339(instance.last_start_timestamp) or from_rfc3339(instance.creation_timestamp),
        labels=labels(dict(instance.labels)),
        hosts=unique(
            [
                instance.name,
                hostname,
                hostname.split(".", 1)[0] if hostname else None,
                *(nic.network_i_p for nic in instance.network_interfaces),
            ]
        ),
    )
    found = owner(row)
    if found:
        platform, cluster = found
        name = label_map(row["labels"]).get("clustername") if platform == "databricks" else None
        row.update(platform=platform, cluster=name or cluster)
    return row


def parse_aggregated(pairs: Iterable[tuple[str, Any]], *, project: str, now: dt.datetime) -> list[Row]:
    """Rows for every instance in an aggregated listing: (scope such as "zones/us-central1-a", scoped list)."""
    return [
        parse_instance(inst, project=project, scope=scope, now=now)
        for scope, scoped in pairs
        for inst in scoped.instances
        if inst.name
    ]


def fetch(client: InstancesClient, project: str) -> list[tuple[str, Any]]:
    """Every (scope, InstancesScopedList) of the project, all pages (the pager follows nextPageToken)."""
    return list(client.aggregated_list(project=project))


def live_members(rows: Iterable[Row]) -> Mapping[str, list[Row]]:
    """Owned VMs grouped by "gke:<cluster>" / "databricks:<cluster id>" (those whose labels name the cluster)."""
    out: dict[str, list[Row]] = {}
    for row in rows:
        found = owner(row)
        if found and found[1]:
            out.setdefault(f"{found[0]}:{found[1]}", []).append(row)
    return out
