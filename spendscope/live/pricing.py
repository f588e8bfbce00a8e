"""What one inventory item costs per hour, split by who bills it: the VMs (Compute Engine SKUs from the price
book) and, for a Databricks cluster, its DBUs (node DBU rate × DBU price of the cluster's SKU).

A GCE instance or GKE node pool is `nodes` × the machine type's quote (Spot from the Preemptible SKUs). A
Databricks cluster is its driver (on demand: Databricks keeps the driver off Spot) plus `nodes - 1` workers,
and DBUs for every node: the rate per node type comes from `[live] dbu_per_hour`, else from what billing showed
for that node type (learned.py); the SKU is the one billing last named for the cluster, else the configured
tier's JOBS_COMPUTE for a job cluster (a JobId / RunName default tag) or ALL_PURPOSE_COMPUTE. When a part
cannot be priced the item falls back on its inventory price (observed in billing, or configured), else it is
reported unpriced — never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spendscope.config_live import LiveConfig
from spendscope.pricing import PriceBook, Quote
from spendscope.pricing.book import region_of

GOOGLE, DATABRICKS = "Google Cloud", "Databricks"
COMPUTE_ENGINE = "Compute Engine"
# Upstream states in which an item bills: GCE bills RUNNING (and until a stop completes); Databricks bills DBUs
# while a cluster runs or resizes. A GKE node pool bills for its nodes whatever its status, so any state counts.
BILLING_STATES: dict[str, frozenset[str] | None] = {
    "gce": frozenset({"RUNNING", "STOPPING", "SUSPENDING"}),
    "gke": None,
    "databricks": frozenset({"RUNNING", "RESIZING", "RESTARTING"}),
}
_PLACE = re.compile(r"^[a-z]+-[a-z]+\d+(-[a-z])?$")
# DBU per hour of ONE cluster of a SQL warehouse, by cluster size: Databricks' pricing page "instance types"
# (https://www.databricks.com/product/pricing/product-pricing/instance-types, SQL warehouse sizes), as quoted by a
# public reference found with the code search (2X-Small 4 … Large 40 seen there; X-Large and above from the same
# table as given to us, not re-read). A warehouse bills this × its running clusters × its SKU's DBU price.
SQL_WAREHOUSE_DBU = {"2X-Small": 4.0, "X-Small": 6.0, "Small": 12.0, "Medium": 24.0, "Large": 40.0, "X-Large": 80.0,
                     "2X-Large": 144.0, "3X-Large": 272.0, "4X-Large": 528.0}  # fmt: skip
# Warehouse flavour (collectors/inventory/databricks_serverless.py) → list_prices SKU stem after the tier.
SQL_SKU = {"SERVERLESS": "SERVERLESS_SQL_COMPUTE", "PRO": "SQL_PRO_COMPUTE", "CLASSIC": "SQL_COMPUTE"}
_SERVICES = (("JOBS", "Jobs Compute"), ("ALL_PURPOSE", "All-Purpose Compute"), ("SQL", "Databricks SQL"),
             ("DLT", "Lakeflow Pipelines"))  # fmt: skip


@dataclass(frozen=True)
class Component:
    """One biller's share of an item's hourly cost; `usd_per_hour` None when unpriced."""

    component: str  # vm | dbu | resource | unpriced
    provider: str | None
    service: str | None
    usd_per_hour: float | None
    price_source: str
    sku: str | None
    basis: str


@dataclass(frozen=True)
class DbuRate:
    """DBUs one node of a type consumes per hour, and where the figure came from (config | learned)."""

    dbu_per_hour: float
    source: str
    samples: int = 0


def money(x: float) -> str:
    return f"${x:,.2f}" if x >= 1 else f"${x:,.4f}"


def billing(row: Mapping[str, Any]) -> bool:
    """Whether the item bills in its observed state (and has nodes)."""
    if row.get("kind") == "serving_endpoint":
        # No documented DBU/h per workload size: an unpriced estimate would match the endpoint's billing in
        # reconciliation and stop it being carried, so its spend stays carried from billing (carry.py).
        return False
    states = BILLING_STATES.get(row["platform"], frozenset({"RUNNING"}))
    if states is not None and (row.get("state") or "").upper() not in states:
        return False
    return (row.get("nodes") or 0) > 0


def dbu_service(sku: str) -> str:
    """focus_costs.ServiceName of a DBU SKU (Jobs Compute, All-Purpose Compute, …)."""
    return next((name for key, name in _SERVICES if key in sku.upper()), DATABRICKS)


@dataclass
class Pricer:
    """Prices inventory rows from one price book; quotes are cached per machine type, place and Spot."""

    book: PriceBook
    cfg: LiveConfig
    default_region: str
    learned_dbu: Mapping[str, DbuRate] = field(default_factory=dict)
    skus: Mapping[str, str] = field(default_factory=dict)  # cluster id → DBU SKU billing last named
    _quotes: dict[tuple[str, str, bool], Quote | None] = field(default_factory=dict, repr=False)
    _rows: dict[tuple[Any, ...], list[Component]] = field(default_factory=dict, repr=False)

    def region(self, location: str | None) -> str:
        """A row's region: its zone's or region's, else the configured one (Databricks zones may be AUTO / HA)."""
        place = (location or "").strip().lower()
        return region_of(place) if _PLACE.match(place) else self.default_region

    def machine(self, machine_type: str, region: str, spot: bool) -> Quote | None:
        key = (machine_type, region, spot)
        if key not in self._quotes:
            self._quotes[key] = self.book.machine_hourly(machine_type, region, spot)
        return self._quotes[key]

    def dbu_rate(self, node_type: str | None) -> DbuRate | None:
        if not node_type:
            return None
        if node_type in self.cfg.dbu_per_hour:
            return DbuRate(self.cfg.dbu_per_hour[node_type], "config")
        return self.learned_dbu.get(node_type)

    def sku(self, row: Mapping[str, Any]) -> str:
        """The cluster's DBU SKU: as billing last named it, else the tier's jobs or all-purpose compute."""
        seen = self.skus.get(row.get("resource_id") or "")
        if seen:
            return seen
        kind = "JOBS_COMPUTE" if row.get("job_cluster") else "ALL_PURPOSE_COMPUTE"
        return f"{self.cfg.databricks_tier}_{kind}"

    def components(self, row: Mapping[str, Any]) -> list[Component]:
        """The item's hourly cost by component at its observed size (cached: snapshots of one item repeat)."""
        key = (row["platform"], row.get("machine_type"), row.get("driver_machine_type"), row.get("location"),
               bool(row.get("is_spot")), row.get("nodes"), row.get("resource_id"), row.get("job_cluster"),
               row.get("price_usd_per_hour"), row.get("price_source"))  # fmt: skip
        found = self._rows.get(key)
        if found is None:
            found = self._price(row)
            self._rows[key] = found
        return found

    def _price(self, row: Mapping[str, Any]) -> list[Component]:
        if row["platform"] == "databricks" and row.get("kind") == "sql_warehouse":
            return self._warehouse(row)
        if row["platform"] == "databricks" and row.get("kind") == "serving_endpoint":
            return self._fallback(row, f"no documented DBU/h for serving workload {row.get('machine_type') or '?'}")
        if row["platform"] == "databricks":
            return self._cluster(row)
        nodes, mt, spot = int(row.get("nodes") or 0), row.get("machine_type"), bool(row.get("is_spot"))
        region = self.region(row.get("location"))
        q = self.machine(mt, region, spot) if mt else None
        if q is None:
            return self._fallback(row, f"no price-book quote for {mt or 'an unknown machine type'} in {region}")
        what = f"{nodes} × {mt}{' Spot' if spot else ''} in {region} at {money(q.usd_per_hour)}/h each ({q.source})"
        return [Component("vm", GOOGLE, COMPUTE_ENGINE, q.usd_per_hour * nodes, q.source, ",".join(q.sku_ids), what)]

    def _cluster(self, row: Mapping[str, Any]) -> list[Component]:
        workers = max(int(row.get("nodes") or 0) - 1, 0)
        worker_type = row.get("machine_type")
        driver_type = row.get("driver_machine_type") or worker_type
        region, spot = self.region(row.get("location")), bool(row.get("is_spot"))
        missing: list[str] = []
        driver = self.machine(driver_type, region, False) if driver_type else None
        worker = self.machine(worker_type, region, spot) if worker_type and workers else None
        if driver is None or (workers and worker is None):
            missing.append(f"no price-book quote for {driver_type if driver is None else worker_type} in {region}")
        d_rate, w_rate = self.dbu_rate(driver_type), self.dbu_rate(worker_type) if workers else None
        if d_rate is None or (workers and w_rate is None):
            missing.append(
                f"no DBU rate for {driver_type if d_rate is None else worker_type} (set [live.dbu_per_hour])"
            )
        sku = self.sku(row)
        dbus = (d_rate.dbu_per_hour if d_rate else 0.0) + workers * (w_rate.dbu_per_hour if w_rate else 0.0)
        dbu = self.book.dbu_rate(sku, self.cfg.databricks_cloud, dbus) if not missing else None
        if not missing and dbu is None:
            missing.append(f"no DBU price for {sku}")
        if missing or driver is None or dbu is None:
            return self._fallback(row, "; ".join(missing))
        vm_usd = driver.usd_per_hour + workers * (worker.usd_per_hour if worker else 0.0)
        vm_skus = ",".join(dict.fromkeys([*driver.sku_ids, *(worker.sku_ids if worker else ())]))
        vm_src = "+".join(sorted({driver.source, *([worker.source] if worker else [])}))
        vm_what = f"driver {driver_type} on demand at {money(driver.usd_per_hour)}/h"
        if workers and worker is not None:
            vm_what += f" + {workers} × {worker_type}{' Spot' if spot else ''} at {money(worker.usd_per_hour)}/h"
        rates = "/".join(sorted({r.source for r in (d_rate, w_rate) if r is not None}))
        per_dbu = money(dbu.usd_per_hour / dbus if dbus else 0.0)
        dbu_what = f"{dbus:g} DBU/h ({workers + 1} node(s), {rates}) × {sku} at {per_dbu}"
        return [
            Component("vm", GOOGLE, COMPUTE_ENGINE, vm_usd, vm_src, vm_skus, f"{vm_what} in {region} ({vm_src})"),
            Component("dbu", DATABRICKS, dbu_service(sku), dbu.usd_per_hour, dbu.source, sku,
                      f"{dbu_what}/DBU ({dbu.source})"),
        ]  # fmt: skip

    def _warehouse(self, row: Mapping[str, Any]) -> list[Component]:
        """DBU/h of the size × running clusters × the SKU's DBU price (billing's SKU, else the tier's)."""
        flavour, _, size = (row.get("machine_type") or "").partition(":")
        per_cluster, stem = SQL_WAREHOUSE_DBU.get(size), SQL_SKU.get(flavour)
        if per_cluster is None or stem is None:
            return self._fallback(row, f"no DBU size for SQL warehouse {row.get('machine_type') or '?'}")
        clusters = int(row.get("nodes") or 0)
        sku = self.skus.get(row.get("resource_id") or "") or f"{self.cfg.databricks_tier}_{stem}"
        dbus = per_cluster * clusters
        dbu = self.book.dbu_rate(sku, self.cfg.databricks_cloud, dbus)
        if dbu is None:
            return self._fallback(row, f"no DBU price for {sku}")
        what = (f"{dbus:g} DBU/h ({clusters} × {size} cluster(s) at {per_cluster:g}) × {sku} at "
                f"{money(dbu.usd_per_hour / dbus if dbus else 0.0)}/DBU ({dbu.source})")  # fmt: skip
        return [Component("dbu", DATABRICKS, dbu_service(sku), dbu.usd_per_hour, dbu.source, sku, what)]

    def _fallback(self, row: Mapping[str, Any], why: str) -> list[Component]:
        """The inventory's own $/h for the whole item (billing-observed or configured), else unpriced."""
        price, source = row.get("price_usd_per_hour"), row.get("price_source")
        gcp = row["platform"] != "databricks"
        provider, service = (GOOGLE, COMPUTE_ENGINE) if gcp else (None, None)
        if price is not None and source in ("billing", "config"):
            src = "billing-observed" if source == "billing" else "config"
            what = f"inventory price {money(price)}/h for the whole {row.get('kind') or 'item'} ({src}); {why}"
            return [Component("resource", provider, service, float(price), src, None, what)]
        return [Component("unpriced", provider, service, None, "unpriced", None, why)]
