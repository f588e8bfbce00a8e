"""The inventory collector end to end into the lake: real databricks-sdk, google-cloud-compute and
google-cloud-container clients against one loopback stand-in (NOT Databricks, Compute Engine or GKE)."""

from __future__ import annotations

import datetime as dt

import pytest

import collectors.inventory.collector  # noqa: F401 - registers "inventory"
from collectors import registry
from collectors.base import RunContext
from collectors.inventory.collector import InventoryCollector
from collectors.inventory.hosts import LATEST_INVENTORY_SQL, resolve
from spendscope.config import DatabricksConfig, InventoryConfig, Settings
from spendscope.errors import ConfigError, SourceError
from spendscope.ingest import run
from tests.inventory.api_stub import ApiStub
from tests.inventory.conftest import (
    DBX_LIST,
    GCE_LIST,
    GKE_LIST,
    GKE_QUERY,
    PROJECT,
    clusters_client,
    instances_client,
    workspace_client,
)
from tests.seed import seed_costs

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
PRICES = {"a3-highgpu-8g": 88.49, "n2-highmem-8": 0.52, "g2-standard-8": 0.85, "e2-standard-8": 0.27}


def _collector(api: ApiStub, **cfg: object) -> InventoryCollector:
    config = InventoryConfig.model_validate(
        {"enabled": True, "databricks": True, "gce_projects": [PROJECT], "gke_projects": [PROJECT],
         "prices_usd_per_hour": PRICES, **cfg}
    )  # fmt: skip
    return InventoryCollector(
        config,
        DatabricksConfig(host=api.url),
        workspace_client=workspace_client(api),
        instances_client=instances_client(api),
        clusters_client=clusters_client(api),
    )


def _latest(ctx: RunContext) -> dict[str, dict]:
    rows = ctx.warehouse.query(LATEST_INVENTORY_SQL, {"now": NOW}).to_pylist()
    return {f"{r['platform']}:{r['resource_name']}": r for r in rows}


def test_registered_under_its_cli_name(settings: Settings) -> None:
    assert registry.get("inventory") is InventoryCollector
    assert InventoryCollector.from_settings(settings).sources() == []


def test_snapshot_lands_with_owned_vms_folded_into_their_owners(api: ApiStub, ctx: RunContext) -> None:
    summary = run(_collector(api), ctx)
    assert api.problems == []
    assert summary.rows == {"inventory": 8} and summary.quarantined == []
    rows = _latest(ctx)
    assert sorted(rows) == [
        "databricks:l4-notebook-dev", "databricks:llm-finetune-h100", "databricks:nightly-etl",
        "gce:a3-train-01", "gce:l4-inference-dev",
        "gke:default-pool", "gke:h100-pool", "gke:l4-pool",
    ]  # fmt: skip
    pool = rows["gke:h100-pool"]
    # the pool's two live VMs from the GCE listing: their names, IPs, count and GPUs
    assert (pool["nodes"], pool["gpu_count"]) == (2, 16)
    assert {"gke-train-h100-pool-5e2b9c1d-x7k2", "gke-train-h100-pool-5e2b9c1d-q9m4", "10.128.0.22"} <= set(
        pool["hosts"]
    )
    assert "db-1120-060000-h100ft01-worker-1" in rows["databricks:llm-finetune-h100"]["hosts"]
    assert all(r["observed_at"] == NOW and r["_day"] == NOW.date() for r in rows.values())
    labels = {kv["key"]: kv["value"] for kv in rows["gce:a3-train-01"]["labels"]}
    assert labels == {"team": "ml-research", "workload": "pretrain"}


def test_each_run_appends_a_snapshot(api: ApiStub, ctx: RunContext) -> None:
    collector = _collector(api)
    run(collector, ctx)
    run(collector, ctx)
    n = ctx.warehouse.query("SELECT COUNT(*) AS n FROM inventory").to_pylist()[0]["n"]
    assert n == 16


def test_prices_from_billing_else_config(api: ApiStub, ctx: RunContext) -> None:
    day = dt.datetime(2026, 11, 19, 8, tzinfo=dt.UTC)  # Nov 19 in Los Angeles, the last complete day
    seed_costs(
        ctx.warehouse,
        [
            {"ChargePeriodStart": day + dt.timedelta(hours=h), "BilledCost": 70.0, "ProviderName": "Google Cloud",
             "ServiceName": "Compute Engine", "ResourceName": "a3-train-01"}
            for h in range(4)
        ],
    )  # fmt: skip
    run(_collector(api), ctx)
    rows = _latest(ctx)
    a3 = rows["gce:a3-train-01"]
    assert (a3["price_usd_per_hour"], a3["price_source"]) == (70.0, "billing")
    ft = rows["databricks:llm-finetune-h100"]
    assert ft["price_source"] == "config"
    assert ft["price_usd_per_hour"] == pytest.approx(0.52 + 2 * 88.49)
    assert rows["gke:default-pool"]["price_usd_per_hour"] == pytest.approx(0.27)
    etl = rows["databricks:nightly-etl"]  # n2-standard-16 has no price anywhere
    assert (etl["price_usd_per_hour"], etl["price_source"]) == (None, None)


