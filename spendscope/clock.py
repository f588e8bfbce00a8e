"""Time in one place: an injectable clock and the reporting-day helpers (invoices use America/Los_Angeles)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

UTC = dt.UTC

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """Now, timezone-aware UTC."""
    return dt.datetime.now(UTC)


def fixed_clock(at: dt.datetime) -> Clock:
    """A clock frozen at `at` (for tests and reproducible demo data)."""
    frozen = at if at.tzinfo else at.replace(tzinfo=UTC)
    return lambda: frozen


def local_day(at: dt.datetime, tz: str) -> dt.date:
    """The reporting day instant `at` falls on in time zone `tz`."""
    return at.astimezone(ZoneInfo(tz)).date()


def local_midnight(day: dt.date, tz: str) -> dt.datetime:
    """The UTC instant reporting day `day` starts in time zone `tz`."""
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def today_in(tz: str, clock: Clock = system_clock) -> dt.date:
    """Today's date in time zone `tz` (the reporting day that is under way)."""
    return local_day(clock(), tz)


def parse_day(text: str, tz: str = "UTC", clock: Clock = system_clock) -> dt.date:
    """Parse YYYY-MM-DD, or 'today' / 'yesterday' / '-Nd' relative to today in `tz` (reporting days)."""
    text = text.strip().lower()
    today = today_in(tz, clock)
    if text == "today":
        return today
    if text == "yesterday":
        return today - dt.timedelta(days=1)
    if text.startswith("-") and text.endswith("d") and text[1:-1].isdigit():
        return today - dt.timedelta(days=int(text[1:-1]))
    return dt.date.fromisoformat(text)
