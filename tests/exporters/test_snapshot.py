"""Values in the snapshot equal what the seeded warehouse and the health provider hold (tests/exporters/conftest.py)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from exporters.prometheus import costs as cost_part
from exporters.prometheus.snapshot import Snapshot, SnapshotBuilder, SnapshotCache
from exporters.warehouse.duckdb import DuckDbLake
from tests.exporters.conftest import COSTS, H100, NOW, YESTERDAY_NOON
from tests.seed import seed_costs

GCE = ("Google Cloud", "gce", "Compute Engine", "ml")
DBX = ("Databricks", "databricks", "Jobs Compute", "(untagged)")


def values(snap: Snapshot, name: str) -> dict[tuple[str, ...], float]:
    fam = snap.family(name)
    return {} if fam is None else dict(fam.samples)


def test_cost_is_yesterday_and_month_to_date_in_the_reporting_time_zone(builder: SnapshotBuilder) -> None:
    cost = values(builder.build(), "spendscope_cost_usd")
    assert cost == {(*GCE, "day"): 100.0, (*GCE, "month"): 140.0, (*DBX, "day"): 0.0, (*DBX, "month"): 7.5}


def test_services_past_the_top_n_are_summed_as_other(
    builder: SnapshotBuilder, seeded: DuckDbLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    more = [{"BilledCost": 1.0 + i, "ProviderName": "Google Cloud", "ServiceName": f"svc-{i}", "Tags": '{"team": "ml"}',
             "ChargePeriodStart": YESTERDAY_NOON} for i in range(4)]  # fmt: skip
    seed_costs(seeded, COSTS + more)
    monkeypatch.setattr(cost_part, "TOP_SERVICES", 3)
    cost = values(builder.build(), "spendscope_cost_usd")
    services = {k[2] for k in cost}
    assert services == {"Compute Engine", "Jobs Compute", "svc-3", "other"}
    other_day = [v for k, v in cost.items() if k[2] == "other" and k[4] == "day"]
    assert other_day == [1.0 + 2.0 + 3.0]  # svc-0..2, one series


def test_data_until_is_the_latest_charge_end_per_source(builder: SnapshotBuilder) -> None:
    until = values(builder.build(), "spendscope_data_until_timestamp_seconds")
    assert until == {("focus_import",): (YESTERDAY_NOON + dt.timedelta(hours=1)).timestamp()}


def test_gpu_series_come_from_each_gpus_latest_recent_sample(builder: SnapshotBuilder) -> None:
    snap = builder.build()
    util = values(snap, "spendscope_gpu_utilization_ratio")
    a3 = ("a3-node-1", "0", H100, "gce", "a3-node-1")
    assert util[a3] == 0.93  # not the older 0.10
    assert util[("dbx-worker-1", "0/3", H100, "databricks", "training")] == 0.25  # MIG: graphics-engine activity
    assert not any(k[0] == "stale-node" for k in util)  # an hour old: dropped
    assert values(snap, "spendscope_gpu_busy")[a3] == 1.0
    assert values(snap, "spendscope_gpu_busy")[("a3-node-1", "1", H100, "gce", "a3-node-1")] == 0.0
    assert values(snap, "spendscope_gpu_xid_last")[a3] == 79.0
    assert values(snap, "spendscope_gpu_memory_used_bytes")[a3] == 40e9
    assert values(snap, "spendscope_gpu_power_watts")[a3] == 350.5
    assert values(snap, "spendscope_gpu_temperature_celsius")[a3] == 61.0


def test_network_rates_and_saturation_per_interface(builder: SnapshotBuilder) -> None:
    snap = builder.build()
    key = ("a3-node-1", 'eth"0\\x')
    assert values(snap, "spendscope_network_receive_bytes_per_second") == {key: 1.25e9}
    assert values(snap, "spendscope_network_transmit_bytes_per_second") == {key: 2.5e8}
    assert values(snap, "spendscope_network_saturation_ratio") == {key: 0.5}


def test_idle_cost_is_price_times_the_share_of_gpus_idle_for_the_window(builder: SnapshotBuilder) -> None:
    idle = values(builder.build(), "spendscope_gpu_idle_cost_usd_per_hour")
    assert idle[("a3-node-1", "gce")] == pytest.approx(88.0 * 1 / 2)  # 1 of 2 GPUs idle the whole 30 min
    assert idle[("training", "databricks")] == 0.0  # its GPU was busy for a few minutes


def test_cost_per_gpu_hour_comes_from_unit_economics_for_yesterday(builder: SnapshotBuilder) -> None:
    calls = []

    def unit(wh: object, since: dt.date, until: dt.date, tz: str) -> pa.Table:
        calls.append((since, until, tz))
        return pa.Table.from_pylist(
            [{"platform": "gke", "cost_per_gpu_hour_usd": 3.5, "cost_per_busy_gpu_hour_usd": None}]
        )

    builder.unit_economics = unit
    snap = builder.build()
    assert calls == [(dt.date(2026, 11, 19), dt.date(2026, 11, 19), "America/Los_Angeles")]
    assert values(snap, "spendscope_cost_per_gpu_hour_usd") == {("gke",): 3.5}
    assert values(snap, "spendscope_cost_per_busy_gpu_hour_usd") == {}  # null ratio: no series


def test_the_real_unit_economics_runs_without_error(builder: SnapshotBuilder) -> None:
    builder.unit_economics = None  # spendscope.economics.unit_economics itself
    builder.build()
    assert builder.errors["economics"] == 0


def test_collector_health_series(builder: SnapshotBuilder) -> None:
    snap = builder.build()
    assert values(snap, "spendscope_collector_enabled") == {
        ("databricks",): 1.0, ("focus",): 1.0, ("gcp-billing",): 0.0, ("lake-maintenance",): 1.0,
    }  # fmt: skip
    assert values(snap, "spendscope_collector_up") == {("databricks",): 0.0, ("focus",): 1.0}  # not-yet-run: absent
    assert values(snap, "spendscope_collector_runs_total")[("focus",)] == 3.0
    assert values(snap, "spendscope_collector_failures_total")[("databricks",)] == 2.0
    assert values(snap, "spendscope_collector_last_rows")[("focus",)] == 42.0
    assert values(snap, "spendscope_collector_last_duration_seconds") == {("databricks",): 0.25, ("focus",): 1.5}
    last = values(snap, "spendscope_collector_last_success_timestamp_seconds")
    assert last == {("focus",): (NOW - dt.timedelta(minutes=5)).timestamp()}


def test_a_failing_health_provider_fails_only_the_collectors_part(builder: SnapshotBuilder) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("health provider exploded")

    builder.health = broken  # type: ignore[assignment]
    snap = builder.build()
    assert builder.errors["collectors"] == 1
    assert snap.family("spendscope_collector_up") is None
    assert values(snap, "spendscope_cost_usd")[(*GCE, "day")] == 100.0


def test_a_stale_cost_rollup_marks_only_the_cost_part_failed(builder: SnapshotBuilder) -> None:
    builder.settings = builder.settings.model_copy(
        update={"reporting": builder.settings.reporting.model_copy(update={"timezone": "Europe/Paris"})}
    )
    snap = builder.build()
    assert builder.errors["costs"] == 1
    assert snap.family("spendscope_cost_usd") is None
    assert snap.family("spendscope_gpu_utilization_ratio") is not None
    assert values(snap, "spendscope_exporter_snapshot_errors_total")[("costs",)] == 1.0


def test_cache_rebuilds_only_after_the_ttl(builder: SnapshotBuilder) -> None:
    built = []

    def build() -> Snapshot:
        built.append(1)
        return Snapshot([], NOW)

    cache = SnapshotCache(build, ttl_seconds=3600)
    first = cache.get()
    assert cache.get() is first and len(built) == 1
    cache.ttl_seconds = 0
    assert cache.get() is not first and len(built) == 2
