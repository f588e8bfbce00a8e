"""Inventory collector: what runs on Databricks, GCE and GKE, with GPUs, hosts and an hourly price.

Each run appends one snapshot (`observed_at` = the run's clock, `_day` its UTC date) to `inventory`; readers
take the latest row per (platform, resource_id) — hosts.LATEST_INVENTORY_SQL. Sources are the Databricks
workspace of `collectors.databricks` (when `inventory.databricks`), each `gce_projects` entry and each
`gke_projects` entry. A source that fails is logged and reported as a quarantine entry naming it — once
when it starts failing (or fails differently), not every 5 minutes while it stays down; `last_errors` holds
the current failures — and the others still land; only when every configured source fails does the run fail
(SourceError).
Clients are injected through the constructor (tests pass real SDK clients aimed at a local server);
`from_settings` leaves them to be built on first use from config and the environment (ADC for GCP).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from collectors import registry
from collectors.base import Batch, Collector, Item, Quarantined, RunContext
from collectors.inventory import databricks, databricks_serverless, gce, gke, pricing
from collectors.inventory.item import Row, to_table
from collectors.inventory.owners import merge
from spendscope.config import DatabricksConfig, InventoryConfig, secret
from spendscope.errors import ConfigError, SourceError, SpendscopeError
from spendscope.retry import retryable_exception

if TYPE_CHECKING:
    import datetime as dt

    from databricks.sdk import WorkspaceClient
    from google.cloud.compute_v1 import InstancesClient
    from google.cloud.container_v1 import ClusterManagerClient

    from spendscope.config import Settings

log = logging.getLogger(__name__)
TABLE = "inventory"
KEY = "collectors.inventory"


@registry.register("inventory")
class InventoryCollector(Collector):
    """Databricks clusters, GCE instances and GKE node pools into `inventory`."""

    name = "inventory"
    section = "inventory"

    def __init__(
        self,
        cfg: InventoryConfig,
        databricks_cfg: DatabricksConfig | None = None,
        *,
        workspace_client: WorkspaceClient | None = None,
        instances_client: InstancesClient | None = None,
        clusters_client: ClusterManagerClient | None = None,
    ) -> None:
        self.cfg = cfg
        self.databricks_cfg = databricks_cfg or DatabricksConfig()
        self.last_errors: dict[str, str] = {}  # source → why it failed in the last run
        self._workspace = workspace_client
        self._instances = instances_client
        self._clusters = clusters_client

    @classmethod
    def from_settings(cls, settings: Settings) -> InventoryCollector:
        """Build from `[collectors.inventory]` (+ the Databricks host and token_env); clients come on first use."""
        return cls(settings.collectors.inventory, settings.collectors.databricks)

    def enabled(self, settings: Settings) -> bool:
        return settings.collectors.inventory.enabled and bool(self.sources())

    def sources(self) -> list[str]:
        """Configured sources: "databricks", "gce:<project>", "gke:<project>"."""
        return (
            (["databricks"] if self.cfg.databricks else [])
            + [f"gce:{p}" for p in self.cfg.gce_projects]
            + [f"gke:{p}" for p in self.cfg.gke_projects]
        )

    # -- clients (built lazily so importing the collector needs no credentials) ---------------------------

    def workspace(self) -> WorkspaceClient:
        if self._workspace is None:
            host, env = self.databricks_cfg.host, self.databricks_cfg.token_env
            if not host:
                raise ConfigError("collectors.databricks.host is not set (inventory.databricks = true needs it)")
            token = secret(env)
            if token is None:
                raise ConfigError(f"collectors.databricks.token_env: environment variable {env} is not set")
            from databricks.sdk import WorkspaceClient

            self._workspace = WorkspaceClient(host=host, token=token, auth_type="pat")
        return self._workspace

    def instances(self) -> InstancesClient:
        if self._instances is None:
            from google.cloud import compute_v1

            endpoint = self.cfg.compute_endpoint
            options = {"api_endpoint": endpoint} if endpoint else None
            self._instances = compute_v1.InstancesClient(transport="rest", client_options=options)
        return self._instances

    def clusters(self) -> ClusterManagerClient:
        if self._clusters is None:
            from google.cloud import container_v1

            endpoint = self.cfg.container_endpoint
            if endpoint:
                options = {"api_endpoint": endpoint}
                self._clusters = container_v1.ClusterManagerClient(transport="rest", client_options=options)
            else:
                self._clusters = container_v1.ClusterManagerClient()
        return self._clusters

    # -- one run -----------------------------------------------------------------------------------------

    def _list(self, source: str, now: dt.datetime) -> list[Row]:
        platform, _, project = source.partition(":")
        if platform == "databricks":
            clusters, catalog = databricks.fetch(self.workspace())
            workspace = databricks.workspace_name(str(self.workspace().config.host or self.databricks_cfg.host))
            rows = databricks.parse_clusters(clusters, workspace=workspace, now=now, catalog=catalog)
            warehouses, endpoints = databricks_serverless.fetch(self.workspace())
            return rows + databricks_serverless.parse(warehouses, endpoints, workspace=workspace, now=now)
        if platform == "gce":
            return gce.parse_aggregated(gce.fetch(self.instances(), project), project=project, now=now)
        return gke.parse_clusters(gke.fetch(self.clusters(), project), project=project, now=now)

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """List every configured source, fold owned VMs into their owners, price, and append the snapshot."""
        sources = self.sources()
        if not sources:
            raise ConfigError(f"{KEY}: no source configured (set databricks = true, gce_projects or gke_projects)")
        now = ctx.now()
        found: dict[str, list[Row]] = {"gce": [], "gke": [], "databricks": []}
        failed: list[tuple[str, str]] = []
        transient = 0
        for source in sources:
            try:
                rows = self._list(source, now)
            except Exception as exc:  # any client error (SDK, HTTP, auth): this source is down, the others go on
                failed.append((source, _reason(exc)))
                transient += retryable_exception(exc)
                continue
            found[source.partition(":")[0]].extend(rows)
            log.info("inventory source:%s items:%s", source, len(rows))
        if len(failed) == len(sources):
            self.last_errors = dict(failed)
            detail = "; ".join(f"{s}: {r}" for s, r in failed)
            raise SourceError(f"inventory: every source failed: {detail}", retryable=transient == len(failed))
        rows = merge(found["gce"], found["gke"], found["databricks"])
        self._price(ctx, rows)
        if rows:
            yield Batch(table=TABLE, data=to_table(rows), keys=[])
        previous, self.last_errors = self.last_errors, dict(failed)
        for source, reason in failed:
            if previous.get(source) != reason:  # new or changed: report it; the same failure again stays quiet
                log.warning("inventory source:%s failed error:%s", source, reason)
                yield Quarantined(TABLE, source, None, f"source skipped: {reason}")
        for source in previous.keys() - self.last_errors.keys():
            log.info("inventory source:%s status:recovered", source)

    def _price(self, ctx: RunContext, rows: list[Row]) -> None:
        start, end = pricing.reporting_day(ctx.now(), ctx.settings.reporting.timezone)
        observed: list[Any] = [None] * len(rows)
        try:
            observed = pricing.observed_prices(rows, pricing.load_charges(ctx.warehouse, start, end), start, end)
        except SpendscopeError as exc:
            log.warning("inventory billing prices unavailable, config prices only: error:%s", exc)
        pricing.apply_prices(rows, observed, self.cfg.prices_usd_per_hour)


def _reason(exc: BaseException) -> str:
    """One line naming the error (the first line of its message)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
