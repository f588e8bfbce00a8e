"""Number and time formatting shared by the HTML and plain-text report: money to the cent, as `spendscope costs`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dashboards.report.model import AlertLine, DailyReport

NONE = "—"


def money(x: float | None) -> str:
    """$1,234.56, -$5.00; — when unknown (the CLI prints the same figure as 1,234.56)."""
    if x is None:
        return NONE
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def signed(x: float | None) -> str:
    """+$12.34 / -$12.34 for a change."""
    if x is None:
        return NONE
    return f"-${-x:,.2f}" if x < 0 else f"+${x:,.2f}"


def ratio(x: float | None) -> str:
    """0.643 → 64.3%."""
    return NONE if x is None else f"{100 * x:.1f}%"


def change_pct(now: float, before: float) -> str:
    """+12.3% vs `before`; — when `before` is zero."""
    return NONE if before == 0 else f"{100 * (now - before) / before:+.1f}%"


def when(at: dt.datetime | None, tz: str) -> str:
    """2026-11-21 08:00 PST in the reporting zone."""
    return NONE if at is None else at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def subject(report: DailyReport, prefix: str) -> str:
    """`[spendscope] Cloud spend 2026-11-21: $1,234.56 (+3.2% vs the day before)`."""
    vs = change_pct(report.total, report.previous)
    tail = f" ({vs} vs the day before)" if vs != NONE else ""
    partial = " — incomplete, billing data still arriving" if incomplete(report) else ""
    return f"{prefix} Cloud spend {report.day}: {money(report.total)}{tail}{partial}".strip()


def incomplete(report: DailyReport) -> list[str]:
    """The cost sources whose data does not yet cover the whole reporting day (their figures will still grow)."""
    return [f"{f.provider} ({f.source})" for f in report.freshness if not f.complete]


def alert_note(a: AlertLine) -> str:
    """resolved, acked by …, silenced, mailed at once: what else a reader should know about an alert line."""
    parts = []
    if a.resolved_at is not None:
        parts.append(f"resolved {a.resolved_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC")
    if a.acked_by:
        parts.append(f"acked by {a.acked_by}")
    if a.silenced:
        parts.append("silenced")
    if a.mailed_at_once:
        parts.append("mailed at once")
    return ", ".join(parts)
