"""`gcp_billing_export`: the standard + detailed Cloud Billing export schema (formats.md §1.2), nested.

`_day` is the export partition (DATE(_PARTITIONTIME)) when known, else the usage day (UTC) of the
row: the unit a re-pull or a re-ingested file replaces whole.
"""

from __future__ import annotations

import pyarrow as pa

from exporters.warehouse.schema.types import KV_LIST, PROVENANCE, TS

S = pa.string()
F = pa.float64()

GCP_BILLING_EXPORT = pa.schema(
    [
        pa.field("billing_account_id", S),
        pa.field("service", pa.struct([("id", S), ("description", S)])),
        pa.field("sku", pa.struct([("id", S), ("description", S)])),
        pa.field("usage_start_time", TS),
        pa.field("usage_end_time", TS),
        pa.field(
            "project",
            pa.struct(
                [
                    ("id", S),
                    ("number", S),
                    ("name", S),
                    ("labels", KV_LIST),
                    ("ancestry_numbers", S),
                    ("ancestors", pa.list_(pa.struct([("resource_name", S), ("display_name", S)]))),
                ]
            ),
        ),
        pa.field("labels", KV_LIST),
        pa.field("system_labels", KV_LIST),
        pa.field("location", pa.struct([("location", S), ("country", S), ("region", S), ("zone", S)])),
        pa.field("resource", pa.struct([("name", S), ("global_name", S)])),
        pa.field(
            "tags",
            pa.list_(pa.struct([("key", S), ("value", S), ("inherited", pa.bool_()), ("namespace", S)])),
        ),
        pa.field(
            "price",
            pa.struct(
                [
                    ("effective_price", F),
                    ("tier_start_amount", F),
                    ("unit", S),
                    ("pricing_unit_quantity", F),
                    ("list_price", F),
                    ("effective_price_default", F),
                    ("list_price_consumption_model", F),
                ]
            ),
        ),
        pa.field("subscription", pa.struct([("instance_id", S)])),
        pa.field("transaction_type", S),
        pa.field("seller_name", S),
        pa.field("export_time", TS),
        pa.field("cost", F),
        pa.field("currency", S),
        pa.field("currency_conversion_rate", F),
        pa.field(
            "usage",
            pa.struct([("amount", F), ("unit", S), ("amount_in_pricing_units", F), ("pricing_unit", S)]),
        ),
        pa.field(
            "credits",
            pa.list_(pa.struct([("name", S), ("amount", F), ("full_name", S), ("id", S), ("type", S)])),
        ),
        pa.field("invoice", pa.struct([("month", S), ("publisher_type", S)])),
        pa.field("cost_type", S),
        pa.field("adjustment_info", pa.struct([("id", S), ("description", S), ("mode", S), ("type", S)])),
        pa.field("cost_at_list", F),
        pa.field("cost_at_effective_price_default", F),
        pa.field("cost_at_list_consumption_model", F),
        pa.field("consumption_model", pa.struct([("id", S), ("description", S)])),
        *PROVENANCE,
    ]
)

# Without these a row cannot be costed or placed in time: a file lacking any of them is rejected whole.
REQUIRED = ("cost", "usage_start_time", "usage_end_time")
