"""DBU rates: the `databricks_list_prices` rows in effect at a moment → `prices` rows (provider databricks).

The Databricks collector keeps `system.billing.list_prices` (and the configured fallback `sku_prices`,
`_source = 'config'`) in the warehouse; this reads what is in effect now. The rate is
`pricing.effective_list.default` (list and promotional resolved, the price Databricks bills at), else
`pricing.default` (formats.md §2.4). `service_id` holds the cloud (GCP, AWS, AZURE; ANY for a config row,
which names none); the region is "global". Only USD rows are kept: the price book answers in USD.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from collectors.databricks.prices import CONFIG_SOURCE
from collectors.databricks.rows import normalize_sku
from collectors.prices.rows import Row, price_row, tiers_json

if TYPE_CHECKING:
    from exporters.warehouse import Warehouse

PROVIDER = "databricks"
ANY_CLOUD = "ANY"

# The rows in effect at @at; the table is small (a row per price change), so the choice is made in Python.
LIST_PRICES_SQL = """
SELECT sku_name, cloud, currency_code, usage_unit, price_start_time, price_end_time, pricing, _source
FROM databricks_list_prices
WHERE price_start_time <= @at AND (price_end_time IS NULL OR price_end_time > @at)
"""


def _rate(pricing: Mapping[str, Any] | None) -> float | None:
    pricing = pricing or {}
    value = (pricing.get("effective_list") or {}).get("default")
    if value is None:
        value = pricing.get("default")
    return None if value is None else float(value)


def dbu_rows(records: Iterable[Mapping[str, Any]], fetched_at: dt.datetime) -> list[Row]:
    """One row per (sku, cloud) from list-price records in effect: the latest start wins a tie (pure)."""
    best: dict[tuple[str, str], Mapping[str, Any]] = {}
    for rec in records:
        if (rec.get("currency_code") or "USD") != "USD" or not rec.get("sku_name") or _rate(rec.get("pricing")) is None:
            continue
        is_config = rec.get("_source") == CONFIG_SOURCE
        key = (normalize_sku(rec["sku_name"]), ANY_CLOUD if is_config else (rec.get("cloud") or ANY_CLOUD).upper())
        if key not in best or rec["price_start_time"] > best[key]["price_start_time"]:
            best[key] = rec
    rows = []
    for (sku, cloud), rec in sorted(best.items()):
        is_config = rec.get("_source") == CONFIG_SOURCE
        price = _rate(rec.get("pricing"))
        assert price is not None  # filtered above
        rows.append(
            price_row(
                provider=PROVIDER,
                service_id=cloud,
                sku_id=sku,
                description=sku,
                region="global",
                usage_type="OnDemand",
                resource_family="DBU",
                component="dbu",
                item=sku,
                unit=rec.get("usage_unit") or "DBU",
                list_usd_per_unit=price,
                tiers=tiers_json([(0.0, price)]),
                currency="USD",
                source="config" if is_config else "list_prices",
                valid_from=rec["price_start_time"],
                fetched_at=fetched_at,
                _source="warehouse:databricks_list_prices",
            )
        )
    return rows


def load_dbu_rows(wh: Warehouse, at: dt.datetime) -> list[Row]:
    """The DBU rates in effect at `at`, from the warehouse's databricks_list_prices."""
    return dbu_rows(wh.query(LIST_PRICES_SQL, {"at": at}).to_pylist(), fetched_at=at)
