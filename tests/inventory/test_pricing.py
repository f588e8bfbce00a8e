"""Hourly prices: observed from focus_costs over the last complete reporting day, else the config table."""

from __future__ import annotations

import datetime as dt

from collectors.inventory import pricing
from collectors.inventory.item import new_row
from exporters.warehouse.duckdb import DuckDbLake
from tests.seed import seed_costs

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=UTC)  # 04:00 in Los Angeles: the last complete day is Nov 19 (PST)
DAY_START = dt.datetime(2026, 11, 19, 8, tzinfo=UTC)
DAY_END = dt.datetime(2026, 11, 20, 8, tzinfo=UTC)
A3_ID = "4519532173512345678"
CLUSTER = "1120-060000-h100ft01"


def _items() -> list[dict]:
    return [
        new_row(NOW, "gce", "instance", "t", resource_id=A3_ID, resource_name="a3-train-01",
                machine_type="a3-highgpu-8g", nodes=1, hosts=["a3-train-01"]),
        new_row(NOW, "gke", "node_pool", "t", resource_id="pool", resource_name="h100-pool",
                machine_type="a3-highgpu-8g", nodes=2, hosts=["gke-train-h100-pool-5e2b9c1d-*"]),
        new_row(NOW, "databricks", "cluster", "t", resource_id=CLUSTER, machine_type="a3-highgpu-8g",
                driver_machine_type="n2-highmem-8", nodes=3, hosts=[f"{CLUSTER}-*", "db-vm-1"]),
        new_row(NOW, "gce", "instance", "t", resource_id="999", resource_name="daily-vm",
                machine_type="g2-standard-8", nodes=1, hosts=["daily-vm"]),
        new_row(NOW, "gce", "instance", "t", resource_id="1000", resource_name="unbilled",
                machine_type="n2-standard-16", nodes=1, hosts=["unbilled"]),
    ]  # fmt: skip


def _hourly(start: dt.datetime, hours: int, **fields: object) -> list[dict]:
    return [{"ChargePeriodStart": start + dt.timedelta(hours=h), **fields} for h in range(hours)]


def _seed(lake: DuckDbLake) -> None:
    gce = {"ProviderName": "Google Cloud", "ServiceName": "Compute Engine"}
    a3 = {**gce, "ResourceId": f"//compute.googleapis.com/projects/p/zones/us-central1-a/instances/{A3_ID}",
          "ResourceName": "a3-train-01"}  # fmt: skip
    gke = {"ProviderName": "Google Cloud", "ServiceName": "Kubernetes Engine"}
    rows = [
        # an A3 VM billed 10 hours as three SKUs (GPU, cores, RAM): 88 $/h
        *_hourly(DAY_START + dt.timedelta(hours=2), 10, BilledCost=60.0, **a3),
        *_hourly(DAY_START + dt.timedelta(hours=2), 10, BilledCost=20.0, **a3),
        *_hourly(DAY_START + dt.timedelta(hours=2), 10, BilledCost=8.0, **a3),
        # the next (incomplete) day is not read
        *_hourly(DAY_END, 3, BilledCost=500.0, **a3),
        # two nodes of a GKE pool: one all day, one half: 1800 $ over 24 h of pool time
        *_hourly(DAY_START, 24, BilledCost=50.0, ResourceName="gke-train-h100-pool-5e2b9c1d-x7k2", **gke),
        *_hourly(DAY_START, 12, BilledCost=50.0, ResourceName="gke-train-h100-pool-5e2b9c1d-q9m4", **gke),
        # Databricks DBUs by cluster id plus its VM by name, 6 hours: 30 + 12 $/h
        *_hourly(DAY_START, 6, BilledCost=30.0, ProviderName="Databricks", ServiceName="Jobs Compute",
                 ResourceId=CLUSTER),
        *_hourly(DAY_START, 6, BilledCost=12.0, ResourceName="db-vm-1", **gce),
        # a daily-granularity FOCUS row: divided by the 24 hours it covers
        {"ChargePeriodStart": DAY_START, "ChargePeriodEnd": DAY_END, "BilledCost": 240.0,
         "ResourceName": "daily-vm", **gce},
    ]  # fmt: skip
    seed_costs(lake, rows)


def test_reporting_day_is_the_previous_local_day_in_utc() -> None:
    assert pricing.reporting_day(NOW, "America/Los_Angeles") == (DAY_START, DAY_END)
    # across the DST change the day is 25 hours long
    start, end = pricing.reporting_day(dt.datetime(2026, 11, 2, 12, tzinfo=UTC), "America/Los_Angeles")
    assert end - start == dt.timedelta(hours=25)


def test_observed_prices_from_a_seeded_warehouse(lake: DuckDbLake) -> None:
    _seed(lake)
    charges = pricing.load_charges(lake, DAY_START, DAY_END)
    prices = pricing.observed_prices(_items(), charges, DAY_START, DAY_END)
    assert prices[0] is not None and abs(prices[0] - 88.0) < 1e-9
    assert prices[1] is not None and abs(prices[1] - 75.0) < 1e-9
    assert prices[2] is not None and abs(prices[2] - 42.0) < 1e-9
    assert prices[3] is not None and abs(prices[3] - 10.0) < 1e-9
    assert prices[4] is None


def test_union_of_overlapping_periods_clipped_to_the_day() -> None:
    item = new_row(NOW, "gce", "instance", "t", resource_id="1", hosts=["vm"])
    h = dt.timedelta(hours=1)
    charges = [
        pricing.Charge("1", "vm", DAY_START - h, DAY_START + h, 10.0),  # half outside the day
        pricing.Charge("1", "vm", DAY_START + h / 2, DAY_START + 2 * h, 5.0),  # overlaps the first
        pricing.Charge(None, "vm", DAY_START + 5 * h, DAY_START + 6 * h, 6.0),
    ]
    # 21 $ over [0h, 2h) ∪ [5h, 6h) = 3 hours
    assert pricing.observed_prices([item], charges, DAY_START, DAY_END) == [7.0]


def test_config_prices_times_nodes_and_databricks_driver_plus_workers() -> None:
    prices = {"a3-highgpu-8g": 88.0, "n2-highmem-8": 0.5, "g2-standard-8": 0.85}
    items = _items()
    assert pricing.config_price(items[1], prices) == 176.0
    assert pricing.config_price(items[2], prices) == 0.5 + 2 * 88.0
    assert pricing.config_price(items[4], prices) is None
    no_driver_price = {**items[2], "driver_machine_type": "n2-highmem-16"}
    assert pricing.config_price(no_driver_price, prices) is None


def test_apply_prices_prefers_billing_then_config_then_null() -> None:
    items = _items()[3:]
    pricing.apply_prices(items, [10.0, None], {"g2-standard-8": 0.85})
    assert [(r["price_usd_per_hour"], r["price_source"]) for r in items] == [(10.0, "billing"), (None, None)]
    items = _items()[3:4]
    pricing.apply_prices(items, [None], {"g2-standard-8": 0.85})
    assert (items[0]["price_usd_per_hour"], items[0]["price_source"]) == (0.85, "config")
