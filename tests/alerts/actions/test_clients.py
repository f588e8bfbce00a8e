"""Databricks terminate, GCE stop, GKE resize-to-zero through their REAL Python clients, end to end.

The clients (databricks-sdk WorkspaceClient, google-cloud-compute InstancesClient and google-cloud-container
ClusterManagerClient, both over REST) talk to a local HTTP stand-in on 127.0.0.1 — NOT Databricks, Compute
Engine or GKE — which checks the exact requests: method, path, query and JSON body. Answers are the documented
response shapes (synthetic fixtures). Each flow goes through the engine: warn, then act after the grace.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from google.cloud import container_v1
from google.protobuf import json_format

from alerts.actions.databricks import DatabricksTerminate
from alerts.actions.gce import GceStop
from alerts.actions.gke import GkeResizeZero
from spendscope.errors import ConfigError, SourceError
from tests.alerts.actions.conftest import (
    DBX_CLUSTER,
    GCE_BASE,
    GKE_BASE,
    POOL,
    PROJECT,
    REGION,
    T0,
    alert,
    calls,
    dbx_cluster,
    dbx_resource,
    gce_instance,
    gce_operation,
    gce_resource,
    gke_operation,
    gke_pool,
    gke_resource,
    mutating,
)
from tests.inventory.api_stub import ApiStub
from tests.inventory.conftest import GKE_QUERY

LATER = T0 + dt.timedelta(minutes=31)
DBX_GET = "/api/2.1/clusters/get"
DBX_DELETE = "/api/2.1/clusters/delete"
OPS = f"/v1/projects/{PROJECT}/locations/{REGION}/operations"


def act(make_engine: Any, ctx_at: Any, r: Any) -> Any:
    """Mark at T0, act after the 30-minute grace (not dry-run); the second run's ActionRun."""
    make_engine(dry_run=False).run(ctx_at(T0), [alert(r, T0)])
    return make_engine(dry_run=False).run(ctx_at(LATER), [alert(r, LATER)])


# -- Databricks -----------------------------------------------------------------------------------------------


