"""What the live estimate reads from the warehouse: inventory snapshots, and what billing taught about Databricks.

Snapshots come as flat rows (the `team` label and the job-cluster default tags pulled out in SQL), so no label
list crosses into Python. Learned from billing, over `[live] learn_days`:
- a cluster's DBU SKU: the last one `databricks_usage` named for its cluster_id (tier, jobs or all-purpose, Photon);
- DBUs per node-hour of a node type: the DBUs billed to clusters of that type divided by the node-hours the
  estimate counted for them in the same hours (clusters whose driver and workers share the type).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from spendscope.live.pricing import DbuRate

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse

_WHERE = """
FROM inventory
WHERE _day BETWEEN @dmin AND @dmax AND observed_at >= @since AND observed_at <= @at
  AND platform IN ('gce', 'gke', 'databricks') AND resource_id IS NOT NULL
"""
_ATTRS = ("kind", "resource_name", "cluster", "state", "project", "location", "machine_type", "driver_machine_type",
          "nodes", "gpu_model", "gpu_count", "is_spot", "started_at", "team", "job_cluster", "price_usd_per_hour",
          "price_source")  # fmt: skip
# One row per snapshot of an item (flat: the team label and the job-cluster tags pulled out).
RAW_SQL = f"""
SELECT observed_at, _source AS source, platform, kind, resource_id, resource_name, cluster, state, project,
       location, machine_type, driver_machine_type, nodes, gpu_model, gpu_count, is_spot, started_at,
       COALESCE(LABEL_VALUE(labels, 'team'), LABEL_VALUE(labels, 'Team')) AS team,
       COALESCE(LABEL_VALUE(labels, 'JobId'), LABEL_VALUE(labels, 'jobid'), LABEL_VALUE(labels, 'RunName'),
                LABEL_VALUE(labels, 'runname')) IS NOT NULL AS job_cluster,
       price_usd_per_hour, price_source
{_WHERE}"""
# Runs of identical snapshots of an item, each at its source's next snapshot within stale_after, come back as one
# row (observed_at = the first, last_seen = the last): the estimate is the same, for a fraction of the rows.
SNAPSHOT_SQL = f"""
WITH snaps AS ({RAW_SQL}
),
ticks AS (
  SELECT source, observed_at, LAG(observed_at) OVER (PARTITION BY source ORDER BY observed_at) AS source_prev
  FROM (SELECT DISTINCT source, observed_at FROM snaps)
),
keyed AS (
  SELECT s.*, t.source_prev,
         LAG(s.observed_at) OVER (PARTITION BY s.source, s.platform, s.resource_id ORDER BY s.observed_at) AS item_prev,
         CONCAT({", '|', ".join(f"IFNULL(CAST(s.{c} AS STRING), '-')" for c in _ATTRS)}) AS attrs
  FROM snaps AS s JOIN ticks AS t ON s.source = t.source AND s.observed_at = t.observed_at
),
marked AS (
  SELECT *,
         IF(item_prev = source_prev
            AND LAG(attrs) OVER (PARTITION BY source, platform, resource_id ORDER BY observed_at) = attrs
            AND TIMESTAMP_DIFF(observed_at, item_prev, SECOND) <= @stale_s, 0, 1) AS brk
  FROM keyed
),
islands AS (
  SELECT *, SUM(brk) OVER (PARTITION BY source, platform, resource_id ORDER BY observed_at
                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS island
  FROM marked
)
SELECT MIN(observed_at) AS observed_at, MAX(observed_at) AS last_seen, source, platform, resource_id,
       {", ".join(f"ANY_VALUE({c}) AS {c}" for c in _ATTRS)}
FROM islands
GROUP BY source, platform, resource_id, island
"""
TICKS_SQL = f"SELECT DISTINCT _source AS source, observed_at {_WHERE}"

# Keyed by cluster id, or warehouse id for a SQL warehouse (its SKU names the region, which config cannot).
SKU_SQL = """
SELECT COALESCE(usage_metadata.cluster_id, usage_metadata.warehouse_id) AS cluster_id, sku_name
FROM databricks_usage
WHERE _day >= @dmin AND usage_start_time >= @since AND usage_start_time < @at
  AND COALESCE(usage_metadata.cluster_id, usage_metadata.warehouse_id) IS NOT NULL AND usage_unit = 'DBU'
QUALIFY ROW_NUMBER() OVER (PARTITION BY COALESCE(usage_metadata.cluster_id, usage_metadata.warehouse_id)
                           ORDER BY usage_start_time DESC, sku_name) = 1
"""

# DBUs billed per cluster-hour against the node-hours the estimate counted for that cluster and hour.
DBU_RATE_SQL = """
WITH billed AS (
  SELECT usage_metadata.cluster_id AS resource_id, TIMESTAMP_TRUNC(usage_start_time, HOUR) AS hour,
         SUM(usage_quantity) AS dbus
  FROM databricks_usage
  WHERE _day >= @dmin AND usage_start_time >= @since AND usage_start_time < @at
    AND usage_metadata.cluster_id IS NOT NULL AND usage_unit = 'DBU'
  GROUP BY 1, 2
),
counted AS (
  SELECT resource_id, hour, ANY_VALUE(machine_type) AS node_type, MAX(node_hours) AS node_hours
  FROM cost_estimates
  WHERE _day >= @dmin AND hour >= @since AND hour < @at AND platform = 'databricks'
    AND (driver_machine_type IS NULL OR driver_machine_type = machine_type)
  GROUP BY 1, 2
)
SELECT c.node_type, SUM(b.dbus) AS dbus, SUM(c.node_hours) AS node_hours, COUNT(*) AS samples
FROM counted AS c JOIN billed AS b ON b.resource_id = c.resource_id AND b.hour = c.hour
WHERE c.node_hours > 0 AND c.node_type IS NOT NULL
GROUP BY 1
"""


def snapshots(
    wh: Warehouse, since: dt.datetime, at: dt.datetime, stale_after: dt.timedelta
) -> tuple[list[dict[str, Any]], dict[str, list[dt.datetime]]]:
    """Inventory observed in [since, at] as runs of identical snapshots, and every source's snapshot times."""
    params = {"dmin": since.date(), "dmax": at.date(), "since": since, "at": at,
              "stale_s": int(stale_after.total_seconds())}  # fmt: skip
    rows = wh.query(SNAPSHOT_SQL, params).to_pylist()
    times: dict[str, list[dt.datetime]] = {}
    for r in wh.query(TICKS_SQL, params).to_pylist():
        times.setdefault(r["source"], []).append(r["observed_at"])
    return rows, {src: sorted(ts) for src, ts in times.items()}


def observed_skus(wh: Warehouse, at: dt.datetime, days: int) -> dict[str, str]:
    """cluster_id (or warehouse_id) → the DBU SKU billing last named for it (within `days` before `at`)."""
    since = at - dt.timedelta(days=days)
    rows = wh.query(SKU_SQL, {"dmin": since.date(), "since": since, "at": at}).to_pylist()
    return {r["cluster_id"]: r["sku_name"] for r in rows}


def learned_dbu_rates(wh: Warehouse, at: dt.datetime, days: int) -> dict[str, DbuRate]:
    """Node type → DBUs per node-hour, from billed DBUs over estimated node-hours (within `days` before `at`)."""
    since = at - dt.timedelta(days=days)
    rows = wh.query(DBU_RATE_SQL, {"dmin": since.date(), "since": since, "at": at}).to_pylist()
    return {
        r["node_type"]: DbuRate(float(r["dbus"]) / float(r["node_hours"]), "learned", int(r["samples"]))
        for r in rows
        if r["node_hours"] and r["dbus"] is not None
    }
