"""Pure parse of Catalog SKUs (google.cloud.billing_v1 messages built from the synthetic REST pages) into price rows."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from google.cloud.billing_v1 import ListSkusResponse, Sku

from collectors.prices.catalog import Match, classify, parse_skus, usage_type_of
from tests.prices.conftest import COMPUTE, NOW, page


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Nvidia H100 80GB GPU running in Americas", Match("gpu", "H100")),
        ("Nvidia H100 80GB GPU attached to Spot Preemptible VMs running in Americas", Match("gpu", "H100")),
        ("Nvidia H100 80GB Mega GPU attached to Spot Preemptible VMs running in Tokyo", Match("gpu", "H100-MEGA")),
        ("Commitment v1: Nvidia H100 80GB GPU running in Americas for 3 Years", Match("gpu", "H100")),
        ("Commitment v1: Nvidia H100 80GB Mega GPU running in Americas for 1 Year", Match("gpu", "H100-MEGA")),
        ("Nvidia Tesla A100 GPU running in Americas", Match("gpu", "A100-40GB")),
        ("Nvidia Tesla A100 80GB GPU attached to Spot Preemptible VMs running in Americas", Match("gpu", "A100-80GB")),
        ("Nvidia A100 80GB GPU running in Americas", Match("gpu", "A100-80GB")),
        ("A3 Instance Core running in Americas", Match("core", "A3")),
        ("Spot Preemptible A3 Instance Ram running in Americas", Match("ram", "A3")),
        ("Spot Preemptible A3Plus Instance Ram running in Tokyo", Match("ram", "A3PLUS")),
        ("Spot Preemptible C4A Instance Core in Americas", Match("core", "C4A")),
        ("Commitment v1: A2 Cpu in APAC for 1 Year", Match("core", "A2")),
        ("SSD backed Local Storage", Match("local_ssd", "local-ssd")),
        ("SSD backed Local Storage attached to Spot Preemptible VMs", Match("local_ssd", "local-ssd")),
        ("Hyperdisk Balanced Capacity in Iowa", Match("hyperdisk", "balanced-capacity")),
        ("Hyperdisk Extreme IOPS in Iowa", Match("hyperdisk", "extreme-iops")),
        ("Hyperdisk Throughput Capacity", Match("hyperdisk", "throughput-capacity")),
        ("Network Internet Egress from Americas to Americas",
         Match("egress", "internet-egress-from-americas-to-americas")),
        ("Network Inter Region Data Transfer Out from Americas to EMEA",
         Match("egress", "inter-region-data-transfer-out-from-americas-to-emea")),
        # not the fleet's, or capacity we do not buy on demand
        ("Reserved Nvidia H100 80GB Mega GPU in Americas", None),
        ("Nvidia H100 80GB GPU running in Americas (hypothetical DWS variant)", None),
        ("Nvidia L4 GPU running in Americas", None),
        ("N2 Instance Core running in Americas", None),
        ("SSD backed PD Capacity in Iowa", None),
        ("Licensing Fee for SQL Server 2016 Standard on VM with 18 VCPU", None),
    ],
)  # fmt: skip
def test_classify_keeps_the_fleet_skus(description: str, expected: Match | None) -> None:
    assert classify(description) == expected


def test_usage_type_comes_from_the_category_else_the_description() -> None:
    assert usage_type_of("Preemptible", "A3 Instance Core running in Americas") == "Preemptible"
    assert usage_type_of("", "Spot Preemptible A3 Instance Core running in Americas") == "Preemptible"
    assert usage_type_of("", "Commitment v1: A2 Cpu in APAC for 3 Years") == "Commit3Yr"
    assert usage_type_of("", "A3 Instance Core running in Americas") == "OnDemand"


def skus(n: int) -> list[Sku]:
    return list(ListSkusResponse.from_json(json.dumps(page(n))).skus)


def test_rows_per_region_with_units_tiers_and_times() -> None:
    rows, seen = parse_skus(skus(1) + skus(2), COMPUTE, [], NOW)  # no region list: every region a SKU lists

    assert seen == 28
    h100 = [r for r in rows if r["sku_id"] == "9A2C-41E7-8B3D"]
    assert [r["region"] for r in h100] == ["us-central1", "us-east4", "us-east5"]
    r = h100[0]
    assert (r["provider"], r["service_id"], r["usage_type"], r["resource_group"], r["unit"]) == (
        "gcp", COMPUTE, "OnDemand", "GPU", "h",
    )  # fmt: skip
    assert (r["base_unit"], r["base_unit_factor"], r["list_usd_per_unit"]) == ("s", 3600, pytest.approx(11.0612))
    assert r["valid_from"] == dt.datetime(2026, 11, 19, 23, 47, 10, 771000, tzinfo=dt.UTC) and r["valid_to"] is None
    assert r["_day"] == dt.date(2026, 11, 19) and r["fetched_at"] == NOW
    egress = next(r for r in rows if r["sku_id"] == "9DE9-8A13-F4C6")
    assert egress["list_usd_per_unit"] == pytest.approx(0.12)  # the free first tier is not the list price
    assert json.loads(egress["tiers"]) == [
        {"start": 0.0, "price": 0.0}, {"start": 1.0, "price": 0.12},
        {"start": 1024.0, "price": 0.11}, {"start": 10240.0, "price": 0.08},
    ]  # fmt: skip
    assert [r["region"] for r in rows if r["sku_id"] == "DE9E-AFBF-A9B3"] == ["global"]


def test_the_last_pricing_info_wins_and_other_currencies_are_converted_to_usd() -> None:
    sku = page(1)["skus"][0]
    older = json.loads(json.dumps(sku["pricingInfo"][0]))
    older["effectiveTime"] = "2026-01-01T00:00:00Z"
    latest = sku["pricingInfo"][0]
    latest["currencyConversionRate"] = 150.0
    latest["pricingExpression"]["tieredRates"][0]["unitPrice"] = {"currencyCode": "JPY", "units": "1500", "nanos": 0}
    sku["pricingInfo"] = [older, latest]

    (row,) = parse_skus([Sku.from_json(json.dumps(sku))], COMPUTE, ["us-central1"], NOW)[0]

    assert row["currency"] == "JPY" and json.loads(row["tiers"]) == [{"start": 0.0, "price": 1500.0}]
    assert row["list_usd_per_unit"] == pytest.approx(10.0)


def test_a_sku_without_a_configured_region_or_a_price_gives_no_row() -> None:
    sku = page(1)["skus"][0]
    assert parse_skus([Sku.from_json(json.dumps(sku))], COMPUTE, ["asia-northeast1"], NOW)[0] == []
    sku["pricingInfo"] = []
    assert parse_skus([Sku.from_json(json.dumps(sku))], COMPUTE, [], NOW)[0] == []


def test_a_price_without_an_effective_time_is_valid_from_the_fetch() -> None:
    sku = page(1)["skus"][0]
    del sku["pricingInfo"][0]["effectiveTime"]

    (row,) = parse_skus([Sku.from_json(json.dumps(sku))], COMPUTE, ["us-central1"], NOW)[0]

    assert row["valid_from"] == NOW and row["_day"] == NOW.date()
