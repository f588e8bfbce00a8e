"""The daemon's daily-report job, driven by an injected clock (no sleeps): once a day at send_at, never twice
after a restart, one catch-up after downtime, retried after a failed send; and end to end through a real
SMTP server (aiosmtpd on loopback) with the Daemon's own job.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from dashboards.report.model import DailyReport
from dashboards.report.schedule import ReportJob, last_sent
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.config_report import ReportConfig
from spendscope.errors import SourceError
from spendscope.scheduler import Daemon
from tests.common.smtp import Inbox
from tests.seed import seed_costs

LA = ZoneInfo("America/Los_Angeles")
T = dt.date(2026, 11, 11)
ONE = dt.timedelta(days=1)


def la(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LA).astimezone(dt.UTC)


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


class Outbox:
    """A send function that keeps the reports it is given (or fails while `fail` is set)."""

    def __init__(self) -> None:
        self.reports: list[DailyReport] = []
        self.fail: str | None = None

    def __call__(self, report: DailyReport, cfg: ReportConfig) -> None:
        if self.fail:
            raise SourceError(self.fail)
        self.reports.append(report)

    @property
    def days(self) -> list[dt.date]:
        return [r.day for r in self.reports]


def make_settings(tmp_path: Path, **report: Any) -> Settings:
    return Settings.model_validate({
        "home": str(tmp_path / "home"), "warehouse": {"path": str(tmp_path / "lake")},
        "exporters": {"prometheus": {"enabled": False}}, "alerts": {"enabled": False, "rule_files": []},
        "report": {"enabled": True, "send_at": "08:00", "to": ["ops@example.com"], **report},
    })  # fmt: skip


@pytest.fixture
def lake(tmp_path: Path) -> DuckDbLake:
    wh = DuckDbLake(tmp_path / "lake")
    tags = json.dumps({"team": "ml"})
    rows = [{"BilledCost": 100.0 + n, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
             "ChargePeriodStart": la(T - n * ONE, 12), "Tags": tags} for n in range(1, 10)]  # fmt: skip
    seed_costs(wh, rows)
    return wh


def test_sends_once_a_day_at_send_at_and_not_again_after_a_restart(tmp_path: Path, lake: DuckDbLake) -> None:
    settings, clock, outbox = make_settings(tmp_path), Clock(la(T, 7)), Outbox()
    job = ReportJob(settings, lake, clock=clock, send=outbox)
    assert job.run() == 0, "a fresh daemon does not mail yesterday's missed report at once"
    clock.at = la(T, 8)
    assert job.run() == 1 and outbox.days == [T - ONE]
    assert outbox.reports[0].total == pytest.approx(101.0)  # the seeded spend of T-1
    clock.at = la(T, 8, 30)
    assert job.run() == 0
    clock.at = la(T, 9)
    restarted = ReportJob(settings, lake, clock=clock, send=outbox)
    assert restarted.run() == 0 and outbox.days == [T - ONE]
    clock.at = la(T + ONE, 7, 59)
    assert restarted.run() == 0
    clock.at = la(T + ONE, 8)
    assert restarted.run() == 1 and outbox.days == [T - ONE, T]
    first, second = outbox.reports
    assert second.window_start == first.window_end == la(T, 8), "each digest starts where the previous one ended"
    sent = last_sent(lake)
    assert sent is not None and (sent.day, sent.window_end, sent.sent_at) == (T, la(T + ONE, 8), la(T + ONE, 8))


def test_a_daemon_down_at_send_time_catches_up_once(tmp_path: Path, lake: DuckDbLake) -> None:
    settings, clock, outbox = make_settings(tmp_path), Clock(la(T, 8)), Outbox()
    assert ReportJob(settings, lake, clock=clock, send=outbox).run() == 1
    clock.at = la(T + 3 * ONE, 10, 15)  # down for the next three sends, back at 10:15
    job = ReportJob(settings, lake, clock=clock, send=outbox)
    assert job.run() == 1 and job.run() == 0
    assert outbox.days == [T - ONE, T + 2 * ONE], "only the latest due report, once"
    # Nothing the skipped days' digests would have held is lost: the catch-up's digest spans them.
    assert (outbox.reports[1].window_start, outbox.reports[1].window_end) == (la(T, 8), la(T + 3 * ONE, 8))


def test_a_failed_send_is_tried_again(tmp_path: Path, lake: DuckDbLake) -> None:
    settings, clock, outbox = make_settings(tmp_path), Clock(la(T, 8)), Outbox()
    job = ReportJob(settings, lake, clock=clock, send=outbox)
    outbox.fail = "daily report: SMTP 127.0.0.1:25 connect: ConnectionRefusedError"
    with pytest.raises(SourceError):
        job.run()
    assert last_sent(lake) is None
    outbox.fail = None
    clock.at = la(T, 8, 30)  # the job's retry interval
    assert job.run() == 1 and outbox.days == [T - ONE]


def test_a_send_zone_ahead_reports_a_day_that_is_over(tmp_path: Path, lake: DuckDbLake) -> None:
    # 08:00 in Tokyo is 15:00 the day before in Los Angeles: that Los Angeles day is not over, so the report
    # covers the one before it.
    settings, outbox = make_settings(tmp_path, timezone="Asia/Tokyo"), Outbox()
    tokyo_8am = dt.datetime.combine(T, dt.time(8), tzinfo=ZoneInfo("Asia/Tokyo")).astimezone(dt.UTC)
    clock = Clock(tokyo_8am - dt.timedelta(minutes=1))
    job = ReportJob(settings, lake, clock=clock, send=outbox)
    clock.at = tokyo_8am
    assert job.run() == 1 and outbox.days == [T - 2 * ONE]


def test_the_daemon_schedules_the_job_at_send_at_in_its_zone(tmp_path: Path, lake: DuckDbLake) -> None:
    settings = make_settings(tmp_path, send_at="07:30", timezone="Europe/Berlin")
    daemon = Daemon(settings, lake, collectors=[])
    job = daemon.jobs["daily-report"]
    assert isinstance(job.trigger, OrTrigger) and job.run_at_start
    [cron] = [t for t in job.trigger.triggers if isinstance(t, CronTrigger)]
    berlin = ZoneInfo("Europe/Berlin")
    after = dt.datetime(2026, 11, 11, 7, 31, tzinfo=berlin)
    assert cron.get_next_fire_time(None, after) == dt.datetime(2026, 11, 12, 7, 30, tzinfo=berlin)
    assert "daily-report" not in Daemon(make_settings(tmp_path, enabled=False), lake, collectors=[]).jobs


@pytest.mark.integration
def test_the_daemon_job_mails_once_through_a_real_server_across_a_restart(
    tmp_path: Path, lake: DuckDbLake, cert: tuple[Path, Path], starttls_server: tuple[Inbox, int], smtp_env: None
) -> None:
    inbox, port = starttls_server
    smtp = {"host": "127.0.0.1", "port": port, "ca_file": str(cert[0]), "username_env": "SMTP_USER",
            "password_env": "SMTP_PASSWORD", "timeout_seconds": 10}  # fmt: skip
    settings = make_settings(tmp_path, smtp=smtp, to=["ops@example.com", "finance@example.com"])
    clock = Clock(la(T, 7, 55))
    daemon = Daemon(settings, lake, clock=clock, collectors=[])
    clock.at = la(T, 8)
    assert daemon.run_job("daily-report") and daemon.jobs["daily-report"].health.last_rows == 1
    clock.at = la(T, 8, 5)
    restarted = Daemon(settings, lake, clock=clock, collectors=[])
    assert restarted.run_job("daily-report") and restarted.jobs["daily-report"].health.last_rows == 0
    [r] = inbox.received
    assert r.rcpt_tos == ["ops@example.com", "finance@example.com"]
    assert f"Cloud spend {T - ONE}: $101.00" in r.message["Subject"]
