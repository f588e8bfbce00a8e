"""Host resolution: a GPU sample's host to its inventory item, in Python and in the documented SQL join."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from collectors.inventory.hosts import HOST_JOIN_SQL, matches, resolve
from collectors.inventory.item import new_row, to_table
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema.telemetry import GPU_MINUTES

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def _items() -> list[dict]:
    return [
        new_row(NOW, "gce", "instance", "t", resource_id="1", resource_name="a3-train-01",
                hosts=["a3-train-01", "10.128.0.7"], price_usd_per_hour=88.0),
        new_row(NOW, "gke", "node_pool", "t", resource_id="pool", resource_name="h100-pool",
                hosts=["gke-train-h100-pool-5e2b9c1d-*"], price_usd_per_hour=120.0),
        new_row(NOW, "gke", "node_pool", "t", resource_id="broad", resource_name="fallback",
                hosts=["gke-train-*"]),
        new_row(NOW, "databricks", "cluster", "t", resource_id="1120-060000-h100ft01",
                hosts=["10.4.0.12", "1120-060000-h100ft01-*"]),
    ]  # fmt: skip


def test_exact_name_beats_any_pattern_and_longer_pattern_beats_shorter() -> None:
    assert matches("a3-train-01", "A3-TRAIN-01") > matches("a3-*", "a3-train-01") > 0
    assert matches("gke-train-h100-*", "gke-train-h100-x") > matches("gke-train-*", "gke-train-h100-x")
    assert matches("*", "anything") == 0  # an empty prefix claims nothing


def test_resolve_picks_the_most_specific_item() -> None:
    items = _items()
    assert resolve(items, "a3-train-01")["resource_id"] == "1"
    assert resolve(items, "10.128.0.7")["resource_id"] == "1"
    assert resolve(items, "a3-train-01.us-central1-a.c.ml-prod-4821.internal")["resource_id"] == "1"
    assert resolve(items, "gke-train-h100-pool-5e2b9c1d-x7k2")["resource_id"] == "pool"
    assert resolve(items, "gke-train-other-9f-abcd")["resource_id"] == "broad"
    assert resolve(items, "1120-060000-h100ft01-10-4-0-13")["resource_id"] == "1120-060000-h100ft01"
    assert resolve(items, "unknown-host") is None


def test_host_join_sql_attaches_gpu_minutes_to_the_latest_item(lake: DuckDbLake) -> None:
    older = new_row(NOW - dt.timedelta(hours=1), "gce", "instance", "t", resource_id="1",
                    hosts=["a3-train-01"], price_usd_per_hour=10.0)  # fmt: skip
    lake.append("inventory", to_table([older, *_items()]))
    minute = dt.datetime(2026, 11, 20, 11, 30, tzinfo=dt.UTC)
    gpu_rows = [
        {"minute": minute, "hour": minute.replace(minute=0), "host": h, "gpu_index": 0, "busy": True,
         "_day": minute.date(), "_source": "test"}
        for h in ("a3-train-01", "gke-train-h100-pool-5e2b9c1d-x7k2", "lonely-host")
    ]  # fmt: skip
    lake.append("gpu_minutes", pa.Table.from_pylist(gpu_rows, schema=GPU_MINUTES))
    got = lake.query(HOST_JOIN_SQL, {"now": NOW, "since": minute}).to_pylist()
    by_host = {r["host"]: (r["platform"], r["resource_id"], r["price_usd_per_hour"]) for r in got}
    assert by_host == {
        "a3-train-01": ("gce", "1", 88.0),  # the latest snapshot's price, not the older one
        "gke-train-h100-pool-5e2b9c1d-x7k2": ("gke", "pool", 120.0),  # the longer pattern wins
        "lonely-host": (None, None, None),
    }
