"""Cost data for rules with `source: live`: `spend_live` (billed where complete, the live estimate after) indexed
like cost_daily / cost_hourly, so the budget, spike and credit rules judge spend hours before the bill shows it.

A live rule evaluates on a child context (`live_view`, one per evaluation, shared by every live rule) whose
indexes read `spend_live` and whose data horizon is the estimate's reach — the last live-estimate run, never
past now — for every source: spend the estimate does not cover (storage, network, serverless) counts as
billed so far. Only the `spend_live` dimensions (provider, platform, service, team, project) can be scoped
on; the others read as '(none)'. The estimated dollars of a figure are its `cost_estimates` source, which the
rules name in their alerts ("estimated").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from alerts.rules.costdata import (
    DAILY_DIMS,
    HOURLY_DIMS,
    NULL_AS,
    CostIndex,
    Mask,
    check_dims,
    fmt_usd,
)
from spendscope.clock import local_midnight

if TYPE_CHECKING:
    from alerts.context import EvalContext

LIVE_DIMS = HOURLY_DIMS
DAY = dt.timedelta(days=1)
ESTIMATE = "cost_estimates"  # spend_live.source of estimated rows
# How far the estimate has reached (its last run); only recent hours, so a long-dead job shows as stale data.
REACH_SQL = "SELECT MAX(until) AS until FROM cost_estimates WHERE _day >= @dmin AND hour <= @now"


def check_live_dims(source: str, names: Sequence[str], what: str) -> None:
    """With `source: live` only spend_live's dimensions can be scoped or grouped on."""
    if source == "live":
        check_dims(names, LIVE_DIMS, f"{what} (source: live)")


def live_view(ctx: EvalContext, source: str) -> EvalContext:
    """The context a rule with `source` reads: for "live" the live child of `ctx` (created once per evaluation),
    else `ctx` itself."""
    if source != "live" or ctx.basis == "live":
        return ctx
    return ctx.cached("live_view", lambda: dataclasses.replace(ctx, basis="live", _cache={}))


def source_evidence(source: str, estimated: float) -> dict[str, object]:
    """The evidence every cost rule adds about its source: which it reads, and how much of its figure is estimated."""
    return {"source": source, "basis": "estimated" if estimated else "billed", "estimated_usd": round(estimated, 2)}


def live_reach(ctx: EvalContext) -> dict[str, dt.datetime]:
    """Source → horizon in live mode: the estimate's reach for every source spend_live has, else billed horizons."""
    got = ctx.query(REACH_SQL, {"dmin": ctx.now.date() - dt.timedelta(days=2), "now": ctx.now}).to_pylist()
    until = got[0]["until"] if got else None
    sources = ctx.query(
        "SELECT source, MAX(data_until) AS until FROM spend_live WHERE hour >= @since GROUP BY source",
        {"since": ctx.now - dt.timedelta(days=62)},
    ).to_pylist()
    if until is None:  # no estimate yet: spend_live is the billed cost, as far as it reaches
        return {r["source"]: r["until"] for r in sources if r["until"] is not None}
    reach = min(until, ctx.now)
    return {r["source"]: reach for r in sources} | {ESTIMATE: reach}


def _dims_sql() -> str:
    parts = []
    for d in DAILY_DIMS:
        null = NULL_AS.get(d, "(none)")
        parts.append(f"IFNULL({d}, '{null}') AS {d}" if d in LIVE_DIMS else f"'{null}' AS {d}")
    return ", ".join(parts)


def daily_index(ctx: EvalContext, since: dt.date, until: dt.date) -> CostIndex:
    """spend_live by reporting day (in the reporting zone), source and dimension, like costdata.daily_index."""

    def build() -> CostIndex:
        table = ctx.query(
            f"""
            SELECT DATE(hour, @tz) AS day, source, {_dims_sql()},
                   SUM(usd) AS billed_usd, SUM(effective_usd) AS effective_usd, SUM(usd) AS list_usd
            FROM spend_live
            WHERE hour >= @start AND hour < @end
            GROUP BY {", ".join(str(i) for i in range(1, len(DAILY_DIMS) + 3))}
            """,
            {"tz": ctx.tz, "start": local_midnight(since, ctx.tz), "end": local_midnight(until + DAY, ctx.tz)},
        )
        return CostIndex.from_table(table, "day", DAILY_DIMS, ("billed", "effective", "list"), since)

    return ctx.cached(("live_daily_index", since, until), build)


def hourly_index(ctx: EvalContext, since: dt.datetime) -> CostIndex:
    """spend_live per UTC hour, source and dimension, with `projected` (an hour under way at its run-rate)."""

    def build() -> CostIndex:
        dims = ", ".join(f"IFNULL({d}, '{NULL_AS.get(d, '(none)')}') AS {d}" for d in HOURLY_DIMS)
        table = ctx.query(
            f"""
            SELECT hour, source, {dims}, SUM(usd) AS billed_usd, SUM(effective_usd) AS effective_usd,
                   SUM(projected_usd) AS projected_usd
            FROM spend_live
            WHERE hour >= @since
            GROUP BY {", ".join(str(i) for i in range(1, len(HOURLY_DIMS) + 3))}
            """,
            {"since": since},
        )
        return CostIndex.from_table(table, "hour", HOURLY_DIMS, ("billed", "effective", "projected"), since)

    return ctx.cached(("live_hourly_index", since), build)


def estimated_usd(idx: CostIndex, mask: Mask, cost: str, slots: Sequence[object] | None = None) -> float:
    """The estimated dollars among the masked rows (optionally only in `slots`)."""
    if ESTIMATE not in idx.sources:
        return 0.0
    m = mask & (idx.source == idx.sources.index(ESTIMATE))
    if slots is not None:
        wanted = [idx.position[s] for s in slots if s in idx.position]
        m &= np.isin(idx.slot, wanted)
    return float(idx.cost[cost][m].sum())


def estimated_note(estimated: float, total: float) -> str:
    """'; estimated: $X of it from the live estimate (not yet billed)' or ''."""
    if estimated == 0:
        return ""
    return f" — estimated: {fmt_usd(estimated)} of {fmt_usd(total)} from the live estimate, not yet billed"
