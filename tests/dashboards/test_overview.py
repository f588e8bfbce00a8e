"""The Streamlit app through Streamlit's AppTest: empty warehouse page, and the overview with data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from tests.dashboards.apptest import open_page, reporting_today
from tests.seed import seed_costs


def test_empty_warehouse_shows_a_friendly_page(app_config: Path) -> None:
    at = open_page("overview")
    assert any("No data yet" in i.value and "spendscope demo" in i.value for i in at.info)


def test_overview_shows_month_to_date_and_daily_spend(app_config: Path) -> None:
    today = reporting_today()
    rows = []
    for back in range(0, 20):
        day = today - dt.timedelta(days=back)
        ts = dt.datetime.combine(day, dt.time(20), tzinfo=dt.UTC)  # midday in Los Angeles
        rows.append({"BilledCost": 100.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
                     "ChargePeriodStart": ts})  # fmt: skip
        rows.append({"BilledCost": 50.0, "ProviderName": "Databricks", "ServiceName": "Jobs Compute",
                     "ChargePeriodStart": ts})  # fmt: skip
    seed_costs(DuckDbLake(app_config.parent / "lake"), rows)
    at = open_page("overview")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Yesterday"] == "$150"
    mtd_days = min(today.day, 20)  # rows reach back 20 days
    assert metrics[f"Month to date ({today:%B})"] == f"${150 * mtd_days:,.0f}"
    assert [s.value for s in at.subheader][:2] == ["Daily spend by provider", "Daily spend by service"]
    tables = [df.value for df in at.dataframe]
    by_provider = tables[0]
    assert set(by_provider["provider"]) == {"Google Cloud", "Databricks"}
    assert by_provider.groupby("provider")["billed_cost"].sum()["Databricks"] == pytest.approx(50.0 * 20)


def test_the_shared_date_filter_narrows_the_page(app_config: Path) -> None:
    today = reporting_today()
    ts = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(20), tzinfo=dt.UTC)
    rows = [{"BilledCost": 10.0, "ProviderName": "AWS", "ServiceName": "EC2", "ChargePeriodStart": ts}]
    seed_costs(DuckDbLake(app_config.parent / "lake"), rows)
    at = open_page("overview")
    assert at.dataframe[0].value["billed_cost"].sum() == pytest.approx(10.0)
    old = (today - dt.timedelta(days=400), today - dt.timedelta(days=300))
    at.date_input(key="window").set_value(old).run()
    assert not at.exception
    assert any(f"No spend between {old[0]} and {old[1]}" in i.value for i in at.info)


def test_overview_on_the_demo_equals_the_query_layer(demo_app: Path) -> None:
    """Month-to-date, the month-end outlook and the alerts firing now, as the query functions give them."""
    from dashboards.queries import alerts as qa
    from dashboards.queries import budgets as qb
    from dashboards.queries import costs as qc
    from exporters.warehouse import open_warehouse
    from spendscope import config

    settings = config.load(str(demo_app))
    wh = open_warehouse(settings)
    today = reporting_today()
    at = open_page("overview")
    metrics = {m.label: m.value for m in at.metric}
    mtd = qc.month_to_date(wh, settings, today)
    assert (
        metrics[f"Month to date ({today:%B})"] == f"${mtd['mtd']:,.0f}"
        and metrics["Yesterday"] == f"${mtd['yesterday']:,.0f}"
    )
    outlook = qb.month_outlook(wh, settings, today)
    assert outlook["forecast_usd"] is not None
    month = f"{outlook['period_start']:%B}"
    assert metrics[f"Month-end forecast ({month})"] == f"${outlook['forecast_usd']:,.0f}"
    assert metrics[f"Monthly budget ({month})"] == f"${outlook['budget_usd']:,.0f}"
    head = qc.headline(wh, settings, today)
    assert metrics["Daily burn (last 7 days)"] == f"${head['daily_burn']:,.0f}"
    firing = qa.firing_now(wh, settings)
    assert f"Alerts firing now: {firing.num_rows}" in [s.value for s in at.subheader]
    assert {"Daily spend by provider", "Daily spend by service", "Data freshness"} <= {s.value for s in at.subheader}


@pytest.mark.parametrize("page", [Path(p[0]).stem for p in __import__("app").PAGES])
def test_every_page_on_an_empty_warehouse_is_a_friendly_page(app_config: Path, page: str) -> None:
    at = open_page(page)
    assert not at.error, [e.value for e in at.error]
    if page == "alerts":  # alerts need no cost data: the page is there, with nothing in it
        assert {m.label: m.value for m in at.metric}["Firing"] == "0"
        assert "No alert is pending or firing." in [i.value for i in at.info]
    else:
        assert any("No data yet" in i.value and "spendscope demo" in i.value for i in at.info)
