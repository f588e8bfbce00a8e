"""Inventory fixtures: the loopback API stand-in with the fixture answers, and real clients aimed at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tests.inventory.api_stub import ApiStub, serve

INV = FIXTURES / "inventory"
PROJECT = "ml-prod-4821"
TOKEN = "dapi-test-token"
DBX_LIST = "/api/2.1/clusters/list"
DBX_NODE_TYPES = "/api/2.1/clusters/list-node-types"
GCE_LIST = f"/compute/v1/projects/{PROJECT}/aggregated/instances"
GKE_LIST = f"/v1/projects/{PROJECT}/locations/-/clusters"
GKE_QUERY = (("$alt", "json;enum-encoding=int"),)
GCE_PAGE2 = (("pageToken", "CkQKQgoIZ2tlLXRyYWlu"),)
DBX_PAGE2 = (("page_token", "eyJvZmZzZXQiOjF9"),)
DBX_WAREHOUSES = "/api/2.0/sql/warehouses"
DBX_SERVING = "/api/2.0/serving-endpoints"


def payload(name: str) -> Any:
    """A fixture file's JSON."""
    return json.loads((INV / name).read_text())


def route_all(stub: ApiStub) -> None:
    """Answer every documented request of the three APIs with the fixtures."""
    stub.loose[("GET", "/.well-known/databricks-config")] = (200, {"workspace_id": "2345678901234567", "cloud": "GCP"})
    stub.route("GET", DBX_LIST, payload("databricks_clusters_page1.json"))
    stub.route("GET", DBX_LIST, payload("databricks_clusters_page2.json"), DBX_PAGE2)
    stub.route("GET", DBX_NODE_TYPES, payload("databricks_node_types.json"))
    # No warehouses or endpoints unless a test routes them (tests/inventory/test_databricks_serverless.py does).
    stub.route("GET", DBX_WAREHOUSES, {})
    stub.route("GET", DBX_SERVING, {})
    stub.route("GET", GCE_LIST, payload("gce_aggregated_page1.json"))
    stub.route("GET", GCE_LIST, payload("gce_aggregated_page2.json"), GCE_PAGE2)
    stub.route("GET", GKE_LIST, payload("gke_clusters.json"), GKE_QUERY)


@pytest.fixture
def api() -> Iterator[ApiStub]:
    with serve(ApiStub()) as stub:
        route_all(stub)
        yield stub


def workspace_client(stub: ApiStub) -> Any:
    """A real databricks-sdk WorkspaceClient (PAT auth) aimed at the stand-in."""
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(host=stub.url, token=TOKEN, auth_type="pat")


def instances_client(stub: ApiStub) -> Any:
    """A real google-cloud-compute InstancesClient over REST, anonymous credentials, aimed at the stand-in."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import compute_v1

    return compute_v1.InstancesClient(
        transport="rest", client_options={"api_endpoint": stub.url}, credentials=AnonymousCredentials()
    )


def clusters_client(stub: ApiStub) -> Any:
    """A real google-cloud-container ClusterManagerClient over REST, anonymous credentials, aimed at the stand-in."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import container_v1

    return container_v1.ClusterManagerClient(
        transport="rest", client_options={"api_endpoint": stub.url}, credentials=AnonymousCredentials()
    )
