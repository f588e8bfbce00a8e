"""Pure: one upstream record, in any source's spelling → a canonical databricks_usage / _list_prices row.

The Statement API, CSV/JSON/Parquet exports and the legacy billable-usage CSV all end here, so the
stored rows are the same whatever the source. A malformed record raises `CellError` (the quarantine
reason); the builders turn lists of records into Arrow tables plus `Quarantined` items.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from collectors.base import Quarantined
from collectors.databricks import cells
from collectors.databricks.cells import CellError
from exporters.warehouse.schema.databricks import (
    DATABRICKS_LIST_PRICES,
    DATABRICKS_USAGE,
    IDENTITY_FIELDS,
    PRODUCT_FEATURE_FIELDS,
    USAGE_METADATA_FIELDS,
)

# (line or record number, record) as the readers yield them.
Numbered = tuple[int | None, Mapping[str, Any]]
# Flat spellings of the pricing struct in CSV exports (Spark's and pandas' flattening).
_FLAT_PRICING = {
    "default": ("pricing.default", "pricing_default"),
    "promotional": ("pricing.promotional.default", "pricing_promotional_default"),
    "effective_list": ("pricing.effective_list.default", "pricing_effective_list_default"),
}


def normalize_sku(sku: str) -> str:
    """Upper snake case, as system tables spell SKUs ('Premium Jobs Compute' → PREMIUM_JOBS_COMPUTE)."""
    return "_".join(sku.strip().upper().replace("-", " ").replace("_", " ").split())


def usage_row(rec: Mapping[str, Any]) -> dict[str, Any]:
    """A `databricks_usage` row (without provenance) from a system.billing.usage record."""
    sku = cells.text(rec.get("sku_name"))
    if not sku:
        raise CellError("sku_name is empty")
    quantity = cells.number(rec.get("usage_quantity"), "usage_quantity")
    start = cells.timestamp(rec.get("usage_start_time"), "usage_start_time")
    end = cells.timestamp(rec.get("usage_end_time"), "usage_end_time")
    if quantity is None or start is None or end is None:
        missing = [n for n, v in (("usage_quantity", quantity), ("usage_start_time", start),
                                  ("usage_end_time", end)) if v is None]  # fmt: skip
        raise CellError(f"empty required value(s): {', '.join(missing)}")
    usage_date = cells.date(rec.get("usage_date"), "usage_date") or start.date()
    features = cells.mapping(rec.get("product_features"), "product_features")
    return {
        "record_id": cells.text(rec.get("record_id")),
        "account_id": cells.text(rec.get("account_id")),
        "workspace_id": cells.text(rec.get("workspace_id")),
        "sku_name": sku,
        "cloud": (cells.text(rec.get("cloud")) or "").upper() or None,
        "usage_start_time": start,
        "usage_end_time": end,
        "usage_date": usage_date,
        "custom_tags": cells.kv_list(cells.mapping(rec.get("custom_tags"), "custom_tags")),
        "usage_unit": cells.text(rec.get("usage_unit")),
        "usage_quantity": quantity,
        "usage_metadata": cells.pick_text(
            cells.mapping(rec.get("usage_metadata"), "usage_metadata"), USAGE_METADATA_FIELDS
        ),
        "identity_metadata": cells.pick_text(
            cells.mapping(rec.get("identity_metadata"), "identity_metadata"), IDENTITY_FIELDS
        ),
        "record_type": cells.text(rec.get("record_type")),
        "ingestion_date": cells.date(rec.get("ingestion_date"), "ingestion_date"),
        "billing_origin_product": cells.text(rec.get("billing_origin_product")),
        "product_features": _features(features),
        "usage_type": cells.text(rec.get("usage_type")),
    }


def _features(m: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if m is None:
        return None
    out: dict[str, Any] = {}
    for name, typ in PRODUCT_FEATURE_FIELDS:
        v = m.get(name)
        out[name] = cells.boolean(v, f"product_features.{name}") if typ == pa.bool_() else cells.text(v)
    return out


def price_row(rec: Mapping[str, Any]) -> dict[str, Any]:
    """A `databricks_list_prices` row (without provenance); `pricing` as a struct or flat columns."""
    sku = cells.text(rec.get("sku_name"))
    if not sku:
        raise CellError("sku_name is empty")
    start = cells.timestamp(rec.get("price_start_time"), "price_start_time")
    if start is None:
        raise CellError("price_start_time is empty")
    pricing = _pricing(rec)
    if pricing["default"] is None and pricing["effective_list"] is None:
        raise CellError("pricing has neither default nor effective_list.default")
    return {
        "price_start_time": start,
        "price_end_time": cells.timestamp(rec.get("price_end_time"), "price_end_time"),
        "account_id": cells.text(rec.get("account_id")),
        "sku_name": sku,
        "cloud": (cells.text(rec.get("cloud")) or "").upper() or None,
        "currency_code": cells.text(rec.get("currency_code")),
        "usage_unit": cells.text(rec.get("usage_unit")),
        "pricing": pricing,
    }


def _pricing(rec: Mapping[str, Any]) -> dict[str, Any]:
    """Decimal strings ("0.10") become DOUBLE; nested {"default": x} members become {"default": float}."""
    m = cells.mapping(rec.get("pricing"), "pricing") if "pricing" in rec else None
    if m is None:
        m = {}
        for member, spellings in _FLAT_PRICING.items():
            for col in spellings:
                if col in rec and not cells.is_null(rec[col]):
                    m[member] = rec[col] if member == "default" else {"default": rec[col]}
    out: dict[str, Any] = {"default": cells.number(m.get("default"), "pricing.default")}
    for member in ("promotional", "effective_list"):
        sub = cells.mapping(m.get(member), f"pricing.{member}")
        value = None if sub is None else cells.number(sub.get("default"), f"pricing.{member}.default")
        out[member] = None if value is None else {"default": value}
    return out


def build(kind: str, records: Iterable[Numbered], source: str, where: str) -> tuple[pa.Table, list[Quarantined]]:
    """Rows of `kind` ('usage' or 'list_prices') as a conforming Arrow table, bad records quarantined."""
    table = "databricks_usage" if kind == "usage" else "databricks_list_prices"
    convert = usage_row if kind == "usage" else price_row
    rows: list[dict[str, Any]] = []
    bad: list[Quarantined] = []
    for line, rec in records:
        try:
            row = convert(rec)
        except CellError as exc:
            bad.append(Quarantined(table, where, line, str(exc), raw_text(rec)))
            continue
        rows.append(provenance(row, source))
    return table_of(kind, rows), bad


def provenance(row: dict[str, Any], source: str) -> dict[str, Any]:
    """Fill `_day` (usage_date; a price's start date) and `_source`."""
    day = row["usage_date"] if "usage_date" in row else row["price_start_time"].date()
    return {**row, "_day": day, "_source": source}


def table_of(kind: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Canonical rows as an Arrow table of the table's schema."""
    schema = DATABRICKS_USAGE if kind == "usage" else DATABRICKS_LIST_PRICES
    return pa.Table.from_pylist(rows, schema=schema)


def raw_text(rec: Mapping[str, Any]) -> str:
    """The record as JSON text for the quarantine's `raw` column."""
    return json.dumps(dict(rec), default=_jsonable, ensure_ascii=False)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return str(v)
