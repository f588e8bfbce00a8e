"""DBU rates: `databricks_list_prices` rows seeded in a real Delta lake → `prices` rows → PriceBook.dbu_rate."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from collectors.databricks.prices import config_prices
from collectors.prices.databricks import load_dbu_rows
from collectors.prices.sync import stored_prices, sync_prices
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema.databricks import DATABRICKS_LIST_PRICES
from spendscope.pricing import PriceBook
from tests.prices.conftest import prices_config

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
T0, T1, T2 = (dt.datetime(*d, tzinfo=dt.UTC) for d in ((2023, 1, 1), (2026, 11, 15), (2026, 12, 1)))


def price(
    sku: str, start: dt.datetime, end: dt.datetime | None, default: float, effective: float | None, **kw: Any
) -> dict[str, Any]:
    """A list_prices row as the Databricks collector stores it (formats.md §2.4; values synthetic)."""
    return {
        "price_start_time": start, "price_end_time": end, "account_id": "acct-1", "sku_name": sku,
        "cloud": kw.get("cloud", "GCP"), "currency_code": kw.get("currency", "USD"), "usage_unit": "DBU",
        "pricing": {"default": default, "promotional": None if effective is None else {"default": effective},
                    "effective_list": None if effective is None else {"default": effective}},
        "_day": start.date(), "_source": "system.billing.list_prices",
    }  # fmt: skip


LIST_PRICES = [
    price("JOBS_COMPUTE", T0, T1, 0.15, 0.15),
    price("JOBS_COMPUTE", T1, None, 0.20, 0.17),  # a promotion: effective_list is what is billed
    price("ALL_PURPOSE_COMPUTE", T0, None, 0.55, None),  # no effective_list: the default
    price("JOBS_COMPUTE", T0, None, 0.15, 0.15, cloud="AWS"),
    price("JOBS_COMPUTE", T0, None, 0.14, 0.14, cloud="AZURE", currency="EUR"),  # not USD: not in the book
]


def seed(lake: DuckDbLake, rows: list[dict[str, Any]]) -> None:
    lake.replace(
        "databricks_list_prices",
        pa.Table.from_pylist(rows, schema=DATABRICKS_LIST_PRICES),
        [{"_source": "system.billing.list_prices"}],
    )
    lake.replace("databricks_list_prices", config_prices({"premium sql pro compute": 0.7}), [{"_source": "config"}])


def test_dbu_rows_are_the_prices_in_effect(lake: DuckDbLake) -> None:
    seed(lake, LIST_PRICES)

    rows = {(r["sku_id"], r["service_id"]): r for r in load_dbu_rows(lake, NOW)}

    assert {k: (r["list_usd_per_unit"], r["source"], r["valid_from"]) for k, r in rows.items()} == {
        ("JOBS_COMPUTE", "GCP"): (0.17, "list_prices", T1),
        ("ALL_PURPOSE_COMPUTE", "GCP"): (0.55, "list_prices", T0),
        ("JOBS_COMPUTE", "AWS"): (0.15, "list_prices", T0),
        ("PREMIUM_SQL_PRO_COMPUTE", "ANY"): (0.7, "config", dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
    }
    assert {(r["provider"], r["component"], r["unit"], r["region"]) for r in rows.values()} == {
        ("databricks", "dbu", "DBU", "global")
    }


def test_sync_brings_dbu_rates_into_the_book_with_discounts(lake: DuckDbLake) -> None:
    seed(lake, LIST_PRICES)
    cfg = prices_config(services=[], discounts={"provider": {"databricks": 10}, "sku": {"ALL_PURPOSE_COMPUTE": 0}})

    result = sync_prices(lake, cfg, None, NOW)
    book = PriceBook.load(lake, NOW)

    assert result.dbu_rows == 4 and result.catalog_rows == 0 and len(book) == 4
    jobs = book.dbu_rate("Jobs Compute", "gcp", dbu_per_hour=4)
    assert jobs is not None and jobs.usd_per_hour == pytest.approx(4 * 0.17 * 0.9)
    assert jobs.list_usd_per_hour == pytest.approx(4 * 0.17) and jobs.sku_ids == ("JOBS_COMPUTE",)
    all_purpose = book.dbu_rate("ALL_PURPOSE_COMPUTE", "GCP")
    assert all_purpose is not None and all_purpose.usd_per_hour == pytest.approx(0.55)  # its own 0 % wins
    aws = book.dbu_rate("JOBS_COMPUTE", "AWS")
    assert aws is not None and aws.usd_per_hour == pytest.approx(0.15 * 0.9)
    fallback = book.dbu_rate("PREMIUM_SQL_PRO_COMPUTE", "GCP")  # only the configured price: any cloud
    assert fallback is not None and fallback.source == "config" and fallback.usd_per_hour == pytest.approx(0.63)
    assert book.dbu_rate("JOBS_COMPUTE", "AZURE") is None  # only a EUR price there
    assert book.dbu_rate("DLT_CORE_COMPUTE", "GCP") is None


def test_a_new_list_price_period_closes_the_old_rate_at_its_start(lake: DuckDbLake) -> None:
    seed(lake, LIST_PRICES)
    cfg = prices_config(services=[])
    sync_prices(lake, cfg, None, NOW)
    seed(lake, [*LIST_PRICES[:1], price("JOBS_COMPUTE", T1, T2, 0.20, 0.17), price("JOBS_COMPUTE", T2, None, 0.2, 0.2),
                *LIST_PRICES[2:]])  # fmt: skip
    later = T2 + dt.timedelta(hours=6)

    again = sync_prices(lake, cfg, None, later)

    assert [(r["sku_id"], r["service_id"]) for r in again.added] == [("JOBS_COMPUTE", "GCP")]
    jobs = sorted(
        (r for r in stored_prices(lake) if (r["sku_id"], r["service_id"]) == ("JOBS_COMPUTE", "GCP")),
        key=lambda r: r["valid_from"],
    )
    assert [(r["usd_per_unit"], r["valid_from"], r["valid_to"]) for r in jobs] == [(0.17, T1, T2), (0.2, T2, None)]
    book_then = PriceBook.load(lake, T2 - dt.timedelta(minutes=1)).dbu_rate("JOBS_COMPUTE", "GCP")
    assert book_then is not None and book_then.usd_per_hour == pytest.approx(0.17)
