"""Stop an idle GCE instance through google-cloud-compute (`InstancesClient.get`, `InstancesClient.stop`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from alerts.actions.base import STOPPED_STATES, Action, LiveState, failure, require

if TYPE_CHECKING:
    from google.cloud.compute_v1 import InstancesClient

    from spendscope.records import Resource

log = logging.getLogger(__name__)


class GceStop(Action):
    """Stop an instance with `InstancesClient.stop` (POST …/zones/Z/instances/I/stop); its disks are kept.

    Credentials: Application Default Credentials. `compute_endpoint` (default:
    collectors.inventory.compute_endpoint) overrides the API endpoint. Protection: the instance label
    `spendscope-protect=true`.

    ```yaml
    alerts:
      actions:
        dry_run: false
        grace: 45m
        max_per_run: 1
        max_per_hour: 3
        protect_label: spendscope-protect
        exempt: ["a3-prod-*", "4519532173512345678"]
    ```
    """

    name = "gce-stop"
    platform = "gce"
    verb = "stop"

    def __init__(self, client: InstancesClient | None = None, *, endpoint: str | None = None) -> None:
        self._client = client
        self.endpoint = endpoint

    def client(self) -> InstancesClient:
        """The InstancesClient (REST), built on first use so a dry-run needs no credentials."""
        if self._client is None:
            from google.cloud import compute_v1

            options = {"api_endpoint": self.endpoint} if self.endpoint else None
            self._client = compute_v1.InstancesClient(transport="rest", client_options=options)
        return self._client

    @staticmethod
    def where(r: Resource) -> tuple[str, str, str]:
        """(project, zone, instance): the instance by name when known (the API takes a name or an id)."""
        project, zone = require(r, "project", "location")
        return project, zone, r.name or r.resource_id

    def describe(self, r: Resource) -> LiveState:
        from google.api_core.exceptions import NotFound

        project, zone, instance = self.where(r)
        try:
            got = self.client().get(project=project, zone=zone, instance=instance)
        except NotFound:
            return LiveState("NOT_FOUND", True, {}, "instance not found")
        except Exception as exc:  # any client / HTTP error: the live state is unknown
            raise failure(self, r, "instances.get", exc) from exc
        status = got.status or "UNKNOWN"
        return LiveState(status, status in STOPPED_STATES, dict(got.labels), got.status_message or "")

    def request(self, r: Resource) -> str:
        project, zone, instance = self.where(r)
        return f"POST /compute/v1/projects/{project}/zones/{zone}/instances/{instance}/stop (InstancesClient.stop)"

    def execute(self, r: Resource) -> str:
        project, zone, instance = self.where(r)
        try:
            # Not waiting on the operation: a stop takes a minute or more; the next run sees STOPPING/TERMINATED.
            op = self.client().stop(project=project, zone=zone, instance=instance)
        except Exception as exc:
            raise failure(self, r, "instances.stop", exc) from exc
        log.info("action:%s instance:%s zone:%s operation:%s", self.name, instance, zone, op.name)
        return f"stop requested for instance {instance} in {zone} (operation {op.name})"
