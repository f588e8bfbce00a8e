"""Spend the inventory does not show, carried forward from its own billing.

Serverless Databricks (SQL warehouses, model serving), the GKE cluster fee, a VM in a project the inventory does
not list: reconciliation finds them billed but matched to no estimated item (`estimate_errors`, `matched =
false`). The estimate carries each one still billed in its platform's last complete day forward, hour by hour,
from the newest billing that tells most about that hour:
- the same hour a week earlier, when the resource was billed back then (weekday business hours, weekend lulls
  and a serving endpoint's daily curve all repeat weekly);
- else the same hour of day in the last complete day;
- else, for a resource first billed within that day, its mean over the complete hours since (so a new endpoint
  is carried from its first complete hour).
`price_source = billing-observed`, component `carried`. A resource no longer billed in the last complete day
stops being carried.

Until reconciliation has judged a platform's whole last complete day (its first day, or after an outage of the live
job) that history is missing or partial, so the estimate would miss that spend (the serving endpoints: 12 % of the
demo's Databricks day). Databricks' own billing names every resource by the id the inventory lists it under
(cluster_id, warehouse_id, endpoint_id), so for Databricks the carry is seeded from its DBU billing instead: every
resource billed, less those the estimate prices from the inventory (`unlisted`). GCE and GKE billing names VMs,
which only the inventory's host patterns tie to items: those wait for reconciliation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from spendscope.live.estimate import HOUR
from spendscope.live.pricing import money

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse

DAY, WEEK = dt.timedelta(days=1), dt.timedelta(days=7)
CARRY_SQL = """
SELECT hour, platform, resource_id, resource_name, provider, service, team, project, billed_usd
FROM estimate_errors
WHERE _day >= @dmin AND hour >= @since AND hour < @until AND level = 'resource' AND NOT matched AND billed_usd > 0
"""

# Hours of a platform's last complete day that reconciliation has judged. Until all 24 are (the first day, a day
# after a long outage of the live job), what it found unmatched misses resources billed in the other hours: seed
# the platform from billing instead.
HISTORY_SQL = """
SELECT COUNT(DISTINCT hour) AS hours FROM estimate_errors
WHERE _day BETWEEN @dmin AND @last AND hour >= @since AND hour < @until AND level = 'platform' AND platform = @platform
"""
# Databricks DBU billing per resource and hour, as estimate_errors would hold it for resources the inventory misses.
SEED_SQL = """
SELECT TIMESTAMP_TRUNC(ChargePeriodStart, HOUR) AS hour, x_Platform AS platform, ResourceId AS resource_id,
       ANY_VALUE(ResourceName) AS resource_name, ANY_VALUE(ProviderName) AS provider,
       ANY_VALUE(ServiceName) AS service, ANY_VALUE(x_Team) AS team, ANY_VALUE(SubAccountId) AS project,
       SUM(BilledCost) AS billed_usd
FROM focus_costs
WHERE x_SourceTable = 'databricks_usage' AND _day >= @dmin AND ChargePeriodStart >= @since
  AND ChargePeriodStart < @until AND ChargeCategory = 'Usage' AND BilledCost IS NOT NULL AND ResourceId IS NOT NULL
  AND UNIX_SECONDS(ChargePeriodEnd) - UNIX_SECONDS(ChargePeriodStart) <= 3600
