"""The `budget` rule: periods judged where the data reaches, forecasts pro-rated by covered time, one read.

Exact-arithmetic tests write synthetic cost_daily rows (tests/alerts/cost_rows.py) into a fresh lake with the
default reporting zone, America/Los_Angeles; demo tests read the session demo warehouse (reporting zone UTC).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alerts.context import EvalContext
from alerts.loader import parse_rules
from alerts.rules.budget import BudgetRule, BudgetStatus
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.costs import StaleRollupError
from spendscope.errors import ConfigError
from spendscope.records import Severity
from tests.alerts.cost_rows import DBX, CountingWarehouse, context, daily, la, put

D20 = dt.date(2026, 11, 20)


def rule(**kw: Any) -> BudgetRule:
    return BudgetRule.model_validate({"name": "b", "type": "budget", **kw})


def test_partial_day_forecast_is_pro_rated_by_the_data_horizon_not_the_clock(
    settings: Settings, lake: DuckDbLake
) -> None:
    # At noon, data reaches 08:00: $320 in a third of the day projects $960, not the $640 noon would say.
    put(lake, "cost_daily", [daily(D20, 320.0, la(2026, 11, 20, 8), team="a")])
    ctx = context(settings, lake, la(2026, 11, 20, 12))
    [f] = rule(period="day", amount_usd=1000, forecast=True).evaluate(ctx)
    assert dict(f.labels) == {"budget": "b", "period": "day", "kind": "forecast"}
    assert f.severity is Severity.critical
    assert f.evidence["forecast"]["run_rate_usd"] == 960.0
    assert f.evidence["forecast"]["coverage"] == round(1 / 3, 4)
    assert f.evidence["data"] == "partial" and f.evidence["start"] == "2026-11-20"
    assert "partial, data through 2026-11-20 08:00 PST" in f.annotations["summary"]
    assert "$960.00 of $1,000.00 (96%)" in f.annotations["summary"]
    assert "run-rate" in f.annotations["description"]


def test_day_budget_judges_the_day_each_scope_s_data_reaches(settings: Settings, lake: DuckDbLake) -> None:
    # 10:00 on the 21st: GCP is complete through the 20th, Databricks only through 20:00 on the 20th, and
    # neither reaches into the 21st — so the 20th is judged, complete for team a and partial for team b.
    put(lake, "cost_daily", [
        daily(D20 - dt.timedelta(days=1), 5000.0, la(2026, 11, 20), team="a"),
        daily(D20, 1200.0, la(2026, 11, 21), team="a"),
        daily(D20, 800.0, la(2026, 11, 20, 20), source=DBX, team="b"),
    ])  # fmt: skip
    ctx = context(settings, lake, la(2026, 11, 21, 10))
    got = {(f.labels["team"], f.labels["kind"]): f for f in rule(period="day", group_by=["team"], amount_usd=1000,
                                                                 forecast=True).evaluate(ctx)}  # fmt: skip
    assert set(got) == {("a", "actual"), ("b", "actual"), ("b", "forecast")}
    a, b_actual, b_forecast = got["a", "actual"], got["b", "actual"], got["b", "forecast"]
    assert a.severity is Severity.critical and a.value == pytest.approx(1.2)
    assert a.evidence["data"] == "complete" and "(complete)" in a.annotations["summary"]
    assert a.labels["budget"] == "b/a"
    assert b_actual.severity is Severity.warning and b_actual.value == pytest.approx(0.8)
    assert "partial, data through 2026-11-20 20:00 PST" in b_actual.annotations["summary"]
    assert b_actual.evidence["data_until_by_source"] == {DBX: la(2026, 11, 20, 20).isoformat()}
    # Forecast: $800 over 20 of 24 hours → $960, a higher level than the actual → its own finding.
    assert b_forecast.severity is Severity.critical and b_forecast.value == pytest.approx(0.96)


def test_no_forecast_from_too_little_of_the_period(settings: Settings, lake: DuckDbLake) -> None:
    put(lake, "cost_daily", [daily(D20, 500.0, la(2026, 11, 20, 2))])
    ctx = context(settings, lake, la(2026, 11, 20, 12))
    [status] = rule(period="day", amount_usd=1000, forecast=True).status(ctx)
    assert status.forecast_usd is None and status.used_ratio == pytest.approx(0.5)
    assert rule(period="day", amount_usd=1000, forecast=True).evaluate(ctx) == []
    eager = rule(period="day", amount_usd=1000, forecast=True, min_coverage=0.05)
    [f] = eager.evaluate(ctx)
    assert f.labels["kind"] == "forecast" and f.evidence["forecast"]["run_rate_usd"] == 6000.0
    # The same data with the default minimum says why it made no forecast.
    lenient = rule(period="day", amount_usd=400, forecast=True)
    [actual] = lenient.evaluate(ctx)
    assert "less than the 25% minimum" in actual.evidence["forecast"]["note"]


def _month_rows() -> list[dict[str, Any]]:
    # November 1–10 (LA), spend rising $10 a day from $100: $1,450 so far, data through Nov 11 00:00 PST.
    return [daily(dt.date(2026, 11, 1 + t), 100.0 + 10 * t, la(2026, 11, 2 + t)) for t in range(10)]


def test_month_forecast_run_rate_and_trend(settings: Settings, lake: DuckDbLake) -> None:
    put(lake, "cost_daily", _month_rows())
    ctx = context(settings, lake, la(2026, 11, 11, 9))
    both = rule(period="month", amount_usd=6000, forecast=True)
    [status] = both.status(ctx)
    assert (status.start, status.end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert status.actual_usd == pytest.approx(1450.0)
    # November in Los Angeles has 721 hours (DST ends Nov 1); the data covers the first 241 of them.
    run_rate = 1450.0 * 721 / 241
    trend = 1450.0 + sum(100.0 + 10 * t for t in range(10, 30))  # the line through the days, continued
    [f] = both.evaluate(ctx)
    assert f.evidence["forecast"]["run_rate_usd"] == round(run_rate, 2)
    assert f.evidence["forecast"]["trend_usd"] == round(trend, 2)
    # `both` alerts only as far as the lower projection goes (run-rate 72% → warning) and says so.
    assert (f.labels["kind"], f.severity, f.evidence["forecast"]["method"]) == (
        "forecast",
        Severity.warning,
        "run-rate",
    )
    either = rule(period="month", amount_usd=6000, forecast=True, forecast_method="either")
    [g] = either.evaluate(ctx)
    assert (g.severity, g.evidence["forecast"]["method"]) == (Severity.critical, "trend")
    assert g.value == pytest.approx(trend / 6000)
    assert "trend $7,350.00" in g.annotations["description"]


def test_scope_group_amounts_and_untagged_only_highest_level(settings: Settings, lake: DuckDbLake) -> None:
    until = la(2026, 11, 21)
    put(lake, "cost_daily", [
        daily(D20, 150.0, until, team=None),
        daily(D20, 500.0, until, team="a"),
        daily(D20, 950.0, until, team="b", platform="gke"),
    ])  # fmt: skip
    r = rule(period="day", scope={"platform": "gce"}, group_by=["team"], amount_usd=1000, amounts={"(untagged)": 100})
    ctx = context(settings, lake, la(2026, 11, 21, 10))
    [f] = r.evaluate(ctx)
    assert dict(f.labels) == {"budget": "b/(untagged)", "period": "day", "platform": "gce", "team": "(untagged)",
                              "kind": "actual"}  # fmt: skip
    assert f.severity is Severity.critical and f.value == pytest.approx(1.5)  # critical only, no warning too
    statuses = {s.budget: s for s in r.status(ctx)}
    assert set(statuses) == {"b/(untagged)", "b/a"}
    labels = {"budget": "b/a", "period": "day", "platform": "gce", "team": "a"}
    assert statuses["b/a"] == BudgetStatus("b/a", "day", D20, D20, 1000.0, 500.0, 0.5, 500.0, 0.5, until, labels)


def test_cost_kind_selects_the_cost_column(settings: Settings, lake: DuckDbLake) -> None:
    put(lake, "cost_daily", [daily(D20, 600.0, la(2026, 11, 21))])
    ctx = context(settings, lake, la(2026, 11, 21, 10))
    assert rule(period="day", amount_usd=1000).evaluate(ctx) == []
    [f] = rule(period="day", amount_usd=1000, cost="list").evaluate(ctx)
    assert f.value == pytest.approx(0.75) and f.severity is Severity.warning


def test_range_budget_pages_while_open_and_goes_quiet_when_closed(settings: Settings, lake: DuckDbLake) -> None:
    put(lake, "cost_daily", [daily(dt.date(2026, 11, 3), 900.0, la(2026, 11, 20))])
    r = rule(period="range", start="2026-11-01", end="2026-11-10", amount_usd=1000)
    [open_] = r.evaluate(context(settings, lake, la(2026, 11, 5, 12)))
    assert open_.severity is Severity.critical and open_.evidence["data"] == "partial"
    closed = context(settings, lake, la(2026, 11, 20, 12))
    assert r.evaluate(closed) == []
    [status] = r.status(closed)
    assert (status.start, status.end, status.actual_usd) == (dt.date(2026, 11, 1), dt.date(2026, 11, 10), 900.0)


def test_one_query_for_many_budget_rules(settings: Settings, lake: DuckDbLake) -> None:
    put(lake, "cost_daily", _month_rows() + [daily(D20, 10.0, la(2026, 11, 21), team=f"t{i}") for i in range(5)])
    rules = [
        rule(name=f"r{i}", period=("day", "month")[i % 2], amount_usd=100 + i, forecast=True,
             **({"scope": {"team": f"t{i % 5}"}} if i % 3 == 0 else {"group_by": ["team"]} if i % 3 == 1 else {}))
        for i in range(300)
    ]  # fmt: skip
    counting = CountingWarehouse(lake)
    ctx = EvalContext(wh=counting, settings=settings, now=la(2026, 11, 21, 10))  # type: ignore[arg-type]
    findings = [f for r in rules for f in r.evaluate(ctx)]
    statuses = [s for r in rules for s in r.status(ctx)]
    assert findings and statuses
    assert len(counting.queries) == 2  # how far the sources reach, and the month of cost_daily


def test_stale_rollup_time_zone_is_an_error_not_zero_spend(settings: Settings, lake: DuckDbLake) -> None:
    put(lake, "cost_daily", [daily(D20, 600.0, la(2026, 11, 21), tz="UTC")])
    with pytest.raises(StaleRollupError, match="spendscope rebuild"):
        rule(period="day", amount_usd=1000).evaluate(context(settings, lake, la(2026, 11, 21, 10)))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"period": "day", "amount_usd": 1, "scope": {"colour": "red"}}, "unknown scope dimension"),
        ({"period": "range", "amount_usd": 1}, "needs start and end"),
        ({"period": "day", "amount_usd": 1, "start": "2026-11-01"}, "for range budgets"),
        ({"period": "day", "amounts": {"a": 5}}, "set group_by"),
        ({"period": "day"}, "amount_usd"),
        ({"period": "week", "amount_usd": 1}, "period"),
    ],
)
def test_invalid_budget_rules_are_config_errors(extra: dict[str, Any], message: str) -> None:
    import yaml

    text = yaml.safe_dump({"rules": [{"name": "x", "type": "budget", **extra}]})
    with pytest.raises(ConfigError, match=message):
        parse_rules(text)


def test_demo_team_day_budget_judges_the_last_day_the_data_reaches(demo_ctx: Any, demo_lake: DuckDbLake) -> None:
    # At midnight UTC the demo's data reaches exactly the end of the spike day: that day is judged, complete.
    ctx = demo_ctx(dt.datetime(2026, 11, 17, tzinfo=dt.UTC))
    got = {f.labels["team"]: f for f in rule(period="day", group_by=["team"], amount_usd=1000).evaluate(ctx)}
    spend = {r["team"]: r["c"] for r in demo_lake.query(
        "SELECT IFNULL(team, '(untagged)') AS team, SUM(billed_cost) AS c FROM cost_daily "
        "WHERE day = DATE '2026-11-16' GROUP BY 1").to_pylist()}  # fmt: skip
    expected = {t: Severity.critical if c >= 900 else Severity.warning for t, c in spend.items() if c >= 700}
    assert expected, "the demo's spike day has a team over 70% of $1,000"
    assert {t: f.severity for t, f in got.items()} == expected
    for team, f in got.items():
        assert f.evidence["start"] == "2026-11-16" and f.evidence["data"] == "complete"
        assert f.evidence["actual_usd"] == round(spend[team], 2)


def test_demo_fleet_daily_budget_status(demo_ctx: Any, demo_lake: DuckDbLake) -> None:
    ctx = demo_ctx()
    fleet = rule(name="fleet-daily", period="day", amount_usd=50000, forecast=True)
    [status] = fleet.status(ctx)
    total = demo_lake.query("SELECT SUM(billed_cost) AS c FROM cost_daily WHERE day = DATE '2026-11-21'")
    assert status.start == dt.date(2026, 11, 21)  # the demo's data ends with the 21st: not "today", the 22nd
    assert status.actual_usd == pytest.approx(total.column("c")[0].as_py())
    assert status.used_ratio == pytest.approx(status.actual_usd / 50000)
    assert status.forecast_usd == pytest.approx(status.actual_usd)  # a complete day: forecast = actual
    assert fleet.evaluate(ctx) == []
