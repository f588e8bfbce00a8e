"""The daemon's `daily-report` job: one email a day at `report.send_at` (report.timezone), never two.

Which report is due is worked out from the clock and what was sent, not from the scheduler's memory: each
send is recorded in the warehouse's `ingest_state` (source `report:daily`, partition = the day reported on),
so a restarted daemon (or a second run of `spendscope run --once`) does not send the same day again, and a
daemon that was down at send time sends the latest due report once when it comes back. The job fires at
send_at (a CronTrigger in the send zone), at daemon start, and every RETRY_MINUTES, so a failed send (SMTP
down) is tried again that day; each run that finds nothing due does one small query.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from dashboards.report.data import build_report
from dashboards.report.mail import send_report
from dashboards.report.model import DailyReport
from dashboards.report.timing import last_send_time, send_zone, yesterday
from exporters.warehouse.engine import Warehouse
from spendscope.clock import Clock, system_clock
from spendscope.config import Settings
from spendscope.config_report import ReportConfig

log = logging.getLogger(__name__)
SOURCE = "report:daily"
RETRY_MINUTES = 30


@dataclass(frozen=True)
class Sent:
    """The latest report sent: the day it covered, where its alert digest ended, when it went out."""

    day: dt.date
    window_end: dt.datetime | None
    sent_at: dt.datetime | None


def last_sent(wh: Warehouse) -> Sent | None:
    """The latest report the daemon sent (by the day reported on), or None before the first."""
    rows = wh.query(
        "SELECT `partition` AS day, max_usage_end AS window_end, watermark AS sent_at FROM ingest_state "
        "WHERE source = @source ORDER BY `partition` DESC LIMIT 1",
        {"source": SOURCE},
    ).to_pylist()
    if not rows:
        return None
    r = rows[0]
    return Sent(dt.date.fromisoformat(r["day"]), r["window_end"], r["sent_at"])


def record_sent(wh: Warehouse, report: DailyReport, recipients: int, sent_at: dt.datetime) -> None:
    """Write that `report` went out (replacing any earlier record of the same day)."""
    row = {"source": SOURCE, "partition": report.day.isoformat(), "watermark": sent_at,
           "max_usage_end": report.window_end, "rows": recipients, "cost": report.total, "ingested_at": sent_at,
           "_day": report.day, "_source": "report"}  # fmt: skip
    wh.replace("ingest_state", pa.Table.from_pylist([row]), [{"source": SOURCE, "partition": report.day.isoformat()}])


def due_day(
    settings: Settings, now: dt.datetime, last: Sent | None, started: dt.datetime | None = None
) -> dt.date | None:
    """The day the latest scheduled send at or before `now` reports on, unless it (or a later day) was sent.

    Before the first send ever (`last` is None), a send time before `started` (the daemon's start) is not
    caught up: enabling the report does not mail an old one at once, the first goes out at the next send_at.
    """
    at = last_send_time(settings, now)
    if last is None and started is not None and at < started:
        return None
    day = yesterday(settings, at)
    return None if last is not None and last.day >= day else day


class ReportJob:
    """Sends the due report, if any, and records it; `run` is the daemon job (returns reports sent)."""

    def __init__(
        self,
        settings: Settings,
        wh: Warehouse,
        clock: Clock = system_clock,
        send: Callable[[DailyReport, ReportConfig], object] = send_report,
    ) -> None:
        self.settings = settings
        self.wh = wh
        self.clock = clock
        self.send = send
        self.started = clock()

    def trigger(self) -> BaseTrigger:
        """At send_at in the send zone, and every RETRY_MINUTES (the job itself decides whether one is due)."""
        at, zone = self.settings.report.send_at, send_zone(self.settings)
        return OrTrigger([CronTrigger(hour=at.hour, minute=at.minute, timezone=zone),
                          IntervalTrigger(minutes=RETRY_MINUTES)])  # fmt: skip

    def run(self) -> int:
        now = self.clock()
        last = last_sent(self.wh)
        day = due_day(self.settings, now, last, self.started)
        if day is None:
            log.debug("report:nothing-due last:%s", last.day if last else None)
            return 0
        # The digest goes on from where the last one ended, so skipped days lose no alert.
        since = last.window_end if last is not None else None
        report = build_report(self.wh, self.settings, day, now=now, since=since)
        self.send(report, self.settings.report)
        record_sent(self.wh, report, len(self.settings.report.to), now)
        log.info("report:sent day:%s recipients:%s", day, len(self.settings.report.to))
        return 1
