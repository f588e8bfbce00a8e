"""Terminate an idle Databricks cluster through databricks-sdk (`clusters.get`, `clusters.delete`)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from alerts.actions.base import STOPPED_STATES, Action, LiveState, failure
from spendscope.config import secret
from spendscope.errors import ConfigError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from spendscope.records import Resource

log = logging.getLogger(__name__)


class DatabricksTerminate(Action):
    """Terminate a cluster with `clusters.delete` (POST /api/2.1/clusters/delete): restartable, not a permanent delete.

    The workspace is `databricks_host` (default: collectors.databricks.host) with the token in the environment
    variable `databricks_token_env` (default: collectors.databricks.token_env). Protection: the cluster's
    custom tag `spendscope-protect: "true"`.

    ```yaml
    alerts:
      actions:
        dry_run: false
        grace: 30m
        databricks_host: https://1234567890123456.7.gcp.databricks.com
        databricks_token_env: DATABRICKS_TOKEN
        exempt: ["prod-*"]
    ```
    """

    name = "databricks-terminate"
    platform = "databricks"
    verb = "terminate"

    def __init__(
        self, client: WorkspaceClient | None = None, *, host: str | None = None, token_env: str = "DATABRICKS_TOKEN"
    ) -> None:
        self._client = client
        self.host = host
        self.token_env = token_env

    def client(self) -> WorkspaceClient:
        """The WorkspaceClient, built on first use (PAT auth) so a dry-run needs no credentials."""
        if self._client is None:
            if not self.host:
                raise ConfigError("alerts.actions.databricks_host (or collectors.databricks.host) is not set")
            token = secret(self.token_env)
            if token is None:
                raise ConfigError(
                    f"alerts.actions.databricks_token_env: environment variable {self.token_env} is not set"
                )
            from databricks.sdk import WorkspaceClient

            self._client = WorkspaceClient(host=self.host, token=token, auth_type="pat")
        return self._client

    def describe(self, r: Resource) -> LiveState:
        from databricks.sdk.errors import NotFound

        try:
            details = self.client().clusters.get(cluster_id=r.resource_id)
        except NotFound:
            return LiveState("NOT_FOUND", True, {}, "cluster not found")
        except ConfigError:
            raise
        except Exception as exc:  # any SDK / HTTP error: the live state is unknown
            raise failure(self, r, "clusters.get", exc) from exc
        state = details.state.value if details.state else "UNKNOWN"
        # Databricks applies default tags (Vendor, ClusterId, …) under the user's custom tags.
        tags = {**(details.default_tags or {}), **(details.custom_tags or {})}
        return LiveState(state, state in STOPPED_STATES, tags, details.state_message or "")

    def request(self, r: Resource) -> str:
        body = json.dumps({"cluster_id": r.resource_id})
        return f"POST /api/2.1/clusters/delete {body} (databricks-sdk clusters.delete: terminate)"

    def execute(self, r: Resource) -> str:
        try:
            # delete() returns a Wait; not waiting: termination takes minutes and the next run sees TERMINATING.
            self.client().clusters.delete(cluster_id=r.resource_id)
        except ConfigError:
            raise
        except Exception as exc:
            raise failure(self, r, "clusters.delete", exc) from exc
        log.info("action:%s cluster:%s status:terminate-requested", self.name, r.resource_id)
        return f"terminate requested for cluster {r.resource_id} (clusters.delete)"
