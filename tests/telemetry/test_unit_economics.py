"""Unit economics on a seeded warehouse against hand-computed figures (see seed_economics.py), nulls, idle_now."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from spendscope.economics import HostMap, by_platform, idle_now, platform_from_name, unit_economics
from tests.telemetry.helpers import minute_rows, write_minutes
from tests.telemetry.seed_economics import DBX_HOST, GKE_NODE, TZ, D, seed_all, seed_inventory

approx = pytest.approx
START = dt.datetime.combine(D, dt.time(18), dt.UTC)  # 10:00 Pacific on D
NULLS = dict.fromkeys(("busy_gpu_hours", "idle_gpu_hours", "cost_per_busy_gpu_hour_usd", "idle_cost_usd", "busy_ratio"))


@pytest.fixture
def seeded(lake: DuckDbLake) -> DuckDbLake:
    seed_all(lake)
    return lake


def _rows(wh: DuckDbLake, since: dt.date, until: dt.date) -> dict[tuple[dt.date, str], dict[str, Any]]:
    return {(r["day"], r["platform"]): r for r in unit_economics(wh, since, until, TZ).to_pylist()}


def _check(row: dict[str, Any], want: dict[str, Any]) -> None:
    for key, value in want.items():
        assert row[key] == (value if value is None else approx(value)), key


def test_gce_vm_cost_is_the_whole_vm_and_busy_hours_scale_billed_hours_by_the_busy_share(seeded: DuckDbLake) -> None:
    row = _rows(seeded, D, D)[(D, "gce")]
    _check(row, {
        "gpu_hours": 16.0, "gpu_cost_usd": 2 * (73.6 + 7.0 + 3.0),  # GPU + core + RAM; not the c4a VM or the disk
        "busy_ratio": 0.75, "busy_gpu_hours": 12.0, "idle_gpu_hours": 4.0,
        "cost_per_gpu_hour_usd": 167.2 / 16, "cost_per_busy_gpu_hour_usd": 167.2 / 12, "idle_cost_usd": 167.2 * 0.25,
        "telemetry_gpu_hours": 8.0, "telemetry_coverage_ratio": 0.5,  # half the billed hours measured: ratio still 0.75
        "training_hours": 16.0, "training_cost_usd": 167.2, "cost_per_training_hour_usd": 167.2 / 16,
    })  # fmt: skip


def test_gke_node_matched_by_inventory_prefix_and_cluster_fee_left_out(seeded: DuckDbLake) -> None:
    row = _rows(seeded, D, D)[(D, "gke")]
    _check(row, {
        "gpu_hours": 8.0, "gpu_cost_usd": 45.0, "busy_ratio": 0.25, "busy_gpu_hours": 2.0, "idle_gpu_hours": 6.0,
        "cost_per_gpu_hour_usd": 5.625, "cost_per_busy_gpu_hour_usd": 22.5, "idle_cost_usd": 33.75,
        "telemetry_coverage_ratio": 1.0, "training_hours": 0.0, "cost_per_training_hour_usd": None,
    })  # fmt: skip


def test_databricks_cost_is_dbus_plus_cluster_vms_and_no_busy_time_gives_null_per_busy_hour(seeded: DuckDbLake) -> None:
    row = _rows(seeded, D, D)[(D, "databricks")]
    cost = 50.0 + 10.0 + 38 * 0.15  # the cluster's GCE VM + its DBUs; not the serverless SQL warehouse
    _check(row, {
        "gpu_hours": 8.0, "gpu_cost_usd": cost, "busy_ratio": 0.0, "busy_gpu_hours": 0.0, "idle_gpu_hours": 8.0,
        "cost_per_gpu_hour_usd": cost / 8, "cost_per_busy_gpu_hour_usd": None, "idle_cost_usd": cost,
        "training_hours": 8.0, "training_cost_usd": cost, "cost_per_training_hour_usd": cost / 8,
    })  # fmt: skip


def test_billing_without_telemetry_and_telemetry_without_billing_give_nulls_not_zeros(seeded: DuckDbLake) -> None:
    rows = _rows(seeded, D, D + dt.timedelta(days=2))
    assert sorted(rows) == [(D, "databricks"), (D, "gce"), (D, "gke"),
                            (D + dt.timedelta(days=1), "gce"), (D + dt.timedelta(days=2), "gce")]  # fmt: skip
    billed_only = rows[(D + dt.timedelta(days=1), "gce")]
    _check(billed_only, {**NULLS, "gpu_hours": 8.0, "cost_per_gpu_hour_usd": 83.6 / 8, "telemetry_coverage_ratio": 0.0})
    measured_only = rows[(D + dt.timedelta(days=2), "gce")]
    unknown_cost = dict.fromkeys(("gpu_hours", "gpu_cost_usd", "cost_per_gpu_hour_usd", "cost_per_busy_gpu_hour_usd",
                                  "idle_cost_usd", "busy_gpu_hours", "telemetry_coverage_ratio"))  # fmt: skip
    _check(measured_only, {**unknown_cost, "busy_ratio": 1.0, "telemetry_gpu_hours": 2.0})


def test_period_totals_per_platform_apply_the_daily_formulas_to_the_sums(seeded: DuckDbLake) -> None:
    daily = unit_economics(seeded, D, D + dt.timedelta(days=2), TZ)
    gce = {r["platform"]: r for r in by_platform(daily).to_pylist()}["gce"]
    # busy share from the days it is known (D: 12 of 16 h); extrapolated to all 24 billed hours
    _check(gce, {"days": 3, "gpu_hours": 24.0, "gpu_cost_usd": 250.8, "busy_ratio": 0.75, "busy_gpu_hours": 18.0,
                 "cost_per_busy_gpu_hour_usd": 250.8 / 18, "idle_cost_usd": 250.8 * 0.25,
                 "telemetry_coverage_ratio": 10.0 / 24})  # fmt: skip


def test_mig_instances_weigh_their_share_of_a_gpu(lake: DuckDbLake) -> None:
    start = dt.datetime.combine(D, dt.time(18), dt.UTC)
    write_minutes(lake, [*minute_rows("a2-mig", 1, start, 60, True, mig=("1", "3g.40gb")),
                         *minute_rows("a2-mig", 1, start, 60, False, mig=("2", "4g.40gb"))])  # fmt: skip
    [row] = unit_economics(lake, D, D, TZ).to_pylist()
    assert row["telemetry_gpu_hours"] == approx(1.0) and row["busy_ratio"] == approx(3 / 7)


def _a30(host: str, start: dt.datetime, busy: bool, mig: tuple[str, str]) -> list[dict[str, Any]]:
    return [{**r, "gpu_model": "NVIDIA A30"} for r in minute_rows(host, 1, start, 60, busy, mig=mig)]


def test_an_a30_mig_instance_weighs_its_slices_out_of_four(lake: DuckDbLake) -> None:
    start = dt.datetime.combine(D, dt.time(18), dt.UTC)
    write_minutes(lake, [*_a30("a30-whole", start, True, ("1", "4g.24gb")),  # the whole A30 as one instance
                         *_a30("a30-split", start, True, ("1", "2g.12gb")),
                         *_a30("a30-split", start, False, ("2", "1g.6gb")),
                         *_a30("a30-split", start, False, ("3", "1g.6gb"))])  # fmt: skip
    [row] = unit_economics(lake, D, D, TZ).to_pylist()
    assert row["telemetry_gpu_hours"] == approx(2.0)  # two A30s, one hour each
    assert row["busy_ratio"] == approx((1.0 + 0.5) / 2)
    now = start + dt.timedelta(minutes=60)
    got = {r["cluster"]: r for r in idle_now(lake, now, 30).to_pylist()}
    assert got["a30-whole"]["gpus"] == approx(1.0) and got["a30-split"]["gpus"] == approx(1.0)
    assert got["a30-split"]["idle_gpus"] == approx(0.5)


def test_host_map_uses_the_inventory_matcher() -> None:
    hosts = HostMap([
        {"platform": "gke", "resource_id": "pool-a", "hosts": ["gke-prod-a-*"]},
        {"platform": "gke", "resource_id": "pool-ab", "hosts": ["gke-prod-a-b-*"]},
        {"platform": "databricks", "resource_id": "c1", "hosts": ["worker-7"]},
        {"platform": "gce", "resource_id": "vm1", "hosts": ["a3-train-01"]},
        {"platform": "gke", "resource_id": "a3-pool", "hosts": ["a3-*"]},
    ])  # fmt: skip
    assert hosts.lookup("gke-prod-a-b-1234").resource_id == "pool-ab"  # the longest prefix wins
    assert hosts.lookup("gke-prod-a-9").resource_id == "pool-a"
    assert hosts.lookup("Worker-7.c.acme.internal").resource_id == "c1"  # case and domain ignored
    # a FQDN's exact short name beats a pattern matching the whole name (the old map took the pattern)
    assert hosts.lookup("a3-train-01.us-central1-a.c.acme.internal").resource_id == "vm1"


def test_a_host_the_inventory_does_not_know_is_unknown_when_the_inventory_runs() -> None:
    rows = [{"platform": "gce", "resource_id": "vm1", "hosts": ["a3-train-01"]}]
    ran = HostMap(rows, days=[D])
    for host in ("dcgm-exporter-wwwjh", "gke-other-pool-1", DBX_HOST, "a3-train-09"):
        assert (ran.lookup(host, D).platform, ran.lookup(host, D).resource_id) == ("unknown", None), host
    assert ran.lookup("a3-train-09", D + dt.timedelta(days=5)).platform == "gce"  # no inventory that day


def test_without_inventory_the_name_rule_is_the_fallback() -> None:
    hosts = HostMap([], days=[])
    assert hosts.lookup("gke-other-pool-1").platform == "gke"
    assert hosts.lookup(DBX_HOST).platform == "databricks"
    assert (hosts.lookup("a3-train-09").platform, hosts.lookup("a3-train-09").resource_id) == ("gce", None)
    assert platform_from_name("0921-040211-llmft7a2-10-0-0-5") == "databricks"


def test_unknown_hosts_are_reported_apart_and_leave_the_platform_busy_shares_alone(seeded: DuckDbLake) -> None:
    # dcgm-exporter without hostNetwork names its pod, not the node: the inventory cannot place it
    write_minutes(seeded, minute_rows("dcgm-exporter-wwwjh", 4, START, 60, True))
    rows = _rows(seeded, D, D)
    assert sorted(p for _, p in rows) == ["databricks", "gce", "gke", "unknown"]
    _check(rows[(D, "gce")], {"busy_ratio": 0.75, "telemetry_gpu_hours": 8.0})  # as without the pod's minutes
    unknown = rows[(D, "unknown")]
    _check(unknown, {"telemetry_gpu_hours": 4.0, "busy_ratio": 1.0})
    billing = ("gpu_hours", "gpu_cost_usd", "busy_gpu_hours", "idle_gpu_hours", "cost_per_gpu_hour_usd",
               "cost_per_busy_gpu_hour_usd", "idle_cost_usd", "telemetry_coverage_ratio", "training_hours")  # fmt: skip
    assert all(unknown[c] is None for c in billing)


def test_with_no_inventory_at_all_unknown_hosts_take_the_name_rule(lake: DuckDbLake) -> None:
    write_minutes(lake, [*minute_rows("a3-lone", 1, START, 60, True), *minute_rows(GKE_NODE, 1, START, 60, False),
                         *minute_rows(DBX_HOST, 1, START, 60, False)])  # fmt: skip
    assert sorted(p for _, p in _rows(lake, D, D)) == ["databricks", "gce", "gke"]


def test_idle_now_groups_by_inventory_item_and_prices_the_idle_gpus(lake: DuckDbLake) -> None:
    now = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
    start = now - dt.timedelta(minutes=30)
    seed_inventory(lake, now - dt.timedelta(minutes=5))
    write_minutes(lake, [
        *minute_rows("a3-train-01", 8, start, 30, False),
        *minute_rows("a3-train-01", 8, now - dt.timedelta(minutes=40), 5, True),  # before the window
        *minute_rows(GKE_NODE, 8, start, 30, False)[1:],
        *minute_rows(GKE_NODE, 1, start, 1, True),  # GPU 0 was busy one minute
        *minute_rows("a2-infer-1", 1, start, 30, False),
    ])  # fmt: skip
    got = {r["cluster"]: r for r in idle_now(lake, now, 30).to_pylist()}
    assert set(got) == {"a3-train-01", "ml-gke-prod", "a2-infer-1"}
    gce, gke, unknown = got["a3-train-01"], got["ml-gke-prod"], got["a2-infer-1"]
    assert (gce["platform"], gce["idle"], gce["gpus"], gce["idle_gpus"], gce["busy_ratio"]) == ("gce", True, 8, 8, 0)
    assert gce["idle_cost_usd_per_hour"] == approx(83.6)
    assert (gke["platform"], gke["idle"], gke["idle_gpus"], gke["hosts"]) == ("gke", False, 7, [GKE_NODE])
    assert gke["idle_cost_usd_per_hour"] == approx(45.0 * 7 / 8)
    assert gke["busy_ratio"] == approx(1 / 240)
    assert (unknown["platform"], unknown["resource_id"], unknown["idle"]) == ("unknown", None, True)
    assert unknown["price_usd_per_hour"] is None and unknown["idle_cost_usd_per_hour"] is None
