"""Resize an idle GKE node pool to zero through google-cloud-container (`ClusterManagerClient`).

An autoscaled pool would grow back, so autoscaling is disabled first (`setAutoscaling enabled=false`), and
GKE runs one operation per cluster at a time, so the resize waits for that operation to finish. Both calls
are named in what `execute` returns (the engine records it). The NodePool API has no live node count: a
pool counts as stopped when it is STOPPING, or when autoscaling is off and its node count is zero.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from alerts.actions.base import Action, LiveState, failure, require
from spendscope.errors import SourceError

if TYPE_CHECKING:
    from google.cloud.container_v1 import ClusterManagerClient

    from spendscope.records import Resource

log = logging.getLogger(__name__)
DONE = 3  # container_v1.Operation.Status.DONE


class GkeResizeZero(Action):
    """Resize a node pool to zero nodes (`setSize nodeCount=0`), disabling its autoscaling first.

    Credentials: Application Default Credentials. `container_endpoint` (default:
    collectors.inventory.container_endpoint) overrides the API endpoint. Protection: the pool's resource label
    or Kubernetes node label `spendscope-protect=true` (or the cluster's resource label, via the inventory).

    ```yaml
    alerts:
      actions:
        dry_run: false
        grace: 1h
        max_per_run: 1
        max_data_age: 15m
        exempt: ["projects/ml-prod-4821/locations/us-central1/clusters/serving/nodePools/*", "serving"]
    ```
    """

    name = "gke-resize-zero"
    platform = "gke"
    verb = "resize to zero"

    def __init__(
        self,
        client: ClusterManagerClient | None = None,
        *,
        endpoint: str | None = None,
        operation_timeout_s: float = 300.0,
        poll_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self.endpoint = endpoint
        self.operation_timeout_s = operation_timeout_s
        self.poll_s = poll_s
        self.sleep = sleep

    def client(self) -> ClusterManagerClient:
        """The ClusterManagerClient, built on first use so a dry-run needs no credentials."""
        if self._client is None:
            from google.cloud import container_v1

            if self.endpoint:
                options = {"api_endpoint": self.endpoint}
                self._client = container_v1.ClusterManagerClient(transport="rest", client_options=options)
            else:
                self._client = container_v1.ClusterManagerClient()
        return self._client

    @staticmethod
    def pool_name(r: Resource) -> str:
        """projects/P/locations/L/clusters/C/nodePools/N, from the self link or the inventory's fields."""
        _, sep, tail = r.resource_id.partition("projects/")
        if sep and "/clusters/" in tail and "/nodePools/" in tail:
            return "projects/" + tail
        project, location, cluster, pool = require(r, "project", "location", "cluster", "name")
        return f"projects/{project}/locations/{location}/clusters/{cluster}/nodePools/{pool}"

    def _get(self, r: Resource, name: str) -> Any:
        try:
            return self.client().get_node_pool(name=name)
        except Exception as exc:  # any client / HTTP error: the live state is unknown
            raise failure(self, r, "get_node_pool", exc) from exc

    def describe(self, r: Resource) -> LiveState:
        from google.api_core.exceptions import NotFound

        name = self.pool_name(r)
        try:
            pool = self.client().get_node_pool(name=name)
        except NotFound:
            return LiveState("NOT_FOUND", True, {}, "node pool not found")
        except Exception as exc:
            raise failure(self, r, "get_node_pool", exc) from exc
        status = pool.status.name if pool.status else "UNKNOWN"
        auto = pool.autoscaling
        nodes = int(pool.initial_node_count) * max(1, len(pool.locations))
        autoscaled = bool(auto and auto.enabled)
        stopped = status in ("STOPPING", "NOT_FOUND") or (not autoscaled and nodes == 0)
        # The pool's resource labels win over its Kubernetes node labels (as in the inventory).
        labels = {**dict(pool.config.labels), **dict(pool.config.resource_labels)}
        scaling = f", autoscaling {auto.min_node_count}-{auto.max_node_count} per zone" if autoscaled else ""
        return LiveState(status, stopped, labels, f"node_count {nodes}{scaling}")

    def request(self, r: Resource) -> str:
        name = self.pool_name(r)
        return (
            f"POST /v1/{name}:setAutoscaling {{autoscaling: {{enabled: false}}}} (only when autoscaling is on); "
            f"POST /v1/{name}:setSize {{nodeCount: 0}} (ClusterManagerClient.set_node_pool_size)"
        )

    def execute(self, r: Resource) -> str:
        from google.cloud import container_v1

        name = self.pool_name(r)
        pool = self._get(r, name)  # re-read: autoscaling may have changed since the warning
        done: list[str] = []
        if pool.autoscaling and pool.autoscaling.enabled:
            off = container_v1.NodePoolAutoscaling(enabled=False)
            try:
                op = self.client().set_node_pool_autoscaling(
                    request=container_v1.SetNodePoolAutoscalingRequest(name=name, autoscaling=off)
                )
            except Exception as exc:
                raise failure(self, r, "set_node_pool_autoscaling", exc) from exc
            done.append(f"setAutoscaling enabled=false (operation {op.name})")
            self._wait(r, name, op)
        try:
            op = self.client().set_node_pool_size(request=container_v1.SetNodePoolSizeRequest(name=name, node_count=0))
        except Exception as exc:
            after = f" after {done[0]}" if done else ""
            raise failure(self, r, f"set_node_pool_size{after}", exc) from exc
        done.append(f"setSize nodeCount=0 (operation {op.name})")
        log.info("action:%s pool:%s steps:%s", self.name, name, len(done))
        return f"node pool {name}: " + "; ".join(done)

    def _wait(self, r: Resource, pool: str, op: Any) -> None:
        """Poll the operation until DONE: GKE refuses a second operation on a cluster while one runs."""
        location = pool.split("/clusters/")[0]  # projects/P/locations/L
        deadline = time.monotonic() + self.operation_timeout_s
        while int(op.status) != DONE:
            if time.monotonic() >= deadline:
                raise SourceError(
                    f"{self.name} {r.name or r.resource_id}: autoscaling disabled but operation {op.name} still "
                    f"running after {self.operation_timeout_s:.0f}s; resize not sent"
                )
            self.sleep(self.poll_s)
            try:
                op = self.client().get_operation(name=f"{location}/operations/{op.name}")
            except Exception as exc:
                raise failure(self, r, f"get_operation {op.name}", exc) from exc
        if op.error and op.error.message:
            raise SourceError(f"{self.name} {r.name or r.resource_id}: operation {op.name} failed: {op.error.message}")
