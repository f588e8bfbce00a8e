"""The one label rule for "which platform manages this VM": inventory (owners.py) and billing (focus_gcp.sql) agree.

Label sets are synthetic, written to what Databricks documents for GCP (default tags Vendor, ClusterId,
ClusterName, Creator, pool tags DatabricksInstancePoolId…, lower-cased onto GCE labels) plus the hand-written
`databricks-cluster-id` / `databricks_cluster_id` forms and GKE's `goog-k8s-cluster-name`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from google.cloud import compute_v1

from collectors.inventory import gce
from collectors.inventory.owners import merge, owner, platform_of
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema import TABLES

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
CID = "1120-060000-h100ft01"

# name → (labels, platform expected on both sides, cluster owner() names)
CASES: dict[str, tuple[dict[str, str], str, str | None]] = {
    "documented default tags": (
        {"vendor": "databricks", "clusterid": CID, "clustername": "llm-ft", "creator": "ana_at_example_com"},
        "databricks", CID),
    "job compute tags": ({"vendor": "databricks", "clusterid": CID, "runname": "nightly", "jobid": "42"},
                         "databricks", CID),
    "pool VM, no cluster yet": ({"vendor": "databricks", "databricksinstancepoolid": "1120-pool-abc"},
                                "databricks", None),
    "vendor value in capitals": ({"vendor": "Databricks", "clusterid": CID}, "databricks", CID),
    "databricks-cluster-id": ({"databricks-cluster-id": CID, "databricks-cluster-name": "x"}, "databricks", CID),
    "databricks_cluster_id": ({"databricks_cluster_id": CID}, "databricks", CID),
    "any databricks* key": ({"databricks-workspace-id": "148"}, "databricks", None),
    "Databricks on a GKE node": ({"goog-k8s-cluster-name": "db-148", "vendor": "databricks", "clusterid": CID},
                                 "databricks", CID),
    "GKE node": ({"goog-k8s-cluster-name": "train", "goog-k8s-node-pool-name": "h100"}, "gke", "train"),
    "clusterid alone is not enough": ({"clusterid": CID}, "gce", None),
    "another vendor": ({"vendor": "acme", "team": "ml"}, "gce", None),
    "no labels": ({}, "gce", None),
}  # fmt: skip


def _kv(labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in labels.items()]


def _charge(name: str, labels: dict[str, str]) -> dict[str, Any]:
    """One Compute Engine row of the GCP billing export (documented columns), for the VM `name`."""
    start = NOW - dt.timedelta(hours=1)
    return {
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9",
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "A3-CORE", "description": "A3 Instance Core running in Americas"},
        "usage_start_time": start, "usage_end_time": NOW, "project": {"id": "ml-prod-4821", "name": "ml-prod"},
        "labels": _kv(labels), "resource": {"name": name, "global_name": f"//compute/{name}"}, "cost": 1.0,
        "currency": "USD", "usage": {"amount": 3600.0, "unit": "seconds"}, "credits": [],
        "invoice": {"month": "202611"}, "cost_type": "regular", "_day": start.date(), "_source": "test",
    }  # fmt: skip


def test_inventory_and_billing_put_the_same_label_sets_on_the_same_platform(lake: DuckDbLake) -> None:
    rows = [_charge(name, labels) for name, (labels, _, _) in CASES.items()]
    lake.append("gcp_billing_export", pa.Table.from_pylist(rows, schema=TABLES["gcp_billing_export"].schema))
    billing = {
        r["n"]: r["p"] for r in lake.query("SELECT ResourceName AS n, x_Platform AS p FROM focus_gcp").to_pylist()
    }
    inventory = {name: platform_of(labels) or "gce" for name, (labels, _, _) in CASES.items()}
    assert billing == inventory == {name: want for name, (_, want, _) in CASES.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_owner_names_the_platform_and_the_cluster_its_labels_carry(name: str) -> None:
    labels, platform, cluster = CASES[name]
    found = owner({"labels": _kv(labels)})
    assert found == (None if platform == "gce" else (platform, cluster))


def _instance(name: str, labels: dict[str, str]) -> Any:
    return compute_v1.Instance(name=name, id=7, machine_type="zones/z/machineTypes/a3-highgpu-8g",
                               zone="zones/us-central1-a", labels=labels, status="RUNNING")  # fmt: skip


def test_a_databricks_vm_whose_cluster_is_not_listed_stays_on_databricks() -> None:
    vm = gce.parse_instance(_instance("dbx-vm", CASES["documented default tags"][0]), project="p", scope="", now=NOW)
    assert (vm["platform"], vm["kind"], vm["cluster"]) == ("databricks", "instance", "llm-ft")
    [kept] = merge([vm], [], [])  # the Databricks source not configured: not folded, not lost, not GCE
    assert kept["platform"] == "databricks"


def test_a_vm_labelled_the_hand_written_way_folds_into_its_cluster() -> None:
    vm = gce.parse_instance(_instance("dbx-vm-2", CASES["databricks-cluster-id"][0]), project="p", scope="", now=NOW)
    cluster = {"platform": "databricks", "resource_id": CID, "hosts": [f"{CID}-*"]}
    assert merge([vm], [], [cluster]) == [cluster] and "dbx-vm-2" in cluster["hosts"]
