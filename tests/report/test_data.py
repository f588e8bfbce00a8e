"""build_report on seeded costs (exact arithmetic), alert events, action_log rows; and on the demo's data.

Seeded rows are synthetic FOCUS rows (tests/seed.py) that go through the same view and rollup as real data;
alert_events and action_log rows are synthetic too, written in those tables' own schemas.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts.actions.log import write as write_actions
from alerts.store import AlertStore, event_row
from dashboards.report.data import build_report
from dashboards.report.fmt import subject
from dashboards.report.model import DailyReport
from dashboards.report.text import render_text
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.records import AlertState, Severity, State
from tests.alerts.routing.helpers import make_alert
from tests.report.conftest import DAY, NOW, Demo
from tests.seed import seed_costs

LA = ZoneInfo("America/Los_Angeles")
D = dt.date(2026, 11, 10)
ONE = dt.timedelta(days=1)


def la(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=LA).astimezone(dt.UTC)


def cost(day: dt.date, usd: float, provider: str, service: str, team: str, project: str) -> dict[str, Any]:
    return {"BilledCost": usd, "ProviderName": provider, "ServiceName": service, "ChargePeriodStart": la(day, 12),
            "SubAccountId": project, "Tags": json.dumps({"team": team})}  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.model_validate({
        "home": str(tmp_path / "home"),
        "warehouse": {"path": str(tmp_path / "lake")},
        "alerts": {
            "rule_files": [],
            "rules": [
                {"name": "fleet-month", "type": "budget", "period": "month", "amount_usd": 2000, "forecast": True},
                {"name": "dbx-credit", "type": "credit", "total_usd": 1000, "start": "2026-11-01",
                 "expires": "2026-12-15", "scope": {"provider": "Databricks"}},
            ],
            "notifiers": {"mail": {"type": "email", "host": "127.0.0.1", "to": ["oncall@example.com"]}},
            "external_url": "https://cost.example",
        },
        "report": {"send_at": "08:00"},
    })  # fmt: skip


@pytest.fixture
def lake(settings: Settings) -> DuckDbLake:
    wh = DuckDbLake(settings.warehouse.path)
    rows = []
    for n in range(10):  # 2026-11-01 .. 2026-11-10
        day = dt.date(2026, 11, 1) + n * ONE
        rows.append(cost(day, 100.0, "Google Cloud", "Compute Engine", "ml", "p-ml"))
        rows.append(cost(day, 50.0, "Databricks", "Jobs Compute", "data", "ws-1"))
    rows.append(cost(D, 30.0, "Google Cloud", "Vertex AI", "ml", "p-ml"))
    rows.append(cost(D - ONE, 20.0, "Google Cloud", "BigQuery", "data", "p-data"))
    seed_costs(wh, rows)
    return wh


def test_cost_figures_on_seeded_days(settings: Settings, lake: DuckDbLake) -> None:
    r = build_report(lake, settings, D, now=la(D + ONE, 9))
    assert (r.total, r.previous) == pytest.approx((180.0, 170.0))
    assert r.avg_7d == pytest.approx((7 * 150.0 + 20.0) / 7)  # D-7 .. D-1, BigQuery's $20 on D-1
    assert [(m.value, m.cost, m.previous) for m in r.by_provider] == [("Google Cloud", 130.0, 120.0),
                                                                      ("Databricks", 50.0, 50.0)]  # fmt: skip
    movers = {dim: [(m.value, m.change) for m in ms] for dim, ms in r.movers}
    assert movers["service"] == [("Vertex AI", 30.0), ("BigQuery", -20.0), ("Compute Engine", 0.0),
                                 ("Jobs Compute", 0.0)]  # fmt: skip
    assert movers["team"] == [("ml", 30.0), ("data", -20.0)]
    assert movers["project"] == [("p-ml", 30.0), ("p-data", -20.0), ("ws-1", 0.0)]
    assert (r.mtd, r.prev_mtd) == pytest.approx((10 * 150.0 + 30.0 + 20.0, 0.0))
    assert r.idle == () and r.notes == ()


def test_budgets_and_credits_come_from_the_rules(settings: Settings, lake: DuckDbLake) -> None:
    r = build_report(lake, settings, D, now=la(D + ONE, 9))
    [budget] = r.budgets
    assert (budget.budget, budget.period, budget.start, budget.end) == ("fleet-month", "month", dt.date(2026, 11, 1),
                                                                        dt.date(2026, 11, 30))  # fmt: skip
    assert budget.actual_usd == pytest.approx(r.mtd) and budget.used_ratio == pytest.approx(r.mtd / 2000)
    assert budget.forecast_usd is not None and budget.forecast_usd > r.mtd  # 10 of 30 days billed
    # The month's budget is the fleet-wide month rule's (the dashboard Overview's choice), not the plan target.
    month = r.month_budget
    assert month is not None and month.budget == "budget rule fleet-month"
    assert (month.amount_usd, month.actual_usd, month.forecast_usd) == pytest.approx(
        (2000.0, r.mtd, budget.forecast_usd)
    )
    [credit] = r.credits
    assert (credit.credit, credit.bucket, credit.expires) == ("dbx-credit", "total", dt.date(2026, 12, 15))
    assert (credit.used_usd, credit.remaining_usd) == pytest.approx((500.0, 500.0))  # $50/day since 11-01
    assert credit.daily_burn_usd == pytest.approx(50.0)


def test_freshness_says_whether_the_day_is_covered(settings: Settings, lake: DuckDbLake) -> None:
    # The last seeded charge ends at 13:00 on D in Los Angeles: D is not covered, the day before is.
    assert {(f.provider, f.complete) for f in build_report(lake, settings, D, now=la(D + ONE, 9)).freshness} == {
        ("Google Cloud", False), ("Databricks", False)}  # fmt: skip
    older = build_report(lake, settings, D - ONE, now=la(D + ONE, 9))
    assert {f.complete for f in older.freshness} == {True}
    assert {f.data_until for f in older.freshness} == {la(D, 13)}


def test_an_incomplete_day_says_so_in_the_subject_and_the_headline(settings: Settings, lake: DuckDbLake) -> None:
    """Billing lags: a day whose data is not all in yet must not read as a real drop where readers look first."""
    late = build_report(lake, settings, D, now=la(D + ONE, 9))
    assert "incomplete" in subject(late, "[s]")
    text = render_text(late)
    head = " ".join(text[: text.index("By provider")].split())  # the headline section, line wrapping undone
    assert "Incomplete: Databricks (focus_import), Google Cloud (focus_import) billing data" in head
    done = build_report(lake, settings, D - ONE, now=la(D + ONE, 9))
    assert "incomplete" not in subject(done, "[s]") and "Incomplete:" not in render_text(done)


def _events(alert: AlertState, fired: dt.datetime, resolved: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The transition rows of one episode: firing at `fired`, resolved at `resolved` (as the engine writes)."""
    alert.state, alert.fired_at, alert.active_since = State.firing, fired, fired
    rows = [event_row(alert, "firing", fired, 0)]
    if resolved is not None:
        alert.state, alert.resolved_at = State.resolved, resolved
        rows.append(event_row(alert, "resolved", resolved, 0))
    return rows


