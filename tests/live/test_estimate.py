"""The live estimate from inventory snapshots and the price book (a real DuckDB lake, synthetic rows): what ran,
for how long, at what size, priced from which source."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.live.job import run_once
from tests.live.conftest import HOUR, MIN, T0
from tests.live.seed import A3_OD, A3_SPOT, DBU_PRICES, cluster, gce, pool, seed_inventory


def every(minutes: int, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    out, t = [], start
    while t <= end:
        out.append(t)
        t += dt.timedelta(minutes=minutes)
    return out


def only(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_an_instance_running_part_of_the_hour_costs_its_catalog_quote_for_the_minutes_it_ran(
    priced: DuckDbLake, settings: Settings
) -> None:
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, T0, T0 + 45 * MIN)])

    run = run_once(priced, settings, T0 + 47 * MIN)

    row = only(run.rows, resource_name="a3-train-01", hour=T0)
    assert row["usd_raw"] == pytest.approx(A3_OD * 47 / 60)
    assert row["usd_per_hour"] == pytest.approx(A3_OD)
    assert row["projected_usd"] == pytest.approx(A3_OD)  # the rest of the hour at its run-rate
    assert row["running"] and row["until"] == T0 + 47 * MIN
    assert row["price_source"] == "catalog" and row["component"] == "vm" and row["provider"] == "Google Cloud"
    assert row["sku"] == "H100-OD,A3CORE-OD,A3RAM-OD,SSD-OD"
    assert "1 × a3-highgpu-8g in us-central1" in row["basis"]
    assert row["team"] == "ml" and row["gpu_hours"] == pytest.approx(8 * 47 / 60)
    stored = priced.query("SELECT SUM(usd) AS usd FROM cost_estimates WHERE hour = @h", {"h": T0}).to_pylist()
    assert stored[0]["usd"] == pytest.approx(A3_OD * 47 / 60)


def test_a_pool_scaling_out_costs_its_new_nodes_from_the_snapshot_that_shows_them(
    priced: DuckDbLake, settings: Settings
) -> None:
    seed_inventory(priced, [pool(t, "h100-spot", 1 if t < T0 + 10 * MIN else 15) for t in every(5, T0, T0 + 45 * MIN)])

    run = run_once(priced, settings, T0 + 47 * MIN)

    row = only(run.rows, resource_name="h100-spot", hour=T0)
    assert row["usd_raw"] == pytest.approx(A3_SPOT * (10 / 60 + 15 * 37 / 60))
    assert row["usd_per_hour"] == pytest.approx(15 * A3_SPOT)
    assert row["projected_usd"] == pytest.approx(row["usd_raw"] + 15 * A3_SPOT * 13 / 60)
    assert row["node_hours"] == pytest.approx(10 / 60 + 15 * 37 / 60) and row["nodes"] == 15
    assert row["is_spot"] and row["sku"] == "H100-SPOT,A3CORE-SPOT,A3RAM-SPOT,SSD-SPOT"


def test_a_deleted_vm_stops_counting_at_its_sources_next_snapshot(priced: DuckDbLake, settings: Settings) -> None:
    times = every(5, T0, T0 + 55 * MIN)
    rows = [gce(t, "keeper", machine="c4a-highmem-16") for t in times]
    rows += [gce(t, "short-lived") for t in times if t <= T0 + 20 * MIN]
    seed_inventory(priced, rows)

    run = run_once(priced, settings, T0 + HOUR + 10 * MIN)

    row = only(run.rows, resource_name="short-lived", hour=T0)
    assert row["run_hours"] == pytest.approx(25 / 60)  # its last snapshot (13:20) holds until 13:25
    assert row["usd_raw"] == pytest.approx(A3_OD * 25 / 60)
    assert not row["running"] and row["projected_usd"] == pytest.approx(row["usd_raw"])


def test_a_source_that_stops_reporting_counts_its_last_snapshot_only_for_stale_after(
    priced: DuckDbLake, settings: Settings
) -> None:
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, T0, T0 + 10 * MIN)])

    run = run_once(priced, settings, T0 + HOUR + 30 * MIN)

    row = only(run.rows, resource_name="a3-train-01", hour=T0)
    assert row["run_hours"] == pytest.approx((10 + 30) / 60)  # 13:10 + stale_after (30 min)
    assert not [r for r in run.rows if r["hour"] == T0 + HOUR]


def test_an_item_new_since_the_last_snapshot_counts_from_its_start(priced: DuckDbLake, settings: Settings) -> None:
    times = every(5, T0, T0 + 30 * MIN)
    rows = [gce(t, "keeper", machine="c4a-highmem-16") for t in times]
    rows += [gce(t, "new", started_at=T0 + 12 * MIN) for t in times if t >= T0 + 15 * MIN]
    seed_inventory(priced, rows)

    run = run_once(priced, settings, T0 + 30 * MIN)

    assert only(run.rows, resource_name="new")["run_hours"] == pytest.approx(18 / 60)  # 13:12 → 13:30


def test_a_stopped_instance_costs_nothing(priced: DuckDbLake, settings: Settings) -> None:
    seed_inventory(priced, [gce(t, "a3-train-01", state="TERMINATED") for t in every(5, T0, T0 + 30 * MIN)])

    assert run_once(priced, settings, T0 + 30 * MIN).rows == []


def test_a_databricks_cluster_is_its_vms_on_the_catalog_plus_its_dbus_at_the_list_price(
    priced: DuckDbLake, settings: Settings
) -> None:
    # 1 driver (on demand) + 2 Spot workers, a job cluster (JobId tag): PREMIUM_JOBS_COMPUTE, 38 DBU/h per node.
    seed_inventory(priced, [cluster(t, "0921-abc", 3, is_spot=True) for t in every(5, T0, T0 + 30 * MIN)])

    run = run_once(priced, settings, T0 + 30 * MIN)

    vm = only(run.rows, component="vm")
    dbu = only(run.rows, component="dbu")
    assert vm["usd_per_hour"] == pytest.approx(A3_OD + 2 * A3_SPOT) and vm["provider"] == "Google Cloud"
    assert dbu["usd_per_hour"] == pytest.approx(3 * 38 * DBU_PRICES["PREMIUM_JOBS_COMPUTE"])
    assert dbu["provider"] == "Databricks" and dbu["service"] == "Jobs Compute"
    assert dbu["sku"] == "PREMIUM_JOBS_COMPUTE" and dbu["price_source"] == "list_prices"
    assert "114 DBU/h (3 node(s), config)" in dbu["basis"]
    assert vm["usd_raw"] == pytest.approx(vm["usd_per_hour"] / 2)


def test_an_interactive_cluster_without_a_job_tag_bills_all_purpose_dbus(
    priced: DuckDbLake, settings: Settings
) -> None:
    seed_inventory(priced, [cluster(t, "0915-xyz", 1, job=False) for t in every(5, T0, T0 + 30 * MIN)])

    dbu = only(run_once(priced, settings, T0 + 30 * MIN).rows, component="dbu")

    assert dbu["sku"] == "PREMIUM_ALL_PURPOSE_COMPUTE" and dbu["service"] == "All-Purpose Compute"
    assert dbu["usd_per_hour"] == pytest.approx(38 * DBU_PRICES["PREMIUM_ALL_PURPOSE_COMPUTE"])


def test_without_a_quote_the_inventory_price_is_used_and_said_so_else_it_is_unpriced(
    priced: DuckDbLake, settings: Settings
) -> None:
    times = every(5, T0, T0 + 30 * MIN)
    n2 = {"machine": "n2-standard-8"}
    rows = [gce(t, "observed", **n2, price_usd_per_hour=0.39, price_source="billing") for t in times]
    rows += [gce(t, "configured", **n2, price_usd_per_hour=0.5, price_source="config") for t in times]
    rows += [gce(t, "mystery", machine="n2-standard-8") for t in times]
    rows += [cluster(t, "no-rate", 2, node_type="a2-highgpu-1g") for t in times]  # no DBU rate, no quote
    seed_inventory(priced, rows)

    run = run_once(priced, settings, T0 + 30 * MIN)

    observed = only(run.rows, resource_name="observed")
    assert observed["price_source"] == "billing-observed" and observed["component"] == "resource"
    assert observed["usd_raw"] == pytest.approx(0.39 / 2)
    assert "no price-book quote for n2-standard-8" in observed["basis"]
    assert only(run.rows, resource_name="configured")["price_source"] == "config"
    mystery = only(run.rows, resource_name="mystery")
    assert mystery["component"] == "unpriced" and mystery["usd_raw"] is None and mystery["usd"] is None
    assert "no DBU rate for a2-highgpu-1g" in only(run.rows, resource_name="c-no-rate")["basis"]
    assert run.unpriced == ["c-no-rate", "mystery"]


def test_runs_of_identical_snapshots_read_as_one_row_give_the_same_estimate(
    priced: DuckDbLake, settings: Settings
) -> None:
    from spendscope.live import inputs
    from spendscope.live.job import Learned, estimate_hours

    times = every(5, T0 - HOUR, T0 + 40 * MIN)
    rows = [pool(t, "h100-spot", 1 if t < T0 + 10 * MIN else 15) for t in times]
    rows += [gce(t, "keeper", machine="c4a-highmem-16") for t in times]
    rows += [gce(t, "a3-train-01") for t in times if not T0 - 20 * MIN <= t < T0]  # gone from 4 snapshots
    rows += [gce(t, "short", started_at=T0 + 3 * MIN) for t in times if T0 + 5 * MIN <= t <= T0 + 25 * MIN]
    seed_inventory(priced, rows)
    at = T0 + 42 * MIN
    merged, ticks = inputs.snapshots(priced, T0 - HOUR - settings.live.stale_after, at, settings.live.stale_after)
    raw = priced.query(inputs.RAW_SQL, {"dmin": T0.date(), "dmax": T0.date(), "since": T0 - 2 * HOUR, "at": at})
    learned = Learned(at, {}, {}, {})

    islands = estimate_hours(priced, settings, [T0 - HOUR, T0], at, learned)
    plain = estimate_hours(priced, settings, [T0 - HOUR, T0], at, learned, snaps=raw.to_pylist())

    assert len(merged) == 6 and raw.num_rows == 64 and set(ticks) == {"gce:acme", "gke:acme"}
    a3 = only(islands, resource_name="a3-train-01", hour=T0 - HOUR)
    assert a3["run_hours"] == pytest.approx(40 / 60)  # 12:00–12:40: its last snapshot before the gap is 12:35
    assert only(islands, resource_name="short")["run_hours"] == pytest.approx(27 / 60)  # 13:03 → 13:30
    key = lambda r: (r["hour"], r["resource_name"], r["component"])  # noqa: E731
    assert [(key(r), pytest.approx(r["usd_raw"]), r["nodes"]) for r in sorted(islands, key=key)] == [
        (key(r), r["usd_raw"], r["nodes"]) for r in sorted(plain, key=key)
    ]
