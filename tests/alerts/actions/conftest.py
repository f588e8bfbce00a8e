"""Auto-shutdown fixtures: the loopback API stand-in with the documented answers, real clients, idle alerts.

The stand-in (tests/inventory/api_stub.py) is NOT Databricks, Compute Engine or GKE: it answers the requests
the real databricks-sdk / google-cloud-compute / google-cloud-container clients send with payloads written
to the documented shapes (synthetic: the inventory fixtures, and operations written by hand), records every
request with its body, and answers 404 (listed in `problems`) to anything not routed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from alerts.actions.config import ActionsConfig
from alerts.actions.databricks import DatabricksTerminate
from alerts.actions.engine import ActionEngine
from alerts.actions.gce import GceStop
from alerts.actions.gke import GkeResizeZero
from alerts.context import EvalContext
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.records import AlertState, Resource, Severity, State
from tests.inventory.api_stub import ApiStub, serve
from tests.inventory.conftest import (
    PROJECT,
    TOKEN,
    clusters_client,
    instances_client,
    payload,
)

T0 = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
ZONE = "us-central1-a"
REGION = "us-central1"
DBX_CLUSTER = "1120-060000-h100ft01"
POOL = f"projects/{PROJECT}/locations/{REGION}/clusters/train/nodePools/h100-pool"
POOL_LINK = f"https://container.googleapis.com/v1/{POOL}"
GCE_BASE = f"/compute/v1/projects/{PROJECT}/zones/{ZONE}/instances"
GKE_BASE = f"/v1/{POOL}"
TOKEN_ENV = "SPENDSCOPE_TEST_DATABRICKS_TOKEN"


def gce_instance(name: str = "a3-train-01", status: str = "RUNNING", **labels: str) -> dict[str, Any]:
    """The fixture A3 instance (gce_aggregated_page1.json) as `instances.get` answers it, renamed / relabelled."""
    body: dict[str, Any] = dict(payload("gce_aggregated_page1.json")["items"][f"zones/{ZONE}"]["instances"][0])
    body.update(name=name, status=status, selfLink=f"https://www.googleapis.com/compute/v1/projects/{PROJECT}"
                f"/zones/{ZONE}/instances/{name}")  # fmt: skip
    body["labels"] = {**body["labels"], **labels}
    return body


def gce_operation(name: str, kind: str = "stop") -> dict[str, Any]:
    """A zonal compute#operation as instances.stop answers it (synthetic, documented Operation fields)."""
    zone_url = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}"
    return {
        "kind": "compute#operation",
        "id": "7265001299312345678",
        "name": f"operation-1795230000000-{name}",
        "zone": zone_url,
        "operationType": kind,
        "targetLink": f"{zone_url}/instances/{name}",
        "status": "RUNNING",
        "progress": 0,
        "insertTime": "2026-11-21T19:31:00.000-08:00",
        "selfLink": f"{zone_url}/operations/operation-1795230000000-{name}",
    }


def dbx_cluster(state: str = "RUNNING", **tags: str) -> dict[str, Any]:
    """The fixture GPU cluster (databricks_clusters_page1.json) as `clusters/get` answers it."""
    body: dict[str, Any] = dict(payload("databricks_clusters_page1.json")["clusters"][0])
    body["state"] = state
    body["custom_tags"] = {**body["custom_tags"], **tags}
    return body


