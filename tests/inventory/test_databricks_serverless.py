"""Databricks SQL warehouses and serving endpoints: the real databricks-sdk WorkspaceClient against a loopback
stand-in (NOT Databricks) answering the documented /api/2.0/sql/warehouses and /api/2.0/serving-endpoints JSON."""

from __future__ import annotations

import datetime as dt

import pytest

from collectors.inventory import databricks_serverless as dbs
from tests.inventory.api_stub import ApiStub
from tests.inventory.conftest import DBX_SERVING, DBX_WAREHOUSES, TOKEN, payload, workspace_client

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
WS = "ws.gcp.databricks.com"
PAGE2 = (("page_token", "d2gtcGFnZS0y"),)
pytestmark = pytest.mark.integration


def _route(api: ApiStub) -> None:
    api.route("GET", DBX_WAREHOUSES, payload("databricks_warehouses_page1.json"))
    api.route("GET", DBX_WAREHOUSES, payload("databricks_warehouses_page2.json"), PAGE2)
    api.route("GET", DBX_SERVING, payload("databricks_serving_endpoints.json"))
    api.route("GET", f"{DBX_SERVING}/llm-chat", payload("databricks_serving_endpoint_llm_chat.json"))


def _rows(api: ApiStub) -> dict[str, dict]:
    warehouses, endpoints = dbs.fetch(workspace_client(api))
    return {r["resource_id"]: r for r in dbs.parse(warehouses, endpoints, workspace=WS, now=NOW)}


def test_fetch_pages_warehouses_then_lists_and_reads_each_endpoint(api: ApiStub) -> None:
    _route(api)
    _rows(api)
    assert api.requests("/api/") == [
        ("GET", DBX_WAREHOUSES, ()),
        ("GET", DBX_WAREHOUSES, PAGE2),
        ("GET", DBX_SERVING, ()),
        ("GET", f"{DBX_SERVING}/llm-chat", ()),
    ]
    assert all(s.headers.get("authorization") == f"Bearer {TOKEN}" for s in api.seen if s.path.startswith("/api/"))
    assert api.problems == []


def test_running_serverless_warehouse_row(api: ApiStub) -> None:
    _route(api)
    row = _rows(api)["4f9a2c81d0e37b65"]
    assert (row["platform"], row["kind"], row["resource_name"], row["state"]) == (
        "databricks", "sql_warehouse", "analytics-wh", "RUNNING")  # fmt: skip
    assert (row["machine_type"], row["nodes"], row["gpu_count"]) == ("SERVERLESS:Small", 2, 0)
    assert (row["autotermination_minutes"], row["creator"], row["project"]) == (10, "analyst@acme.example", WS)
    assert row["_source"] == f"databricks:{WS}" and row["observed_at"] == NOW
    assert row["labels"] == [{"key": "env", "value": "prod"}, {"key": "team", "value": "data-eng"}]


def test_stopped_classic_warehouse_has_no_running_clusters(api: ApiStub) -> None:
    _route(api)
    row = _rows(api)["a1b2c3d4e5f60718"]
    assert (row["state"], row["machine_type"], row["nodes"], row["labels"]) == ("STOPPED", "CLASSIC:Medium", 0, [])


def test_serving_endpoint_row_takes_sizes_from_the_detailed_get(api: ApiStub) -> None:
    _route(api)
    row = _rows(api)["8d21c6f0a4b94e7fa3c5d0e1b2a39f47"]
    assert (row["kind"], row["resource_name"], row["state"]) == ("serving_endpoint", "llm-chat", "READY")
    assert (row["machine_type"], row["nodes"], row["creator"]) == ("GPU_MEDIUM:Medium", 1, "mlops@acme.example")
    assert row["started_at"] == dt.datetime(2026, 11, 17, 8, tzinfo=dt.UTC)  # creation_timestamp 1794902400000
    assert row["labels"] == [{"key": "team", "value": "inference"}]


def test_a_listing_the_token_cannot_read_is_skipped(api: ApiStub) -> None:
    _route(api)
    api.route("GET", DBX_WAREHOUSES, {"error_code": "PERMISSION_DENIED", "message": "no"}, status=403)
    rows = _rows(api)
    assert sorted(r["kind"] for r in rows.values()) == ["serving_endpoint"]


def test_no_warehouses_or_endpoints_give_no_rows(api: ApiStub) -> None:
    assert _rows(api) == {}
    assert api.problems == []
