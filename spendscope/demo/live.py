"""The demo's live estimate: its price list, the inventory the live job would have seen every 5 minutes, and the
estimate of its last weeks reconciled against its own billing (cost_estimates, estimate_errors, spend_live cuts).

Prices are the fleet's SKUs (fleet.py) as a Catalog sync would store them, with the demo's contract discounts as
`[prices.discounts.sku]` would set them — 25 % on the on-demand A3 SKUs (the dollar-based CUD every on-demand
A3 VM gets) and 37 % on C4A (the CPU CUD of the ETL VMs) — and the Databricks list prices with their change.
The snapshots list every resource of the plan at each 5-minute tick as the collector's sources would: running
with its size then (a GKE pool's live nodes, a cluster's VMs) or stopped (TERMINATED, 0 nodes), so a run costs
from the tick that first shows it to the tick that shows it gone. They are not written to `inventory` (its demo
rows are one per resource and day, which other pages and rules rely on); the estimate reads them directly.
The SQL warehouse is listed as the inventory collector lists one (collectors/inventory/databricks_serverless.py:
`SERVERLESS:<size>`, its running clusters), so the estimate prices it by size. Serving endpoints have no size
the estimate can price, as in production: their spend is carried from billing (spendscope/live/carry.py, seeded
from the DBU billing before the first reconciliation).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from collectors.prices.rows import price_row
from exporters.warehouse.schema.prices import PRICES
from spendscope.demo.fleet import (
    A2_CORE,
    A2_RAM,
    A3_CORE,
    A3_CORE_SPOT,
    A3_RAM,
    A3_RAM_SPOT,
    A3_SPOT,
    A100,
    C4A_CORE,
    C4A_RAM,
    H100,
    H100_SPOT,  # fmt: skip
    LOCAL_SSD,
    REGION,
    ZONE,
    Sku,
)
from spendscope.demo.plan import Plan, dbu_price, node_hourly
from spendscope.demo.telemetry_hosts import node_of, platform_of
from spendscope.demo.telemetry_inventory import resource_of
from spendscope.demo.workspace import DBU_PRICES, DBX, DBX_WORKSPACE, JOBS, JOBS_PRICE_AFTER
from spendscope.live import complete
from spendscope.live.estimate import HOUR
from spendscope.live.job import estimate_hours, learn, write_estimates
from spendscope.live.pricing import SQL_WAREHOUSE_DBU
from spendscope.live.reconcile import reconcile

if TYPE_CHECKING:
    from exporters.warehouse import Warehouse
    from spendscope.config import Settings

log = logging.getLogger(__name__)

TICK = dt.timedelta(minutes=5)
CHUNK_HOURS = 24  # the replay relearns (factors, rates, spend to carry) once a day of demo time
LIVE_DAYS = 21  # the estimate covers the demo's last three weeks: one to learn the factors, two to show them
SINCE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
COMPUTE_ENGINE = "6F81-5844-456A"
DISCOUNTS = {H100.id: 25.0, A3_CORE.id: 25.0, A3_RAM.id: 25.0, C4A_CORE.id: 37.0, C4A_RAM.id: 37.0}
# Catalog SKU → (component, item, usage type); Local SSD is listed for Spot VMs too (the demo bills one SKU).
_CATALOG: list[tuple[Sku, str, str, str]] = [
    (H100, "gpu", "H100", "OnDemand"), (A3_CORE, "core", "A3", "OnDemand"), (A3_RAM, "ram", "A3", "OnDemand"),
    (H100_SPOT, "gpu", "H100", "Preemptible"), (A3_CORE_SPOT, "core", "A3", "Preemptible"),
    (A3_RAM_SPOT, "ram", "A3", "Preemptible"), (A100, "gpu", "A100-40GB", "OnDemand"),
    (A2_CORE, "core", "A2", "OnDemand"), (A2_RAM, "ram", "A2", "OnDemand"), (C4A_CORE, "core", "C4A", "OnDemand"),
    (C4A_RAM, "ram", "C4A", "OnDemand"), (LOCAL_SSD, "local_ssd", "local-ssd", "OnDemand"),
    (LOCAL_SSD, "local_ssd", "local-ssd", "Preemptible"),
]  # fmt: skip
_UNITS = {"hour": ("h", "s", 3600.0), "gibibyte hour": ("GiBy.h", "By.s", 2**30 * 3600.0),
          "gibibyte month": ("GiBy.mo", "By.s", 2**30 * 3600.0 * 730)}  # fmt: skip


def price_rows(plan: Plan) -> list[dict[str, Any]]:
    """The demo's `prices`: its Catalog SKUs (with its discounts) and its DBU list prices (with the change)."""
    rows = []
    for sku, component, item, usage in _CATALOG:
        unit, base, factor = _UNITS[sku.pricing_unit]
        pct = DISCOUNTS.get(sku.id, 0.0)
        rows.append(price_row(
            provider="gcp", service_id=COMPUTE_ENGINE, sku_id=sku.id, description=sku.description, region=REGION,
            usage_type=usage, resource_family="Compute", component=component, item=item, unit=unit, base_unit=base,
            base_unit_factor=factor, list_usd_per_unit=sku.price, usd_per_unit=sku.price * (1 - pct / 100),
            discount_pct=pct, currency="USD", source="catalog", valid_from=SINCE,
        ))  # fmt: skip
    change = plan.jobs_price_change
    for name, price in DBU_PRICES.items():
        versions = [(SINCE, change, price), (change, None, JOBS_PRICE_AFTER)] if name == JOBS and change else [
            (SINCE, None, price)]  # fmt: skip
        for start, end, usd in versions:
            rows.append(price_row(
                provider="databricks", service_id="GCP", sku_id=name, description=name, region="global",
                usage_type="OnDemand", resource_family="DBU", component="dbu", item=name, unit="DBU",
                list_usd_per_unit=usd, usd_per_unit=usd, discount_pct=0.0, currency="USD", source="list_prices",
                valid_from=start, valid_to=end,
            ))  # fmt: skip
    return rows