def test_a_failing_source_is_reported_and_the_others_land(api: ApiStub, ctx: RunContext) -> None:
    api.route("GET", GKE_LIST, {"error": {"code": 403, "message": "Permission denied on resource project",
                                          "status": "PERMISSION_DENIED"}}, GKE_QUERY, status=403)  # fmt: skip
    summary = run(_collector(api), ctx)
    assert [q.file for q in summary.quarantined] == [f"gke:{PROJECT}"]
    assert "Forbidden: 403" in summary.quarantined[0].reason and "Permission denied" in summary.quarantined[0].reason
    rows = _latest(ctx)
    # with GKE not listed, its node VMs stay rows of their own (not lost), on platform gke as billing has them
    gke = {k: r for k, r in rows.items() if k.startswith("gke:")}
    assert sorted(gke) == ["gke:gke-train-h100-pool-5e2b9c1d-q9m4", "gke:gke-train-h100-pool-5e2b9c1d-x7k2"]
    assert all((r["kind"], r["cluster"]) == ("instance", "train") for r in gke.values())
    got = ctx.warehouse.query("SELECT file, reason FROM quarantine WHERE table_name = 'inventory'").to_pylist()
    assert [g["file"] for g in got] == [f"gke:{PROJECT}"]


def test_a_source_that_stays_down_is_reported_once_not_every_run(api: ApiStub, ctx: RunContext) -> None:
    api.route("GET", GKE_LIST, {"error": {"code": 403, "message": "Permission denied on resource project",
                                          "status": "PERMISSION_DENIED"}}, GKE_QUERY, status=403)  # fmt: skip
    collector = _collector(api)  # the daemon keeps one instance across runs
    reports = [run(collector, ctx).quarantined for _ in range(3)]
    assert [len(r) for r in reports] == [1, 0, 0]
    assert collector.last_errors.keys() == {f"gke:{PROJECT}"}  # still known to be down
    assert run(collector, ctx).rows["inventory"] > 0  # the other sources keep landing


def test_every_source_failing_raises_source_error(api: ApiStub, ctx: RunContext) -> None:
    denied = {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}
    api.route("GET", GCE_LIST, denied, status=403)
    api.route("GET", GKE_LIST, denied, GKE_QUERY, status=403)
    api.route("GET", DBX_LIST, {"error_code": "PERMISSION_DENIED", "message": "denied"}, status=403)
    with pytest.raises(SourceError, match="every source failed"):
        run(_collector(api), ctx)


def test_no_source_configured_is_a_config_error(ctx: RunContext) -> None:
    with pytest.raises(ConfigError, match="no source configured"):
        list(InventoryCollector(InventoryConfig(enabled=True)).collect(ctx))


def test_databricks_without_token_is_reported_not_fatal(
    api: ApiStub, ctx: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABRICKS_TOKEN", raising=False)
    collector = _collector(api)
    collector._workspace = None  # built from config: host set, token env var missing
    summary = run(collector, ctx)
    assert [q.file for q in summary.quarantined] == ["databricks"]
    assert "DATABRICKS_TOKEN" in summary.quarantined[0].reason
    assert summary.rows["inventory"] == 6  # 3 GKE pools + 3 VMs: the Databricks VM stays a row of its own…
    vm = _latest(ctx)["databricks:db-1120-060000-h100ft01-worker-1"]  # …on Databricks, where billing puts its cost
    assert (vm["kind"], vm["cluster"]) == ("instance", "llm-finetune-h100")


def test_host_of_a_gpu_sample_resolves_to_its_item(api: ApiStub, ctx: RunContext) -> None:
    run(_collector(api), ctx)
    items = list(_latest(ctx).values())
    assert resolve(items, "gke-train-h100-pool-5e2b9c1d-x7k2")["resource_name"] == "h100-pool"
    assert resolve(items, "1120-060000-h100ft01-10-4-0-13")["resource_name"] == "llm-finetune-h100"
    assert resolve(items, "a3-train-01")["platform"] == "gce"
