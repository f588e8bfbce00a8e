"""Pure: merge observed prices into the stored history — a change closes the old row and adds a new one.

Write strategy (chosen over append-only rows with a derived valid_to): a sync rewrites, in one atomic
replace, only the `(provider, _day)` partitions holding a row it closes or adds, carrying every other row of
those partitions over unchanged. So readers see plain `valid_from` / `valid_to` columns with no window
function, every old version stays (and Delta time travel keeps the file versions too), and
`check_append_only` proves before each write that the only change to an existing row is a null `valid_to`
becoming set. Per price series (rows.key_of):
- unchanged content → nothing written;
- changed → the current row gets `valid_to = T` and a new row starts at `T`: the observation's own start
  (a Databricks price_start_time) when later than the current row's, else the sync time;
- new series → added from its observed start (never before the end of an earlier closed version);
- a current row of a synced scope (provider, service) that the source no longer lists, or that the config
  no longer tracks (a region dropped from `prices.regions`) → closed at the sync time. A scope whose
  observation is empty closes nothing: an empty answer is more likely a fault than every price withdrawn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from collectors.prices.rows import Row, content_of, key_of

_TICK = dt.timedelta(microseconds=1)


@dataclass
class Plan:
    """What a sync writes: the rows of each touched partition, its replace keys, and what changed."""

    rows: list[Row] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)
    added: list[Row] = field(default_factory=list)
    closed: list[Row] = field(default_factory=list)  # the stored rows as closed (valid_to set)
    unchanged: int = 0


def _scope(row: Row) -> tuple[str, str | None]:
    return row["provider"], row["service_id"] if row["provider"] == "gcp" else None


def plan_sync(stored: Sequence[Row], observed: Sequence[Row], now: dt.datetime) -> Plan:
    """The rows to write so `stored` reflects `observed` at `now`, history kept (pure)."""
    plan = Plan()
    current: dict[tuple[Any, ...], Row] = {}
    last_end: dict[tuple[Any, ...], dt.datetime] = {}
    for row in stored:
        k = key_of(row)
        if row["valid_to"] is None:
            if k not in current or row["valid_from"] > current[k]["valid_from"]:
                current[k] = row
        elif k not in last_end or row["valid_to"] > last_end[k]:
            last_end[k] = row["valid_to"]
    closing: dict[int, Row] = {}  # id(stored row) → its closed copy
    seen: set[tuple[Any, ...]] = set()
    for obs in observed:
        k = key_of(obs)
        if k in seen:
            continue  # a duplicate listing of one series: the first wins
        seen.add(k)
        cur = current.get(k)
        if cur is not None and content_of(cur) == content_of(obs):
            plan.unchanged += 1
            continue
        start = obs["valid_from"]
        if cur is not None:
            start = start if start > cur["valid_from"] else max(now, cur["valid_from"] + _TICK)
            closing[id(cur)] = {**cur, "valid_to": start}
        elif k in last_end and start < last_end[k]:
            start = last_end[k]
        plan.added.append({**obs, "valid_from": start, "_day": start.astimezone(dt.UTC).date()})
    synced = {_scope(o) for o in observed}
    for k, cur in current.items():
        if k not in seen and _scope(cur) in synced:
            closing[id(cur)] = {**cur, "valid_to": max(now, cur["valid_from"] + _TICK)}
    plan.closed = list(closing.values())
    touched = {(r["provider"], r["_day"]) for r in [*plan.added, *plan.closed]}
    plan.rows = [closing.get(id(r), r) for r in stored if (r["provider"], r["_day"]) in touched] + plan.added
    plan.keys = [{"provider": p, "_day": d} for p, d in sorted(touched)]
    check_append_only([r for r in stored if (r["provider"], r["_day"]) in touched], plan.rows)
    return plan


def check_append_only(before: Iterable[Row], after: Iterable[Row]) -> None:
    """Raise unless `after` keeps every row of `before`, changing at most a null valid_to into a later time."""
    after_by_id = {(key_of(r), r["valid_from"]): r for r in after}
    for old in before:
        new = after_by_id.get((key_of(old), old["valid_from"]))
        if new is None:
            raise RuntimeError(f"price history would lose a row: {key_of(old)} from {old['valid_from']}")
        changed = {c for c in old if c != "valid_to" and old[c] != new.get(c)}
        if changed:
            raise RuntimeError(f"price history would overwrite {sorted(changed)} of {key_of(old)}")
        if old["valid_to"] is not None and new["valid_to"] != old["valid_to"]:
            raise RuntimeError(f"price history would reopen or move the end of {key_of(old)}")
        if new["valid_to"] is not None and new["valid_to"] <= old["valid_from"]:
            raise RuntimeError(f"price history would end {key_of(old)} before it starts")
