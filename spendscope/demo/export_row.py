"""One GCP billing export row (standard + detailed columns, nested), as `bq extract` would give it back.

Rows are dicts in the export's column order: RECORDs as dicts, REPEATED fields as lists, timestamps as
datetimes (writer.py formats them), NULL columns left out. Shared sub-objects (project, labels) are
cached and never mutated, which keeps generating ~50K rows quick.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import zlib
from typing import Any
from zoneinfo import ZoneInfo

from spendscope.demo.fleet import (
    ANCESTRY,
    BILLING_ACCOUNT,
    NODES,
    REGION,
    ZONE,
    Credit,
    Node,
    Project,
    Sku,
)
from spendscope.demo.plan import Plan

Row = dict[str, Any]
HOUR = dt.timedelta(hours=1)
PACIFIC = ZoneInfo("America/Los_Angeles")  # invoices follow Pacific time


def crc(text: str) -> int:
    return zlib.crc32(text.encode())


def vm_name(node: Node, index: int) -> str:
    """The instance name of VM `index` of a node (pools get GKE-style suffixes, Databricks worker names)."""
    if node.key.startswith("gke-") and node.key != "gke-fee":
        return f"{node.name}-{crc(f'{node.key}/{index}') % 65536:04x}"
    if node.project.id == "acme-databricks-ws":
        return f"{node.name}-{index}"
    return node.name


def global_name(node: Node, name: str) -> str:
    instance_id = 10**18 + crc(name) * 1_000_003 % 10**18
    return f"//compute.googleapis.com/projects/{node.project.id}/zones/{ZONE}/instances/{instance_id}"


@functools.cache
def _kv(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    # Cached: rows share these lists (never mutated), which keeps 50K-row generation fast.
    return [{"key": k, "value": v} for k, v in pairs]


@functools.cache
def _project(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "number": project.number,
        "name": project.name,
        "labels": _kv(project.labels),
        "ancestry_numbers": ANCESTRY + project.number + "/",
        "ancestors": [
            {"resource_name": f"projects/{project.number}", "display_name": project.name},
            {"resource_name": "organizations/204981736512", "display_name": "acme.example"},
        ],
    }


@functools.lru_cache(maxsize=1 << 14)
def _invoice(usage_start: dt.datetime) -> dict[str, str]:
    return {"month": usage_start.astimezone(PACIFIC).strftime("%Y%m")}


@functools.cache
def _location(zone: str | None) -> dict[str, str]:
    loc = {"location": zone or REGION, "country": "US", "region": REGION}
    return {**loc, "zone": zone} if zone else loc


class Exporter:
    """Builds rows; export_time is a few hours after each usage hour (one export batch per hour)."""

    def __init__(self, plan: Plan) -> None:
        self.rng = random.Random(plan.seed * 7919 + 1)
        self.exported: dict[dt.datetime, dt.datetime] = {}

    def export_time(self, usage_end: dt.datetime) -> dt.datetime:
        if usage_end not in self.exported:
            self.exported[usage_end] = usage_end + dt.timedelta(hours=3, seconds=self.rng.randrange(4 * 3600))
        return self.exported[usage_end]

    def row(
        self,
        node: Node | None,
        sku: Sku,
        start: dt.datetime,
        end: dt.datetime,
        amount: float,
        resource: tuple[str, str] | None,
        labels: tuple[tuple[str, str], ...],
        system: tuple[tuple[str, str], ...],
        credit: Credit | None,
        zone: str | None = ZONE,
    ) -> Row:
        """One export row: `amount` in the SKU's usage unit; cost = pricing units × price.

        NULL columns are left out of the dict (as `bq extract` leaves them out of its JSON).
        """
        pricing = amount * sku.per_unit
        cost = round(pricing * sku.price, 6)
        project = node.project if node else NODES["gke-system"].project
        credits = []
        if credit and cost > 0:
            credits.append(
                {
                    "name": credit.name,
                    "amount": -round(cost * credit.rate, 6),
                    "full_name": credit.full_name,
                    "id": credit.id,
                    "type": credit.type,
                }
            )
        row: Row = {
            "billing_account_id": BILLING_ACCOUNT,
            "service": {"id": sku.service.id, "description": sku.service.description},
            "sku": {"id": sku.id, "description": sku.description},
            "usage_start_time": start,
            "usage_end_time": end,
            "project": _project(project),
            "labels": _kv(labels),
            "system_labels": _kv(system),
            "location": _location(zone),
            "resource": {"name": resource[0], "global_name": resource[1]} if resource else None,
            "tags": [],
            "price": {
                "effective_price": sku.price,
                "tier_start_amount": 0.0,
                "unit": sku.pricing_unit,
                "pricing_unit_quantity": round(pricing, 9),
                "list_price": sku.price,
                "effective_price_default": sku.price,
                "list_price_consumption_model": sku.price,
            },
            "transaction_type": "GOOGLE",
            "seller_name": "Google",
            "export_time": self.export_time(end),
            "cost": cost,
            "currency": "USD",
            "currency_conversion_rate": 1.0,
            "usage": {
                "amount": amount,
                "unit": sku.usage_unit,
                "amount_in_pricing_units": round(pricing, 9),
                "pricing_unit": sku.pricing_unit,
            },
            "credits": credits,
            "invoice": _invoice(start),
            "cost_type": "regular",
            "cost_at_list": cost,
            "cost_at_effective_price_default": cost,
            "cost_at_list_consumption_model": cost,
            "consumption_model": {"description": "Default"},
        }
        if resource is None:
            del row["resource"]
        return row
