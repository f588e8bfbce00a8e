"""The live spend estimate: `cost_estimates` (what runs now, priced per UTC hour) and `estimate_errors` (the estimate
against the bill once billing has landed for an hour).

`cost_estimates` holds one row per hour, resource and price component (`vm`: the Compute Engine VMs, `dbu`: the
Databricks DBUs, `resource`: the whole resource at an observed or configured $/h, `unpriced`: nothing could price
it). The live job replaces the current and previous hour (keys `_day` + `hour`), so a re-run gives the same rows.
Money is USD: `usd_raw` before the platform's correction factor, `usd` after it; `projected_usd` adds the rest of
an hour still under way at the current run-rate. `estimate_errors` holds per platform (resource_id null) and per
resource rows for every hour the billing covers completely; the correction factors are learned from it.
"""

from __future__ import annotations

import pyarrow as pa

from exporters.warehouse.schema.types import PROVENANCE, TS

S, F, I64, B = pa.string(), pa.float64(), pa.int64(), pa.bool_()

COST_ESTIMATES = pa.schema(
    [
        pa.field("hour", TS, nullable=False),  # UTC hour start
        pa.field("platform", S),  # gce | gke | databricks
        pa.field("component", S),  # vm | dbu | resource | unpriced
        pa.field("provider", S),  # as focus_costs.ProviderName: Google Cloud | Databricks
        pa.field("service", S),  # as focus_costs.ServiceName: Compute Engine, Jobs Compute, …
        pa.field("resource_id", S),  # the inventory item's id (GCE instance id, GKE pool self link, cluster_id)
        pa.field("resource_name", S),
        pa.field("kind", S),  # instance | node_pool | cluster
        pa.field("cluster", S),
        pa.field("team", S),  # the item's `team` label
        pa.field("project", S),
        pa.field("location", S),
        pa.field("machine_type", S),
        pa.field("driver_machine_type", S),
        pa.field("is_spot", B),
        pa.field("nodes", I64),  # VMs at the last observation in the hour
        pa.field("node_hours", F),  # VM-hours run within the hour
        pa.field("gpu_model", S),
        pa.field("gpu_hours", F),
        pa.field("run_hours", F),  # share of the hour the resource ran (0–1)
        pa.field("running", B),  # still running at `until` (its last observation still holds)
        pa.field("usd_per_hour", F),  # run-rate at the last observation, before correction
        pa.field("usd_raw", F),  # USD for the part of the hour it ran, before correction
        pa.field("correction", F),  # the platform's factor applied (1.0 when none is learned yet)
        pa.field("usd", F),  # usd_raw × correction
        pa.field("projected_usd", F),  # usd plus the rest of an hour under way at the corrected run-rate
        pa.field("price_source", S),  # catalog | list_prices | billing-observed | config | unpriced
        pa.field("sku", S),  # the SKUs summed (Catalog sku ids, or the Databricks sku_name)
        pa.field("basis", S),  # how the rate was made, for people
        pa.field("until", TS),  # the estimate covers [hour, until)
        pa.field("computed_at", TS),
        *PROVENANCE,
    ]
)
COST_ESTIMATES_REQUIRED = ("hour", "platform")

ESTIMATE_ERRORS = pa.schema(
    [
        pa.field("hour", TS, nullable=False),
        pa.field("platform", S),
        pa.field("level", S),  # platform | resource
        pa.field("resource_id", S),  # null on platform rows; a billed resource the estimate missed keeps its id
        pa.field("resource_name", S),
        pa.field("matched", B),  # resource rows: the billed resource is an estimated one
        pa.field("provider", S),  # resource rows the estimate missed: as billed (what carrying them forward needs)
        pa.field("service", S),
        pa.field("team", S),
        pa.field("project", S),
        pa.field("estimated_raw_usd", F),
        pa.field("estimated_usd", F),  # after the correction in force when it was estimated
        pa.field("billed_usd", F),
        pa.field("error_usd", F),  # estimated_usd − billed_usd
        pa.field("error_ratio", F),  # error_usd / billed_usd (null when nothing was billed)
        pa.field("ratio", F),  # billed_usd / estimated_raw_usd: what a correction factor learns from
        pa.field("price_source", S),
        pa.field("complete_until", TS),  # the platform's billing cut when this was computed
        pa.field("computed_at", TS),
        *PROVENANCE,
    ]
)
ESTIMATE_ERRORS_REQUIRED = ("hour", "platform", "level")
