"""Test helper: a GCP billing export table inside the emulator, filled from the synthetic export fixture.

The table is shaped like an older standard export (no price/tags/resource/…; usage.amount_in_pricing_units
NUMERIC — the emulator casts NUMERIC as DECIMAL(18,3), too small for byte-second amounts;
credits without full_name/id), so reading it exercises the typed-NULL, NUMERIC→FLOAT64 and record
rebuilding paths. Its rows come from our own ingest of `tests/fixtures/gcp_billing/export.ndjson`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from google.cloud import bigquery

from exporters.warehouse.bq_schema import to_bq_schema

S, F, TS = pa.string(), pa.float64(), pa.timestamp("us", tz="UTC")
NUM = pa.decimal128(38, 9)
KV = pa.list_(pa.struct([("key", S), ("value", S)]))

OLD_STANDARD_EXPORT = pa.schema(
    [
        ("billing_account_id", S),
        ("service", pa.struct([("id", S), ("description", S)])),
        ("sku", pa.struct([("id", S), ("description", S)])),
        ("usage_start_time", TS),
        ("usage_end_time", TS),
        ("project", pa.struct([("id", S), ("number", S), ("name", S), ("labels", KV)])),
        ("labels", KV),
        ("location", pa.struct([("location", S), ("country", S), ("region", S), ("zone", S)])),
        ("export_time", TS),
        ("cost", F),
        ("currency", S),
        ("usage", pa.struct([("amount", F), ("unit", S), ("amount_in_pricing_units", NUM), ("pricing_unit", S)])),
        ("credits", pa.list_(pa.struct([("name", S), ("amount", F), ("type", S)]))),
        ("invoice", pa.struct([("month", S)])),
        ("cost_type", S),
    ]
)

# Our gcp_billing_export rows (same dataset) → the older export shape above.
_FILL = """INSERT INTO `{export}` ({columns})
SELECT billing_account_id, service, sku, usage_start_time, usage_end_time,
  STRUCT(project.id AS id, project.number AS number, project.name AS name, project.labels AS labels) AS project,
  labels, location, export_time, cost, currency,
  IF(usage IS NULL, NULL, STRUCT(usage.amount AS amount, usage.unit AS unit,
     CAST(usage.amount_in_pricing_units AS NUMERIC) AS amount_in_pricing_units,
     usage.pricing_unit AS pricing_unit)) AS usage,
  ARRAY(SELECT AS STRUCT c.name AS name, c.amount AS amount, c.type AS type
        FROM UNNEST(credits) AS c WITH OFFSET o ORDER BY o) AS credits,
  STRUCT(invoice.month AS month) AS invoice, cost_type
FROM `{source}`"""


def create_export(client: Any, ref: str, partitioning: str) -> None:
    """Create the export table: partitioning "ingestion" (_PARTITIONTIME), "export_time" or "none"."""
    table = bigquery.Table(ref, schema=to_bq_schema(OLD_STANDARD_EXPORT))
    if partitioning == "ingestion":
        table.time_partitioning = bigquery.TimePartitioning(type_="DAY")
    elif partitioning == "export_time":
        table.time_partitioning = bigquery.TimePartitioning(type_="DAY", field="export_time")
    client.create_table(table)


def fill_export(client: Any, export_ref: str, source_ref: str) -> None:
    """Copy our ingested rows at `source_ref` into the export table (in the export's shape)."""
    sql = _FILL.format(export=export_ref, source=source_ref, columns=", ".join(OLD_STANDARD_EXPORT.names))
    client.query(sql).result()
