"""The report laid out once as sections of sentences and tables of formatted cells; text.py and html.py draw them.

Both renderings print the very same strings, so the plain-text part and the HTML part never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dashboards.report import fmt
from dashboards.report.model import BudgetLine, DailyReport, Mover
from dashboards.report.timing import DAY

MAX_BUDGETS = 10
MAX_ALERTS = 50
MAX_ACTIONS = 20


@dataclass(frozen=True)
class Table:
    """Formatted cells; `right`: right-aligned (numeric) columns; `links`: per row, a URL for its first cell."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[int] = frozenset()
    more: str = ""  # "… and 6 more budgets (see the dashboard)" when rows were left out
    links: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...] = ()  # sentences before the tables
    tables: tuple[Table, ...] = ()
    after: tuple[str, ...] = field(default=())  # sentences after the tables


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int] = (),
    total: int | None = None,
    what: str = "rows",
    links: Sequence[str | None] = (),
) -> Table:
    left_out = (total or len(rows)) - len(rows)
    more = f"… and {left_out} more {what} (see the dashboard)" if left_out > 0 else ""
    return Table(caption, tuple(headers), tuple(tuple(r) for r in rows), frozenset(right), more, tuple(links))


def _headline(r: DailyReport) -> Section:
    rows = [
        [f"{r.day:%a} {r.day}", fmt.money(r.total), "", ""],
        [
            f"{r.day - DAY:%a} {r.day - DAY} (the day before)",
            fmt.money(r.previous),
            fmt.signed(r.change),
            fmt.change_pct(r.total, r.previous),
        ],
        [
            "7-day average (the 7 days before)",
            fmt.money(r.avg_7d),
            fmt.signed(r.total - r.avg_7d),
            fmt.change_pct(r.total, r.avg_7d),
        ],
    ]
    providers = [[m.value, fmt.money(m.cost), fmt.money(m.previous), fmt.signed(m.change)] for m in r.by_provider]
    late = fmt.incomplete(r)
    warning = (
        f"Incomplete: {', '.join(late)} billing data does not cover the whole day yet; these figures will grow."
        if late
        else ""
    )
    return Section(
        f"Spend on {r.day} ({r.tz}, billed {r.currency})",
        lines=(warning,) if warning else (),
        tables=(
            _table("", ["", "billed", "change", "vs"], rows, (1, 2, 3)),
            _table("By provider", ["provider", str(r.day), "day before", "change"], providers, (1, 2, 3)),
        ),
    )


def _period(b: BudgetLine) -> str:
    if b.period == "month":
        return f"{b.start:%Y-%m}"
    return str(b.start) if b.start == b.end else f"{b.start}..{b.end}"


def _month(r: DailyReport) -> Section:
    lines = [f"Month to date through {r.day}: {fmt.money(r.mtd)} (same span last month: {fmt.money(r.prev_mtd)})."]
    if r.month_budget is not None:
        b = r.month_budget
        lines.append(
            f"Monthly budget {fmt.money(b.amount_usd)} ({b.budget}): {fmt.ratio(b.used_ratio)} used; month-end "
            f"forecast {fmt.money(b.forecast_usd)} ({fmt.ratio(b.forecast_ratio)} of budget)."
        )
    shown = r.budgets[:MAX_BUDGETS]
    rows = [
        [
            b.budget,
            _period(b),
            fmt.money(b.actual_usd),
            fmt.money(b.amount_usd),
            fmt.ratio(b.used_ratio),
            fmt.money(b.forecast_usd),
            fmt.ratio(b.forecast_ratio),
        ]
        for b in shown
    ]
    headers = ["budget", "period", "actual", "budget", "used", "forecast", "of budget"]
    tables = (_table("Budgets", headers, rows, (2, 3, 4, 5, 6), len(r.budgets), "budgets"),) if rows else ()
    return Section("Month to date, budget and forecast", tuple(lines), tables)


def _mover_rows(movers: Sequence[Mover]) -> list[list[str]]:
    return [
        [m.value, fmt.money(m.cost), fmt.money(m.previous), fmt.signed(m.change), fmt.change_pct(m.cost, m.previous)]
        for m in movers
    ]


