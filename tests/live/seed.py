"""Synthetic prices and inventory for the live-estimate tests, written through the warehouse API as the price
sync and the inventory collector write them (`collectors.prices.rows.price_row`, `collectors.inventory.item`).

SKU ids and rates are illustrative (near us-central1 list prices), not Google's or Databricks' figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from collectors.inventory.item import labels, new_row, to_table
from collectors.prices.rows import price_row
from exporters.warehouse.engine import Warehouse
from exporters.warehouse.schema.prices import PRICES

GIB = 2**30
SINCE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
REGION = "us-central1"

# (sku id, component, item, usage type, unit, USD per unit)
GCP_SKUS = [
    ("H100-OD", "gpu", "H100", "OnDemand", "h", 11.06),
    ("A3CORE-OD", "core", "A3", "OnDemand", "h", 0.0335),
    ("A3RAM-OD", "ram", "A3", "OnDemand", "GiBy.h", 0.0045),
    ("H100-SPOT", "gpu", "H100", "Preemptible", "h", 2.25),
    ("A3CORE-SPOT", "core", "A3", "Preemptible", "h", 0.0123),
    ("A3RAM-SPOT", "ram", "A3", "Preemptible", "GiBy.h", 0.00165),
    ("SSD-OD", "local_ssd", "local-ssd", "OnDemand", "GiBy.mo", 0.08),
    ("SSD-SPOT", "local_ssd", "local-ssd", "Preemptible", "GiBy.mo", 0.048),
    ("C4ACORE-OD", "core", "C4A", "OnDemand", "h", 0.03465),
    ("C4ARAM-OD", "ram", "C4A", "OnDemand", "GiBy.h", 0.003938),
]
DBU_PRICES = {"PREMIUM_JOBS_COMPUTE": 0.15, "PREMIUM_ALL_PURPOSE_COMPUTE": 0.55}
_BASE = {"h": ("s", 3600.0), "GiBy.h": ("By.s", GIB * 3600.0), "GiBy.mo": ("By.s", GIB * 3600.0 * 730)}


def hourly(sku: str) -> float:
    """USD per unit-hour of a seeded SKU (GiB-month prices over a 730-hour month)."""
    for sid, _, _, _, unit, price in GCP_SKUS:
        if sid == sku:
            return price / 730 if unit == "GiBy.mo" else price
    raise KeyError(sku)


A3_OD = 8 * hourly("H100-OD") + 208 * hourly("A3CORE-OD") + 1872 * hourly("A3RAM-OD") + 6000 * hourly("SSD-OD")
A3_SPOT = (
    8 * hourly("H100-SPOT") + 208 * hourly("A3CORE-SPOT") + 1872 * hourly("A3RAM-SPOT") + 6000 * hourly("SSD-SPOT")
)
C4A_16 = 16 * hourly("C4ACORE-OD") + 128 * hourly("C4ARAM-OD")


def price_rows(discount_pct: float = 0.0) -> list[dict[str, Any]]:
    rows = []
    for sid, component, item, usage, unit, price in GCP_SKUS:
        base, factor = _BASE[unit]
        rows.append(
            price_row(
                provider="gcp", service_id="6F81-5844-456A", sku_id=sid, description=f"{item} {component} {usage}",
                region=REGION, usage_type=usage, component=component, item=item, unit=unit, base_unit=base,
                base_unit_factor=factor, list_usd_per_unit=price, usd_per_unit=price * (1 - discount_pct / 100),
                discount_pct=discount_pct, currency="USD", source="catalog", valid_from=SINCE,
            )
        )  # fmt: skip
    for sku, price in DBU_PRICES.items():
        rows.append(
            price_row(
                provider="databricks", service_id="GCP", sku_id=sku, description=sku, region="global",
                usage_type="OnDemand", resource_family="DBU", component="dbu", item=sku, unit="DBU",
                list_usd_per_unit=price, usd_per_unit=price, discount_pct=0.0, currency="USD",
                source="list_prices", valid_from=SINCE,
            )
        )  # fmt: skip
    return rows


def seed_prices(wh: Warehouse, discount_pct: float = 0.0) -> None:
    rows = price_rows(discount_pct)
    days = sorted({r["_day"] for r in rows})
    wh.replace("prices", pa.Table.from_pylist(rows, schema=PRICES), [{"_day": d} for d in days])


def gce(at: dt.datetime, name: str, machine: str = "a3-highgpu-8g", team: str = "ml", **extra: Any) -> dict[str, Any]:
    """A GCE instance row as the collector writes it (source gce:acme); `extra` overrides any column."""
    values = dict(resource_id=f"id-{name}", resource_name=name, state="RUNNING", project="acme",
                  location="us-central1-a", machine_type=machine, nodes=1, is_spot=False, gpus_per_node=8,
                  gpu_model="H100", gpu_count=8, labels=labels({"team": team}), hosts=[name])  # fmt: skip
    return new_row(at, "gce", "instance", "gce:acme", **{**values, **extra})


def pool(at: dt.datetime, name: str, nodes: int, team: str = "platform", **extra: Any) -> dict[str, Any]:
    """A GKE node pool row of Spot A3 nodes (source gke:acme)."""
    link = f"projects/acme/locations/us-central1/clusters/prod/nodePools/{name}"
    values = dict(resource_id=link, resource_name=name, cluster="prod", state="RUNNING", project="acme",
                  location="us-central1", machine_type="a3-highgpu-8g", nodes=nodes, is_spot=True,
                  gpus_per_node=8, gpu_model="H100", gpu_count=8 * nodes, labels=labels({"team": team}),
                  hosts=[f"gke-prod-{name}-1a2b3c4d-*"])  # fmt: skip
    return new_row(at, "gke", "node_pool", "gke:acme", **{**values, **extra})


def cluster(at: dt.datetime, cid: str, nodes: int, node_type: str = "a3-highgpu-8g", job: bool = True,
            team: str = "research", **extra: Any) -> dict[str, Any]:  # fmt: skip
    """A Databricks cluster row (source databricks:ws): driver + nodes-1 workers, JobId default tag on job clusters."""
    tags = {"team": team, "ClusterId": cid, **({"JobId": "42", "RunName": "train"} if job else {})}
    values = dict(resource_id=cid, resource_name=f"c-{cid}", cluster=f"c-{cid}", state="RUNNING", project="ws",
                  location="us-central1-a", machine_type=node_type, driver_machine_type=node_type, nodes=nodes,
                  is_spot=False, gpus_per_node=8, gpu_model="H100", gpu_count=8 * nodes, labels=labels(tags),
                  hosts=[f"{cid}-*"])  # fmt: skip
    return new_row(at, "databricks", "cluster", "databricks:ws", **{**values, **extra})


def seed_inventory(wh: Warehouse, rows: list[dict[str, Any]]) -> None:
    """Append the rows, as the collector appends each snapshot."""
    wh.append("inventory", to_table(rows))