def test_alert_digest_lists_what_fired_since_the_last_report(settings: Settings, lake: DuckDbLake) -> None:
    # The report on D is sent at 08:00 on D+1 (Los Angeles); its digest starts at the previous send, 08:00 on D.
    idle = make_alert("GpuIdle", "gpu-idle", Severity.warning, labels={"cluster": "a3-train-02"})
    flap = make_alert("GpuSaturated", "gpu-saturated", Severity.info, labels={"host": "gpu-7"})
    budget = make_alert("BudgetExceeded", "fleet-month", Severity.critical)
    old = make_alert("NetworkSaturated", "net", Severity.warning)
    refired = make_alert("GpuMemoryHigh", "gpu-mem", Severity.warning)
    pending = make_alert("WorkloadDegraded", "degraded", Severity.warning)
    rows = _events(idle, la(D, 14)) + _events(flap, la(D, 10), la(D, 11)) + _events(budget, la(D - 2 * ONE, 9))
    rows += _events(old, la(D - ONE, 9), la(D - ONE, 10)) + _events(refired, la(D, 9), la(D, 12))
    refired.state, refired.fired_at, refired.resolved_at, refired.active_since = State.pending, None, None, la(D, 20)
    rows.append(event_row(refired, "pending", la(D, 20), 0))  # a new episode, not fired yet
    pending.state, pending.fired_at, pending.active_since = State.pending, None, la(D, 16)
    rows.append(event_row(pending, "pending", la(D, 16), 0))
    rows.append(event_row(idle, "acked", la(D, 15), 1, author="alice", comment="looking"))
    AlertStore(lake).append(rows)

    r = build_report(lake, settings, D, now=la(D + ONE, 9))
    assert (r.window_start, r.window_end) == (la(D, 8), la(D + ONE, 8))
    lines = {a.alertname: a for a in r.alerts}
    assert set(lines) == {"GpuIdle", "GpuSaturated", "BudgetExceeded", "GpuMemoryHigh"}
    assert [a.alertname for a in r.alerts] == ["BudgetExceeded", "GpuIdle", "GpuMemoryHigh", "GpuSaturated"]
    assert [a.alertname for a in r.firing] == ["BudgetExceeded", "GpuIdle"]
    assert lines["BudgetExceeded"].mailed_at_once and not lines["GpuIdle"].mailed_at_once
    assert lines["GpuIdle"].acked_by == "alice" and lines["GpuIdle"].identity == "cluster=a3-train-02"
    assert (lines["GpuSaturated"].state, lines["GpuSaturated"].resolved_at) == ("resolved", la(D, 11))
    assert lines["GpuMemoryHigh"].state == "resolved"
    assert lines["GpuIdle"].link == f"https://cost.example/alerts?fingerprint={idle.fingerprint}"
    text = render_text(r)
    assert "mailed at once" in text and "acked by alice" in text and "NetworkSaturated" not in text
    # Built before the ack, the same report shows the alert unacknowledged: states are as at the window's end.
    early = build_report(lake, settings, D, now=la(D, 14) + dt.timedelta(minutes=30))
    assert {a.alertname: a.acked_by for a in early.alerts}["GpuIdle"] is None