def test_databricks_terminate_exact_requests(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    api.route("GET", DBX_GET, dbx_cluster(), (("cluster_id", DBX_CLUSTER),))
    api.route("POST", DBX_DELETE, {})  # the documented empty answer
    run = act(make_engine, ctx_at, dbx_resource())
    assert [r["step"] for r in run.records] == ["executed"]
    assert calls(api, "/api/") == [
        ("GET", DBX_GET, (("cluster_id", DBX_CLUSTER),), None),
        ("POST", DBX_DELETE, (), {"cluster_id": DBX_CLUSTER}),
    ]
    assert api.problems == []
    rec = run.records[0]
    assert rec["action"] == "databricks-terminate" and rec["request"].startswith(f"POST {DBX_DELETE} ")
    assert api.seen[-1].headers["authorization"] == "Bearer dapi-test-token"


@pytest.mark.parametrize("state", ["TERMINATING", "TERMINATED"])
def test_databricks_already_terminating_is_skipped(api: ApiStub, make_engine: Any, ctx_at: Any, state: str) -> None:
    api.route("GET", DBX_GET, dbx_cluster(state), (("cluster_id", DBX_CLUSTER),))
    run = act(make_engine, ctx_at, dbx_resource())
    assert [(r["step"], r["reason"]) for r in run.records] == [("skipped", f"already stopped: state {state}")]
    assert mutating(api) == []


def test_databricks_custom_tag_protects(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    api.route("GET", DBX_GET, dbx_cluster(**{"spendscope-protect": "true"}), (("cluster_id", DBX_CLUSTER),))
    run = act(make_engine, ctx_at, dbx_resource())
    assert run.records[0]["step"] == "skipped" and run.records[0]["reason"].startswith("protected")
    assert mutating(api) == []


def test_databricks_describe_reads_state_and_tags(api: ApiStub, actions: dict[str, Any]) -> None:
    """Custom tags win over Databricks' default tags (as the fixture's `team` shows)."""
    api.route("GET", DBX_GET, dbx_cluster(), (("cluster_id", DBX_CLUSTER),))
    live = actions["databricks"].describe(dbx_resource())
    assert (live.state, live.stopped) == ("RUNNING", False)
    assert live.labels["team"] == "ml-research" and live.labels["Vendor"] == "Databricks"


def test_databricks_without_host_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="databricks_host"):
        DatabricksTerminate(host=None).describe(dbx_resource())


# -- GCE ------------------------------------------------------------------------------------------------------


def test_gce_stop_exact_requests(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    api.route("GET", f"{GCE_BASE}/a3-train-01", gce_instance())
    api.route("POST", f"{GCE_BASE}/a3-train-01/stop", gce_operation("a3-train-01"))
    run = act(make_engine, ctx_at, gce_resource())
    assert calls(api) == [
        ("GET", f"{GCE_BASE}/a3-train-01", (), None),
        ("POST", f"{GCE_BASE}/a3-train-01/stop", (), None),  # instances.stop has no body
    ]
    assert api.problems == []
    assert run.records[0]["reason"] == (
        "done: stop requested for instance a3-train-01 in us-central1-a (operation operation-1795230000000-a3-train-01)"
    )


@pytest.mark.parametrize("status", ["STOPPING", "TERMINATED", "SUSPENDED"])
def test_gce_describe_stopped_states(api: ApiStub, actions: dict[str, Any], status: str) -> None:
    api.route("GET", f"{GCE_BASE}/a3-train-01", gce_instance(status=status))
    live = actions["gce"].describe(gce_resource())
    assert (live.state, live.stopped, live.labels["team"]) == (status, True, "ml-research")


def test_gce_missing_zone_fails_without_a_call(api: ApiStub, actions: dict[str, Any]) -> None:
    from dataclasses import replace

    with pytest.raises(SourceError, match="inventory lacks location"):
        GceStop(actions["gce"].client()).execute(replace(gce_resource(), location=None))
    assert api.seen == []


# -- GKE ------------------------------------------------------------------------------------------------------


def route_gke(api: ApiStub, pool: dict[str, Any], autoscaling_status: str = "DONE") -> None:
    api.route("GET", GKE_BASE, pool, GKE_QUERY)
    auto_op = gke_operation("operation-1795230001-auto", "UPDATE_CLUSTER", autoscaling_status)
    api.route("POST", f"{GKE_BASE}:setAutoscaling", auto_op, GKE_QUERY)
    api.route(
        "POST", f"{GKE_BASE}:setSize", gke_operation("operation-1795230002-size", "SET_NODE_POOL_SIZE"), GKE_QUERY
    )


def test_gke_autoscaled_pool_disables_autoscaling_then_resizes_to_zero(
    api: ApiStub, make_engine: Any, ctx_at: Any
) -> None:
    """Both calls, in order; the bodies are what the client sends for enabled=false and nodeCount=0 (proto3 JSON
    leaves default values out, and a server parsing them gets exactly those values, as checked here)."""
    route_gke(api, gke_pool(autoscaling=True))
    run = act(make_engine, ctx_at, gke_resource())
    assert calls(api) == [
        ("GET", GKE_BASE, GKE_QUERY, None),  # describe: live state and labels
        ("GET", GKE_BASE, GKE_QUERY, None),  # execute re-reads autoscaling
        ("POST", f"{GKE_BASE}:setAutoscaling", GKE_QUERY, {"autoscaling": {}}),
        ("POST", f"{GKE_BASE}:setSize", GKE_QUERY, {}),
    ]
    assert api.problems == []
    auto_body, size_body = (s.body.decode() for s in api.seen if s.method == "POST")
    auto = json_format.Parse(auto_body, container_v1.SetNodePoolAutoscalingRequest.pb()())
    size = json_format.Parse(size_body, container_v1.SetNodePoolSizeRequest.pb()())
    assert auto.HasField("autoscaling") and auto.autoscaling.enabled is False
    assert size.node_count == 0
    reason = run.records[0]["reason"]
    assert "setAutoscaling enabled=false (operation operation-1795230001-auto)" in reason
    assert "setSize nodeCount=0 (operation operation-1795230002-size)" in reason
    assert "was node_count 1, autoscaling 0-4 per zone" in reason
    assert ":setAutoscaling" in run.records[0]["request"] and ":setSize" in run.records[0]["request"]


def test_gke_waits_for_the_autoscaling_operation(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    """GKE runs one operation per cluster: the resize is sent only once the first operation is DONE."""
    route_gke(api, gke_pool(autoscaling=True), autoscaling_status="RUNNING")
    api.route("GET", f"{OPS}/operation-1795230001-auto", gke_operation("operation-1795230001-auto", "UPDATE_CLUSTER"),
              GKE_QUERY)  # fmt: skip
    run = act(make_engine, ctx_at, gke_resource())
    assert [(m, p) for m, p, _, _ in calls(api)][2:] == [
        ("POST", f"{GKE_BASE}:setAutoscaling"),
        ("GET", f"{OPS}/operation-1795230001-auto"),
        ("POST", f"{GKE_BASE}:setSize"),
    ]
    assert run.records[0]["step"] == "executed" and api.problems == []


def test_gke_operation_that_never_finishes_fails_before_resizing(api: ApiStub, actions: dict[str, Any]) -> None:
    running = gke_operation("operation-1795230001-auto", "UPDATE_CLUSTER", "RUNNING")
    route_gke(api, gke_pool(autoscaling=True), autoscaling_status="RUNNING")
    api.route("GET", f"{OPS}/operation-1795230001-auto", running, GKE_QUERY)
    slow = GkeResizeZero(actions["gke"].client(), operation_timeout_s=0.0, sleep=lambda _s: None)
    with pytest.raises(SourceError, match="resize not sent"):
        slow.execute(gke_resource())
    assert [p for m, p in mutating(api)] == [f"{GKE_BASE}:setAutoscaling"]


def test_gke_fixed_size_pool_only_resizes(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    route_gke(api, gke_pool(autoscaling=False, nodes=2))
    run = act(make_engine, ctx_at, gke_resource())
    assert mutating(api) == [("POST", f"{GKE_BASE}:setSize")]
    assert run.records[0]["step"] == "executed"


def test_gke_resource_label_on_the_pool_protects(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    route_gke(api, gke_pool(labels={"spendscope-protect": "true"}))
    run = act(make_engine, ctx_at, gke_resource())
    assert run.records[0]["reason"].startswith("protected") and mutating(api) == []


def test_gke_pool_at_zero_without_autoscaling_is_stopped(api: ApiStub, make_engine: Any, ctx_at: Any) -> None:
    route_gke(api, gke_pool(autoscaling=False, nodes=0))
    run = act(make_engine, ctx_at, gke_resource())
    assert run.records[0]["reason"] == "already stopped: state RUNNING" and mutating(api) == []


def test_gke_pool_name_from_fields_without_self_link() -> None:
    from dataclasses import replace

    assert GkeResizeZero.pool_name(replace(gke_resource(), resource_id="h100-pool")) == POOL
    assert GkeResizeZero.pool_name(gke_resource()) == POOL
