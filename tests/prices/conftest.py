"""The Catalog API stand-in — NOT Google's API: a loopback server (tests/inventory/api_stub.py) answering the exact
requests the real `google-cloud-billing` CloudCatalogClient (REST transport) sends, with the synthetic pages in
tests/fixtures/prices/; anything else answers 404 and is recorded in `stub.problems`."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.prices.fetch import CatalogFetcher, catalog_client
from spendscope.config_prices import PricesConfig
from tests.inventory.api_stub import ApiStub, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "prices"
COMPUTE = "6F81-5844-456A"
ALT = ("$alt", "json;enum-encoding=int")  # what the REST transport adds to every request
PAGE_SIZE = 500
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def page(n: int) -> dict[str, Any]:
    """A fresh copy of SKU page `n` (1 or 2)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"catalog_skus_page{n}.json").read_text())
    return data


def services() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "catalog_services.json").read_text())
    return data


def sku_query(token: str | None = None) -> tuple[tuple[str, str], ...]:
    """The SKU listing's query, in the order the client sends it."""
    q = [("currencyCode", "USD"), ("pageSize", str(PAGE_SIZE))]
    return (*q, ("pageToken", token), ALT) if token else (*q, ALT)


def route_catalog(stub: ApiStub, page1: dict[str, Any] | None = None, page2: dict[str, Any] | None = None) -> None:
    """(Re)register the three answers: services, SKU page 1 (no token), SKU page 2 (pageToken=page-2)."""
    stub.route("GET", "/v1/services", services(), query=(ALT,))
    stub.route("GET", f"/v1/services/{COMPUTE}/skus", page1 or page(1), query=sku_query())
    stub.route("GET", f"/v1/services/{COMPUTE}/skus", page2 or page(2), query=sku_query("page-2"))


def set_price(data: dict[str, Any], sku_id: str, price: float) -> dict[str, Any]:
    """A copy of a page with one SKU's (single-tier) price changed."""
    out = copy.deepcopy(data)
    for sku in out["skus"]:
        if sku["skuId"] == sku_id:
            units = int(price)
            rate = sku["pricingInfo"][-1]["pricingExpression"]["tieredRates"][0]["unitPrice"]
            rate["units"], rate["nanos"] = str(units), round((price - units) * 1e9)
            return out
    raise KeyError(sku_id)


@pytest.fixture
def catalog() -> Iterator[ApiStub]:
    with serve(ApiStub()) as stub:
        route_catalog(stub)
        yield stub


@pytest.fixture
def fetcher(catalog: ApiStub) -> CatalogFetcher:
    """The real CloudCatalogClient (REST, anonymous credentials) aimed at the stand-in."""
    return CatalogFetcher(catalog_client(catalog.url), timeout=10, where=catalog.url)


def prices_config(**overrides: Any) -> PricesConfig:
    values: dict[str, Any] = {"regions": ["us-central1", "europe-west4"], "page_size": PAGE_SIZE, **overrides}
    return PricesConfig.model_validate(values)
