"""Price rows: the configured fallback prices, and merging a list_prices load into what is stored.

Decisions (documented here because the warehouse keys are only equality tests):
- `cfg.sku_prices` are written as `databricks_list_prices` rows with `_source = 'config'`, valid from
  1970-01-01 with no end, any cloud, unit DBU; a run whose config differs from the stored rows
  replaces them whole (key `_source = 'config'`), an emptied `sku_prices` clears them.
  The FOCUS SQL uses a config row only where no real list price covers the usage.
- A list_prices load (the API's whole table, or a file) is an *upsert* on the natural key
  (sku_name, cloud, usage_unit, currency_code, price_start_time): a newer copy of a price period
  (say, one that gained a price_end_time) replaces the older one, whichever source it came from, and
  a file holding a few SKUs does not erase the others. The merged set rewrites every non-config row
  (keys: each `_source` present), and nothing is written when the load changes nothing, so an hourly
  pull does not re-price all Databricks usage for no reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from collectors.databricks.rows import normalize_sku
from exporters.warehouse.schema import conform
from exporters.warehouse.schema.databricks import DATABRICKS_LIST_PRICES

if TYPE_CHECKING:
    from exporters.warehouse import Warehouse

CONFIG_SOURCE = "config"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_KEY = ("sku_name", "cloud", "usage_unit", "currency_code", "price_start_time")


def config_prices(sku_prices: Mapping[str, float], currency: str = "USD") -> pa.Table:
    """The configured USD-per-DBU prices as fallback list_prices rows (SKU names normalized)."""
    rows = [
        {
            "price_start_time": EPOCH,
            "price_end_time": None,
            "account_id": None,
            "sku_name": normalize_sku(sku),
            "cloud": None,
            "currency_code": currency,
            "usage_unit": "DBU",
            "pricing": {"default": float(p), "promotional": None, "effective_list": {"default": float(p)}},
            "_day": EPOCH.date(),
            "_source": CONFIG_SOURCE,
        }
        for sku, p in sorted(sku_prices.items())
    ]
    return pa.Table.from_pylist(rows, schema=DATABRICKS_LIST_PRICES)


def stored_prices(wh: Warehouse) -> tuple[pa.Table, pa.Table]:
    """Stored prices in one read (the table is small): (list prices, config fallback rows)."""
    got = conform(wh.query("SELECT * FROM databricks_list_prices"), DATABRICKS_LIST_PRICES)
    is_config = pc.fill_null(pc.equal(got.column("_source"), CONFIG_SOURCE), False)
    return got.filter(pc.invert(is_config)), got.filter(is_config)


def config_changed(stored: pa.Table, wanted: pa.Table) -> bool:
    """Whether the stored config rows differ from the configured prices (write only then)."""

    def summary(t: pa.Table) -> list[tuple[Any, ...]]:
        return sorted((r["sku_name"], r["currency_code"], (r["pricing"] or {}).get("default")) for r in t.to_pylist())

    return summary(stored) != summary(wanted)


def _key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(k) for k in _KEY)


def _content(row: Mapping[str, Any]) -> dict[str, Any]:
    """What makes two copies of a price row equal, provenance aside (datetimes compare as instants)."""
    return {k: v for k, v in row.items() if k not in ("_source", "_day")}


def merge(stored: pa.Table, loaded: pa.Table) -> tuple[pa.Table, list[dict[str, Any]]] | None:
    """Upsert `loaded` into `stored`: (merged rows, replace keys), or None when nothing would change."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {_key(r): r for r in stored.to_pylist()}
    changed = False
    for row in loaded.to_pylist():
        key = _key(row)
        old = merged.get(key)
        if old is None or _content(old) != _content(row):
            merged[key] = row
            changed = True
    if not changed:
        return None
    sources = {r["_source"] for r in stored.to_pylist()} | {r["_source"] for r in merged.values()}
    table = pa.Table.from_pylist(list(merged.values()), schema=DATABRICKS_LIST_PRICES)
    return table, [{"_source": s} for s in sorted(sources)]
