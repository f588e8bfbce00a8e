"""Pure: Cloud Billing Catalog SKUs (google.cloud.billing_v1.Sku) → `prices` rows for the SKUs our fleet uses.

The fleet filter goes by SKU description, the one field that names the GPU model and machine family
(formats.md §1.7): H100 80GB (and its "Mega" variant on A3 Mega), A100 40GB ("Nvidia Tesla A100") and 80GB GPUs;
A3 / A3Plus / A2 / C4A Instance Core and Ram; SSD backed Local Storage; Hyperdisk Balanced / Extreme /
Throughput; network egress. Each in on-demand, Spot ("Spot Preemptible …", "… attached to Spot Preemptible
VMs") and commitment ("Commitment v1: … for 1 Year") forms. Reserved, DWS / Flex-start and calendar-mode SKUs
are left out: they price capacity we do not buy on demand. The usage type comes from `category.usage_type`
(the API's word), else from the description. A3Plus is taken to be A3 Mega's core/RAM family (UNVERIFIED,
formats.md §1.7). One row per SKU and region: the SKU's `service_regions` kept by the config's region list;
a SKU offered "global" (or listing no region) gets region "global".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from collectors.prices.rows import Row, first_nonzero, price_row, tiers_json

PROVIDER = "gcp"
GLOBAL = "global"

_EXCLUDED = re.compile(r"\(|\bDWS\b|Flex|Calendar|Reserved|Sole Tenancy", re.IGNORECASE)
_PLACE = r"(?P<place>[^()]+?)"
_GPU = re.compile(
    r"^(?:Commitment v\d+: )?(?:Preemptible )?Nvidia (?:Tesla )?"
    r"(?P<model>H100 80GB Mega|H100 Mega 80GB|H100 80GB|A100 80GB|A100) GPU"
    rf"(?: attached to Spot Preemptible VMs)? running in {_PLACE}(?: for (?:1|3) Years?)?$",
    re.IGNORECASE,
)
_GPU_MODELS = {"h100 80gb mega": "H100-MEGA", "h100 mega 80gb": "H100-MEGA", "h100 80gb": "H100",
               "a100 80gb": "A100-80GB", "a100": "A100-40GB"}  # fmt: skip
_FAMILIES = "A3Plus|A3|A2|C4A"  # longest first: A3Plus before A3
_CORE_RAM = re.compile(
    rf"^(?:Spot Preemptible |Preemptible )?(?P<family>{_FAMILIES}) Instance (?P<kind>Core|Ram) "
    rf"(?:running )?in {_PLACE}$",
    re.IGNORECASE,
)
_CORE_RAM_COMMIT = re.compile(
    rf"^Commitment v\d+: (?P<family>{_FAMILIES}) (?P<kind>Cpu|Core|Ram) in {_PLACE} for (?:1|3) Years?$",
    re.IGNORECASE,
)
_LOCAL_SSD = re.compile(r"^SSD backed Local Storage(?: attached to Spot Preemptible VMs)?(?: in .+)?$", re.IGNORECASE)
_HYPERDISK = re.compile(r"^Hyperdisk (?P<kind>Balanced|Extreme|Throughput) (?P<what>.+?)(?: in [^()]+)?$", re.I)
_EGRESS = re.compile(r"^Network (?P<what>.*\b(?:Egress|Data Transfer Out)\b.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Match:
    """What a fleet SKU prices: component (gpu, core, ram, local_ssd, hyperdisk, egress) and item."""

    component: str
    item: str


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def classify(description: str) -> Match | None:
    """The fleet component a SKU description names, or None for a SKU we do not track."""
    text = " ".join(description.split())
    if _EXCLUDED.search(text):
        return None
    if m := _GPU.match(text):
        return Match("gpu", _GPU_MODELS[m["model"].lower()])
    if m := _CORE_RAM.match(text) or _CORE_RAM_COMMIT.match(text):
        return Match("ram" if m["kind"].lower() == "ram" else "core", m["family"].upper())
    if _LOCAL_SSD.match(text):
        return Match("local_ssd", "local-ssd")
    if m := _HYPERDISK.match(text):
        return Match("hyperdisk", _slug(f"{m['kind']} {m['what']}"))
    if m := _EGRESS.match(text):
        return Match("egress", _slug(m["what"]))
    return None


def usage_type_of(category_usage_type: str, description: str) -> str:
    """The Catalog's usage type; from the description when the category lacks it."""
    if category_usage_type:
        return category_usage_type
    text = description.lower()
    if text.startswith("commitment"):
        return "Commit3Yr" if "3 year" in text else "Commit1Yr"
    return "Preemptible" if "preemptible" in text else "OnDemand"


def regions_of(service_regions: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """The regions to keep a row for: "global" for a global SKU, else its regions (those wanted, if any)."""
    regions = [r for r in service_regions if r]
    if not regions or regions == [GLOBAL]:
        return [GLOBAL]
    return [r for r in regions if r in wanted] if wanted else sorted(regions)


def _utc(value: Any) -> dt.datetime | None:
    """A proto Timestamp as proto-plus gives it (an aware datetime, or None / epoch when unset)."""
    if not isinstance(value, dt.datetime) or value.timestamp() <= 0:
        return None
    return dt.datetime.fromtimestamp(value.timestamp(), dt.UTC)


def parse_sku(sku: Any, service_id: str, wanted_regions: Sequence[str], fetched_at: dt.datetime) -> list[Row]:
    """The price rows of one Sku (one per kept region), or [] when it is not a fleet SKU or has no price."""
    match = classify(sku.description)
    if match is None or not sku.pricing_info:
        return []
    info = sku.pricing_info[-1]  # the timeline is chronological: the last entry is the current price
    expr = info.pricing_expression
    tiers = [(float(t.start_usage_amount), t.unit_price.units + t.unit_price.nanos / 1e9) for t in expr.tiered_rates]
    if not tiers:
        return []
    rate = info.currency_conversion_rate or 1.0  # USD × rate = the requested currency
    currency = next((t.unit_price.currency_code for t in expr.tiered_rates if t.unit_price.currency_code), "USD")
    effective = _utc(info.effective_time)
    valid_from = min(effective, fetched_at) if effective else fetched_at
    common = {
        "provider": PROVIDER,
        "service_id": service_id,
        "sku_id": sku.sku_id,
        "description": sku.description,
        "usage_type": usage_type_of(sku.category.usage_type, sku.description),
        "resource_family": sku.category.resource_family or None,
        "resource_group": sku.category.resource_group or None,
        "component": match.component,
        "item": match.item,
        "unit": expr.usage_unit,
        "base_unit": expr.base_unit or None,
        "base_unit_factor": expr.base_unit_conversion_factor or None,
        "list_usd_per_unit": first_nonzero([p for _, p in tiers]) / rate,
        "tiers": tiers_json(tiers),
        "currency": currency,
        "source": "catalog",
        "valid_from": valid_from,
        "fetched_at": fetched_at,
        "_source": f"catalog:services/{service_id}",
    }
    return [price_row(**common, region=region) for region in regions_of(list(sku.service_regions), wanted_regions)]


def parse_skus(
    skus: Iterable[Any], service_id: str, wanted_regions: Sequence[str], fetched_at: dt.datetime
) -> tuple[list[Row], int]:
    """(rows of the fleet SKUs, SKUs read) for one service's SKU listing."""
    rows: list[Row] = []
    seen = 0
    for sku in skus:
        seen += 1
        rows.extend(parse_sku(sku, service_id, wanted_regions, fetched_at))
    return rows, seen
