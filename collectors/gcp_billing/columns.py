"""Column names of billing export files: case-insensitive resolution to the canonical schema, required set."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from exporters.warehouse.schema.gcp_billing import GCP_BILLING_EXPORT, REQUIRED
from exporters.warehouse.schema.types import TS
from spendscope.errors import MissingColumnsError

TABLE = "gcp_billing_export"

# The export's own columns (the schema less our provenance columns `_day` and `_source`).
EXPORT_FIELDS: dict[str, pa.Field] = {f.name: f for f in GCP_BILLING_EXPORT if not f.name.startswith("_")}

# Partition pseudo-columns a query or extract may carry. BigQuery refuses aliases starting with
# `_PARTITION`, so an exported query result often names them partition_time / partition_date instead.
PARTITION_TIME = "_partitiontime"
PARTITION_DATE = "_partitiondate"
_PARTITION_ALIASES = {
    "_partitiontime": PARTITION_TIME,
    "partition_time": PARTITION_TIME,
    "_partitiondate": PARTITION_DATE,
    "partition_date": PARTITION_DATE,
}
PARTITION_FIELDS = {
    PARTITION_TIME: pa.field(PARTITION_TIME, TS),
    PARTITION_DATE: pa.field(PARTITION_DATE, pa.date32()),
}

# What a file must carry: the schema's REQUIRED columns, plus billing_account_id because it is half of the
# replace key — without it a re-ingest could not know which rows it replaces.
FILE_REQUIRED = ("billing_account_id", *REQUIRED)

# Columns kept as text, never as dictionaries: the account is the replace key, checked, grouped and matched as text.
TEXT_ONLY = ("billing_account_id",)

# Parsed (not yet normalized) rows: the export fields plus the partition columns, canonical types.
PARSED_SCHEMA = pa.schema([*EXPORT_FIELDS.values(), *PARTITION_FIELDS.values()])


def canonical_name(name: str) -> str | None:
    """The canonical column a file column name stands for (case-insensitive), or None if unknown."""
    low = name.strip().lstrip("\ufeff").lower()
    if low in EXPORT_FIELDS:
        return low
    return _PARTITION_ALIASES.get(low)


def resolve(names: Iterable[str]) -> dict[str, str]:
    """Map file column name → canonical name for the known columns; the first of duplicates wins."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        canon = canonical_name(name)
        if canon is not None and canon not in taken:
            out[name] = canon
            taken.add(canon)
    return out


def check_required(source: str, canonical: Iterable[str]) -> None:
    """Raise MissingColumnsError naming every required column absent from a file."""
    present = set(canonical)
    missing = [c for c in FILE_REQUIRED if c not in present]
    if missing:
        raise MissingColumnsError(source, missing)


def struct_child(typ: pa.StructType, name: str) -> pa.Field | None:
    """A struct's child field by case-insensitive name."""
    low = name.lower()
    for i in range(typ.num_fields):
        if typ.field(i).name.lower() == low:
            return typ.field(i)
    return None
