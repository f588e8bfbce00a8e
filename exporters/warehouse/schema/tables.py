"""The table catalog: name → Arrow schema, partition column and required columns; and `conform`."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from exporters.warehouse.schema import (
    alerts,
    databricks,
    focus,
    gcp_billing,
    gcp_budgets,
    live,
    prices,
    rollup,
    state,
    telemetry,
)
from exporters.warehouse.schema.types import decoded


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table: its Arrow schema, the day partition column, and what a row must have."""

    name: str
    schema: pa.Schema
    required: tuple[str, ...] = ()
    partition: str = "_day"
    # Float columns nearly all distinct (costs, amounts, prices): the local lake writes them without dictionaries,
    # which only cost time there (bench/ingest.py: -10 % writer CPU, files 10 % smaller on GCP export rows).
    # Telemetry keeps them: its ratios and readings repeat (gpu_minutes files are 2.2x larger without).
    plain_floats: bool = False


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec("gcp_billing_export", gcp_billing.GCP_BILLING_EXPORT, gcp_billing.REQUIRED, plain_floats=True),
        TableSpec("databricks_usage", databricks.DATABRICKS_USAGE, databricks.USAGE_REQUIRED, plain_floats=True),
        TableSpec("databricks_list_prices", databricks.DATABRICKS_LIST_PRICES, databricks.LIST_PRICES_REQUIRED),
        TableSpec("focus_import", focus.FOCUS_IMPORT, focus.FOCUS_IMPORT_REQUIRED, plain_floats=True),
        TableSpec("cost_daily", rollup.COST_DAILY),
        TableSpec("cost_hourly", rollup.COST_HOURLY),
        TableSpec("ingest_state", state.INGEST_STATE),
        TableSpec("quarantine", state.QUARANTINE),
        TableSpec("gpu_samples", telemetry.GPU_SAMPLES, ("ts",)),
        TableSpec("gpu_minutes", telemetry.GPU_MINUTES, ("minute",)),
        TableSpec("net_samples", telemetry.NET_SAMPLES, ("ts",)),
        TableSpec("inventory", telemetry.INVENTORY, ("observed_at",)),
        TableSpec("workload_metrics", telemetry.WORKLOAD_METRICS, ("ts",)),
        TableSpec("alert_events", alerts.ALERT_EVENTS, ("at",)),
        TableSpec("silences", alerts.SILENCES, ("id",)),
        TableSpec("action_log", alerts.ACTION_LOG, ("at",)),
        TableSpec("gcp_budgets", gcp_budgets.GCP_BUDGETS, ("synced_at",)),
        TableSpec("prices", prices.PRICES, prices.PRICES_REQUIRED),
        TableSpec("cost_estimates", live.COST_ESTIMATES, live.COST_ESTIMATES_REQUIRED),
        TableSpec("estimate_errors", live.ESTIMATE_ERRORS, live.ESTIMATE_ERRORS_REQUIRED),
    )
}


def conform(table: pa.Table | pa.RecordBatch, schema: pa.Schema, *, keep_dictionaries: bool = False) -> pa.Table:
    """Return `table` with exactly `schema`'s columns in order: extra columns dropped, missing ones null.

    Casting is safe-by-default Arrow casting, so a wrong type raises instead of silently truncating.
    `keep_dictionaries`: a column that is `schema`'s type but for dictionary-encoded leaves stays so (the local
    lake's Parquet writer writes them as they are); the result's schema then has the columns' own types.
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            same = col.type == f.type or (keep_dictionaries and decoded(col.type) == f.type)
            cols.append(col if same else col.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    if keep_dictionaries:
        schema = pa.schema([f.with_type(c.type) for f, c in zip(schema, cols, strict=True)], metadata=schema.metadata)
    return pa.Table.from_arrays(cols, schema=schema)
