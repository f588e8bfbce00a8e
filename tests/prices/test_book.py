"""PriceBook lookups over prices synced from the Catalog stand-in (not Google; the real client over REST): machine
quotes equal the sums of their SKUs' fixture prices, Spot from the Preemptible SKUs, history by `at`."""

from __future__ import annotations

import datetime as dt

import pytest

from collectors.prices.fetch import CatalogFetcher
from collectors.prices.sync import sync_prices
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.pricing import PriceBook, Quote
from spendscope.pricing.book import gpu_item, region_of
from tests.inventory.api_stub import ApiStub
from tests.prices.conftest import NOW, page, prices_config, route_catalog, set_price

pytestmark = pytest.mark.integration

GIB_HOUR = 2**30 * 3600


def fixture_price(sku_id: str) -> float:
    """The single-tier unit price of a fixture SKU, read from the JSON (units + nanos)."""
    for sku in page(1)["skus"] + page(2)["skus"]:
        if sku["skuId"] == sku_id:
            money = sku["pricingInfo"][-1]["pricingExpression"]["tieredRates"][0]["unitPrice"]
            return int(money["units"]) + money["nanos"] / 1e9
    raise KeyError(sku_id)


def ssd_gib_hour(sku_id: str) -> float:
    """A GiB-month fixture price per GiB-hour, by the SKU's own base-unit conversion factor."""
    for sku in page(2)["skus"]:
        if sku["skuId"] == sku_id:
            factor = sku["pricingInfo"][-1]["pricingExpression"]["baseUnitConversionFactor"]
            return fixture_price(sku_id) / factor * GIB_HOUR
    raise KeyError(sku_id)


@pytest.fixture
def book(lake: DuckDbLake, catalog: ApiStub, fetcher: CatalogFetcher) -> PriceBook:
    sync_prices(lake, prices_config(), fetcher, NOW)
    return PriceBook.load(lake, NOW)


def test_a3_highgpu_8g_on_demand_and_spot_equal_their_sku_sums(book: PriceBook) -> None:
    on_demand = book.machine_hourly("a3-highgpu-8g", "us-central1")
    spot = book.machine_hourly("a3-highgpu-8g", "us-central1", spot=True)

    assert on_demand is not None and spot is not None
    assert on_demand.usd_per_hour == pytest.approx(
        8 * fixture_price("9A2C-41E7-8B3D") + 208 * fixture_price("5C1E-77A0-2F49")
        + 1872 * fixture_price("E84B-03D6-91C2") + 6000 * ssd_gib_hour("A3C0-7E15-94D2")
    )  # fmt: skip
    assert spot.usd_per_hour == pytest.approx(
        8 * fixture_price("3F60-B9C4-7D15") + 208 * fixture_price("71D8-2A5E-C603")
        + 1872 * fixture_price("B0E2-6C91-4A7F") + 6000 * ssd_gib_hour("5E92-B7C4-1F06")
    )  # fmt: skip
    assert on_demand.sku_ids == ("9A2C-41E7-8B3D", "5C1E-77A0-2F49", "E84B-03D6-91C2", "A3C0-7E15-94D2")
    assert spot.sku_ids == ("3F60-B9C4-7D15", "71D8-2A5E-C603", "B0E2-6C91-4A7F", "5E92-B7C4-1F06")
    assert [p.quantity for p in on_demand.parts] == [8, 208, 1872, 6000]
    assert on_demand.source == "catalog" and on_demand.list_usd_per_hour == pytest.approx(on_demand.usd_per_hour)
    assert spot.usd_per_hour < on_demand.usd_per_hour
    without_ssd = book.machine_hourly("a3-highgpu-8g", "us-central1", local_ssd=False)
    assert without_ssd is not None
    assert without_ssd.usd_per_hour == pytest.approx(on_demand.usd_per_hour - 6000 * ssd_gib_hour("A3C0-7E15-94D2"))


def test_component_lookups_take_zones_models_and_families(book: PriceBook) -> None:
    h100 = book.gpu_hourly("H100", "us-central1-a")
    assert isinstance(h100, Quote) and h100.usd_per_hour == pytest.approx(fixture_price("9A2C-41E7-8B3D"))
    eu = book.gpu_hourly("nvidia-h100-80gb", "europe-west4", spot=True)
    assert eu is not None and eu.usd_per_hour == pytest.approx(fixture_price("6B0A-D2F8-3C71"))
    mega = book.gpu_hourly("H100-MEGA", "us-central1")
    assert mega is not None and mega.sku_ids == ("E5F1-72B9-0D4C",)
    a100 = book.gpu_hourly("A100", "us-central1")
    assert a100 is not None and a100.sku_ids == ("039C-61F4-E2B8",)
    a100_80 = book.gpu_hourly("nvidia-a100-80gb", "us-central1")
    assert a100_80 is not None and a100_80.sku_ids == ("D9B5-1E07-6A3C",)
    cud = book.gpu_hourly("H100", "us-central1", usage_type="Commit1Yr")
    assert cud is not None and cud.usd_per_hour == pytest.approx(fixture_price("8D3E-A6C0-51F7"))
    core = book.core_hourly("c4a", "us-central1", spot=True)
    assert core is not None and core.usd_per_hour == pytest.approx(fixture_price("7F31-0A9C-D54E"))
    ram = book.ram_gib_hourly("A3", "us-central1")
    assert ram is not None and ram.usd_per_hour == pytest.approx(fixture_price("E84B-03D6-91C2"))
    # No such prices in the fixture: no A3 cores in europe-west4, no A100 in us-east4 (not a configured region).
    assert book.core_hourly("A3", "europe-west4") is None
    assert book.gpu_hourly("A100", "us-east4") is None


