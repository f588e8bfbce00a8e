"""When reports are due and what day each covers: one send a day at `report.send_at` in `report.timezone`.

A send at instant S reports on the reporting day before S's own reporting day (reporting.timezone, the
days `spendscope costs` uses), so the day covered is always over when it is sent, whatever the two zones.
The alert digest of a report covers the time since the previous send.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from spendscope.clock import local_day
from spendscope.config import Settings

DAY = dt.timedelta(days=1)


def send_zone(settings: Settings) -> str:
    """The time zone of `report.send_at` (reporting.timezone unless report.timezone is set)."""
    return settings.report.timezone or settings.reporting.timezone


def yesterday(settings: Settings, now: dt.datetime) -> dt.date:
    """The reporting day before the one `now` falls on (the default report day)."""
    return local_day(now, settings.reporting.timezone) - DAY


def send_time(settings: Settings, local_day: dt.date) -> dt.datetime:
    """The UTC instant of the send on `local_day` (a day in the send zone)."""
    zone = ZoneInfo(send_zone(settings))
    return dt.datetime.combine(local_day, settings.report.send_at, tzinfo=zone).astimezone(dt.UTC)


def last_send_time(settings: Settings, now: dt.datetime) -> dt.datetime:
    """The latest scheduled send at or before `now`."""
    today = local_day(now, send_zone(settings))
    at = send_time(settings, today)
    return at if at <= now else send_time(settings, today - DAY)


def send_time_for(settings: Settings, day: dt.date) -> dt.datetime:
    """The scheduled send that reports on `day` (the first whose reporting day is the day after it)."""
    for offset in (0, 1, 2):
        at = send_time(settings, day + dt.timedelta(days=offset))
        if yesterday(settings, at) == day:
            return at
    return send_time(settings, day + DAY)  # zones far apart around a DST change: the nearest send


def digest_window(settings: Settings, day: dt.date, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """From the send that reported on the day before `day` to the one reporting on `day` (not past `now`)."""
    end = min(send_time_for(settings, day), now)
    start = min(send_time_for(settings, day - DAY), end)
    return start, end
