"""`prices`: unit prices with validity periods — GCP Catalog SKUs per region, Databricks DBU rates.

One row per price version of one (provider, service_id, sku_id, region, usage_type, unit, currency). A sync
never overwrites a price: a change closes the current row (sets `valid_to`, the only update ever made) and
adds a new one, so `valid_from <= t < valid_to` answers "what did this cost at t" for any t since the first
sync. `_day` is the UTC day of `valid_from`; a sync rewrites only the day partitions holding the rows it closes
or adds (collectors/prices/history.py). Money columns are USD per `unit`; `tiers` keeps the API's tiered
rates as JSON in `currency`.
"""

from __future__ import annotations

import pyarrow as pa

from exporters.warehouse.schema.types import PROVENANCE, TS

S, F = pa.string(), pa.float64()

PRICES = pa.schema(
    [
        pa.field("provider", S, nullable=False),  # gcp | databricks
        pa.field("service_id", S),  # Catalog service id (6F81-5844-456A); Databricks: the cloud (GCP, AWS, ANY)
        pa.field("sku_id", S),  # Catalog sku id; Databricks: sku_name
        pa.field("description", S),
        pa.field("region", S),  # a GCP region, or "global"
        pa.field("usage_type", S),  # OnDemand | Preemptible | Commit1Yr | Commit3Yr | …
        pa.field("resource_family", S),  # Compute, Storage, Network; Databricks: DBU
        pa.field("resource_group", S),  # GPU, CPU, RAM, LocalSSD, …
        pa.field("component", S),  # gpu | core | ram | local_ssd | hyperdisk | egress | dbu: what lookups key on
        pa.field("item", S),  # H100, H100-MEGA, A100-40GB, A3, C4A, balanced-capacity, internet…, sku name
        pa.field("unit", S),  # Catalog usage_unit: h, GiBy.h, GiBy.mo, GiBy; Databricks: DBU
        pa.field("base_unit", S),  # the unit of usage exports: s, By.s, By (Catalog base_unit)
        pa.field("base_unit_factor", F),  # base units per `unit` (price / factor = price per base unit)
        pa.field("list_usd_per_unit", F),  # first nonzero tier (list price)
        pa.field("usd_per_unit", F),  # after discount_pct
        pa.field("discount_pct", F),  # contract discount applied, percent (0 when none)
        pa.field("tiers", S),  # JSON [{"start": amount in unit, "price": per unit}] as the API gave them
        pa.field("currency", S),  # currency the source quoted (tiers are in it; the usd_ columns are USD)
        pa.field("source", S),  # catalog | list_prices | config
        pa.field("valid_from", TS, nullable=False),
        pa.field("valid_to", TS),  # null: the current price
        pa.field("fetched_at", TS),  # when the sync that wrote this version read the source
        *PROVENANCE,
    ]
)
PRICES_REQUIRED = ("provider", "sku_id", "valid_from", "usd_per_unit")

# The identity of a price series: one current row at most per key.
PRICE_KEY = ("provider", "service_id", "sku_id", "region", "usage_type", "unit", "currency")
# What makes two versions the same price (a difference opens a new version); provenance and times aside.
PRICE_CONTENT = (
    "description", "resource_family", "resource_group", "component", "item", "base_unit", "base_unit_factor",
    "list_usd_per_unit", "usd_per_unit", "discount_pct", "tiers", "source",
)  # fmt: skip
