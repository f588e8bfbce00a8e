"""GKE node pools: the real google-cloud-container ClusterManagerClient (REST transport, anonymous credentials)
against a loopback stand-in (NOT GKE) answering the documented ListClustersResponse JSON."""

from __future__ import annotations

import datetime as dt

import pytest
from google.cloud import container_v1

from collectors.inventory import gke
from tests.inventory.api_stub import ApiStub
from tests.inventory.conftest import GKE_LIST, GKE_QUERY, PROJECT, clusters_client

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
pytestmark = pytest.mark.integration


def _rows(api: ApiStub) -> dict[str, dict]:
    clusters = gke.fetch(clusters_client(api), PROJECT)
    return {f"{r['cluster']}/{r['resource_name']}": r for r in gke.parse_clusters(clusters, project=PROJECT, now=NOW)}


def test_one_request_lists_clusters_in_all_locations(api: ApiStub) -> None:
    rows = _rows(api)
    assert api.requests() == [("GET", GKE_LIST, GKE_QUERY)]
    assert api.problems == []
    assert sorted(rows) == ["serve/l4-pool", "train/default-pool", "train/h100-pool"]


def test_gpu_pool_row(api: ApiStub) -> None:
    row = _rows(api)["train/h100-pool"]
    assert (row["platform"], row["kind"], row["state"], row["location"]) == (
        "gke",
        "node_pool",
        "RUNNING",
        "us-central1",
    )
    assert row["resource_id"].endswith("/clusters/train/nodePools/h100-pool")
    assert (row["machine_type"], row["gpus_per_node"], row["gpu_model"], row["is_spot"]) == (
        "a3-highgpu-8g", 8, "H100", True)  # fmt: skip
    # two pools, so currentNodeCount (cluster-wide) is not used: initialNodeCount 1 × 1 zone, within 0..4
    assert (row["nodes"], row["gpu_count"]) == (1, 8)
    assert row["hosts"] == ["gke-train-h100-pool-5e2b9c1d-*"]
    assert row["started_at"] is None


def test_labels_pool_resource_labels_over_node_labels_over_cluster(api: ApiStub) -> None:
    labels = {kv["key"]: kv["value"] for kv in _rows(api)["train/h100-pool"]["labels"]}
    assert labels == {"team": "ml-research", "workload": "pretrain", "pool-role": "training", "env": "prod"}


def test_single_pool_cluster_uses_current_node_count_and_fallback_pattern(api: ApiStub) -> None:
    row = _rows(api)["serve/l4-pool"]
    assert (row["nodes"], row["gpus_per_node"], row["gpu_count"], row["gpu_model"]) == (2, 1, 2, "L4")
    assert row["is_spot"] is False
    assert row["hosts"] == ["gke-serve-l4-pool-*"]  # no instanceGroupUrls in the answer


def test_autoscaling_bounds_clamp_the_initial_count() -> None:
    pool = container_v1.NodePool(
        name="p", initial_node_count=5, locations=["a", "b"],
        autoscaling=container_v1.NodePoolAutoscaling(enabled=True, min_node_count=1, max_node_count=3),
    )  # fmt: skip
    cluster = container_v1.Cluster(name="c", node_pools=[pool, container_v1.NodePool(name="q")])
    assert gke.pool_nodes(cluster, pool) == 6  # 5 × 2 zones = 10, held to max 3 per zone × 2
    pool.autoscaling = container_v1.NodePoolAutoscaling(enabled=True, total_min_node_count=12, total_max_node_count=20)
    assert gke.pool_nodes(cluster, pool) == 12
