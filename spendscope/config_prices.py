"""Config of `spendscope prices sync` (`[prices]`): which Catalog services and regions, and contract discounts.

Discounts are percentages off list, the most specific match wins (a SKU's own, else its resource group's,
else its provider's); they are not compounded. Catalog prices are public list prices; anything negotiated
beyond these discounts is only in billing.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from spendscope.config_base import Strict

COMPUTE_ENGINE = "6F81-5844-456A"
_SERVICE_ID = re.compile(r"^[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$")
_REGION = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")


def _percentages(table: dict[str, float]) -> dict[str, float]:
    bad = [k for k, v in table.items() if not 0 <= v <= 100]
    if bad:
        raise ValueError(f"a discount is a percentage from 0 to 100; not so for {', '.join(bad)}")
    return table


Percentages = Annotated[dict[str, float], AfterValidator(_percentages)]


class PriceDiscounts(Strict):
    """Contract discounts in percent: by SKU (Catalog sku id or Databricks sku_name), resource group, provider."""

    sku: Percentages = Field(default_factory=dict, description="sku id (or Databricks sku_name) → percent off")
    resource_group: Percentages = Field(default_factory=dict, description="Catalog resource group (GPU, CPU, …)")
    provider: dict[Literal["gcp", "databricks"], float] = Field(default_factory=dict, description="provider → %")

    @field_validator("provider")
    @classmethod
    def _provider_percent(cls, v: dict[str, float]) -> dict[str, float]:
        _percentages(v)
        return v


class PricesConfig(Strict):
    """`[prices]`: the Cloud Billing Catalog sync and the price book's discounts."""

    enabled: bool = Field(default=False, description="the daemon runs `prices sync` every interval_minutes")
    interval_minutes: float = Field(default=24 * 60, gt=0, description="how often the daemon syncs (daily)")
    services: list[str] = Field(
        default_factory=lambda: [COMPUTE_ENGINE], description="Catalog service ids (Compute Engine by default)"
    )
    regions: list[str] = Field(
        default_factory=lambda: ["us-central1"],
        description='regions to keep prices for; [] keeps every region a SKU lists ("global" SKUs always kept)',
    )
    currency: str = Field(default="USD", description="currency the Catalog quotes in (tiers); stored prices are USD")
    discounts: PriceDiscounts = PriceDiscounts()
    page_size: int = Field(default=5000, ge=1, le=5000, description="SKUs per Catalog page")
    timeout_seconds: float = Field(default=60, gt=0, description="per Catalog request")
    api_endpoint: str | None = Field(
        default=None, description="override the Catalog API endpoint (a local stand-in in tests; anonymous then)"
    )

    @field_validator("services")
    @classmethod
    def _service_ids(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if not _SERVICE_ID.match(s)]
        if bad:
            raise ValueError(f"not a Catalog service id (like {COMPUTE_ENGINE}): {', '.join(bad)}")
        return v

    @field_validator("regions")
    @classmethod
    def _region_names(cls, v: list[str]) -> list[str]:
        bad = [r for r in v if not _REGION.match(r)]
        if bad:
            raise ValueError(f"not a region name (like us-central1): {', '.join(bad)}")
        return v

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", v):
            raise ValueError(f"{v!r} is not an ISO 4217 currency code (like USD)")
        return v
