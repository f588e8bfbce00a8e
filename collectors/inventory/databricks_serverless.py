"""Databricks SQL warehouses and model-serving endpoints as inventory rows (databricks-sdk 0.156).

Warehouses: `WorkspaceClient.warehouses.list()` (GET /api/2.0/sql/warehouses, paged by `next_page_token`) →
EndpointInfo. `nodes` = `num_clusters` (the clusters running now; 0 when stopped), `machine_type` =
`<SERVERLESS|PRO|CLASSIC>:<cluster_size>` (serverless when `enable_serverless_compute`, else `warehouse_type`),
the one column the live estimate reads to pick the DBU size and SKU. `autotermination_minutes` = `auto_stop_mins`.

Serving endpoints: `serving_endpoints.list()` (GET /api/2.0/serving-endpoints) returns a config summary without
sizes, so each endpoint is read with `serving_endpoints.get(name)` (GET /api/2.0/serving-endpoints/{name}).
`state` = `state.ready` (READY / NOT_READY), `nodes` = served entities, `machine_type` = their distinct
`<workload_type>:<workload_size>`. Both are refinements of the Databricks source: a listing the token may not
read is logged and skipped, the clusters still count.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from collectors.inventory.item import Row, from_epoch_ms, labels, new_row, unique

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.serving import ServingEndpointDetailed
    from databricks.sdk.service.sql import EndpointInfo

log = logging.getLogger(__name__)


def warehouse_flavour(w: EndpointInfo) -> str:
    """SERVERLESS, PRO or CLASSIC: the DBU SKU family the warehouse bills under."""
    if w.enable_serverless_compute:
        return "SERVERLESS"
    return w.warehouse_type.value if w.warehouse_type else "CLASSIC"


def parse_warehouse(w: EndpointInfo, *, workspace: str, now: dt.datetime) -> Row:
    """One SQL warehouse as an inventory row (pure)."""
    tags = {t.key: t.value for t in (w.tags.custom_tags or [])} if w.tags else {}
    return new_row(
        now,
        "databricks",
        "sql_warehouse",
        f"databricks:{workspace}",
        resource_id=w.id,
        resource_name=w.name,
        state=w.state.value if w.state else None,
        project=workspace,
        machine_type=f"{warehouse_flavour(w)}:{w.cluster_size}" if w.cluster_size else None,
        nodes=w.num_clusters or 0,
        gpus_per_node=0,
        gpu_count=0,
        autotermination_minutes=w.auto_stop_mins,
        creator=w.creator_name,
        labels=labels({k: v for k, v in tags.items() if k and v is not None}),
    )


def parse_endpoint(e: ServingEndpointDetailed, *, workspace: str, now: dt.datetime) -> Row:
    """One serving endpoint as an inventory row (pure)."""
    entities = (e.config.served_entities or []) if e.config else []
    sizes = unique(
        f"{s.workload_type.value if s.workload_type else 'CPU'}:{s.workload_size}" for s in entities if s.workload_size
    )
    return new_row(
        now,
        "databricks",
        "serving_endpoint",
        f"databricks:{workspace}",
        resource_id=e.id,
        resource_name=e.name,
        state=e.state.ready.value if e.state and e.state.ready else None,
        project=workspace,
        machine_type=",".join(sizes) or None,
        nodes=len(entities),
        creator=e.creator,
        started_at=from_epoch_ms(e.creation_timestamp),
        labels=labels({t.key: t.value for t in (e.tags or []) if t.key and t.value is not None}),
    )


def parse(
    warehouses: Iterable[EndpointInfo], endpoints: Iterable[ServingEndpointDetailed], *, workspace: str,
    now: dt.datetime,
) -> list[Row]:  # fmt: skip
    """Every warehouse and endpoint with an id as a row (pure)."""
    return [parse_warehouse(w, workspace=workspace, now=now) for w in warehouses if w.id] + [
        parse_endpoint(e, workspace=workspace, now=now) for e in endpoints if e.id
    ]


def fetch(client: WorkspaceClient) -> tuple[list[EndpointInfo], list[ServingEndpointDetailed]]:
    """All SQL warehouses (every page) and every serving endpoint in detail; a listing that fails is skipped."""
    from databricks.sdk.errors import DatabricksError

    warehouses: list[EndpointInfo] = []
    endpoints: list[ServingEndpointDetailed] = []
    try:
        warehouses = list(client.warehouses.list())
    except DatabricksError as exc:
        log.warning("databricks warehouses list failed, skipping SQL warehouses: error:%s", exc)
    try:
        names = [e.name for e in client.serving_endpoints.list() if e.name]
    except DatabricksError as exc:
        log.warning("databricks serving-endpoints list failed, skipping endpoints: error:%s", exc)
        names = []
    for name in names:
        try:
            endpoints.append(client.serving_endpoints.get(name))
        except DatabricksError as exc:
            log.warning("databricks serving-endpoints get failed endpoint:%s error:%s", name, exc)
    return warehouses, endpoints
