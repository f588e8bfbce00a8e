"""Engine-state tables: ingest watermarks per source partition, and quarantined input rows."""

from __future__ import annotations

import pyarrow as pa

from exporters.warehouse.schema.types import PROVENANCE, TS

S = pa.string()

# One row per (source, partition) last ingested: how far the data reaches and what was pulled.
INGEST_STATE = pa.schema(
    [
        pa.field("source", S),  # e.g. gcp_billing:<table>, databricks:<account>, file
        pa.field("partition", S),  # e.g. 2026-11-20 or 2026-11-20|<billing account>
        pa.field("watermark", TS),  # max(export_time) / max(ingestion_date) seen for it
        pa.field("max_usage_end", TS),  # how far usage reaches in it
        pa.field("rows", pa.int64()),
        pa.field("cost", pa.float64()),
        pa.field("ingested_at", TS),
        *PROVENANCE,
    ]
)

# Every row an ingest could not take, with where it came from and why (DESIGN §9: never dropped silently).
QUARANTINE = pa.schema(
    [
        pa.field("table_name", S),
        pa.field("file", S),
        pa.field("line", pa.int64()),
        pa.field("reason", S),
        pa.field("raw", S),
        pa.field("quarantined_at", TS),
        *PROVENANCE,
    ]
)
