"""Every cost figure of the report equals what `spendscope costs` prints for the same days (on the demo's data).

The CLI runs in-process through click's CliRunner with `--format json`; its rows are compared with the report's
figures, and the text and HTML versions are checked to show them to the cent as the CLI rounds them. Equal means
to 1e-9 relative: DuckDB adds floats in parallel, so even the same query run twice may differ in the last bits.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from dashboards.queries.budgets import PLAN_TARGET, month_outlook
from dashboards.report.data import build_report
from dashboards.report.html import render_html
from dashboards.report.model import DailyReport
from dashboards.report.text import render_text
from spendscope.costs import NO_FILTER
from tests.report.conftest import DAY, NOW, Demo, invoke, write_config

ONE = dt.timedelta(days=1)


def same(expected: object) -> object:
    return pytest.approx(expected, rel=1e-9, abs=1e-9)


def costs_json(demo: Demo, since: dt.date, until: dt.date, *by: str) -> list[dict[str, object]]:
    args = ["costs", "--since", str(since), "--until", str(until), "--format", "json"]
    for b in by:
        args += ["--by", b]
    code, out, err = invoke(demo.config, *args)
    assert code == 0, err
    rows: list[dict[str, object]] = json.loads(out)
    return [r for r in rows if r["currency"] == "USD"]


def by_value(rows: list[dict[str, object]], dim: str) -> dict[str, float]:
    return {("(none)" if r[dim] is None else str(r[dim])): float(r["billed_cost"] or 0.0) for r in rows}  # type: ignore[arg-type]


def money(x: float) -> str:
    """The CLI's table rounds money to the cent with thousands separators; the email adds the dollar sign."""
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


@pytest.fixture(scope="module")
def report(demo: Demo) -> DailyReport:
    return build_report(demo.lake, demo.settings, DAY, now=NOW)


def test_day_totals_and_providers_equal_the_cli(demo: Demo, report: DailyReport) -> None:
    today = by_value(costs_json(demo, DAY, DAY, "provider"), "provider")
    before = by_value(costs_json(demo, DAY - ONE, DAY - ONE, "provider"), "provider")
    assert today and before, "the demo has spend on both days"
    assert report.total == same(sum(today.values()))
    assert report.previous == same(sum(before.values()))
    assert {m.value: m.cost for m in report.by_provider} == same(today)
    assert {m.value: m.previous for m in report.by_provider} == same(before)


@pytest.mark.parametrize("dim", ["service", "team", "project"])
def test_top_movers_equal_the_cli(demo: Demo, report: DailyReport, dim: str) -> None:
    today = by_value(costs_json(demo, DAY, DAY, dim), dim)
    before = by_value(costs_json(demo, DAY - ONE, DAY - ONE, dim), dim)
    movers = dict(report.movers)[dim]
    assert 0 < len(movers) <= demo.settings.report.movers
    for m in movers:
        assert m.cost == same(today.get(m.value, 0.0))
        assert m.previous == same(before.get(m.value, 0.0))
    # They are the largest changes of all values the CLI shows.
    changes = sorted((abs(today.get(v, 0.0) - before.get(v, 0.0)) for v in today.keys() | before.keys()), reverse=True)
    assert [abs(m.change) for m in movers] == same(changes[: len(movers)])


def test_seven_day_average_and_month_to_date_equal_the_cli(demo: Demo, report: DailyReport) -> None:
    week = costs_json(demo, DAY - 7 * ONE, DAY - ONE, "day")
    assert len(week) == 7
    assert report.avg_7d == same(sum(float(r["billed_cost"]) for r in week) / 7)  # type: ignore[arg-type]
    [month] = costs_json(demo, DAY.replace(day=1), DAY, "currency")
    assert report.mtd == same(float(month["billed_cost"]))  # type: ignore[arg-type]
    # The chart's bars are the CLI's daily spend by provider.
    chart = costs_json(demo, DAY - 13 * ONE, DAY, "day", "provider")
    assert {(p.day, p.provider): p.cost for p in report.daily} == same(
        {(dt.date.fromisoformat(str(r["day"])), str(r["provider"])): r["billed_cost"] for r in chart}
    )


def test_month_budget_is_the_overview_month_outlook(demo: Demo, report: DailyReport) -> None:
    # The shipped rules have no fleet-wide month budget: the plan's monthly target is the month's budget.
    outlook = month_outlook(demo.lake, demo.settings, DAY, NO_FILTER, now=NOW)
    month = report.month_budget
    assert month is not None and month.budget == PLAN_TARGET == outlook["budget_source"]
    assert month.amount_usd == demo.settings.plan.target_monthly_usd
    assert month.actual_usd == same(report.mtd)
    assert (month.start, month.end) == (DAY.replace(day=1), dt.date(2026, 11, 30))
    assert (month.forecast_usd, month.forecast_ratio) == same((outlook["forecast_usd"], outlook["forecast_ratio"]))


def test_text_and_html_show_the_cli_figures_to_the_cent(demo: Demo, report: DailyReport) -> None:
    text, html = render_text(report), render_html(report, "cid:chart")
    assert report.month_budget is not None
    figures = [report.total, report.previous, report.avg_7d, report.mtd, report.month_budget.amount_usd]
    figures += [m.cost for m in report.by_provider] + [m.cost for _, ms in report.movers for m in ms]
    for x in figures:
        assert money(x) in text, money(x)
        assert money(x) in html, money(x)


def test_the_cli_prints_the_plain_text_report(demo: Demo, report: DailyReport) -> None:
    code, out, err = invoke(demo.config, "report", "daily", "--date", str(DAY))
    assert code == 0, err
    assert out.startswith(f"Spend on {DAY} (America/Los_Angeles, billed USD)\n")
    for x in (report.total, report.previous, report.mtd, *(m.cost for m in report.by_provider)):
        assert money(x) in out


def test_out_writes_html_without_sending(demo: Demo, report: DailyReport, tmp_path: Path, starttls_server) -> None:  # type: ignore[no-untyped-def]
    inbox, port = starttls_server
    extra = f'[report]\nto = ["ops@example.com"]\n[report.smtp]\nhost = "127.0.0.1"\nport = {port}\n'
    config = write_config(tmp_path / "spendscope.toml", demo.root, extra)
    out = tmp_path / "report.html"
    code, stdout, err = invoke(config, "report", "daily", "--date", str(DAY), "--out", str(out))
    assert code == 0, err
    assert stdout == f"wrote the report on {DAY} to {out}\n"
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'src="data:image/png;base64,iVBORw0KGgo' in html
    assert money(report.total) in html and money(report.mtd) in html
    assert inbox.received == []


def test_a_bad_or_future_date_exits_2_with_a_clear_message(demo: Demo) -> None:
    code, _, err = invoke(demo.config, "report", "daily", "--date", "2026-02-30")
    assert code == 2 and "Invalid value for --date: '2026-02-30' is not a date (YYYY-MM-DD, yesterday, -Nd)" in err
    code, _, err = invoke(demo.config, "report", "daily", "--date", "2999-01-01")
    assert code == 2 and "2999-01-01 has not begun yet in America/Los_Angeles" in err
    code, _, err = invoke(demo.config, "report", "daily", "--date", str(DAY), "--send")
    assert code == 2 and "error: report.to is empty" in err
