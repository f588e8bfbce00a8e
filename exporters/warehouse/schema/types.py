"""Shared Arrow types: key/value label lists (GCP labels, Databricks custom_tags alike) and timestamps."""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
KV = pa.struct([("key", pa.string()), ("value", pa.string())])
# Maps are stored as key/value lists so one SQL form, `(SELECT value FROM UNNEST(x) WHERE key = 'team')`,
# works on GCP labels and Databricks tags alike, in BigQuery (which has no MAP type) and in DuckDB.
KV_LIST = pa.list_(KV)

# Provenance columns present on every table.
PROVENANCE = [
    pa.field("_day", pa.date32(), nullable=False),
    pa.field("_source", pa.string()),
]
