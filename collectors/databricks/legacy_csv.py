"""Pure: the account console's legacy billable-usage CSV → `system.billing.usage`-shaped records.

Columns: workspaceId, timestamp (hourly), clusterId, clusterName, clusterNodeType, clusterOwnerUserId,
clusterCustomTags, sku, dbus, machineHours. Each row is one cluster-hour of DBUs. Choices where the
legacy file has no system-table counterpart:
- `clusterName` becomes the custom tag `ClusterName` (Databricks' own default cluster tag) unless the
  cluster's tags already carry one; usage_metadata has no member for it.
- `clusterOwnerUserId` becomes identity_metadata.owned_by; `machineHours` is not kept (no column).
- `record_id` is a stable hash of (workspace, cluster, hour, sku) so re-ingesting stays identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from collectors.databricks import cells
from collectors.databricks.cells import CellError
from collectors.databricks.rows import normalize_sku

HOUR = dt.timedelta(hours=1)


def parse_tags(value: Any) -> dict[str, Any] | None:
    """clusterCustomTags: JSON (or any `cells.mapping` form), or `key:value` pairs split by ; or ,."""
    if cells.is_null(value):
        return None
    s = str(value).strip()
    if s.startswith(("{", "[")):
        return cells.mapping(s, "clusterCustomTags")
    sep = ";" if ";" in s else ","
    out: dict[str, Any] = {}
    for pair in s.split(sep):
        if not pair.strip():
            continue
        key, colon, val = pair.partition(":")
        if not colon:
            key, colon, val = pair.partition("=")
        if not colon or not key.strip():
            raise CellError(f"clusterCustomTags: not key:value pairs: {s[:60]!r}")
        out[key.strip()] = val.strip()
    return out


def legacy_record(rec: Mapping[str, Any], cloud: str) -> dict[str, Any]:
    """One legacy row as a system.billing.usage record (usage_unit DBU, one hour from `timestamp`)."""
    sku_text = cells.text(rec.get("sku"))
    if not sku_text:
        raise CellError("sku is empty")
    start = cells.timestamp(rec.get("timestamp"), "timestamp")
    if start is None:
        raise CellError("timestamp is empty")
    dbus = cells.number(rec.get("dbus"), "dbus")
    if dbus is None:
        raise CellError("dbus is empty")
    sku = normalize_sku(sku_text)
    workspace = cells.text(rec.get("workspaceId"))
    cluster = cells.text(rec.get("clusterId"))
    tags = parse_tags(rec.get("clusterCustomTags")) or {}
    name = cells.text(rec.get("clusterName"))
    if name and "ClusterName" not in tags:
        tags = {**tags, "ClusterName": name}
    ident = "|".join(str(x) for x in (workspace, cluster, start.isoformat(), sku))
    return {
        "record_id": "legacy-" + hashlib.sha256(ident.encode()).hexdigest()[:24],
        "account_id": None,
        "workspace_id": workspace,
        "sku_name": sku,
        "cloud": cloud,
        "usage_start_time": start,
        "usage_end_time": start + HOUR,
        "usage_date": start.date(),
        "custom_tags": tags,
        "usage_unit": "DBU",
        "usage_quantity": dbus,
        "usage_metadata": {"cluster_id": cluster, "node_type": cells.text(rec.get("clusterNodeType"))},
        "identity_metadata": {"owned_by": cells.text(rec.get("clusterOwnerUserId"))},
        "record_type": "ORIGINAL",
        "usage_type": "COMPUTE_TIME",
    }