def gke_pool(
    autoscaling: bool = True, nodes: int = 1, status: str = "RUNNING", labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The fixture train/h100-pool (gke_clusters.json) as `get_node_pool` answers it."""
    body: dict[str, Any] = json.loads(json.dumps(payload("gke_clusters.json")["clusters"][0]["nodePools"][0]))
    body["autoscaling"]["enabled"] = autoscaling
    body["initialNodeCount"] = nodes
    body["status"] = status
    body["config"]["resourceLabels"] = {**body["config"]["resourceLabels"], **(labels or {})}
    return body


def gke_operation(name: str, op_type: str, status: str = "DONE") -> dict[str, Any]:
    """A container Operation (synthetic, documented fields; camelCase JSON)."""
    return {
        "name": name,
        "zone": REGION,
        "operationType": op_type,
        "status": status,
        "selfLink": f"https://container.googleapis.com/v1/projects/{PROJECT}/locations/{REGION}/operations/{name}",
        "targetLink": POOL_LINK,
        "location": REGION,
        "startTime": "2026-11-22T03:31:00.000000Z",
    }


def gce_resource(name: str = "a3-train-01", rid: str = "4519532173512345678", **labels: str) -> Resource:
    return Resource(
        platform="gce", kind="instance", resource_id=rid, name=name, project=PROJECT, location=ZONE,
        state="RUNNING", labels={"team": "ml-research", "workload": "pretrain", **labels},
        price_usd_per_hour=88.49, hosts=(name,),
    )  # fmt: skip


def dbx_resource(**labels: str) -> Resource:
    return Resource(
        platform="databricks", kind="cluster", resource_id=DBX_CLUSTER, name="llm-finetune-h100",
        project="2345678901234567", location=REGION, state="RUNNING",
        labels={"team": "ml-research", "workload": "llm-finetune", **labels}, price_usd_per_hour=214.2,
        hosts=("10.4.0.12",),
    )  # fmt: skip


def gke_resource(**labels: str) -> Resource:
    return Resource(
        platform="gke", kind="node_pool", resource_id=POOL_LINK, name="h100-pool", project=PROJECT,
        location=REGION, cluster="train", state="RUNNING", labels={"team": "ml-research", **labels},
        price_usd_per_hour=29.7, hosts=("gke-train-h100-pool-5e2b9c1d-*",),
    )  # fmt: skip


def evidence(now: dt.datetime, age: dt.timedelta = dt.timedelta(minutes=2), **extra: Any) -> dict[str, Any]:
    """Idle evidence as the idle rule writes it: the newest sample `age` before `now`."""
    return {
        "window": "30m", "gpus": 8, "idle_gpus": 8, "busy_ratio": 0.01,
        "last_seen": (now - age).isoformat(), "hosts": ["a3-train-01"], "idle_cost_usd_per_hour": 80.5, **extra,
    }  # fmt: skip


def alert(
    r: Resource,
    now: dt.datetime,
    state: State = State.firing,
    *,
    fingerprint: str | None = None,
    fired_at: dt.datetime = T0,
    acked_by: str | None = None,
    ev: Mapping[str, Any] | None = None,
) -> AlertState:
    """An idle alert over `r` as the alert engine passes it (its evidence fresh as of `now` unless given)."""
    return AlertState(
        fingerprint=fingerprint or f"fp-{r.platform}-{r.name}",
        rule="gpu-idle",
        labels={"alertname": "GpuIdle", "rule": "gpu-idle", "resource": r.resource_id},
        annotations={"summary": "idle GPUs"},
        severity=Severity.warning,
        state=state,
        active_since=fired_at - dt.timedelta(minutes=30),
        last_active=now,
        fired_at=fired_at if state is not State.pending else None,
        resolved_at=now if state is State.resolved else None,
        evidence=dict(ev if ev is not None else evidence(now)),
        acked_by=acked_by,
        resource=r,
    )


@pytest.fixture
def api() -> Iterator[ApiStub]:
    """The stand-in with the Databricks config probe answered (the SDK may ask it first)."""
    with serve(ApiStub()) as stub:
        stub.loose[("GET", "/.well-known/databricks-config")] = (200, {"workspace_id": "2345678901234567"})
        yield stub


@pytest.fixture
def actions(api: ApiStub, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The three actions with real clients aimed at the stand-in (GKE polls without sleeping).

    The Databricks client is left to the action to build on first use, from host and token env, as in
    production: constructing a WorkspaceClient already asks the server for its config.
    """
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return {
        "databricks": DatabricksTerminate(host=api.url, token_env=TOKEN_ENV),
        "gce": GceStop(instances_client(api)),
        "gke": GkeResizeZero(clusters_client(api), sleep=lambda _s: None),
    }


@pytest.fixture
def make_engine(lake: DuckDbLake, actions: dict[str, Any]) -> Any:
    """make_engine(**ActionsConfig fields) → a fresh ActionEngine over the per-test lake (like a restart)."""

    def make(**cfg: Any) -> ActionEngine:
        return ActionEngine(ActionsConfig.model_validate(cfg), lake, actions)

    return make


@pytest.fixture
def ctx_at(settings: Settings, lake: DuckDbLake) -> Any:
    """ctx_at(now, health=None) → an EvalContext over the per-test lake."""

    def make(now: dt.datetime, health: Any = None) -> EvalContext:
        return EvalContext(wh=lake, settings=settings, now=now, health=health)

    return make


def mutating(stub: ApiStub) -> list[tuple[str, str]]:
    """Every request that could change something (anything but GET)."""
    return [(s.method, s.path) for s in stub.seen if s.method != "GET"]


def calls(stub: ApiStub, prefix: str = "/") -> list[tuple[str, str, tuple[tuple[str, str], ...], Any]]:
    """(method, path, query, JSON body or None) of every request under `prefix`, in order."""
    return [
        (s.method, s.path, s.query, json.loads(s.body) if s.body else None)
        for s in stub.seen
        if s.path.startswith(prefix)
    ]
