"""What a budget alert says: the summary and description people read, the evidence kept in alert_events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alerts.rules.costdata import fmt_horizons, fmt_time, fmt_usd, horizons, scope_values
from alerts.rules.livedata import estimated_note

if TYPE_CHECKING:
    from alerts.context import EvalContext
    from alerts.rules.budget import BudgetView
    from alerts.rules.forecast import Period


def period_text(p: Period) -> str:
    if p.kind == "day":
        return f"on {p.start.isoformat()}"
    if p.kind == "month":
        return f"in {p.start:%Y-%m}"
    return f"for {p.start.isoformat()} … {(p.end - dt.timedelta(days=1)).isoformat()}"


def completeness(ctx: EvalContext, v: BudgetView) -> str:
    """'complete' or 'partial, data through …' — an incomplete billing period is never passed off as whole."""
    if v.complete:
        return "complete"
    since = f" from {fmt_time(v.data_from, ctx.tz)}" if v.data_from else ""
    return f"partial, data{since} through {fmt_time(v.status.data_until, ctx.tz)}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def budget_annotations(ctx: EvalContext, v: BudgetView, kind: str, cost: str, threshold: float) -> dict[str, str]:
    s, f = v.status, v.forecast
    when = period_text(v.period)
    state = completeness(ctx, v)
    if kind == "actual":
        summary = (
            f"Budget {s.budget}: {fmt_usd(s.actual_usd)} of {fmt_usd(s.amount_usd)} ({_pct(s.used_ratio)}) "
            f"spent {when} ({state})"
        )
    else:
        summary = (
            f"Budget {s.budget}: forecast {fmt_usd(f.used or 0.0)} of {fmt_usd(s.amount_usd)} "
            f"({_pct(s.forecast_ratio)}) {when} by {f.method}; {fmt_usd(s.actual_usd)} so far ({state})"
        )
    lines = [
        f"{cost.capitalize()} cost {when}: {fmt_usd(s.actual_usd)} of {fmt_usd(s.amount_usd)} "
        f"({_pct(s.used_ratio)} used; this alert's threshold {threshold:.0%}).",
        f"Data: {state}; {fmt_horizons(ctx, v.sources)}.",
    ]
    if v.estimated_usd:
        summary = f"Estimated: {summary}{estimated_note(v.estimated_usd, s.actual_usd)}"
        lines.insert(1, f"Estimated: {fmt_usd(v.estimated_usd)} of it is the live estimate of what runs (spend_live), "
                        "not yet billed; the rest is billed.")  # fmt: skip
    if f.used is None:
        lines.append(f"Forecast: {f.note}.")
    else:
        trend = "n/a" if f.trend is None else fmt_usd(f.trend)
        lines.append(
            f"Forecast for the period: run-rate {fmt_usd(f.run_rate or 0.0)}, trend {trend}; "
            f"alerts use {f.method} ({_pct(s.forecast_ratio)}); {f.note}."
        )
    if s.labels:
        scope = ", ".join(f"{k}={val}" for k, val in s.labels.items() if k not in ("budget", "period"))
        lines.append(f"Scope: {scope or 'all spend'}.")
    return {"summary": summary, "description": "\n".join(lines)}


def budget_evidence(
    ctx: EvalContext, v: BudgetView, kind: str, cost: str, min_coverage: float, scope: Mapping[str, Any]
) -> dict[str, Any]:
    s = v.status
    h = horizons(ctx)
    return {
        "budget": s.budget,
        "kind": kind,
        "period": s.period,
        "start": s.start.isoformat(),
        "end": s.end.isoformat(),
        "cost": cost,
        "amount_usd": s.amount_usd,
        "actual_usd": round(s.actual_usd, 2),
        "used_ratio": None if s.used_ratio is None else round(s.used_ratio, 4),
        "forecast_ratio": None if s.forecast_ratio is None else round(s.forecast_ratio, 4),
        "data": "complete" if v.complete else "partial",
        "data_until": None if s.data_until is None else s.data_until.isoformat(),
        "data_from": None if v.data_from is None else v.data_from.isoformat(),
        "data_until_by_source": {src: h[src].isoformat() for src in v.sources if src in h},
        "forecast": v.forecast.evidence(min_coverage),
        "scope": scope_values(scope),
        "tz": ctx.tz,
    }
