"""Hourly price of each inventory item: observed in billing over the last complete reporting day, else config.

Observed (`price_source = "billing"`): focus_costs rows of the previous reporting day (reporting time zone),
platforms gce / gke / databricks, are matched to an item by resource id — equal, or a GCE global name such
as `//compute.googleapis.com/projects/P/zones/Z/instances/<id>` ending in `/<id>` (Databricks usage carries
the cluster id as ResourceId) — else by ResourceName against the item's hosts (hosts.matches: an instance
name, a GKE node name under a pool's pattern, a Databricks cluster's VM name). An item's price is the sum of
its matched BilledCost divided by the hours it ran: the length of the union of the matched charge periods
within the day. Hourly rows (GCP export, Databricks usage) give the hours it was billed; a daily-granularity
FOCUS row covers the whole day, so the divisor is then 24. A Databricks cluster's price is thus its DBUs
plus, where its VMs are among its hosts, their Compute Engine cost.
Config (`price_source = "config"`): `prices_usd_per_hour` by machine / node type × nodes; a Databricks
cluster is driver type + workers × worker type, and is unpriced when either type has no price.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from collectors.inventory.hosts import matches
from collectors.inventory.item import Row

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse

BILLING_SQL = """
SELECT ResourceId AS resource_id, ResourceName AS resource_name,
       ChargePeriodStart AS period_start, ChargePeriodEnd AS period_end, SUM(BilledCost) AS cost
FROM focus_costs
WHERE ChargePeriodStart >= @start AND ChargePeriodStart < @end
  AND x_Platform IN ('gce', 'gke', 'databricks')
  AND BilledCost IS NOT NULL
  AND (ResourceId IS NOT NULL OR ResourceName IS NOT NULL)
GROUP BY 1, 2, 3, 4
"""


@dataclass(frozen=True)
class Charge:
    """Billed cost of one resource over one charge period."""

    resource_id: str | None
    resource_name: str | None
    start: dt.datetime
    end: dt.datetime
    cost: float


def reporting_day(now: dt.datetime, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the last complete reporting day before `now` in time zone `tz`."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    start = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(), zone)
    end = dt.datetime.combine(today, dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _id_matches(charge_id: str | None, resource_id: str | None) -> bool:
    if not charge_id or not resource_id:
        return False
    return charge_id == resource_id or charge_id.endswith(f"/{resource_id}")


def _owner(charge: Charge, rows: Sequence[Row]) -> int | None:
    """Index of the row a charge belongs to: by resource id first, else the most specific host match."""
    for i, row in enumerate(rows):
        if _id_matches(charge.resource_id, row["resource_id"]):
            return i
    if not charge.resource_name:
        return None
    best, best_score = None, 0
    for i, row in enumerate(rows):
        score = max((matches(e, charge.resource_name) for e in row["hosts"]), default=0)
        if score > best_score:
            best, best_score = i, score
    return best


def _hours(periods: Iterable[tuple[dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime) -> float:
    """Length in hours of the union of `periods` clipped to [start, end)."""
    total, reach = dt.timedelta(), start
    for a, b in sorted((max(a, start), min(b, end)) for a, b in periods):
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return total.total_seconds() / 3600


def observed_prices(
    rows: Sequence[Row], charges: Iterable[Charge], start: dt.datetime, end: dt.datetime
) -> list[float | None]:
    """$/h per row (in order) from the day's charges; None where no charge matched (pure)."""
    costs: dict[int, float] = {}
    periods: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for charge in charges:
        i = _owner(charge, rows)
        if i is None:
            continue
        costs[i] = costs.get(i, 0.0) + charge.cost
        periods.setdefault(i, []).append((charge.start, charge.end))
    out: list[float | None] = []
    for i in range(len(rows)):
        hours = _hours(periods.get(i, []), start, end)
        out.append(costs[i] / hours if i in costs and hours > 0 else None)
    return out


def _price(prices: Mapping[str, float], machine_type: str | None) -> float | None:
    if not machine_type:
        return None
    return prices.get(machine_type, prices.get(machine_type.lower()))


def config_price(row: Row, prices: Mapping[str, float]) -> float | None:
    """$/h of a row from the configured price table; None when a needed type has no price."""
    nodes = row["nodes"] or 0
    if row["platform"] != "databricks":
        unit = _price(prices, row["machine_type"])
        return unit * nodes if unit is not None else None
    driver = _price(prices, row["driver_machine_type"] or row["machine_type"])
    workers = max(nodes - 1, 0)
    worker = _price(prices, row["machine_type"]) if workers else 0.0
    return driver + workers * worker if driver is not None and worker is not None else None


def apply_prices(rows: Sequence[Row], observed: Sequence[float | None], prices: Mapping[str, float]) -> None:
    """Set price_usd_per_hour / price_source on every row: billing, else config, else null."""
    for row, seen in zip(rows, observed, strict=True):
        configured = config_price(row, prices) if seen is None else None
        row["price_usd_per_hour"] = seen if seen is not None else configured
        row["price_source"] = "billing" if seen is not None else "config" if configured is not None else None


def load_charges(wh: Warehouse, start: dt.datetime, end: dt.datetime) -> list[Charge]:
    """The day's per-resource charges from focus_costs (one row per resource and charge period)."""
    table = wh.query(BILLING_SQL, {"start": start, "end": end})
    return [
        Charge(r["resource_id"], r["resource_name"], r["period_start"], r["period_end"], float(r["cost"]))
        for r in table.to_pylist()
        if r["period_start"] is not None and r["period_end"] is not None and r["cost"] is not None
    ]
