"""Pure helpers shared by the price sources: the `prices` row shape, tiers as JSON, contract discounts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from exporters.warehouse.schema.prices import PRICE_CONTENT, PRICE_KEY, PRICES
from spendscope.config_prices import PriceDiscounts

Row = dict[str, Any]


def first_nonzero(prices: Sequence[float]) -> float:
    """The list price of a tiered rate: the first tier that charges anything (a free first tier is common)."""
    return next((p for p in prices if p > 0), prices[0] if prices else 0.0)


def tiers_json(tiers: Iterable[tuple[float, float]]) -> str:
    """Tiered rates as compact JSON: [{"start": usage amount, "price": per unit}], in API order."""
    return json.dumps([{"start": s, "price": p} for s, p in tiers], separators=(",", ":"))


def discount_for(row: Mapping[str, Any], discounts: PriceDiscounts) -> float:
    """The contract discount in percent for a row: its SKU's, else its resource group's, else its provider's."""
    sku = row.get("sku_id")
    if sku in discounts.sku:
        return float(discounts.sku[sku])
    group = row.get("resource_group")
    if group and group in discounts.resource_group:
        return float(discounts.resource_group[group])
    return float(discounts.provider.get(row["provider"], 0.0))


def with_discount(row: Row, discounts: PriceDiscounts) -> Row:
    """`row` with discount_pct and usd_per_unit (list × (1 - pct/100)) set."""
    pct = discount_for(row, discounts)
    return {**row, "discount_pct": pct, "usd_per_unit": row["list_usd_per_unit"] * (1 - pct / 100)}


def price_row(**values: Any) -> Row:
    """A full `prices` row: every column present (missing ones None), `_day` from valid_from."""
    row: Row = {name: values.get(name) for name in PRICES.names}
    unknown = set(values) - set(PRICES.names)
    if unknown:
        raise ValueError(f"not prices columns: {', '.join(sorted(unknown))}")
    valid_from: dt.datetime = row["valid_from"]
    row["_day"] = valid_from.astimezone(dt.UTC).date()
    return row


def key_of(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """The price series a row belongs to."""
    return tuple(row.get(k) for k in PRICE_KEY)


def content_of(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """What must differ for a new version (floats rounded to 1e-12 so a round trip through Parquet compares)."""
    return tuple(round(v, 12) if isinstance(v, float) else v for v in (row.get(k) for k in PRICE_CONTENT))
