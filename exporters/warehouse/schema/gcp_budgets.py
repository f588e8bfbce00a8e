"""`gcp_budgets`: snapshots of a Cloud Billing account's budgets (Budget API, formats.md §7.2), one per sync.

Each sync replaces its UTC day's partition for its billing account, so a day keeps its last snapshot and
history stays one snapshot a day. Readers take the rows whose `synced_at` is the account's latest sync as
recorded in `ingest_state` (source `gcp_budgets`, partition = the account): a sync that found no budget
writes no row but still records the sync. Money is as the API gives it (units + nanos as a float).
"""

from __future__ import annotations

import pyarrow as pa

from exporters.warehouse.schema.types import KV_LIST, PROVENANCE, TS

S = pa.string()
THRESHOLD = pa.struct([("percent", pa.float64()), ("basis", S)])  # 1.0-based; CURRENT_SPEND | FORECASTED_SPEND

GCP_BUDGETS = pa.schema(
    [
        pa.field("synced_at", TS, nullable=False),
        pa.field("billing_account", S),  # 012345-6789AB-CDEF01
        pa.field("name", S),  # billingAccounts/<id>/budgets/<budget id>
        pa.field("display_name", S),
        pa.field("managed", pa.bool_()),  # display_name starts with "spendscope:" (only these are ever updated)
        pa.field("amount_type", S),  # SPECIFIED_AMOUNT | LAST_PERIOD_AMOUNT
        pa.field("amount", pa.float64()),  # specified_amount (null for LAST_PERIOD_AMOUNT)
        pa.field("currency", S),
        pa.field("calendar_period", S),  # MONTH | QUARTER | YEAR; null with a custom period
        pa.field("custom_start", pa.date32()),
        pa.field("custom_end", pa.date32()),
        pa.field("projects", pa.list_(S)),  # projects/<id>
        pa.field("services", pa.list_(S)),  # services/<id>
        pa.field("labels", KV_LIST),  # one key/value per label value
        pa.field("credit_types_treatment", S),
        pa.field("other_filters", pa.list_(S)),  # resource_ancestors / subaccounts / credit_types, as "field=value"
        pa.field("thresholds", pa.list_(THRESHOLD)),
        pa.field("etag", S),
        *PROVENANCE,
    ]
)
