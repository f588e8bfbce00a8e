"""`databricks_usage` (= system.billing.usage) and `databricks_list_prices` (formats.md §2.1–2.4).

`custom_tags` (a MAP upstream) is stored as a key/value list, like GCP labels. `usage_metadata`
keeps every documented member plus those seen in the wild; unknown members are tolerated and dropped.
"""

from __future__ import annotations

import pyarrow as pa

from exporters.warehouse.schema.types import KV_LIST, PROVENANCE, TS

S = pa.string()

USAGE_METADATA_FIELDS = (
    "cluster_id", "warehouse_id", "instance_pool_id", "node_type", "job_id", "job_run_id", "job_name",
    "notebook_id", "notebook_path", "dlt_pipeline_id", "dlt_update_id", "dlt_maintenance_id", "run_name",
    "endpoint_name", "endpoint_id", "central_clean_room_id", "source_region", "destination_region",
    "app_id", "app_name", "metastore_id", "private_endpoint_name", "storage_api_type", "budget_policy_id",
    "ai_runtime_pool_id", "catalog_id", "networking_client", "recipient_id", "usage_policy_id",
)  # fmt: skip
IDENTITY_FIELDS = ("run_as", "owned_by", "created_by", "run_by")
PRODUCT_FEATURE_FIELDS = (
    ("jobs_tier", S), ("sql_tier", S), ("dlt_tier", S), ("is_serverless", pa.bool_()),
    ("is_photon", pa.bool_()), ("serving_type", S),
)  # fmt: skip

DATABRICKS_USAGE = pa.schema(
    [
        pa.field("record_id", S),
        pa.field("account_id", S),
        pa.field("workspace_id", S),
        pa.field("sku_name", S),
        pa.field("cloud", S),
        pa.field("usage_start_time", TS),
        pa.field("usage_end_time", TS),
        pa.field("usage_date", pa.date32()),
        pa.field("custom_tags", KV_LIST),
        pa.field("usage_unit", S),
        pa.field("usage_quantity", pa.float64()),
        pa.field("usage_metadata", pa.struct([(f, S) for f in USAGE_METADATA_FIELDS])),
        pa.field("identity_metadata", pa.struct([(f, S) for f in IDENTITY_FIELDS])),
        pa.field("record_type", S),
        pa.field("ingestion_date", pa.date32()),
        pa.field("billing_origin_product", S),
        pa.field("product_features", pa.struct(list(PRODUCT_FEATURE_FIELDS))),
        pa.field("usage_type", S),
        *PROVENANCE,
    ]
)
USAGE_REQUIRED = ("sku_name", "usage_quantity", "usage_start_time", "usage_end_time")

# `pricing` values are decimal strings upstream ("0.10"); stored as DOUBLE like every money column.
DATABRICKS_LIST_PRICES = pa.schema(
    [
        pa.field("price_start_time", TS),
        pa.field("price_end_time", TS),
        pa.field("account_id", S),
        pa.field("sku_name", S),
        pa.field("cloud", S),
        pa.field("currency_code", S),
        pa.field("usage_unit", S),
        pa.field(
            "pricing",
            pa.struct(
                [
                    ("default", pa.float64()),
                    ("promotional", pa.struct([("default", pa.float64())])),
                    ("effective_list", pa.struct([("default", pa.float64())])),
                ]
            ),
        ),
        *PROVENANCE,
    ]
)
LIST_PRICES_REQUIRED = ("sku_name", "price_start_time", "pricing")