GROUP BY 1, 2, 3
HAVING SUM(BilledCost) > 0
"""
SEEDED = "databricks"


@dataclass(frozen=True)
class Carried:
    """One billed resource the inventory does not list, with its billed USD per complete hour before the cut."""

    platform: str
    resource_id: str
    resource_name: str | None
    provider: str | None
    service: str | None
    team: str | None
    project: str | None
    cut: dt.datetime  # its platform's complete-billing cut
    billed: dict[dt.datetime, float] = field(default_factory=dict)  # hour → USD (hours without billing: absent)
    seeded: bool = False  # from billing before the first reconciliation: may be an inventory item (`unlisted`)

    @property
    def first(self) -> dt.datetime:
        return min(self.billed)

    def rate(self, hour: dt.datetime) -> tuple[float, str]:
        """USD for a whole `hour`, and where the figure comes from."""
        week = hour - WEEK
        while week >= self.cut:
            week -= WEEK
        if week >= self.first:
            return self.billed.get(week, 0.0), f"billed {week:%a %H}:00 UTC a week before"
        day = self.cut - DAY + ((hour.hour - (self.cut - DAY).hour) % 24) * HOUR
        if self.first <= self.cut - DAY:
            return self.billed.get(day, 0.0), f"billed {day:%a %H}:00 UTC on its last complete day"
        hours = max(1, round((self.cut - self.first) / HOUR))
        mean = sum(self.billed.values()) / hours
        return mean, f"its mean over {hours} complete hour(s) since it was first billed"


def carried_from(rows: Iterable[Mapping[str, Any]], cuts: Mapping[str, dt.datetime]) -> list[Carried]:
    """The resources billed in their platform's last complete day (24 hours before its cut), each with its
    billing before the cut (pure; `rows` reach back a week and a day for the weekly pattern)."""
    found: dict[tuple[str, str], Carried] = {}
    for r in rows:
        cut = cuts.get(r["platform"])
        if cut is None or r["hour"] >= cut:
            continue
        key = (r["platform"], r["resource_id"])
        c = found.get(key)
        if c is None:
            c = found[key] = Carried(r["platform"], r["resource_id"], r["resource_name"], r["provider"], r["service"],
                                     r["team"], r["project"], cut)  # fmt: skip
        c.billed[r["hour"]] = c.billed.get(r["hour"], 0.0) + float(r["billed_usd"])
    active = [c for c in found.values() if max(c.billed) >= c.cut - DAY]
    return sorted(active, key=lambda c: (c.platform, c.resource_id))


def load_carried(wh: Warehouse, cuts: Mapping[str, dt.datetime]) -> list[Carried]:
    """What to carry, given the platforms' cuts (estimate_errors of each one's last complete day); Databricks is
    seeded from its billing while reconciliation has not judged the whole of that day."""
    real = [c for c in cuts.values() if c.year > 1970]
    if not real:
        return []
    since, until = min(real) - WEEK - DAY, max(real)
    params = {"dmin": since.date(), "since": since, "until": until}
    carried = carried_from(wh.query(CARRY_SQL, params).to_pylist(), cuts)
    cut = cuts.get(SEEDED)
    if cut is None or cut.year <= 1970:
        return carried
    day = {"dmin": (cut - DAY).date(), "last": cut.date(), "since": cut - DAY, "until": cut, "platform": SEEDED}
    if wh.query(HISTORY_SQL, day).column("hours")[0].as_py() >= 24:
        return carried
    start = cut - WEEK - DAY
    seeds = wh.query(SEED_SQL, {"dmin": start.date() - DAY, "since": start, "until": cut}).to_pylist()
    seeded = [replace(c, seeded=True) for c in carried_from(seeds, {SEEDED: cut})]
    return sorted([c for c in carried if c.platform != SEEDED] + seeded, key=lambda c: (c.platform, c.resource_id))


def unlisted(carried: Sequence[Carried], snapshots: Iterable[Mapping[str, Any]]) -> list[Carried]:
    """`carried` less the seeded resources the estimate prices from the inventory (serving endpoints it never
    bills: pricing.billing), so nothing is both estimated and carried."""
    listed = {(s["platform"], s["resource_id"]) for s in snapshots if s.get("kind") != "serving_endpoint"}
    return [c for c in carried if not (c.seeded and (c.platform, c.resource_id) in listed)]


def carried_rows(
    carried: Sequence[Carried],
    hours: Sequence[dt.datetime],
    at: dt.datetime,
    factors: Mapping[str, float],
    computed_at: dt.datetime,
    source: str = "live",
) -> list[dict[str, Any]]:
    """cost_estimates rows (component `carried`) for `hours` as known at `at` (pure)."""
    out = []
    for hour in sorted(set(hours)):
        if hour >= at:
            continue
        until = min(hour + HOUR, at)
        share = (until - hour) / HOUR
        for c in carried:
            rate, seen = c.rate(hour)
            if rate <= 0:
                continue
            f = factors.get(c.platform, 1.0)
            basis = f"carried at {money(rate)}/h: {seen}; not in the inventory"
            out.append({
                "hour": hour, "platform": c.platform, "component": "carried", "provider": c.provider,
                "service": c.service, "resource_id": c.resource_id, "resource_name": c.resource_name or c.resource_id,
                "kind": None, "cluster": None, "team": c.team, "project": c.project, "location": None,
                "machine_type": None, "driver_machine_type": None, "is_spot": None, "nodes": None,
                "node_hours": None, "gpu_model": None, "gpu_hours": None, "run_hours": share,
                "running": hour + HOUR > at, "usd_per_hour": rate, "usd_raw": rate * share, "correction": f,
                "usd": rate * share * f, "projected_usd": rate * f, "price_source": "billing-observed", "sku": None,
                "basis": basis, "until": until, "computed_at": computed_at, "_day": hour.date(), "_source": source,
            })  # fmt: skip
    return out
