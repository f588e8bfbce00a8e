"""Inventory snapshots + prices → hourly estimate rows (pure: no I/O, no clock).

The inventory collector appends a snapshot of each source (a Databricks workspace, a GCE or GKE project) every
few minutes. An item's observation holds from its `observed_at` until the source's next snapshot (where the item
may be gone or resized), at most `stale_after`, never past `at`; an item new since the source's previous
snapshot is taken to run from its `started_at` when that falls between the two. Each such segment is priced at
the item's size then (pricing.py) and split over the UTC hours it touches, so a node pool that scales out at
13:02 costs its new nodes from 13:02, and an hour under way is estimated up to `at` with `projected_usd`
carrying the current run-rate to the hour's end.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spendscope.live.pricing import Component, Pricer, billing

HOUR = dt.timedelta(hours=1)
Row = Mapping[str, Any]


@dataclass(frozen=True)
class Segment:
    """An item observed billing from `start` to `end` at the size of `row`; `running`: it still runs at `end`."""

    row: Row
    start: dt.datetime
    end: dt.datetime
    running: bool


def floor_hour(at: dt.datetime) -> dt.datetime:
    """The UTC hour `at` falls in."""
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def source_times(rows: Iterable[Row]) -> dict[str, list[dt.datetime]]:
    """Source → its snapshot times, sorted (from the rows themselves)."""
    times: dict[str, set[dt.datetime]] = {}
    for r in rows:
        times.setdefault(r["source"], set()).add(r["observed_at"])
    return {src: sorted(ts) for src, ts in times.items()}


def segments(
    rows: Iterable[Row],
    at: dt.datetime,
    stale_after: dt.timedelta,
    times: Mapping[str, Sequence[dt.datetime]] | None = None,
) -> list[Segment]:
    """Billing segments of every observed item (rows need observed_at, source, platform, resource_id, state, nodes).

    A row may stand for a run of identical snapshots of its item (`last_seen`: the last of them, each at its
    source's next snapshot); `times` then gives every snapshot time of each source (else taken from the rows).
    """
    rows = [r for r in rows if r["observed_at"] <= at]
    ticks = times if times is not None else source_times(rows)
    seen = {(r["source"], r.get("last_seen") or r["observed_at"], r["platform"], r["resource_id"]) for r in rows}
    out = []
    for r in rows:
        if not billing(r):
            continue
        t, ts = r["observed_at"], ticks.get(r["source"]) or [r["observed_at"]]
        last = min(r.get("last_seen") or t, at)
        i = bisect.bisect_right(ts, last)
        end = min(last + stale_after, at, ts[i] if i < len(ts) else at)
        start = t
        started = r.get("started_at")
        j = bisect.bisect_left(ts, t)  # ts[j - 1]: the source's snapshot before this one
        new = j >= 1 and (r["source"], ts[j - 1], r["platform"], r["resource_id"]) not in seen
        if new and started is not None and ts[j - 1] < started < t:
            start = started  # it started between two snapshots: bill it from its start
        if end > start:
            out.append(Segment(r, start, end, end == at and last + stale_after > at))
    return out


def _overlap(seg: Segment, hour: dt.datetime) -> float:
    """Hours of `seg` inside [hour, hour + 1 h)."""
    lo, hi = max(seg.start, hour), min(seg.end, hour + HOUR)
    return max((hi - lo).total_seconds(), 0.0) / 3600


def estimate(
    rows: Iterable[Row],
    pricer: Pricer,
    hours: Sequence[dt.datetime],
    at: dt.datetime,
    stale_after: dt.timedelta,
    factors: Mapping[str, float] | None = None,
    computed_at: dt.datetime | None = None,
    source: str = "live",
    times: Mapping[str, Sequence[dt.datetime]] | None = None,
) -> list[dict[str, Any]]:
    """cost_estimates rows for `hours` (UTC hour starts) as known at `at`; `factors`: platform → correction."""
    factors = factors or {}
    acc: dict[tuple[dt.datetime, str, str, str], dict[str, Any]] = {}
    wanted = sorted(set(hours))
    if not wanted:
        return []
    first, last, asked = wanted[0], wanted[-1] + HOUR, frozenset(wanted)
    for seg in segments(rows, at, stale_after, times):
        if seg.end <= first or seg.start >= last:
            continue
        comps = pricer.components(seg.row)
        h = floor_hour(max(seg.start, first))
        while h < min(seg.end, last):
            share = _overlap(seg, h) if h in asked else 0.0
            if share > 0:
                for comp in comps:
                    _add(acc, h, seg, comp, share)
            h += HOUR
    out = []
    for (hour, platform, _rid, _comp), a in sorted(acc.items(), key=lambda kv: kv[0]):
        out.append(_row(hour, platform, a, at, factors.get(platform, 1.0), computed_at or at, source))
    return out


def _add(
    acc: dict[tuple[dt.datetime, str, str, str], dict[str, Any]],
    hour: dt.datetime,
    seg: Segment,
    c: Component,
    share: float,
) -> None:
    r = seg.row
    key = (hour, r["platform"], r["resource_id"] or "", c.component)
    a = acc.get(key)
    if a is None:
        a = acc[key] = {"usd_raw": 0.0 if c.usd_per_hour is not None else None, "run_hours": 0.0, "node_hours": 0.0,
                        "gpu_hours": 0.0, "last": seg, "comp": c}  # fmt: skip
    if c.usd_per_hour is not None and a["usd_raw"] is not None:
        a["usd_raw"] += c.usd_per_hour * share
    a["run_hours"] += share
    a["node_hours"] += (r.get("nodes") or 0) * share
    a["gpu_hours"] += (r.get("gpu_count") or 0) * share
    if seg.start >= a["last"].start:
        a["last"], a["comp"] = seg, c


def _row(
    hour: dt.datetime,
    platform: str,
    a: Mapping[str, Any],
    at: dt.datetime,
    factor: float,
    computed: dt.datetime,
    src: str,
) -> dict[str, Any]:
    seg: Segment = a["last"]
    c: Component = a["comp"]
    r = seg.row
    until = min(hour + HOUR, at)
    raw = a["usd_raw"]
    projected = raw
    if raw is not None and seg.running and hour + HOUR > at and c.usd_per_hour is not None:
        projected = raw + c.usd_per_hour * (hour + HOUR - at).total_seconds() / 3600
    return {
        "hour": hour, "platform": platform, "component": c.component, "provider": c.provider, "service": c.service,
        "resource_id": r.get("resource_id"), "resource_name": r.get("resource_name"), "kind": r.get("kind"),
        "cluster": r.get("cluster"), "team": r.get("team"), "project": r.get("project"), "location": r.get("location"),
        "machine_type": r.get("machine_type"), "driver_machine_type": r.get("driver_machine_type"),
        "is_spot": r.get("is_spot"), "nodes": r.get("nodes"), "node_hours": a["node_hours"],
        "gpu_model": r.get("gpu_model"), "gpu_hours": a["gpu_hours"], "run_hours": a["run_hours"],
        "running": seg.running and seg.end >= until, "usd_per_hour": c.usd_per_hour, "usd_raw": raw,
        "correction": factor, "usd": None if raw is None else raw * factor,
        "projected_usd": None if projected is None else projected * factor, "price_source": c.price_source,
        "sku": c.sku, "basis": c.basis, "until": until, "computed_at": computed,
        "_day": hour.date(), "_source": src,
    }  # fmt: skip