def _movers(r: DailyReport) -> Section:
    tables = tuple(
        _table(f"By {dim}", [dim, str(r.day), "day before", "change", "%"], _mover_rows(movers), (1, 2, 3, 4))
        for dim, movers in r.movers
    )
    return Section("Top movers vs the day before", tables=tables)


def _idle(r: DailyReport) -> Section:
    idle = [
        [i.platform, fmt.money(i.gpu_cost_usd), fmt.money(i.idle_cost_usd), fmt.ratio(i.busy_ratio)] for i in r.idle
    ]
    shown = r.actions[:MAX_ACTIONS]
    steps = [
        [
            fmt.when(a.at, r.tz),
            a.step,
            a.action,
            a.resource,
            "yes" if a.dry_run else "no",
            fmt.money(a.saving_usd_per_hour),
        ]
        for a in shown
    ]
    lines = (
        f"Idle GPU spend on {r.day}: {fmt.money(r.idle_cost_usd)}.",
        f"Auto-shutdown since the last report: {len(r.actions)} step(s); what was stopped saves about "
        f"{fmt.money(r.saving_usd_per_hour)}/h.",
    )
    tables = []
    if idle:
        tables.append(_table("GPU spend by platform", ["platform", "GPU spend", "idle", "busy"], idle, (1, 2, 3)))
    if steps:
        headers = ["at", "step", "action", "resource", "dry-run", "saves $/h"]
        tables.append(_table("Actions", headers, steps, (5,), len(r.actions), "steps"))
    return Section("Idle GPU spend and auto-shutdown actions", lines, tuple(tables))


def _alerts(r: DailyReport) -> Section:
    title = f"Alerts: {len(r.firing)} firing; since {fmt.when(r.window_start, r.tz)}"
    if not r.alerts:
        return Section(title, ("No alert fired since the last report, and none is firing.",))
    shown = r.alerts[:MAX_ALERTS]
    rows = [
        [a.alertname, a.severity, a.state, a.identity, fmt.when(a.fired_at, r.tz), a.summary, fmt.alert_note(a)]
        for a in shown
    ]
    headers = ["alert", "severity", "state", "labels", "fired", "summary", "note"]
    table = _table("", headers, rows, (), len(r.alerts), "alerts", [a.link for a in shown])
    lines = (
        "Every alert firing now and every one that fired since the last report: non-critical alerts are "
        "mailed only in this digest.",
    )
    return Section(title, lines, (table,))


def _credits(r: DailyReport) -> Section:
    if not r.credits:
        return Section("Credits remaining", ("No prepaid credit is tracked for this day (a `credit` rule).",))
    rows = [
        [
            c.credit,
            c.bucket,
            fmt.money(c.remaining_usd),
            fmt.money(c.amount_usd),
            fmt.ratio(c.used_usd / c.amount_usd),
            fmt.money(c.daily_burn_usd),
            fmt.when(c.exhausts_at, r.tz),
            str(c.expires or fmt.NONE),
        ]
        for c in r.credits
    ]
    headers = ["credit", "bucket", "remaining", "of", "used", "burn/day", "runs out", "expires"]
    return Section("Credits remaining", tables=(_table("", headers, rows, (2, 3, 4, 5)),))


def _freshness(r: DailyReport) -> Section:
    rows = [[f.source, f.provider, fmt.when(f.data_until, r.tz), "yes" if f.complete else "NO"] for f in r.freshness]
    table = _table("", ["source", "provider", "data until", "covers the day"], rows)
    return Section("Data freshness", tables=(table,), after=tuple(f"Note: {n}" for n in r.notes))


def sections(r: DailyReport) -> list[Section]:
    """The report's sections in reading order."""
    return [_headline(r), _month(r), _movers(r), _idle(r), _alerts(r), _credits(r), _freshness(r)]


def footer(r: DailyReport) -> tuple[str, str]:
    """(dashboard link text, generated-at line)."""
    return r.dashboard_url, f"Generated {fmt.when(r.generated_at, r.tz)} by spendscope."
