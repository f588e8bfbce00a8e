"""SQL warehouses and serving endpoints in the live estimate's pricer (pure: synthetic inventory rows, a price
book built from synthetic list_prices-style rows)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from spendscope.config_live import LiveConfig
from spendscope.live.pricing import Pricer, billing
from spendscope.pricing import PriceBook

AT = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
SERVERLESS = "PREMIUM_SERVERLESS_SQL_COMPUTE_US_CENTRAL"  # as the demo's and real list_prices name it


def _dbu(sku: str, usd: float) -> dict[str, Any]:
    return {"provider": "databricks", "service_id": "GCP", "sku_id": sku, "description": sku, "usd_per_unit": usd,
            "list_usd_per_unit": usd, "source": "list_prices"}  # fmt: skip


def _pricer(skus: dict[str, str] | None = None) -> Pricer:
    book = PriceBook([_dbu(SERVERLESS, 0.70), _dbu("PREMIUM_SQL_PRO_COMPUTE", 0.55)], AT)
    return Pricer(book, LiveConfig(databricks_tier="PREMIUM"), "us-central1", skus=skus or {})


def _wh(machine_type: str, nodes: int, state: str = "RUNNING", rid: str = "4f9a2c81d0e37b65") -> dict[str, Any]:
    return {"platform": "databricks", "kind": "sql_warehouse", "resource_id": rid, "machine_type": machine_type,
            "nodes": nodes, "state": state, "price_usd_per_hour": None, "price_source": None}  # fmt: skip


def test_serverless_warehouse_costs_size_dbus_times_running_clusters_at_the_sku_billing_named() -> None:
    [c] = _pricer({"4f9a2c81d0e37b65": SERVERLESS}).components(_wh("SERVERLESS:Small", 2))
    assert (c.component, c.provider, c.service, c.sku, c.price_source) == (
        "dbu", "Databricks", "Databricks SQL", SERVERLESS, "list_prices")  # fmt: skip
    assert c.usd_per_hour == pytest.approx(12 * 2 * 0.70)
    assert c.basis.startswith("24 DBU/h (2 × Small cluster(s) at 12)")


def test_pro_warehouse_billing_has_not_seen_uses_the_tiers_pro_sku() -> None:
    [c] = _pricer().components(_wh("PRO:2X-Large", 1))
    assert (c.sku, c.usd_per_hour) == ("PREMIUM_SQL_PRO_COMPUTE", pytest.approx(144 * 0.55))


def test_warehouse_without_a_dbu_price_is_unpriced_with_the_reason() -> None:
    [c] = _pricer().components(_wh("SERVERLESS:Medium", 1))  # no region-less serverless SKU in the book
    assert (c.component, c.usd_per_hour, c.basis) == (
        "unpriced",
        None,
        "no DBU price for PREMIUM_SERVERLESS_SQL_COMPUTE",
    )


def test_unknown_size_is_not_guessed() -> None:
    [c] = _pricer().components(_wh("PRO:5X-Large", 1))
    assert (c.component, c.usd_per_hour) == ("unpriced", None)
    assert c.basis == "no DBU size for SQL warehouse PRO:5X-Large"


def test_stopped_warehouse_does_not_bill_and_a_running_one_does() -> None:
    assert billing(_wh("SERVERLESS:Small", 0, "STOPPED")) is False
    assert billing(_wh("SERVERLESS:Small", 2, "RUNNING")) is True


def test_serving_endpoint_is_left_to_carried_billing_and_unpriced_when_asked() -> None:
    row = {**_wh("GPU_MEDIUM:Medium", 1, "READY", "8d21"), "kind": "serving_endpoint"}
    assert billing(row) is False
    [c] = _pricer().components(row)
    assert (c.component, c.usd_per_hour) == ("unpriced", None)
    assert c.basis == "no documented DBU/h for serving workload GPU_MEDIUM:Medium"
