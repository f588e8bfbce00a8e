"""The runtime rule on synthetic inventory rows (exact cases) and on the demo's daily inventory snapshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alerts.loader import parse_rules
from alerts.rules.runtime import RuntimeRule
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from tests.alerts.telemetry_rows import MIN, NOW, context, inventory_row, write, yaml_example

HOUR = dt.timedelta(hours=1)
DBX_ID = "1120-093512-gpures7a"


def rule(**kw: Any) -> RuntimeRule:
    return RuntimeRule.model_validate({"name": "up-too-long", "type": "runtime", **kw})


def cluster(started_hours_ago: float, **kw: Any) -> dict[str, Any]:
    return inventory_row("databricks", "cluster", kw.pop("resource_id", DBX_ID), kw.pop("name", "gpu-research-h100"),
                         [f"{DBX_ID}-*"], started_at=NOW - started_hours_ago * HOUR, price_usd_per_hour=12.5,
                         **kw)  # fmt: skip


def test_the_docstring_example_validates() -> None:
    [parsed] = parse_rules(yaml_example(RuntimeRule))
    assert isinstance(parsed, RuntimeRule) and parsed.max_hours == 24 and parsed.exclude_labels == {"always-on": "true"}


def test_a_cluster_up_longer_than_the_limit(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [cluster(30), cluster(20, resource_id="0101-000000-young", name="young")])
    [f] = rule().evaluate(context(lake, settings))
    assert f.labels == {"platform": "databricks", "cluster": "gpu-research-h100", "resource_id": DBX_ID,
                        "kind": "cluster"}  # fmt: skip
    assert f.value == pytest.approx(30.0) and f.evidence["hours_up"] == pytest.approx(30.0)
    assert f.evidence["estimated_cost_usd"] == pytest.approx(12.5 * 30)
    assert f.evidence["started_at"] == (NOW - 30 * HOUR).isoformat()
    assert f.resource is not None and (f.resource.resource_id, f.resource.labels) == (DBX_ID, {"team": "ml-research"})
    assert "up 30.0 h (limit 24 h)" in f.annotations["summary"] and "$375" in f.annotations["summary"]


def test_stale_inventory_is_unknown_not_long_running(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [cluster(30, observed_at=NOW - 2 * HOUR)])
    assert rule().evaluate(context(lake, settings)) == []
    assert len(rule(max_inventory_age="3h").evaluate(context(lake, settings))) == 1


def test_the_latest_state_decides(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [cluster(30, observed_at=NOW - 20 * MIN), cluster(30, state="TERMINATED")])
    assert rule().evaluate(context(lake, settings)) == []
    write(lake, "inventory", [cluster(30, state="RESIZING", observed_at=NOW - MIN)])  # still up while resizing
    assert len(rule().evaluate(context(lake, settings))) == 1


def test_a_future_observation_is_not_seen(lake: DuckDbLake, settings: Settings) -> None:
    """A replayed evaluation (a past `now`) sees the inventory as it was then."""
    write(lake, "inventory", [cluster(30), cluster(30, state="TERMINATED", observed_at=NOW + 10 * MIN)])
    assert len(rule().evaluate(context(lake, settings))) == 1


def test_pools_scaled_to_zero_and_items_without_a_start_are_not_up(lake: DuckDbLake, settings: Settings) -> None:
    pool = "projects/p/locations/us-central1/clusters/ml/nodePools/h100-spot"
    write(lake, "inventory", [
        inventory_row("gke", "node_pool", pool, "h100-spot", ["gke-ml-h100-spot-*"], nodes=0,
                      started_at=NOW - 40 * HOUR),
        inventory_row("gke", "node_pool", pool + "2", "a100", ["gke-ml-a100-*"], started_at=None),
    ])  # fmt: skip
    assert rule().evaluate(context(lake, settings)) == []


def test_filters(lake: DuckDbLake, settings: Settings) -> None:
    write(lake, "inventory", [
        cluster(30),
        inventory_row("gce", "instance", "id-etl", "c4a-etl-1", ["c4a-etl-1"], gpu_count=0,
                      started_at=NOW - 50 * HOUR, labels={"always-on": "true"}),
        inventory_row("gce", "instance", "id-a3", "a3-train-01", ["a3-train-01"], started_at=NOW - 26 * HOUR),
    ])  # fmt: skip
    ctx = context(lake, settings)

    def names(r: RuntimeRule) -> list[str]:
        return sorted(f.labels["cluster"] for f in r.evaluate(ctx))

    assert names(rule()) == ["a3-train-01", "c4a-etl-1", "gpu-research-h100"]
    assert names(rule(min_gpus=1)) == ["a3-train-01", "gpu-research-h100"]
    assert names(rule(platforms=["gce"])) == ["a3-train-01", "c4a-etl-1"]
    assert names(rule(kinds=["cluster"])) == ["gpu-research-h100"]
    assert names(rule(exclude_labels={"always-on": "true"})) == ["a3-train-01", "gpu-research-h100"]
    assert names(rule(max_hours=28)) == ["c4a-etl-1", "gpu-research-h100"]


def test_the_demo_inventory_while_fresh_and_once_stale(demo_lake: DuckDbLake, demo_ctx: Any) -> None:
    """The demo observes each resource once a day, at the end of its last run that day."""
    sql = (
        "SELECT MAX(observed_at) AS t FROM inventory "
        "WHERE gpu_count > 0 AND started_at <= TIMESTAMP_SUB(observed_at, INTERVAL 23 HOUR)"
    )
    [last] = demo_lake.query(sql).column("t").to_pylist()
    fresh = last + 30 * MIN
    expected = (
        demo_lake.query(
            "SELECT resource_id FROM inventory WHERE observed_at > @since AND observed_at <= @now AND gpu_count > 0 "
            "AND state = 'RUNNING' AND started_at < @limit",
            {"since": fresh - HOUR, "now": fresh, "limit": fresh - 24 * HOUR},
        )
        .column("resource_id")
        .to_pylist()
    )
    got = rule(min_gpus=1).evaluate(demo_ctx(fresh))
    assert got and sorted(f.labels["resource_id"] for f in got) == sorted(expected)
    assert all(f.value is not None and f.value > 24 for f in got)
    assert rule(min_gpus=1).evaluate(demo_ctx(last + 2 * HOUR)) == []  # the snapshot is 2 hours old: unknown
