"""The price history on the BigQuery engine: the real google-cloud-bigquery client against `bqemulator` on loopback,
the Catalog being the loopback stand-in (not Google) reached by the real CloudCatalogClient over REST."""

from __future__ import annotations

import datetime as dt

import pytest

from collectors.prices.fetch import CatalogFetcher
from collectors.prices.sync import stored_prices, sync_prices
from exporters.warehouse.bigquery import BigQueryWarehouse
from spendscope.pricing import PriceBook
from spendscope.pricing.book import list_prices
from tests.inventory.api_stub import ApiStub
from tests.prices.conftest import NOW, page, prices_config, route_catalog, set_price
from tests.warehouse.conftest import bq_dataset, bq_emulator, bq_warehouse  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

H100 = "9A2C-41E7-8B3D"


def test_sync_change_and_lookups_on_bigquery(
    bq_warehouse: BigQueryWarehouse,  # noqa: F811 - the imported fixture
    catalog: ApiStub,
    fetcher: CatalogFetcher,
) -> None:
    wh = bq_warehouse
    sync_prices(wh, prices_config(), fetcher, NOW)
    assert sync_prices(wh, prices_config(), fetcher, NOW + dt.timedelta(hours=1)).added == []
    route_catalog(catalog, page1=set_price(page(1), H100, 9.8))
    later = NOW + dt.timedelta(days=2)

    changed = sync_prices(wh, prices_config(), fetcher, later)

    assert [r["sku_id"] for r in changed.added] == [H100]
    assert len(stored_prices(wh)) == 29
    versions = list_prices(wh, ["9A2C-41E7-8B3D"], history=True).to_pylist()
    assert [(v["rate"], v["valid_to"]) for v in versions] == [(pytest.approx(11.0612), later), (9.8, None)]
    then = PriceBook.load(wh, later - dt.timedelta(minutes=1)).gpu_hourly("H100", "us-central1")
    now = PriceBook.load(wh, later).machine_hourly("a3-highgpu-8g", "us-central1-b", spot=True)
    assert then is not None and then.usd_per_hour == pytest.approx(11.0612)
    assert now is not None and now.sku_ids[0] == "3F60-B9C4-7D15"
