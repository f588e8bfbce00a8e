"""The daemon's `alerts` job: scheduled one interval after start, a failing rule marks the job down (with the
rule named) while every other rule's alerts are still recorded, and the engine lock is released on stop."""

from __future__ import annotations

from alerts.engine import AlertEngine
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.scheduler import Daemon
from tests.alerts.test_engine import Clock, Scripted, finding


def test_alerts_job_reports_failing_rule_and_records_the_rest(settings: Settings, lake: DuckDbLake) -> None:
    daemon = Daemon(settings, lake, collectors=[])
    job = daemon.jobs["alerts"]
    assert job.interval_minutes == settings.alerts.interval_minutes and job.run_at_start is False
    clock = Clock()
    Scripted.script = {"fine": [finding(host="a")]}  # "broken" has no script: it raises
    assert daemon.alerts is not None
    daemon.alerts.close()
    daemon.alerts = AlertEngine(settings, lake, [Scripted(name="broken"), Scripted(name="fine")], clock=clock)
    assert daemon.run_job("alerts") is False
    assert job.health.up is False and "broken" in (job.health.last_error or "")
    rules = lake.query("SELECT rule, event FROM alert_events").to_pylist()
    assert rules == [{"rule": "fine", "event": "firing"}]
    daemon.stop(wait=False)
    again = AlertEngine(settings, lake, [Scripted(name="fine")], clock=clock)
    again.evaluate()  # the stopped daemon released the evaluator lock
    again.close()


def test_alerts_disabled_means_no_job(settings: Settings, lake: DuckDbLake) -> None:
    off = settings.model_copy(update={"alerts": settings.alerts.model_copy(update={"enabled": False})})
    assert "alerts" not in Daemon(off, lake, collectors=[]).jobs
