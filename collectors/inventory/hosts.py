"""Joining a GPU sample's `host` to the inventory item it runs on, in Python and in SQL.

`inventory.hosts` holds, per item, exact names and patterns: an entry ending in '*' is a prefix pattern.
- GCE instance: its name (the default hostname), a custom hostname and its first label, internal IPs.
- GKE node pool: `<mig base>-*` patterns (a node is named after its managed instance group), plus, when the
  project's instances are listed too, the pool's live node names and IPs.
- Databricks cluster: driver and executor `private_ip`, `host_private_ip`, `node_id`, `instance_id`, the
  names of the cluster's GCE VMs (found by their `clusterid` label), and `<cluster_id>-*` (a Databricks
  container's hostname is the cluster id followed by its dashed IP).

dcgm-exporter's Hostname, nvidia-smi's and NVML's host are compared case-insensitively; exact entries win
over patterns and a longer pattern over a shorter one, so the most specific item is chosen. `resolve` also
tries a FQDN's first label; the SQL compares whole names. Inventory rows are appended each run: join the
latest snapshot per item (`LATEST_INVENTORY_SQL`); `HOST_JOIN_SQL` is the whole join for gpu_minutes
(BigQuery Standard SQL, tested on DuckDB).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# The newest row of every item seen in the last day (a removed VM drops out after a day).
LATEST_INVENTORY_SQL = """
SELECT *
FROM inventory
WHERE observed_at >= TIMESTAMP_SUB(@now, INTERVAL 1 DAY)
QUALIFY ROW_NUMBER() OVER (PARTITION BY platform, resource_id ORDER BY observed_at DESC) = 1
"""

# gpu_minutes rows with the inventory item their host belongs to (the most specific match; null if none).
HOST_JOIN_SQL = f"""
WITH inv AS ({LATEST_INVENTORY_SQL}),
entries AS (
  SELECT i.platform, i.resource_id, i.resource_name, i.cluster, i.price_usd_per_hour, i.gpu_count,
         LOWER(RTRIM(h, '*')) AS key, ENDS_WITH(h, '*') AS is_prefix
  FROM inv AS i, UNNEST(i.hosts) AS h
),
matched AS (
  SELECT m.*, e.platform, e.resource_id, e.resource_name, e.cluster AS inventory_cluster,
         e.price_usd_per_hour, e.gpu_count AS inventory_gpu_count,
         ROW_NUMBER() OVER (
           PARTITION BY m.minute, m.host, m.gpu_index, m.mig_instance
           ORDER BY IF(e.is_prefix, 0, 1) DESC, LENGTH(e.key) DESC
         ) AS rank_
  FROM gpu_minutes AS m
  LEFT JOIN entries AS e
    ON LOWER(m.host) = e.key OR (e.is_prefix AND STARTS_WITH(LOWER(m.host), e.key))
  WHERE m.minute >= @since
)
SELECT * EXCEPT (rank_) FROM matched WHERE rank_ = 1
"""


def matches(entry: str, host: str) -> int:
    """How well `entry` names `host`: 0 no match, else higher is more specific (exact beats any pattern)."""
    h, e = host.lower(), entry.lower()
    if e.endswith("*"):
        prefix = e[:-1]
        return 1 + len(prefix) if prefix and h.startswith(prefix) else 0
    return 1_000_000 if e == h else 0


def resolve(inventory_rows: Iterable[Mapping[str, Any]], host: str) -> Mapping[str, Any] | None:
    """The inventory row whose `hosts` names `host` most specifically; None when no item claims it."""
    # A FQDN also matches by its short name (an IPv4 address is not a FQDN).
    names = {host} if host.replace(".", "").isdigit() else {host, host.split(".", 1)[0]}
    best: tuple[int, Mapping[str, Any]] | None = None
    for row in inventory_rows:
        score = max((matches(e, n) for e in row.get("hosts") or [] for n in names), default=0)
        if score and (best is None or score > best[0]):
            best = (score, row)
    return best[1] if best else None
