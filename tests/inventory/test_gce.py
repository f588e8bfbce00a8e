"""GCE instances: the real google-cloud-compute InstancesClient (REST transport, anonymous credentials) against a
loopback stand-in (NOT Compute Engine) answering the documented aggregated-list JSON, two pages."""

from __future__ import annotations

import datetime as dt

import pytest

from collectors.inventory import gce
from tests.inventory.api_stub import ApiStub
from tests.inventory.conftest import GCE_LIST, GCE_PAGE2, PROJECT, instances_client

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
pytestmark = pytest.mark.integration


def _rows(api: ApiStub) -> dict[str, dict]:
    pairs = gce.fetch(instances_client(api), PROJECT)
    return {r["resource_name"]: r for r in gce.parse_aggregated(pairs, project=PROJECT, now=NOW)}


def test_aggregated_list_requests_every_page(api: ApiStub) -> None:
    rows = _rows(api)
    assert api.requests() == [("GET", GCE_LIST, ()), ("GET", GCE_LIST, GCE_PAGE2)]
    assert api.problems == []
    assert len(rows) == 5  # the empty us-east1-b scope (a warning) adds none


def test_spot_a3_instance_row(api: ApiStub) -> None:
    row = _rows(api)["a3-train-01"]
    assert (row["platform"], row["kind"], row["resource_id"]) == ("gce", "instance", "4519532173512345678")
    assert (row["state"], row["project"], row["location"]) == ("RUNNING", PROJECT, "us-central1-a")
    assert (row["machine_type"], row["nodes"], row["gpus_per_node"], row["gpu_count"]) == ("a3-highgpu-8g", 1, 8, 8)
    assert row["gpu_model"] == "H100"
    assert row["is_spot"] is True  # provisioningModel SPOT
    assert row["started_at"] == dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)  # lastStartTimestamp, -08:00
    assert row["labels"] == [{"key": "team", "value": "ml-research"}, {"key": "workload", "value": "pretrain"}]
    assert row["hosts"] == ["a3-train-01", "10.128.0.7"]
    assert row["cluster"] is None and gce.owner(row) is None


def test_machine_type_gives_gpus_when_the_vm_lists_no_accelerators(api: ApiStub) -> None:
    row = _rows(api)["l4-inference-dev"]
    assert (row["state"], row["gpu_count"], row["gpu_model"], row["is_spot"]) == ("TERMINATED", 1, "L4", False)
    assert row["started_at"] == dt.datetime(2026, 10, 1, 16, tzinfo=dt.UTC)  # creation time: never restarted
    assert row["hosts"] == ["l4-inference-dev", "l4-dev.internal.example.com", "l4-dev", "10.128.1.5"]


def test_gke_and_databricks_vms_name_their_owner(api: ApiStub) -> None:
    rows = _rows(api)
    node = rows["gke-train-h100-pool-5e2b9c1d-x7k2"]
    assert gce.owner(node) == ("gke", "train") and (node["platform"], node["cluster"]) == ("gke", "train")
    dbx = rows["db-1120-060000-h100ft01-worker-1"]
    assert gce.owner(dbx) == ("databricks", "1120-060000-h100ft01")
    assert (dbx["platform"], dbx["cluster"]) == ("databricks", "llm-finetune-h100")  # its clustername label
    groups = gce.live_members(rows.values())
    assert sorted(groups) == ["databricks:1120-060000-h100ft01", "gke:train"]
    assert len(groups["gke:train"]) == 2


def test_preemptible_flag_alone_marks_spot() -> None:
    from google.cloud import compute_v1

    inst = compute_v1.Instance(
        name="old-preemptible", id=1, machine_type="zones/z/machineTypes/n1-standard-4",
        scheduling=compute_v1.Scheduling(preemptible=True), zone="zones/us-west1-b",
    )  # fmt: skip
    row = gce.parse_instance(inst, project="p", scope="zones/us-west1-b", now=NOW)
    assert (row["is_spot"], row["gpu_count"], row["gpu_model"], row["location"]) == (True, 0, None, "us-west1-b")
