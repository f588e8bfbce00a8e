"""Databricks clusters: the real databricks-sdk WorkspaceClient against a loopback stand-in (NOT Databricks)
that checks each request and answers the documented /api/2.1/clusters/list and list-node-types JSON."""

from __future__ import annotations

import datetime as dt

import pytest
from databricks.sdk.service.compute import ClusterDetails, NodeType

from collectors.inventory import databricks
from collectors.inventory.node_types import GpuShape
from tests.inventory.api_stub import ApiStub
from tests.inventory.conftest import DBX_LIST, DBX_NODE_TYPES, DBX_PAGE2, TOKEN, workspace_client

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
pytestmark = pytest.mark.integration


def _rows(api: ApiStub) -> dict[str, dict]:
    clusters, catalog = databricks.fetch(workspace_client(api))
    rows = databricks.parse_clusters(clusters, workspace="ws.gcp.databricks.com", now=NOW, catalog=catalog)
    return {r["resource_id"]: r for r in rows}


def test_fetch_follows_next_page_token_then_reads_node_types(api: ApiStub) -> None:
    _rows(api)
    assert api.requests("/api/") == [
        ("GET", DBX_LIST, ()),
        ("GET", DBX_LIST, DBX_PAGE2),
        ("GET", DBX_NODE_TYPES, ()),
    ]
    assert all(s.headers.get("authorization") == f"Bearer {TOKEN}" for s in api.seen if s.path.startswith("/api/"))
    assert api.problems == []


def test_running_gpu_cluster_counts_live_executors_driver_and_gpus(api: ApiStub) -> None:
    row = _rows(api)["1120-060000-h100ft01"]
    assert row["platform"] == "databricks" and row["kind"] == "cluster"
    assert (row["resource_name"], row["cluster"], row["state"]) == ("llm-finetune-h100",) * 2 + ("RUNNING",)
    assert (row["machine_type"], row["driver_machine_type"]) == ("a3-highgpu-8g", "n2-highmem-8")
    # two live executors + the driver; the CPU driver adds no GPU
    assert (row["nodes"], row["gpus_per_node"], row["gpu_count"], row["gpu_model"]) == (3, 8, 16, "H100")
    assert row["is_spot"] is True  # PREEMPTIBLE_WITH_FALLBACK_GCP
    assert row["location"] == "us-central1-a"
    assert row["autotermination_minutes"] == 60
    assert row["creator"] == "ana@example.com"
    assert row["started_at"] == dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)  # last_restarted_time wins
    assert row["project"] == "ws.gcp.databricks.com"
    assert row["_day"] == NOW.date() and row["observed_at"] == NOW


def test_custom_tags_override_default_tags_in_labels(api: ApiStub) -> None:
    labels = {kv["key"]: kv["value"] for kv in _rows(api)["1120-060000-h100ft01"]["labels"]}
    assert labels["team"] == "ml-research"
    assert labels["ClusterId"] == "1120-060000-h100ft01" and labels["Vendor"] == "Databricks"


def test_hosts_list_every_node_address_and_the_cluster_hostname_pattern(api: ApiStub) -> None:
    hosts = _rows(api)["1120-060000-h100ft01"]["hosts"]
    for expected in ("10.4.0.12", "10.128.0.41", "5c1d9a0e2f7b4c3e8a6d1b2c3d4e5f60", "8317152601483529001",
                     "10.4.0.13", "10.4.0.14", "8317152601483529003"):  # fmt: skip
        assert expected in hosts
    assert hosts[-1] == "1120-060000-h100ft01-*"


def test_terminated_single_node_cluster_keeps_its_configured_size(api: ApiStub) -> None:
    rows = _rows(api)
    l4 = rows["1112-173000-l4dev002"]
    assert (l4["state"], l4["nodes"], l4["gpus_per_node"], l4["gpu_count"], l4["gpu_model"]) == (
        "TERMINATED", 1, 1, 1, "L4")  # fmt: skip
    assert l4["is_spot"] is False
    cpu = rows["1119-080000-etlcpu03"]
    assert (cpu["nodes"], cpu["gpus_per_node"], cpu["gpu_count"], cpu["gpu_model"]) == (5, 0, 0, None)


def test_node_type_failure_falls_back_to_the_builtin_table(api: ApiStub) -> None:
    api.route("GET", DBX_NODE_TYPES, {"error_code": "PERMISSION_DENIED", "message": "no"}, status=403)
    row = _rows(api)["1120-060000-h100ft01"]
    assert row["gpu_count"] == 16  # a3-highgpu-8g from node_types.SHAPES


def test_workspace_num_gpus_overrides_the_table() -> None:
    catalog = databricks.node_catalog(
        [
            NodeType.from_dict({"node_type_id": "a3-highgpu-8g", "num_gpus": 4, "description": "a3-highgpu-8g"}),
            NodeType.from_dict({"node_type_id": "custom-gpu", "num_gpus": 2, "description": "NVIDIA H100 node"}),
            NodeType.from_dict({"node_type_id": "n2-standard-4", "num_gpus": 0}),
        ]
    )
    assert catalog == {"a3-highgpu-8g": GpuShape("H100", 4), "custom-gpu": GpuShape("H100", 2)}


def test_autoscaling_cluster_without_executors_uses_min_workers_and_aws_spot() -> None:
    c = ClusterDetails.from_dict(
        {
            "cluster_id": "0101-000000-aws00001",
            "node_type_id": "p4d.24xlarge",
            "autoscale": {"min_workers": 2, "max_workers": 8},
            "state": "PENDING",
            "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "zone_id": "us-west-2a"},
            "start_time": 1795154400000,
        }
    )
    row = databricks.parse_cluster(c, workspace="dbc-1.cloud.databricks.com", now=NOW, catalog={})
    assert (row["nodes"], row["gpus_per_node"], row["gpu_count"]) == (3, 8, 24)  # driver defaults to the worker type
    assert (row["is_spot"], row["location"], row["driver_machine_type"]) == (True, "us-west-2a", "p4d.24xlarge")
    assert row["hosts"] == ["0101-000000-aws00001-*"]


def test_cluster_without_id_is_skipped() -> None:
    rows = databricks.parse_clusters([ClusterDetails(cluster_name="x")], workspace="w", now=NOW, catalog={})
    assert rows == []
