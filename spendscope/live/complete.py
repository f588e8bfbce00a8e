"""Where billing is complete: per cost source and per platform, recorded in `ingest_state` for `spend_live`.

A source's billing is complete up to the hour `max(data_until) − settle` (floored to the hour, never past now):
`data_until` is how far its charges reach in `cost_hourly`, and `[live] settle` (per source:
`settle_by_source`) is how long late rows keep arriving for an hour already seen — Google gives the export no
latency guarantee, Databricks usage lands within hours. A platform's cut is the earliest of the sources that
bill it (Databricks: the DBUs in `databricks_usage` and its VMs in the GCP export), so in `spend_live` an hour
of a platform is either all billed or all estimated. A platform the estimate prices but no billing covers is
estimated throughout. The cuts are `ingest_state` rows (source `spend_live`, partition = platform; source
`billing_complete`, partition = cost source table), which `spendscope status` lists and the view reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from exporters.warehouse.schema.state import INGEST_STATE
from spendscope.live.estimate import floor_hour

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse
    from spendscope.config_live import LiveConfig

CUT_SOURCE, SOURCE_STATE = "spend_live", "billing_complete"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LOOKBACK = dt.timedelta(days=62)

REACH_SQL = """
SELECT x_SourceTable AS source, platform, MAX(data_until) AS data_until
FROM cost_hourly
WHERE _day >= @dmin AND hour < @at
GROUP BY 1, 2
"""
ESTIMATED_PLATFORMS_SQL = "SELECT DISTINCT platform FROM cost_estimates WHERE _day >= @dmin AND platform IS NOT NULL"
CUTS_SQL = "SELECT `partition` AS platform, watermark AS complete_until FROM ingest_state WHERE source = @source"


@dataclass(frozen=True)
class Cut:
    """A platform's billing cut: hours before `complete_until` are billed, later ones estimated."""

    platform: str
    complete_until: dt.datetime
    sources: tuple[str, ...]  # the cost sources that bill the platform
    data_until: dt.datetime | None  # the least far-reaching of their charges


def source_complete(reach: Mapping[str, dt.datetime], cfg: LiveConfig, at: dt.datetime) -> dict[str, dt.datetime]:
    """Cost source → the hour its billing is complete up to (pure)."""
    return {s: floor_hour(min(until, at) - cfg.settle_for(s)) for s, until in reach.items()}


def cuts_from(
    reach: Iterable[tuple[str, str | None, dt.datetime]], estimated: Iterable[str], cfg: LiveConfig, at: dt.datetime
) -> tuple[dict[str, dt.datetime], list[Cut]]:
    """(source → complete until, per-platform cuts) from (source, platform, data_until) rows (pure)."""
    by_source: dict[str, dt.datetime] = {}
    feeds: dict[str, set[str]] = {}
    for source, platform, until in reach:
        by_source[source] = max(until, by_source.get(source, until))
        if platform:
            feeds.setdefault(platform, set()).add(source)
    complete = source_complete(by_source, cfg, at)
    cuts = []
    for platform in sorted(set(feeds) | set(estimated)):
        sources = tuple(sorted(feeds.get(platform, ())))
        if not sources:  # nothing bills it yet: every hour is estimated
            cuts.append(Cut(platform, EPOCH, (), None))
            continue
        until = min(complete[s] for s in sources)
        cuts.append(Cut(platform, until, sources, min(min(by_source[s], at) for s in sources)))
    return complete, cuts


def compute_cuts(wh: Warehouse, cfg: LiveConfig, at: dt.datetime) -> tuple[dict[str, dt.datetime], list[Cut]]:
    """The cuts as of `at` from cost_hourly and the platforms cost_estimates prices."""
    dmin = (at - LOOKBACK).date()
    reach = [
        (r["source"], r["platform"], r["data_until"])
        for r in wh.query(REACH_SQL, {"dmin": dmin, "at": at}).to_pylist()
        if r["source"] and r["data_until"] is not None
    ]
    estimated = wh.query(ESTIMATED_PLATFORMS_SQL, {"dmin": dmin}).column("platform").to_pylist()
    return cuts_from(reach, estimated, cfg, at)


def write_cuts(wh: Warehouse, complete: Mapping[str, dt.datetime], cuts: list[Cut], at: dt.datetime) -> int:
    """Record the cuts in ingest_state (replacing the previous ones whole)."""
    base = {"ingested_at": at, "_day": at.astimezone(dt.UTC).date(), "_source": "live", "rows": None, "cost": None}
    rows = [
        {**base, "source": CUT_SOURCE, "partition": c.platform, "watermark": c.complete_until,
         "max_usage_end": c.data_until}
        for c in cuts
    ] + [
        {**base, "source": SOURCE_STATE, "partition": s, "watermark": until, "max_usage_end": None}
        for s, until in sorted(complete.items())
    ]  # fmt: skip
    keys = [{"source": CUT_SOURCE}, {"source": SOURCE_STATE}]
    return wh.replace("ingest_state", pa.Table.from_pylist(rows, schema=INGEST_STATE), keys)


def stored_cuts(wh: Warehouse) -> dict[str, dt.datetime]:
    """Platform → complete_until as last recorded."""
    rows = wh.query(CUTS_SQL, {"source": CUT_SOURCE}).to_pylist()
    return {r["platform"]: r["complete_until"] for r in rows if r["complete_until"] is not None}


def refresh(wh: Warehouse, cfg: LiveConfig, at: dt.datetime) -> list[Cut]:
    """Compute and record the cuts as of `at`."""
    complete, cuts = compute_cuts(wh, cfg, at)
    write_cuts(wh, complete, cuts, at)
    return cuts