def write_prices(wh: Warehouse, plan: Plan) -> int:
    rows = price_rows(plan)
    keys = [{"_day": d, "_source": "demo"} for d in sorted({r["_day"] for r in rows})]
    return wh.replace("prices", pa.Table.from_pylist([{**r, "_source": "demo"} for r in rows], schema=PRICES), keys)


def snapshots(plan: Plan, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Every GCE/GKE/Databricks resource of the plan at each 5-minute tick in [start, end), as the live job reads
    inventory (running with its size then, or stopped)."""
    listed = [r for r in plan.runs if node_of(r.key) is not None or _warehouse(r.key)]
    runs = [r for r in listed if r.end > start - HOUR * 24 and r.start < end]
    keys = sorted({r.key for r in runs})
    out = []
    t = start
    while t < end:
        for key in keys:
            live = [r for r in runs if r.key == key and r.start <= t < r.end]
            out.append(_warehouse_row(key, t, live) if _warehouse(key) else _row(plan, key, t, live))
        t += TICK
    return out


def _warehouse(key: str) -> bool:
    c = DBX.get(key)
    return c is not None and c.product == "SQL"


def _warehouse_row(key: str, t: dt.datetime, live: list[Any]) -> dict[str, Any]:
    """The SQL warehouse as the inventory collector lists it: size from its DBU/h per cluster, running clusters."""
    c = DBX[key]
    size = next(name for name, dbu in SQL_WAREHOUSE_DBU.items() if dbu == c.dbu_per_node_hour)
    clusters = sum(r.nodes for r in live)
    return {
        "observed_at": t, "source": "demo:databricks", "platform": "databricks", "kind": "sql_warehouse",
        "resource_id": dict(c.metadata)["warehouse_id"], "resource_name": key, "cluster": None,
        "state": "RUNNING" if live else "STOPPED", "project": DBX_WORKSPACE, "location": None,
        "machine_type": f"SERVERLESS:{size}", "driver_machine_type": None, "nodes": clusters, "gpu_model": None,
        "gpu_count": 0, "is_spot": False, "started_at": min((r.start for r in live), default=None),
        "team": dict(c.tags)["team"], "job_cluster": False, "price_usd_per_hour": None, "price_source": None,
    }  # fmt: skip


def _row(plan: Plan, key: str, t: dt.datetime, live: list[Any]) -> dict[str, Any]:
    node = node_of(key)
    assert node is not None
    kind, rid, name, cluster = resource_of(key, node)
    c = DBX.get(key)
    nodes = sum(r.nodes for r in live)
    price = node_hourly(node) + (c.dbu_per_node_hour * dbu_price(c.sku, t, plan.jobs_price_change) if c else 0.0)
    platform = platform_of(node)
    stopped = "TERMINATED" if kind != "node_pool" else "RUNNING"  # a pool scaled to zero stays listed
    return {
        "observed_at": t, "source": f"demo:{platform}", "platform": platform, "kind": kind, "resource_id": rid,
        "resource_name": name, "cluster": cluster, "state": "RUNNING" if live else stopped,
        "project": DBX_WORKSPACE if c else node.project.id, "location": REGION if kind == "node_pool" else ZONE,
        "machine_type": node.machine.name, "driver_machine_type": node.machine.name if c else None, "nodes": nodes,
        "gpu_model": ("A100" if node.machine.name.startswith("a2") else "H100") if node.machine.gpus else None,
        "gpu_count": node.machine.gpus * nodes, "is_spot": node.machine is A3_SPOT,
        "started_at": min((r.start for r in live), default=None), "team": dict(c.tags if c else node.labels)["team"],
        "job_cluster": bool(c and c.product == "JOBS"), "price_usd_per_hour": round(price * nodes, 4),
        "price_source": "config",
    }  # fmt: skip


def demo_hosts(plan: Plan) -> list[dict[str, Any]]:
    """The hosts the inventory lists for each resource (how billing's VM names match it): a GCE instance's name,
    a GKE pool's `<node name prefix>-*`, a Databricks cluster's `<cluster_id>-*`."""
    out = []
    for key in sorted({r.key for r in plan.runs}):
        node = node_of(key)
        if node is None:
            continue
        kind, rid, name, _ = resource_of(key, node)
        hosts = {"node_pool": [f"{node.name}-*"], "cluster": [f"{rid}-*"]}.get(kind, [name])
        out.append({"platform": platform_of(node), "resource_id": rid, "hosts": hosts})
    return out


def write_live(
    plan: Plan, settings: Settings, wh: Warehouse, now: dt.datetime, live_days: int = LIVE_DAYS
) -> dict[str, int]:
    """Prices, then the estimate of the plan's last `live_days` days, each day reconciled once billed."""
    written = {"prices": write_prices(wh, plan), "cost_estimates": 0, "estimate_errors": 0}
    days = plan.days[-live_days:] if live_days else []
    hosts = demo_hosts(plan)
    found, cuts = complete.compute_cuts(wh, settings.live, now)
    complete.write_cuts(wh, found, cuts, now)
    for day in days:
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        for chunk in range(0, 24, CHUNK_HOURS):  # relearn every few hours, as the daemon does every hour
            first = start + HOUR * chunk
            hours = [first + HOUR * i for i in range(CHUNK_HOURS)]
            end = first + HOUR * CHUNK_HOURS
            learned = learn(wh, settings, first)
            snaps = snapshots(plan, first - settings.live.stale_after, end)
            rows = estimate_hours(wh, settings, hours, end, learned, snaps, source="demo")
            written["cost_estimates"] += write_estimates(wh, rows, hours)
        if day == days[0]:  # the first estimated day tells the cuts which platforms are estimated
            found, cuts = complete.compute_cuts(wh, settings.live, now)
        written["estimate_errors"] += reconcile(wh, cuts, now, since=start, until=start + HOUR * 24, hosts=hosts)
    found, cuts = complete.compute_cuts(wh, settings.live, now)
    complete.write_cuts(wh, found, cuts, now)
    log.info("demo live days:%s rows:%s", len(days), written)
    return written
