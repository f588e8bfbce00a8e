"""`build_report`: the daily cost email's figures for one reporting day, read from the warehouse.

Cost figures come from spendscope/costs.py with the very calls `spendscope costs --since D --until D --by …`
makes, so every cost in the email equals the CLI's. Budgets and credits are the configured rules' own
figures (BudgetRule.status, CreditRule.burns) evaluated as at the end of the day, so the email agrees with
the alerts; the month's budget and forecast are the dashboard Overview's (dashboards/queries/budgets.py
month_outlook: the fleet-wide month budget rule, else the plan's monthly target). Idle GPU money is
economics.unit_economics', actions come from action_log, alerts from alert_events, freshness from costs.freshness.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from alerts.actions.log import recent_actions
from alerts.context import EvalContext
from alerts.loader import load_rules
from alerts.rules.budget import BudgetRule, BudgetStatus
from alerts.rules.credit import CreditRule
from dashboards.queries.budgets import month_outlook
from dashboards.report.digest import alert_lines
from dashboards.report.model import (
    ActionLine,
    BudgetLine,
    CreditLine,
    DailyPoint,
    DailyReport,
    Freshness,
    IdleLine,
    Mover,
)
from dashboards.report.timing import DAY, digest_window
from exporters.warehouse.engine import Warehouse
from spendscope import costs, economics
from spendscope.clock import local_midnight, system_clock
from spendscope.config import Settings
from spendscope.costs import NO_FILTER
from spendscope.errors import SpendscopeError

log = logging.getLogger(__name__)
MOVER_DIMENSIONS = ("service", "team", "project")
CHART_DAYS = 14


def spend_by(wh: Warehouse, dim: str, day: dt.date, tz: str, currency: str) -> dict[str, float]:
    """Billed cost of `day` per value of `dim`: `spendscope costs --since day --until day --by dim`."""
    table = costs.summary(wh, [dim], day, day, tz)
    out: dict[str, float] = {}
    for r in table.to_pylist():
        if r["currency"] == currency:
            key = "(none)" if r[dim] is None else str(r[dim])
            out[key] = out.get(key, 0.0) + (r["billed_cost"] or 0.0)
    return out


def movers(wh: Warehouse, dim: str, day: dt.date, tz: str, currency: str) -> list[Mover]:
    """Every value of `dim` with its spend on `day` and the day before, largest change first."""
    now, before = spend_by(wh, dim, day, tz, currency), spend_by(wh, dim, day - DAY, tz, currency)
    rows = [Mover(dim, v, now.get(v, 0.0), before.get(v, 0.0)) for v in now.keys() | before.keys()]
    return sorted(rows, key=lambda m: (-abs(m.change), -m.cost, m.value))


def _daily(wh: Warehouse, day: dt.date, tz: str, currency: str) -> tuple[DailyPoint, ...]:
    table = costs.daily_by(wh, "provider", day - (CHART_DAYS - 1) * DAY, day, tz)
    return tuple(
        DailyPoint(r["day"], r["provider"] or "(none)", r["billed_cost"] or 0.0)
        for r in table.to_pylist()
        if r["currency"] == currency
    )


def _budget_line(s: BudgetStatus) -> BudgetLine:
    return BudgetLine(s.budget, s.period, s.start, s.end, s.amount_usd, s.actual_usd, s.used_ratio, s.forecast_usd,
                      s.forecast_ratio)  # fmt: skip


def _month_budget(
    wh: Warehouse, settings: Settings, day: dt.date, now: dt.datetime, notes: list[str]
) -> BudgetLine | None:
    """Month to date against the month's budget and its forecast: the dashboard Overview's month_outlook."""
    try:
        o = month_outlook(wh, settings, day, NO_FILTER, now=now)
    except SpendscopeError as exc:  # a broken rule file: the rest of the email still goes out
        notes.append(f"monthly budget: {exc}")
        return None
    if o["budget_usd"] is None:
        return None
    return BudgetLine(o["budget_source"], "month", o["period_start"], o["period_end"], o["budget_usd"], o["mtd_usd"],
                      o["used_ratio"], o["forecast_usd"], o["forecast_ratio"])  # fmt: skip


def _rules(ctx: EvalContext, notes: list[str]) -> tuple[list[BudgetLine], list[CreditLine]]:
    """Every budget's and credit's standing at the end of the day; a failing rule becomes a note."""
    try:
        rules = load_rules(ctx.settings)
    except SpendscopeError as exc:
        notes.append(f"budgets and credits: {exc}")
        return [], []
    budgets: list[BudgetLine] = []
    credits: list[CreditLine] = []
    for rule in rules:
        if not rule.enabled:
            continue
        try:
            if isinstance(rule, BudgetRule):
                budgets += [_budget_line(s) for s in rule.status(ctx)]
            elif isinstance(rule, CreditRule):
                credits += [
                    CreditLine(
                        rule.name,
                        b.bucket,
                        b.amount_usd,
                        b.used_usd,
                        b.remaining_usd,
                        b.daily_burn_usd,
                        b.exhausts_at,
                        rule.expires,
                    )
                    for b in rule.burns(ctx)
                ]
        except Exception as exc:  # one broken rule must not stop the email (the alert engine says the same)
            log.warning("report:rule %s failed: %s", rule.name, exc)
            notes.append(f"rule {rule.name}: {type(exc).__name__}: {exc}")
    budgets.sort(key=lambda b: (-max(b.used_ratio or 0.0, b.forecast_ratio or 0.0), b.budget))
    return budgets, credits


def _idle(wh: Warehouse, day: dt.date, tz: str) -> tuple[IdleLine, ...]:
    rows = economics.unit_economics(wh, day, day, tz).to_pylist()
    return tuple(
        IdleLine(r["platform"], r["gpu_cost_usd"], r["idle_cost_usd"], r["busy_ratio"])
        for r in rows
        if r["gpu_cost_usd"] is not None or r["idle_cost_usd"] is not None
    )


def _actions(wh: Warehouse, since: dt.datetime, until: dt.datetime) -> tuple[ActionLine, ...]:
    rows: list[dict[str, Any]] = recent_actions(wh, since).to_pylist()
    return tuple(
        ActionLine(
            r["at"],
            r["step"],
            r["action"],
            r["platform"],
            r["resource_name"] or r["resource_id"],
            bool(r["dry_run"]),
            r["saving_usd_per_hour"],
            r["reason"],
        )
        for r in rows
        if r["at"] < until
    )


def _freshness(wh: Warehouse, day_end: dt.datetime) -> tuple[Freshness, ...]:
    return tuple(
        Freshness(
            r["source"], r["provider"], r["data_until"], r["data_until"] is not None and r["data_until"] >= day_end
        )
        for r in costs.freshness(wh).to_pylist()
    )


def build_report(
    wh: Warehouse,
    settings: Settings,
    day: dt.date,
    now: dt.datetime | None = None,
    since: dt.datetime | None = None,
    movers_per_dim: int | None = None,
) -> DailyReport:
    """The report on reporting day `day`; alerts and actions from `since` (default: the previous send) to now."""
    now = now or system_clock()
    tz, currency = settings.reporting.timezone, settings.reporting.currency
    top = movers_per_dim or settings.report.movers
    start, end = digest_window(settings, day, now)
    start = min(since, end) if since is not None else start
    day_end = local_midnight(day + DAY, tz)
    notes: list[str] = []
    providers = movers(wh, "provider", day, tz, currency)
    month = costs.month_to_date(wh, day, tz, currency)
    # Rules see the warehouse as at the last instant of the day: budgets of its month, credits through it.
    ctx = EvalContext(wh=wh, settings=settings, now=day_end - dt.timedelta(microseconds=1))
    budgets, credits = _rules(ctx, notes)
    other = sorted({r["currency"] for r in costs.summary(wh, [], day, day, tz).to_pylist()} - {currency})
    if other:
        notes.append(f"spend billed in {', '.join(other)} is not in these {currency} figures")
    return DailyReport(
        day=day,
        tz=tz,
        currency=currency,
        generated_at=now,
        window_start=start,
        window_end=end,
        total=sum(m.cost for m in providers),
        previous=sum(m.previous for m in providers),
        avg_7d=costs.daily_average(wh, day, tz, currency),
        by_provider=tuple(sorted(providers, key=lambda m: (-m.cost, m.value))),
        movers=tuple((d, tuple(movers(wh, d, day, tz, currency)[:top])) for d in MOVER_DIMENSIONS),
        mtd=month["mtd"],
        prev_mtd=month["prev_mtd"],
        month_budget=_month_budget(wh, settings, day, now, notes),
        budgets=tuple(budgets),
        credits=tuple(credits),
        idle=_idle(wh, day, tz),
        actions=_actions(wh, start, end),
        alerts=alert_lines(wh, settings, start, end),
        freshness=_freshness(wh, day_end),
        daily=_daily(wh, day, tz, currency),
        dashboard_url=settings.alerts.external_url,
        notes=tuple(notes),
    )
