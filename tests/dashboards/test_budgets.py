"""Budgets & credits page and the Overview's month outlook: query functions against a real DuckDB lake (the numbers
are the budget and credit rules' own), the page through Streamlit's AppTest (figures equal the query layer's),
and the page over the demo with the shipped rules (the $10K Databricks credit's categories).

Cost rows are synthetic cost_daily rows (tests/alerts/cost_rows.py), reporting days in America/Los_Angeles.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.context import EvalContext
from alerts.rules.budget import BudgetRule
from dashboards import widgets
from dashboards.queries import budgets as q
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings, load
from spendscope.costs import CostFilter
from tests.alerts.cost_rows import DBX, daily, la, put
from tests.dashboards.apptest import open_page, reporting_today, write_config

NOW = la(2026, 11, 21, 12)
UNTIL = la(2026, 11, 21, 6)  # both sources' data reach Nov 21 06:00 (Los Angeles)
COMPUTE = ["All-Purpose Compute", "Jobs Compute", "Databricks SQL", "Lakeflow Pipelines", "LAKEFLOW_CONNECT"]
BUCKETS = {"compute": {"amount_usd": 6000, "scope": {"service": COMPUTE}},
           "storage": {"amount_usd": 2000, "scope": {"service": "DEFAULT_STORAGE"}},
           "mlops": {"amount_usd": 2000, "scope": {"category": "AI and Machine Learning"}}}  # fmt: skip
RULES: list[dict[str, Any]] = [
    {"name": "fleet-monthly", "type": "budget", "period": "month", "amount_usd": 40000, "forecast": True},
    {"name": "team-monthly", "type": "budget", "period": "month", "group_by": ["team"], "amount_usd": 1000,
     "amounts": {"ml-research": 25000, "data-eng": 5000, "inference": 3000}},
    {"name": "fleet-daily", "type": "budget", "period": "day", "amount_usd": 2000},
    {"name": "sprint", "type": "budget", "period": "range", "start": "2026-11-10", "end": "2026-11-25",
     "amount_usd": 20000},
    {"name": "trial", "type": "credit", "total_usd": 10000, "start": "2026-11-01", "expires": "2026-11-30",
     "scope": {"provider": "Databricks"}, "buckets": BUCKETS},
    {"name": "pilot", "type": "credit", "total_usd": 2000, "start": "2026-11-01", "expires": "2026-11-10",
     "scope": {"provider": "Databricks"}},
    {"name": "next", "type": "credit", "total_usd": 1000, "start": "2026-12-01",
     "buckets": {"compute": {"amount_usd": 1000, "scope": {"service": COMPUTE}}}},
]  # fmt: skip


def with_rules(settings: Settings, rules: list[dict[str, Any]]) -> Settings:
    data = settings.model_dump(by_alias=True, exclude={"source"})
    data["alerts"] = {"rule_files": [], "rules": rules}
    return Settings.model_validate(data)


@pytest.fixture
def rs(settings: Settings, lake: DuckDbLake) -> Settings:
    """Settings with RULES, over a lake holding Nov 1–20 complete and Nov 21 partly billed."""
    rows = []
    for i in range(20):
        day = dt.date(2026, 11, 1 + i)
        rows.append(daily(day, 1000.0, UNTIL, team="ml-research"))
        rows.append(daily(day, 250.0, UNTIL, source=DBX, service="Jobs Compute", category="Analytics", team="data-eng"))
        rows.append(daily(day, 50.0, UNTIL, source=DBX, service="Model Serving", category="AI and Machine Learning",
                          team="data-eng"))  # fmt: skip
    rows.append(daily(dt.date(2026, 11, 21), 100.0, UNTIL, team="ml-research"))
    put(lake, "cost_daily", rows)
    return with_rules(settings, RULES)


def rule(s: Settings, name: str) -> Any:
    return next(r for r in s.alerts.rules if r.name == name)


def test_budget_statuses_are_the_budget_rules_own(rs: Settings, lake: DuckDbLake) -> None:
    got = q.budget_statuses(lake, rs, NOW).to_pylist()
    ctx = EvalContext(lake, rs, NOW)
    want = [(r.name, v) for r in rs.alerts.rules if isinstance(r, BudgetRule) for v in r.views(ctx)]
    assert [g["budget"] for g in got] == [v.status.budget for _, v in want]
    for g, (name, v) in zip(got, want, strict=True):
        assert g["rule"] == name
        assert (g["amount_usd"], g["actual_usd"], g["forecast_usd"]) == (
            v.status.amount_usd, v.status.actual_usd, v.status.forecast_usd)  # fmt: skip
        assert (g["start"], g["end"], g["complete"]) == (v.status.start, v.status.end, v.complete)
    by = {g["budget"]: g for g in got}
    assert by["fleet-monthly"]["actual_usd"] == pytest.approx(20 * 1300.0 + 100.0)
    assert by["team-monthly/inference"]["actual_usd"] == 0.0  # a group with an amount and no spend is listed
    assert by["fleet-daily"]["start"] == dt.date(2026, 11, 21)


def test_burn_down_cumulates_the_days_to_the_rules_actual_then_forecasts(rs: Settings, lake: DuckDbLake) -> None:
    status = {g["budget"]: g for g in q.budget_statuses(lake, rs, NOW).to_pylist()}
    lines = q.budget_burn_down(lake, rs, "fleet-monthly", NOW).to_pylist()
    actual = [r for r in lines if r["series"] == "actual"]
    assert [r["day"] for r in actual] == [dt.date(2026, 11, d) for d in range(1, 22)]
    steps = [b["usd"] - a["usd"] for a, b in zip([{"usd": 0.0}, *actual], actual, strict=False)]
    assert steps == pytest.approx([1300.0] * 20 + [100.0])
    assert actual[-1]["usd"] == pytest.approx(status["fleet-monthly"]["actual_usd"])
    forecast = [(r["day"], r["usd"]) for r in lines if r["series"] == "forecast"]
    assert forecast == [(dt.date(2026, 11, 21), pytest.approx(actual[-1]["usd"])),
                        (dt.date(2026, 11, 30), status["fleet-monthly"]["forecast_usd"])]  # fmt: skip
    assert [(r["day"], r["usd"]) for r in lines if r["series"] == "budget"] == [
        (dt.date(2026, 11, 1), 40000.0), (dt.date(2026, 11, 30), 40000.0)]  # fmt: skip
    teams = q.budget_burn_down(lake, rs, "team-monthly", NOW).to_pylist()
    for name in ("team-monthly/ml-research", "team-monthly/data-eng", "team-monthly/inference"):
        last = [r for r in teams if r["name"] == name and r["series"] == "actual"][-1]
        assert last["usd"] == pytest.approx(status[name]["actual_usd"])
    sprint = [r for r in q.budget_burn_down(lake, rs, "sprint", NOW).to_pylist() if r["series"] != "budget"]
    assert sprint[0]["day"] == dt.date(2026, 11, 10) and sprint[-1]["day"] == dt.date(2026, 11, 25)


def test_credits_by_bucket_with_exhaustion_as_the_credit_rule_says(rs: Settings, lake: DuckDbLake) -> None:
    got = q.credit_status(lake, rs, NOW).to_pylist()
    trial = {r["bucket"]: r for r in got if r["credit"] == "trial"}
    burns = {b.bucket: b for b in rule(rs, "trial").burns(EvalContext(lake, rs, NOW))}
    assert list(trial) == ["total", "compute", "storage", "mlops"]
    for name, b in burns.items():
        assert (trial[name]["used_usd"], trial[name]["daily_burn_usd"]) == (b.used_usd, b.daily_burn_usd)
    # Compute: $1,000 left at $250/day from Nov 21 06:00 → Nov 25, before the Nov 30 expiry; MLOps: 20 days → after.
    assert trial["compute"]["exhausts_on"] == dt.date(2026, 11, 25) and trial["compute"]["before_expiry"] is True
    assert trial["mlops"]["exhausts_on"] == dt.date(2026, 12, 11) and trial["mlops"]["before_expiry"] is False
    assert trial["storage"]["used_usd"] == 0.0 and trial["storage"]["exhausts_on"] is None
    pilot = next(r for r in got if r["credit"] == "pilot")  # expired Nov 10: as it stood at the end of that day
    assert pilot["state"] == "expired" and pilot["used_usd"] == pytest.approx(10 * 300.0)
    assert pilot["exhausts_on"] == dt.date(2026, 11, 7)  # $2,100 ≥ $2,000 after the 7th day
    upcoming = [(r["bucket"], r["state"], r["used_usd"]) for r in got if r["credit"] == "next"]
    assert upcoming == [("total", "not started", 0.0), ("compute", "not started", 0.0)]

    lines = q.credit_burn_down(lake, rs, "trial", NOW).to_pylist()
    used = [r for r in lines if r["name"] == "compute" and r["series"] == "used"]
    assert used[-1]["day"] == dt.date(2026, 11, 21) and used[-1]["usd"] == pytest.approx(trial["compute"]["used_usd"])
    projected = [(r["day"], r["usd"]) for r in lines if r["name"] == "compute" and r["series"] == "projected"]
    assert projected == [(dt.date(2026, 11, 21), 5000.0), (dt.date(2026, 11, 25), 6000.0)]
    mlops = [(r["day"], r["usd"]) for r in lines if r["name"] == "mlops" and r["series"] == "projected"]
    assert mlops == [(dt.date(2026, 11, 21), 1000.0), (dt.date(2026, 11, 30), pytest.approx(1000.0 + 50 * 9.75))]
    amount = [(r["day"], r["usd"]) for r in lines if r["name"] == "total" and r["series"] == "amount"]
    assert amount == [(dt.date(2026, 11, 1), 10000.0), (dt.date(2026, 11, 30), 10000.0)]
    assert q.credit_burn_down(lake, rs, "next", NOW).num_rows == 0


def test_month_outlook_compares_the_forecast_with_the_matching_budget(rs: Settings, lake: DuckDbLake) -> None:
    today = dt.date(2026, 11, 21)
    status = {g["budget"]: g for g in q.budget_statuses(lake, rs, NOW).to_pylist()}
    fleet = q.month_outlook(lake, rs, today, now=NOW)
    assert fleet["budget_usd"] == 40000.0 and fleet["budget_source"] == "budget rule fleet-monthly"
    assert (fleet["mtd_usd"], fleet["forecast_usd"]) == (status["fleet-monthly"]["actual_usd"],
                                                         status["fleet-monthly"]["forecast_usd"])  # fmt: skip
    assert fleet["forecast_ratio"] == pytest.approx(fleet["forecast_usd"] / 40000.0)
    assert (fleet["period_start"], fleet["period_end"]) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    team = q.month_outlook(lake, rs, today, CostFilter(teams=("data-eng",)), now=NOW)
    assert team["budget_usd"] == 5000.0 and team["budget_source"] == "budget rule team-monthly (data-eng)"
    assert team["mtd_usd"] == pytest.approx(status["team-monthly/data-eng"]["actual_usd"])
    quiet = q.month_outlook(lake, rs, today, CostFilter(teams=("ops",)), now=NOW)  # the rule's default amount
    assert (quiet["budget_usd"], quiet["mtd_usd"]) == (1000.0, 0.0)
    dbx = q.month_outlook(lake, rs, today, CostFilter(providers=("Databricks",)), now=NOW)
    assert dbx["budget_usd"] is None and dbx["budget_source"] == "no monthly budget rule matches the filter"
    assert dbx["mtd_usd"] == pytest.approx(20 * 300.0)
    plain = with_rules(rs, [r for r in RULES if r["name"] != "fleet-monthly"])
    target = q.month_outlook(lake, plain, today, now=NOW)
    assert target["budget_usd"] == plain.plan.target_monthly_usd and target["budget_source"] == q.PLAN_TARGET
    assert (target["mtd_usd"], target["forecast_usd"]) == (fleet["mtd_usd"], fleet["forecast_usd"])
    earlier = q.month_outlook(lake, rs, dt.date(2026, 11, 10), now=NOW)  # as of the end of Nov 10
    assert earlier["mtd_usd"] == pytest.approx(10 * 1300.0)


# -- the page -----------------------------------------------------------------------------------------------------


def use_rule_file(cfg: Path, text: str) -> Path:
    """Write `text` as rules.yaml beside the app's config and list it in the config's alerts.rule_files."""
    (cfg.parent / "rules.yaml").write_text(text)
    return write_config(cfg.parent, '[alerts]\nrule_files = ["rules.yaml"]\n')


def test_budgets_page_shows_the_query_layers_figures(app_config: Path) -> None:
    today = reporting_today()
    start = today - dt.timedelta(days=12)
    rules = [RULES[0], RULES[1], {**RULES[4], "start": start.isoformat(), "expires": (today + dt.timedelta(days=30)
                                                                                      ).isoformat()}]  # fmt: skip
    settings = load(str(use_rule_file(app_config, yaml.safe_dump({"rules": rules}))))
    lake = DuckDbLake(settings.warehouse.path)
    until = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    put(lake, "cost_daily", [
        row for i in range(12) for row in (
            daily(start + dt.timedelta(days=i), 400.0, until, team="ml-research"),
            daily(start + dt.timedelta(days=i), 90.0, until, source=DBX, service="Jobs Compute"),
            daily(start + dt.timedelta(days=i), 30.0, until, source=DBX, category="AI and Machine Learning"))
    ])  # fmt: skip
    at = open_page("budgets")
    outlook = q.month_outlook(lake, settings, today)
    metrics = {m.label: m for m in at.metric}
    assert metrics["Month to date"].value == widgets.money(outlook["mtd_usd"])
    assert metrics["Month-end forecast"].value == widgets.money(outlook["forecast_usd"])
    assert metrics["Monthly budget"].value == widgets.money(40000.0)
    for row in q.credit_status(lake, settings).to_pylist():
        shown = metrics[f"{row['bucket']}: used of {widgets.money(row['amount_usd'])}"]
        assert shown.value == widgets.money(row["used_usd"])
        runs_out = f"runs out {row['exhausts_on']}" if row["exhausts_on"] else "no projected exhaustion"
        assert shown.delta == runs_out
    assert metrics["compute: used of $6,000"].value == widgets.money(12 * 90.0)
    tables = {tuple(df.value.columns)[:2]: df.value for df in at.dataframe}
    budgets = tables["rule", "budget"]
    expected = q.budget_statuses(lake, settings).to_pandas()
    assert list(budgets["budget"]) == list(expected["budget"])
    assert list(budgets["actual_usd"]) == pytest.approx(list(expected["actual_usd"]))
    subheaders = [s.value for s in at.subheader]
    assert {"Burn-down: fleet-monthly", "Burn-down: team-monthly", "Burn-down: trial"} <= set(subheaders)


def test_budgets_page_names_a_broken_rule_file(app_config: Path) -> None:
    use_rule_file(app_config, "rules:\n  - name: bad\n    type: budget\n    period: week\n")
    lake = DuckDbLake(str(app_config.parent / "lake"))
    put(lake, "cost_daily", [daily(reporting_today(), 1.0, dt.datetime.now(dt.UTC))])
    at = open_page("budgets")
    (error,) = at.error
    assert "The alert rules cannot be loaded" in error.value and "rules.yaml:4" in error.value
    assert not at.metric  # no figures from rules that did not load


def test_budgets_page_renders_over_the_demo_with_the_credit_categories(demo_app: Path) -> None:
    at = open_page("budgets")
    labels = {m.label for m in at.metric}
    assert {"Month to date", "Month-end forecast", "Monthly budget"} <= labels
    # The shipped $10K Databricks trial's buckets: compute $6K, storage $2K, MLOps $2K.
    assert {"total: used of $10,000", "compute: used of $6,000", "storage: used of $2,000",
            "mlops: used of $2,000"} <= labels  # fmt: skip
    assert "Credit: databricks-trial-credit" in [h.value for h in at.header]
