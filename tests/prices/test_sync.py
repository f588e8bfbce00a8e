"""`prices sync` end to end: the real CloudCatalogClient (REST) against the loopback Catalog stand-in (not Google),
into a real Delta lake; history kept across price changes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from collectors.prices.fetch import CatalogFetcher
from collectors.prices.sync import stored_prices, sync_prices
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.scheduler import Daemon
from tests.inventory.api_stub import ApiStub
from tests.prices.conftest import ALT, COMPUTE, NOW, page, prices_config, route_catalog, set_price, sku_query

pytestmark = pytest.mark.integration

H100 = "9A2C-41E7-8B3D"


def by_series(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: r["valid_from"]):
        out.setdefault((r["sku_id"], r["region"], r["usage_type"]), []).append(r)
    return out


def test_sync_sends_the_exact_requests_and_stores_the_fleet_skus(
    lake: DuckDbLake, catalog: ApiStub, fetcher: CatalogFetcher
) -> None:
    result = sync_prices(lake, prices_config(), fetcher, NOW)

    assert catalog.problems == []
    assert catalog.requests() == [
        ("GET", "/v1/services", (ALT,)),
        ("GET", f"/v1/services/{COMPUTE}/skus", sku_query()),
        ("GET", f"/v1/services/{COMPUTE}/skus", sku_query("page-2")),
    ]
    assert result.skus_read == {COMPUTE: 28}
    rows = stored_prices(lake)
    series = by_series(rows)
    # Americas SKUs list three US regions: only us-central1 is configured (europe-west4 has its own SKUs).
    assert {r for (s, r, _) in series if s == H100} == {"us-central1"}
    assert series[("C1D7-0E55-A9F2", "europe-west4", "OnDemand")][0]["usd_per_unit"] == pytest.approx(12.1673)
    assert series[("3F60-B9C4-7D15", "us-central1", "Preemptible")][0]["item"] == "H100"
    assert series[("E5F1-72B9-0D4C", "us-central1", "OnDemand")][0]["item"] == "H100-MEGA"
    assert series[("8D3E-A6C0-51F7", "us-central1", "Commit1Yr")][0]["component"] == "gpu"
    # Local SSD lists both configured regions: a row each; the global egress SKU is kept as "global".
    assert {r for (s, r, _) in series if s == "A3C0-7E15-94D2"} == {"us-central1", "europe-west4"}
    assert series[("DE9E-AFBF-A9B3", "global", "OnDemand")][0]["component"] == "egress"
    # The Reserved H100 Mega and the N1 core are not fleet SKUs.
    assert not {"F7A2-9B14-E0C8", "2E6B-5F0D-88A1"} & {r["sku_id"] for r in rows}
    assert len(rows) == result.catalog_rows == len(result.added) == 28
    assert all(r["valid_to"] is None and r["source"] == "catalog" for r in rows)
    assert {r["valid_from"] for r in rows} == {dt.datetime(2026, 11, 19, 23, 47, 10, 771000, tzinfo=dt.UTC)}


def test_a_second_sync_with_the_same_prices_writes_nothing(
    lake: DuckDbLake, catalog: ApiStub, fetcher: CatalogFetcher
) -> None:
    sync_prices(lake, prices_config(), fetcher, NOW)
    version = lake.table_version("prices")

    again = sync_prices(lake, prices_config(), fetcher, NOW + dt.timedelta(hours=1))

    assert again.added == [] and again.closed == [] and again.unchanged == 28
    assert again.written == 0
    assert lake.table_version("prices") == version
    assert len(stored_prices(lake)) == 28


def test_a_changed_price_closes_the_old_row_and_adds_a_new_one(
    lake: DuckDbLake, catalog: ApiStub, fetcher: CatalogFetcher
) -> None:
    sync_prices(lake, prices_config(), fetcher, NOW)
    before = {(r["sku_id"], r["region"], r["usage_type"]): r for r in stored_prices(lake)}
    later = NOW + dt.timedelta(days=3)
    route_catalog(catalog, page1=set_price(page(1), H100, 9.8))

    result = sync_prices(lake, prices_config(), fetcher, later)

    assert [r["sku_id"] for r in result.added] == [H100] and [r["sku_id"] for r in result.closed] == [H100]
    series = by_series(stored_prices(lake))
    old, new = series[(H100, "us-central1", "OnDemand")]
    assert old["usd_per_unit"] == pytest.approx(11.0612) and new["usd_per_unit"] == pytest.approx(9.8)
    # The API's effectiveTime is no later than the old row's start, so the new version starts at the sync.
    assert old["valid_to"] == new["valid_from"] == later and new["valid_to"] is None
    # History intact: the old row is the first sync's row but for valid_to; every other row untouched.
    assert {k: v for k, v in old.items() if k != "valid_to"} == {
        k: v for k, v in before[(H100, "us-central1", "OnDemand")].items() if k != "valid_to"
    }
    others = {k: v[0] for k, v in series.items() if k[0] != H100}
    assert others == {k: v for k, v in before.items() if k[0] != H100}
    assert len(stored_prices(lake)) == 29


def test_a_sku_the_catalog_no_longer_lists_is_closed_not_deleted(
    lake: DuckDbLake, catalog: ApiStub, fetcher: CatalogFetcher
) -> None:
    sync_prices(lake, prices_config(), fetcher, NOW)
    p2 = page(2)
    p2["skus"] = [s for s in p2["skus"] if s["skuId"] != "1A7C-93E0-5B2D"]  # Hyperdisk Extreme withdrawn
    route_catalog(catalog, page2=p2)
    later = NOW + dt.timedelta(days=1)

    result = sync_prices(lake, prices_config(), fetcher, later)

    assert [r["sku_id"] for r in result.closed] == ["1A7C-93E0-5B2D"] and result.added == []
    (row,) = [r for r in stored_prices(lake) if r["sku_id"] == "1A7C-93E0-5B2D"]
    assert row["valid_to"] == later


def test_contract_discounts_apply_by_sku_then_resource_group_then_provider(
    lake: DuckDbLake, catalog: ApiStub, fetcher: CatalogFetcher
) -> None:
    cfg = prices_config(discounts={"sku": {H100: 30}, "resource_group": {"GPU": 10}, "provider": {"gcp": 5}})

    sync_prices(lake, cfg, fetcher, NOW)

    series = {k: v[0] for k, v in by_series(stored_prices(lake)).items()}
    h100 = series[(H100, "us-central1", "OnDemand")]
    assert (h100["discount_pct"], h100["list_usd_per_unit"]) == (30, pytest.approx(11.0612))
    assert h100["usd_per_unit"] == pytest.approx(11.0612 * 0.7)
    a100 = series[("039C-61F4-E2B8", "us-central1", "OnDemand")]
    assert (a100["discount_pct"], a100["usd_per_unit"]) == (10, pytest.approx(2.933908 * 0.9))
    core = series[("5C1E-77A0-2F49", "us-central1", "OnDemand")]
    assert (core["discount_pct"], core["usd_per_unit"]) == (5, pytest.approx(0.0335 * 0.95))


def test_a_changed_discount_is_a_new_price_version(lake: DuckDbLake, catalog: ApiStub, fetcher: CatalogFetcher) -> None:
    sync_prices(lake, prices_config(), fetcher, NOW)
    later = NOW + dt.timedelta(days=2)

    result = sync_prices(lake, prices_config(discounts={"sku": {H100: 20}}), fetcher, later)

    assert [r["sku_id"] for r in result.added] == [H100]
    old, new = by_series(stored_prices(lake))[(H100, "us-central1", "OnDemand")]
    assert (old["discount_pct"], new["discount_pct"]) == (0, 20)
    assert old["valid_to"] == new["valid_from"] == later


def test_dry_run_reports_changes_and_writes_nothing(
    lake: DuckDbLake, catalog: ApiStub, fetcher: CatalogFetcher
) -> None:
    result = sync_prices(lake, prices_config(), fetcher, NOW, dry_run=True)

    assert len(result.added) == 28 and result.written == 0
    assert lake.table_version("prices") is None
    assert stored_prices(lake) == []


def test_the_daemon_syncs_prices_when_enabled(tmp_path: Path, catalog: ApiStub) -> None:
    """`[prices] enabled`: the daemon's prices-sync job runs the same sync against the (stand-in) Catalog."""
    cfg = prices_config(enabled=True, interval_minutes=720, api_endpoint=catalog.url).model_dump()
    settings = Settings.model_validate(
        {"home": str(tmp_path / "home"), "warehouse": {"path": str(tmp_path / "lake")}, "prices": cfg,
         "alerts": {"enabled": False}, "exporters": {"prometheus": {"enabled": False}}}
    )  # fmt: skip
    lake = DuckDbLake(settings.warehouse.path)
    daemon = Daemon(settings, lake, clock=fixed_clock(NOW), collectors=[])
    assert daemon.jobs["prices-sync"].interval_minutes == 720
    assert daemon.run_job("prices-sync")
    assert len(stored_prices(lake)) == 28 and catalog.problems == []
    assert "prices-sync" not in Daemon(Settings.model_validate({"warehouse": {"path": str(tmp_path / "l2")}}),
                                       lake, collectors=[]).jobs  # fmt: skip