def test_machine_quotes_for_a2_and_c4a_shapes(book: PriceBook) -> None:
    a2 = book.machine_hourly("a2-highgpu-1g", "us-central1")
    assert a2 is not None and a2.usd_per_hour == pytest.approx(
        fixture_price("039C-61F4-E2B8") + 12 * fixture_price("8E4D-5B17-0C3A") + 85 * fixture_price("D6A9-E0F2-17B4")
    )
    ultra = book.machine_hourly("zones/us-central1-a/machineTypes/a2-ultragpu-1g", "us-central1-a")
    assert ultra is not None and ultra.usd_per_hour == pytest.approx(
        fixture_price("D9B5-1E07-6A3C") + 12 * fixture_price("8E4D-5B17-0C3A")
        + 170 * fixture_price("D6A9-E0F2-17B4") + 375 * ssd_gib_hour("A3C0-7E15-94D2")
    )  # fmt: skip
    c4a = book.machine_hourly("c4a-highmem-16", "us-central1", spot=True)
    assert c4a is not None and c4a.usd_per_hour == pytest.approx(
        16 * fixture_price("7F31-0A9C-D54E") + 128 * fixture_price("0B6D-E2A8-93F5")
    )


def test_unpriced_or_unknown_machines_get_no_quote(book: PriceBook) -> None:
    assert book.machine_hourly("n2-standard-8", "us-central1") is None  # not in the shape table
    assert book.machine_hourly("a3-highgpu-8g", "europe-west4") is None  # GPU priced there, cores and RAM not
    assert book.machine_hourly("a2-highgpu-1g", "us-central1", spot=True) is None  # no Spot A2 core SKU
    assert book.machine_hourly("a3-megagpu-8g", "us-central1") is None  # no A3Plus core/RAM SKU in the fixture


def test_a_global_sku_answers_for_every_region(book: PriceBook) -> None:
    row = book.row("egress", "inter-zone-egress", "us-central1")
    assert row is not None and row["sku_id"] == "DE9E-AFBF-A9B3" and row["region"] == "global"
    internet = book.row("egress", "internet-egress-from-americas-to-americas", "us-central1")
    assert internet is not None and internet["list_usd_per_unit"] == pytest.approx(0.12)  # first nonzero tier


def test_the_book_at_a_past_moment_quotes_the_price_then(
    lake: DuckDbLake, catalog: ApiStub, fetcher: CatalogFetcher
) -> None:
    sync_prices(lake, prices_config(), fetcher, NOW)
    route_catalog(catalog, page1=set_price(page(1), "9A2C-41E7-8B3D", 9.8))
    changed_at = NOW + dt.timedelta(days=5)
    sync_prices(lake, prices_config(), fetcher, changed_at)

    before = PriceBook.load(lake, changed_at - dt.timedelta(seconds=1)).gpu_hourly("H100", "us-central1")
    after = PriceBook.load(lake, changed_at).gpu_hourly("H100", "us-central1")
    assert before is not None and before.usd_per_hour == pytest.approx(fixture_price("9A2C-41E7-8B3D"))
    assert after is not None and after.usd_per_hour == pytest.approx(9.8)
    assert len(PriceBook.load(lake, NOW - dt.timedelta(days=1))) == 0  # before the first sync's prices


def test_quotes_carry_the_discounted_and_the_list_price(
    lake: DuckDbLake, catalog: ApiStub, fetcher: CatalogFetcher
) -> None:
    sync_prices(lake, prices_config(discounts={"resource_group": {"GPU": 25}}), fetcher, NOW)
    book = PriceBook.load(lake, NOW)

    quote = book.machine_hourly("a3-highgpu-8g", "us-central1")

    assert quote is not None
    gpu_list = 8 * fixture_price("9A2C-41E7-8B3D")
    assert quote.list_usd_per_hour - quote.usd_per_hour == pytest.approx(gpu_list * 0.25)
    assert quote.parts[0].usd_per_hour == pytest.approx(gpu_list * 0.75)


def test_names_normalize_to_catalog_items() -> None:
    assert [gpu_item(m) for m in ("H100", "h100-80gb", "nvidia-h100-mega-80gb", "A100", "nvidia-tesla-a100")] == [
        "H100", "H100", "H100-MEGA", "A100-40GB", "A100-40GB",
    ]  # fmt: skip
    assert [region_of(z) for z in ("us-central1-a", "europe-west4", "global", "asia-northeast1-c")] == [
        "us-central1", "europe-west4", "global", "asia-northeast1",
    ]  # fmt: skip
