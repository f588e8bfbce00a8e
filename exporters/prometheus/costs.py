"""Cost metrics: yesterday's and month-to-date billed cost, and how far each billing source reaches.

Read from the `cost_daily` rollup through `spendscope.costs` (the same sums the CLI and the dashboard show).
Label cardinality is bounded: the top `TOP_SERVICES` services and `TOP_TEAMS` teams by month-to-date cost keep
their names, the rest are summed under "other". Only USD rows are exposed (the metric is `_usd`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from exporters.prometheus.snapshot import Labels, PartContext, Samples
from spendscope import costs
from spendscope.clock import local_day

TOP_SERVICES = 15
TOP_TEAMS = 20
OTHER = "other"
_DIMS = ["provider", "platform", "service", "team"]


def _top(totals: dict[str, float], n: int) -> set[str]:
    return {k for k, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:n]}


def _rows(ctx: PartContext, since: dt.date, until: dt.date) -> list[dict[str, object]]:
    tz = ctx.settings.reporting.timezone
    table = costs.summary(ctx.warehouse, _DIMS, since, until, tz)
    return [r for r in table.to_pylist() if (r["currency"] or "USD") == "USD"]


def cost_metrics(ctx: PartContext) -> Samples:
    """spendscope_cost_usd{period=day|month} and spendscope_data_until_timestamp_seconds{source}."""
    today = local_day(ctx.now, ctx.settings.reporting.timezone)
    yesterday = today - dt.timedelta(days=1)
    month = _rows(ctx, today.replace(day=1), today)
    day = _rows(ctx, yesterday, yesterday)
    service_totals: dict[str, float] = defaultdict(float)
    team_totals: dict[str, float] = defaultdict(float)
    for r in month + day:
        service_totals[str(r["service"] or "")] += float(r["billed_cost"] or 0.0)  # type: ignore[arg-type]
        team_totals[str(r["team"] or "")] += float(r["billed_cost"] or 0.0)  # type: ignore[arg-type]
    services, teams = _top(service_totals, TOP_SERVICES), _top(team_totals, TOP_TEAMS)

    def folded(rows: list[dict[str, object]]) -> dict[Labels, float]:
        out: dict[Labels, float] = defaultdict(float)
        for r in rows:
            service, team = str(r["service"] or ""), str(r["team"] or "")
            key = (
                str(r["provider"] or ""),
                str(r["platform"] or ""),
                service if service in services else OTHER,
                team if team in teams else OTHER,
            )
            out[key] += float(r["billed_cost"] or 0.0)  # type: ignore[arg-type]
        return out

    by_day, by_month = folded(day), folded(month)
    # Every combination seen in either period gets both series (0 where it had no cost), so series stay stable.
    keys = set(by_day) | set(by_month)
    samples = [((*k, "day"), by_day.get(k, 0.0)) for k in keys] + [((*k, "month"), by_month.get(k, 0.0)) for k in keys]
    until: dict[str, float] = {}
    for r in costs.freshness(ctx.warehouse).to_pylist():
        if r["data_until"] is not None:
            source = str(r["source"] or "")
            until[source] = max(until.get(source, 0.0), r["data_until"].timestamp())
    return {
        "spendscope_cost_usd": samples,
        "spendscope_data_until_timestamp_seconds": [((s,), v) for s, v in until.items()],
    }
