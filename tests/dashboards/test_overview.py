"""The Streamlit app through Streamlit's AppTest: empty warehouse page, and the overview with data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from app import PAGES
from exporters.warehouse.duckdb import DuckDbLake
from tests.dashboards.apptest import open_page, reporting_today
from tests.seed import seed_costs


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


@pytest.mark.parametrize("page", [Path(p[0]).stem for p in PAGES])
def test_every_page_on_an_empty_warehouse_is_a_friendly_page(app_config: Path, page: str) -> None:
    at = open_page(page)
    assert not at.error, [e.value for e in at.error]
    if page == "alerts":  # alerts need no cost data: the page is there, with nothing in it
        assert {m.label: m.value for m in at.metric}["Firing"] == "0"
        assert "No alert is pending or firing." in [i.value for i in at.info]
    else:
        assert any("No data yet" in i.value and "spendscope demo" in i.value for i in at.info)


def _charts_without_numbers(node: Any) -> list[str]:
    """Every chart whose next sibling is not an expander holding its table and a CSV download."""
    kids = list(node.children.values()) if isinstance(getattr(node, "children", None), dict) else []
    missing = []
    for i, kid in enumerate(kids):
        if kid.type == "vega_lite_chart":
            after = kids[i + 1] if i + 1 < len(kids) else None
            inside = (
                {c.type for c in after.children.values()} if after is not None and after.type == "expander" else set()
            )
            if not {"dataframe", "download_button"} <= inside:
                missing.append(f"chart #{i} of a {node.type}")
        missing += _charts_without_numbers(kid)
    return missing


@pytest.mark.parametrize("page", [Path(p[0]).stem for p in PAGES])
def test_every_chart_has_its_numbers_one_click_away(demo_app: Path, page: str) -> None:
    """The issue's rule: each chart is followed by an expander with its table and a CSV download."""
    at = open_page(page)
    assert _charts_without_numbers(at._tree) == []
    assert len(at.get("download_button")) >= len(at.get("vega_lite_chart"))


def test_provider_project_and_env_filters_narrow_the_overview(demo_app: Path) -> None:
    """The sidebar's cost filters reach the page's figures as the query layer computes them with a CostFilter."""
    from dashboards.queries import costs as qc
    from exporters.warehouse import open_warehouse
    from spendscope import config
    from spendscope.costs import CostFilter

    settings = config.load(str(demo_app))
    wh = open_warehouse(settings)
    today = reporting_today()
    # The month's biggest Databricks (project, env): a combination that has spend to show.
    month = qc.summary(wh, settings, ("provider", "project", "env"), today.replace(day=1), today).to_pylist()
    top = max((r for r in month if r["provider"] == "Databricks"), key=lambda r: r["billed_cost"])
    flt = CostFilter(providers=("Databricks",), projects=(top["project"],), envs=(top["env"],))
    at = open_page("overview", providers=list(flt.providers), projects=list(flt.projects), envs=list(flt.envs))
    head = qc.headline(wh, settings, today, flt)
    whole = qc.headline(wh, settings, today)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Month to date ({today:%B})"] == f"${head['mtd']:,.0f}"
    assert metrics["Daily burn (last 7 days)"] == f"${head['daily_burn']:,.0f}"
    assert 0 < head["mtd"] < whole["mtd"]  # the filter took something away and left something
    by_provider = next(d.value for d in at.dataframe if "billed_cost" in d.value.columns)
    assert set(by_provider["provider"]) == {"Databricks"}
