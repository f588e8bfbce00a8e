"""Joining a GPU sample's `host` to the inventory item it runs on.

`inventory.hosts` holds, per item, exact names and patterns: an entry ending in '*' is a prefix pattern.
- GCE instance: its name (the default hostname), a custom hostname and its first label, internal IPs.
- GKE node pool: `<mig base>-*` patterns (a node is named after its managed instance group), plus, when the
  project's instances are listed too, the pool's live node names and IPs.
- Databricks cluster: driver and executor `private_ip`, `host_private_ip`, `node_id`, `instance_id`, the
  names of the cluster's GCE VMs (found by their labels, owners.py), and `<cluster_id>-*` (a Databricks
  container's hostname is the cluster id followed by its dashed IP).

dcgm-exporter's Hostname, nvidia-smi's and NVML's host are compared case-insensitively; exact entries win
over patterns and a longer pattern over a shorter one, so the most specific item is chosen; a FQDN also
matches by its first label (`a3-train-01.us-central1-a.c.p.internal` → `a3-train-01`), an IP address only
whole. `HostIndex` is THE matcher: unit economics, idle-now and the exporters' labels use it
(spendscope.economics), `resolve` is the one-off form. Inventory rows are appended each run: match against
the latest snapshot per item (`LATEST_INVENTORY_SQL`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

R = TypeVar("R", bound=Mapping[str, Any])

# The newest row of every item seen in the last day (a removed VM drops out after a day).
LATEST_INVENTORY_SQL = """
SELECT *
FROM inventory
WHERE observed_at >= TIMESTAMP_SUB(@now, INTERVAL 1 DAY)
QUALIFY ROW_NUMBER() OVER (PARTITION BY platform, resource_id ORDER BY observed_at DESC) = 1
"""


def matches(entry: str, host: str) -> int:
    """How well `entry` names `host`: 0 no match, else higher is more specific (exact beats any pattern)."""
    h, e = host.lower(), entry.lower()
    if e.endswith("*"):
        prefix = e[:-1]
        return 1 + len(prefix) if prefix and h.startswith(prefix) else 0
    return 1_000_000 if e == h else 0


def _names(host: str) -> list[str]:
    """The host and, for a FQDN, its first label; an IP address is matched only whole."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        short = host.split(".", 1)[0]
        return [host, short] if short and short != host else [host]
    return [host]


class HostIndex(Generic[R]):
    """Host → the inventory row whose `hosts` names it most specifically (built once, looked up per host)."""

    def __init__(self, rows: Iterable[R]) -> None:
        self.exact: dict[str, R] = {}
        self.prefixes: list[tuple[str, R]] = []
        for row in rows:
            for entry in row.get("hosts") or []:
                key = (entry or "").lower()
                if key.endswith("*"):
                    if len(key) > 1:  # a bare '*' claims nothing
                        self.prefixes.append((key[:-1], row))
                elif key:
                    self.exact.setdefault(key, row)  # two items naming one host: the first listed keeps it
        self.prefixes.sort(key=lambda p: -len(p[0]))  # stable: among equal patterns the first listed wins

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefixes)

    def lookup(self, host: str | None) -> R | None:
        """The row naming `host` exactly (whole name, then a FQDN's first label), else by its longest pattern."""
        name = (host or "").strip().lower()
        if not name:
            return None
        names = _names(name)
        for candidate in names:
            if candidate in self.exact:
                return self.exact[candidate]
        for prefix, row in self.prefixes:
            # The whole name is enough: a pattern matching the short name matches the name it begins.
            if name.startswith(prefix):
                return row
        return None


def resolve(inventory_rows: Iterable[R], host: str) -> R | None:
    """The inventory row whose `hosts` names `host` most specifically; None when no item claims it."""
    return HostIndex(inventory_rows).lookup(host)