def test_actions_since_the_last_report(settings: Settings, lake: DuckDbLake) -> None:
    def step(at: dt.datetime, name: str, dry_run: bool, saving: float) -> dict[str, Any]:
        return {"at": at, "step": name, "action": "gce-stop", "platform": "gce", "resource_id": "123",
                "resource_name": "a3-train-02", "dry_run": dry_run, "saving_usd_per_hour": saving,
                "_day": at.date(), "_source": "test"}  # fmt: skip

    write_actions(lake, [step(la(D, 15), "executed", False, 88.5), step(la(D, 16), "planned", True, 40.0),
                         step(la(D - ONE, 15), "executed", False, 10.0)])  # fmt: skip
    r = build_report(lake, settings, D, now=la(D + ONE, 9))
    assert [(a.step, a.resource, a.dry_run) for a in r.actions] == [("planned", "a3-train-02", True),
                                                                     ("executed", "a3-train-02", False)]  # fmt: skip
    assert r.saving_usd_per_hour == pytest.approx(88.5)  # executed, not dry-run, inside the window


def test_demo_report_has_every_section(demo: Demo) -> None:
    r: DailyReport = build_report(demo.lake, demo.settings, DAY, now=NOW)
    assert r.total > 0 and r.previous > 0 and r.avg_7d > 0 and r.mtd > r.total
    assert all(len(movers) == demo.settings.report.movers for _, movers in r.movers[:1])
    assert r.budgets and r.credits  # the shipped rules: budgets and the Databricks trial
    assert {c.bucket for c in r.credits} == {"total", "compute", "storage", "mlops"}
    assert r.idle and r.idle_cost_usd >= 0  # the demo's GPU telemetry covers the day
    assert {f.source for f in r.freshness} == {"gcp_billing_export", "databricks_usage"}
    assert all(f.complete for f in r.freshness)
    assert len(r.daily) >= 14 and r.notes == ()
