"""The idle rule on the demo's idle GCE weekend and on synthetic gpu_minutes/inventory for the exact cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alerts.loader import parse_rules
from alerts.rules.idle import IdleRule
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.demo import DemoResult
from tests.alerts.telemetry_rows import MIN, NOW, context, gpu_minutes, inventory_row, write, yaml_example
from tests.security.payloads import PAYLOADS

DBX_ID = "1120-093512-gpures7a"
DBX_HOSTS = [f"{DBX_ID}-10-128-0-{i}" for i in (4, 5)]


def rule(**kw: Any) -> IdleRule:
    return IdleRule.model_validate({"name": "gpu-idle", "type": "idle", **kw})


def gce(name: str = "a3-train-09", **kw: Any) -> dict[str, Any]:
    return inventory_row("gce", "instance", f"id-{name}", name, [name], **kw)


def test_the_docstring_example_validates() -> None:
    [parsed] = parse_rules(yaml_example(IdleRule))
    assert isinstance(parsed, IdleRule) and parsed.window_of("gce") == 15 * MIN and parsed.window_of("gke") == 30 * MIN


def test_the_demo_idle_weekend_is_one_finding_for_the_vm(
    demo_run: tuple[DemoResult, DuckDbLake], demo_ctx: Any
) -> None:
    result, lake = demo_run
    [stretch] = [s for s in result.idle if s.platform == "gce"]
    now = stretch.start + dt.timedelta(hours=21)  # Saturday noon
    findings = rule(windows={"gce": "15m"}).evaluate(demo_ctx(now))
    assert [f.labels["cluster"] for f in findings] == [stretch.key]  # nothing else in the fleet is idle then
    [f] = findings
    assert (f.labels["platform"], f.labels["kind"]) == ("gce", "instance")
    inv = lake.query(f"SELECT resource_id, price_usd_per_hour, gpu_count FROM inventory WHERE resource_name = "
                     f"'{stretch.key}' AND observed_at <= TIMESTAMP '{now.isoformat()}' "
                     "ORDER BY observed_at DESC LIMIT 1").to_pylist()[0]  # fmt: skip
    assert f.labels["resource_id"] == inv["resource_id"]
    assert f.evidence["gpus"] == f.evidence["idle_gpus"] == inv["gpu_count"]  # one finding for all 8 GPUs
    assert f.evidence["busy_ratio"] == 0 and f.evidence["window_minutes"] == 15
    assert f.value == pytest.approx(inv["price_usd_per_hour"])  # every GPU idle: the whole VM's $/h
    assert f.resource is not None and (f.resource.name, f.resource.state) == (stretch.key, "RUNNING")
    assert f.resource.labels.get("team") and f.resource.hosts == (stretch.key,)
    assert stretch.key in f.annotations["summary"] and "8/8 GPUs idle for 15 min" in f.annotations["summary"]


def test_the_demo_vm_is_idle_all_weekend_and_not_after_it_stops(demo_run: tuple[DemoResult, DuckDbLake],
                                                                demo_ctx: Any) -> None:  # fmt: skip
    [stretch] = [s for s in demo_run[0].idle if s.platform == "gce"]
    r = rule(windows={"gce": "15m"})
    # From the first inventory snapshot of the weekend (the demo observes once a day) to its last minutes
    t = dt.datetime.combine(stretch.start.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    while t < stretch.end:
        assert stretch.key in {f.labels["cluster"] for f in r.evaluate(demo_ctx(t))}, t
        t += dt.timedelta(hours=6)
    after = stretch.end + 10 * MIN  # stopped: its telemetry is stale, which says nothing
    assert stretch.key not in {f.labels["cluster"] for f in r.evaluate(demo_ctx(after))}


def test_a_databricks_cluster_is_judged_by_its_gpus_one_finding_for_all_nodes(
    lake: DuckDbLake, settings: Settings
) -> None:
    """A notebook may be attached (the cluster is RUNNING and billing): only GPU activity decides."""
    write(lake, "inventory", [inventory_row("databricks", "cluster", DBX_ID, "gpu-research-h100", [f"{DBX_ID}-*"],
                                            gpu_count=16, price_usd_per_hour=160.0)])  # fmt: skip
    for host in DBX_HOSTS:
        write(lake, "gpu_minutes", gpu_minutes(host, 8, NOW - 40 * MIN, 40, busy=False, gpu_util_ratio=0.0))
    [f] = rule().evaluate(context(lake, settings))
    assert f.labels == {"platform": "databricks", "cluster": "gpu-research-h100", "resource_id": DBX_ID,
                        "kind": "cluster"}  # fmt: skip
    assert (f.evidence["gpus"], f.evidence["idle_gpus"], f.evidence["hosts"]) == (16, 16, DBX_HOSTS)
    assert f.value == pytest.approx(160.0) and f.resource is not None and f.resource.resource_id == DBX_ID
    assert "notebook" in f.annotations["description"]


def test_one_busy_minute_on_one_gpu_keeps_the_cluster_off(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [inventory_row("databricks", "cluster", DBX_ID, "gpu-research-h100", [f"{DBX_ID}-*"])])
    write(lake, "gpu_minutes", gpu_minutes(DBX_HOSTS[0], 8, NOW - 40 * MIN, 40,
                                           busy=lambda g, i: g == 3 and i == 30))  # fmt: skip
    assert rule().evaluate(context(lake, settings)) == []


def test_a_data_gap_in_the_window_is_not_idle(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [gce()])
    rows = gpu_minutes("a3-train-09", 8, NOW - 40 * MIN, 41, busy=False)
    gap = [r for r in rows if not NOW - 20 * MIN <= r["minute"] < NOW - 15 * MIN]  # 5 minutes missing
    write(lake, "gpu_minutes", gap)
    assert rule().evaluate(context(lake, settings)) == []
    assert len(rule(min_coverage=0.8).evaluate(context(lake, settings))) == 1  # the gap is the only reason


def test_a_host_that_just_started_is_not_idle(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [gce(started_at=NOW - 20 * MIN)])
    write(lake, "gpu_minutes", gpu_minutes("a3-train-09", 8, NOW - 20 * MIN, 21, busy=False))
    assert rule().evaluate(context(lake, settings)) == []
    assert len(rule(window="15m").evaluate(context(lake, settings))) == 1  # idle for a whole 15-minute window


def test_a_restart_inside_the_window_per_the_inventory_is_not_idle(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [gce(started_at=NOW - 10 * MIN)])
    write(lake, "gpu_minutes", gpu_minutes("a3-train-09", 8, NOW - 40 * MIN, 41, busy=False))
    assert rule().evaluate(context(lake, settings)) == []


def test_stale_telemetry_says_nothing(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [gce()])
    write(lake, "gpu_minutes", gpu_minutes("a3-train-09", 8, NOW - 50 * MIN, 40, busy=False))  # ends 10 min ago
    assert rule().evaluate(context(lake, settings)) == []
    assert len(rule(stale_after="15m").evaluate(context(lake, settings))) == 1


def test_a_collector_lagging_a_few_minutes_still_gets_a_whole_window(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [gce()])
    write(lake, "gpu_minutes", gpu_minutes("a3-train-09", 8, NOW - 33 * MIN, 30, busy=False))  # 3 minutes behind
    [f] = rule().evaluate(context(lake, settings))
    assert f.evidence["coverage"] == 1.0 and f.evidence["last_seen"] == (NOW - 4 * MIN).isoformat()


def test_an_item_the_inventory_says_is_not_running_is_skipped(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [gce(observed_at=NOW - 30 * MIN), gce(state="STOPPING")])  # the latest row counts
    write(lake, "gpu_minutes", gpu_minutes("a3-train-09", 8, NOW - 40 * MIN, 41, busy=False))
    assert rule().evaluate(context(lake, settings)) == []


def test_gce_has_its_own_window(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [gce(), inventory_row("databricks", "cluster", DBX_ID, "gpu-research-h100",
                                                   [f"{DBX_ID}-*"])])  # fmt: skip
    for host in ("a3-train-09", DBX_HOSTS[0]):  # busy until 20 minutes ago, idle since
        write(lake, "gpu_minutes", gpu_minutes(host, 8, NOW - 60 * MIN, 61, busy=lambda g, i: i < 40))
    assert rule().evaluate(context(lake, settings)) == []
    [f] = rule(windows={"gce": "15m"}).evaluate(context(lake, settings))
    assert (f.labels["platform"], f.evidence["window_minutes"]) == ("gce", 15)
    assert rule(windows={"gce": "15m"}, platforms=["databricks"]).evaluate(context(lake, settings)) == []


def test_a_gke_pool_is_one_finding_priced_by_its_idle_share(lake: DuckDbLake, settings: Settings) -> None:
    pool = "projects/acme-ml-prod/locations/us-central1/clusters/ml-gke-prod/nodePools/h100-ondemand"
    nodes = ["gke-ml-gke-prod-h100-ondemand-1f2e3d4c-0a1b", "gke-ml-gke-prod-h100-ondemand-1f2e3d4c-9z8y"]
    write(lake, "inventory", [inventory_row("gke", "node_pool", pool, "h100-ondemand",
                                            ["gke-ml-gke-prod-h100-ondemand-1f2e3d4c-*"], cluster="ml-gke-prod",
                                            gpu_count=24, price_usd_per_hour=240.0, started_at=None)])  # fmt: skip
    for node in nodes:
        write(lake, "gpu_minutes", gpu_minutes(node, 8, NOW - 40 * MIN, 41, busy=False))
    [f] = rule().evaluate(context(lake, settings))
    assert (f.labels["cluster"], f.labels["kind"], f.evidence["hosts"]) == ("ml-gke-prod", "node_pool", nodes)
    # 16 GPUs measured of the 24 the inventory lists: the idle share of the pool's price
    assert f.value == pytest.approx(240.0 * 16 / 24) and f.evidence["inventory_gpus"] == 24


def test_a_host_the_inventory_does_not_know_is_its_own_group(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [gce()])
    write(lake, "gpu_minutes", gpu_minutes("lab-box-3", 2, NOW - 40 * MIN, 41, busy=False))
    [f] = rule().evaluate(context(lake, settings))
    assert f.labels == {"platform": "unknown", "cluster": "lab-box-3"}
    assert f.resource is None and f.value is None and "no price" in f.annotations["summary"]


def test_mig_instances_count_their_share_of_a_gpu(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [gce()])
    write(lake, "gpu_minutes", gpu_minutes("a3-train-09", 1, NOW - 40 * MIN, 41, busy=False, mig=("1", "3g.40gb")))
    [f] = rule().evaluate(context(lake, settings))
    assert f.evidence["gpus"] == pytest.approx(3 / 7) and f.evidence["idle_gpus"] == pytest.approx(3 / 7)


def test_excluded_labels_are_skipped(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [gce(labels={"team": "ml-research", "keep-alive": "true"})])
    write(lake, "gpu_minutes", gpu_minutes("a3-train-09", 8, NOW - 40 * MIN, 41, busy=False))
    assert rule(exclude_labels={"keep-alive": "*"}).evaluate(context(lake, settings)) == []
    assert len(rule(exclude_labels={"keep-alive": "false"}).evaluate(context(lake, settings))) == 1


def test_windows_outside_1m_to_24h_are_rejected() -> None:
    with pytest.raises(ValueError, match="between 1m and 24h"):
        rule(windows={"gce": "2d"})
    with pytest.raises(ValueError, match="between 1m and 24h"):
        rule(window="30s")


def test_host_names_holding_sql_reach_the_idle_windows_as_values(lake: DuckDbLake, settings: Settings) -> None:
    # The rule sends every host it saw, with its item and window, back to the warehouse as array parameters:
    # hosts named with injection strings (synthetic) are each their own idle group, named exactly.
    hosts = [p for p in PAYLOADS if p]  # every payload but the empty string
    for host in hosts:
        write(lake, "gpu_minutes", gpu_minutes(host, 1, NOW - 40 * MIN, 41, busy=False))
    findings = rule().evaluate(context(lake, settings))
    assert sorted(f.evidence["hosts"][0] for f in findings) == sorted(hosts)
    assert all(f.evidence["idle_gpus"] == 1 and f.evidence["coverage"] == 1 for f in findings)
