"""`cost_daily`: focus_costs summed per reporting day and the dimensions every page and rule filters by.

Rows are derived per source partition (`x_SourceTable`, `_day`) so a re-ingest replaces exactly its own
share; `day` is the reporting day in `tz`, the time zone the rollup was built with.
"""

from __future__ import annotations

import pyarrow as pa

from exporters.warehouse.schema.types import PROVENANCE, TS

S, F = pa.string(), pa.float64()

# dimension column → the focus_costs expression it groups by
DIMENSIONS: dict[str, str] = {
    "provider": "ProviderName",
    "platform": "x_Platform",
    "service": "ServiceName",
    "category": "ServiceCategory",
    "team": "x_Team",
    "env": "x_Env",
    "workload": "x_Workload",
    "project": "SubAccountId",
    "account": "BillingAccountId",
    "gpu": "x_GpuModel",
    "is_spot": "x_IsSpot",
    "charge_category": "ChargeCategory",
    "currency": "BillingCurrency",
}

COST_DAILY = pa.schema(
    [pa.field("day", pa.date32()), pa.field("tz", S)]
    + [pa.field(name, pa.bool_() if name == "is_spot" else S) for name in DIMENSIONS]
    + [
        pa.field("billed_cost", F),
        pa.field("effective_cost", F),
        pa.field("list_cost", F),
        pa.field("gpu_hours", F),
        pa.field("charges", pa.int64()),
        pa.field("unpriced", pa.int64()),
        pa.field("data_until", TS),
        pa.field("x_SourceTable", S),
        *PROVENANCE,
    ]
)

# Usage spend per UTC hour (charges of at most an hour, ChargeCategory Usage): what the spike rule compares
# with the same hour of earlier days. Longer charges (monthly fees, daily FOCUS rows) would be false spikes.
COST_HOURLY = pa.schema(
    [
        pa.field("hour", TS),
        pa.field("provider", S),
        pa.field("platform", S),
        pa.field("service", S),
        pa.field("team", S),
        pa.field("project", S),
        pa.field("billed_cost", F),
        pa.field("effective_cost", F),
        pa.field("charges", pa.int64()),
        pa.field("data_until", TS),
        pa.field("x_SourceTable", S),
        *PROVENANCE,
    ]
)
