"""Who a telemetry host belongs to on the GPU and network pages: economics' host map plus the item's team label.

A host's group is the inventory item economics.idle_groups and the idle rule group it under (a GCE instance,
a GKE node pool, a Databricks cluster; a host the inventory does not know is its own group) and its `cluster`
is the label they give it, so a cluster here is the one `spendscope gpu-costs` and the idle alerts name. The
team is the item's `team` label (GCE labels, GKE node labels, Databricks custom tags), `(untagged)` without
one — the value the cost filters use for rows without the label. Also the time buckets both pages chart in, and
the window reads both pages make (per-host rows of the hosts the filters keep; per-bucket series).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from exporters.warehouse.engine import Warehouse
from spendscope import economics
from spendscope.config import Settings
from spendscope.costs import CostFilter

UNTAGGED = "(untagged)"
# Bucket lengths (hours) a chart may use: the shortest giving at most MAX_BUCKETS columns for the window.
BUCKET_HOURS = (1, 2, 3, 4, 6, 12, 24)
MAX_BUCKETS = 168
_DAY = dt.timedelta(days=1)

# UTC quarter hours: every zone's offset is a whole number of them, so they nest in local buckets.
QUARTER_SQL = "TIMESTAMP_SECONDS(DIV(UNIX_SECONDS({ts}), 900) * 900)"
# Local bucket start: the reporting day's midnight plus whole buckets of @bucket_hours (BigQuery SQL).
BUCKET_SQL = (
    "DATETIME_ADD(DATETIME_TRUNC(DATETIME({ts}, @tz), DAY), "
    "INTERVAL DIV(EXTRACT(HOUR FROM DATETIME({ts}, @tz)), @bucket_hours) * @bucket_hours HOUR)"
)

_TEAMS_SQL = """
SELECT platform, resource_id, LABEL_VALUE(labels, 'team') AS team
FROM inventory
WHERE _day >= @since AND platform IN UNNEST(@platforms)
QUALIFY ROW_NUMBER() OVER (PARTITION BY platform, resource_id ORDER BY observed_at DESC) = 1
"""


@dataclass(frozen=True)
class Owner:
    """The group a host is counted in, with what the pages show and filter on."""

    key: str  # platform:resource_id, or host:<host> for a host the inventory does not know
    platform: str
    cluster: str  # as economics.idle_groups labels it: the cluster, else the resource's name, else the host
    name: str  # the group as charts show it: `cluster/node pool` for a GKE pool, else `cluster`
    kind: str | None
    team: str
    gpu_count: int | None
    price_usd_per_hour: float | None


class Fleet:
    """Host → Owner, from the latest inventory rows seen since a day (economics.host_map)."""

    def __init__(self, hosts: economics.HostMap, teams: dict[tuple[str, str], str | None]) -> None:
        self.hosts = hosts
        self.teams = teams

    def owner(self, host: str) -> Owner:
        """The group `host` belongs to (its own group when the inventory does not know it)."""
        item = self.hosts.lookup(host)
        cluster = item.cluster or item.resource_name or host
        name = cluster
        if item.cluster and item.resource_name and item.resource_name != item.cluster:
            name = f"{item.cluster}/{item.resource_name}"
        rid = item.resource_id
        team = self.teams.get((item.platform, rid)) if rid is not None else None
        return Owner(
            key=f"{item.platform}:{rid}" if rid is not None else f"host:{host}",
            platform=item.platform,
            cluster=cluster,
            name=name,
            kind=item.kind,
            team=team or UNTAGGED,
            gpu_count=item.gpu_count,
            price_usd_per_hour=item.price_usd_per_hour,
        )

    def keep(self, owner: Owner, flt: CostFilter) -> bool:
        """Whether the platform/team filters keep the host (the other cost filters have no telemetry dimension)."""
        if flt.platforms and owner.platform not in flt.platforms:
            return False
        return not (flt.teams and owner.team not in flt.teams)

    def select(self, hosts: Iterable[str], flt: CostFilter) -> dict[str, Owner]:
        """The owners of the hosts the filters keep."""
        owners = {h: self.owner(h) for h in hosts}
        return {h: o for h, o in owners.items() if self.keep(o, flt)}


def fleet(wh: Warehouse, since: dt.date) -> Fleet:
    """The fleet as the inventory saw it from the day before `since` (as unit economics maps hosts)."""
    seen = since - _DAY
    rows = wh.query(_TEAMS_SQL, {"since": seen, "platforms": list(economics.PLATFORMS)}).to_pylist()
    teams = {(r["platform"], r["resource_id"]): r["team"] for r in rows}
    return Fleet(economics.host_map(wh, seen), teams)


def bucket_hours(since: dt.date, until: dt.date) -> int:
    """Hours per chart bucket: the shortest that keeps the window (reporting days, inclusive) ≤ MAX_BUCKETS."""
    hours = ((until - since).days + 1) * 24
    return next((b for b in BUCKET_HOURS if hours / b <= MAX_BUCKETS), BUCKET_HOURS[-1])


def window_params(since: dt.date, until: dt.date, tz: str) -> dict[str, Any]:
    """What every window query takes: the reporting days' UTC bounds [start, end), partitions, zone, bucket."""
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(since, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(until + _DAY, dt.time(), zone).astimezone(dt.UTC)
    return {"start": start, "end": end, "dmin": start.date(), "dmax": end.date(), "tz": tz,
            "bucket_hours": bucket_hours(since, until)}  # fmt: skip


@dataclass(frozen=True)
class HostRows:
    """A per-host window query's rows of the hosts the filters keep, with their owners."""

    rows: list[dict[str, Any]]  # in the query's order; each has a `host`
    owners: dict[str, Owner]  # host → its group
    bucket_hours: int  # the window's chart bucket


def host_rows(
    wh: Warehouse, s: Settings, sql: str, since: dt.date, until: dt.date, flt: CostFilter, **params: Any
) -> HostRows:
    """`sql` over reporting days `since`..`until` (window_params, plus `params`), kept to the hosts `flt` keeps."""
    p = {**window_params(since, until, s.reporting.timezone), **params}
    rows = wh.query(sql, p).to_pylist()
    owners = fleet(wh, since).select({r["host"] for r in rows}, flt)
    return HostRows([r for r in rows if r["host"] in owners], owners, p["bucket_hours"])


def series_query(
    wh: Warehouse, s: Settings, sql: str, since: dt.date, until: dt.date, **lists: Sequence[str]
) -> pa.Table:
    """`sql` over reporting days `since`..`until` (window_params) with each of `lists` as a list parameter."""
    arrays = {k: list(v) for k, v in lists.items()}
    return wh.query(sql, {**window_params(since, until, s.reporting.timezone), **arrays})
