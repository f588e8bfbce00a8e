"""Overview: month-to-date, yesterday, burn rate and month-end outlook; spend by provider and service; alerts
firing now; how far each source's data reaches."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboards import data, widgets
from dashboards.filters import current, window
from dashboards.queries import alerts as qa
from dashboards.queries import budgets as qb
from dashboards.queries import costs as q

st.title("Overview")
if not widgets.empty_state():
    since, until = window()
    flt = current()
    today = dt.date.today()
    mtd = data.query(q.month_to_date, today, flt)
    a, b, c = st.columns(3)
    a.metric(
        "Month to date",
        widgets.money(mtd["mtd"]),
        delta=f"{mtd['mtd'] - mtd['prev_mtd']:,.0f} vs last month",
        delta_color="inverse",
    )
    b.metric("Yesterday", widgets.money(mtd["yesterday"]))
    days_elapsed = max(1, (today - today.replace(day=1)).days + 1)
    c.metric("Daily burn (MTD avg)", widgets.money(mtd["mtd"] / days_elapsed))
    outlook = data.query(qb.month_outlook, today, flt)
    d = st.columns(3)
    budget = outlook["budget_usd"]
    d[0].metric(
        "Month-end forecast",
        widgets.money(outlook["forecast_usd"]),
        delta=None if budget is None or outlook["forecast_usd"] is None else
        f"{outlook['forecast_usd'] - budget:,.0f} vs budget",
        delta_color="inverse",
    )  # fmt: skip
    d[1].metric("Monthly budget", widgets.money(budget), help=outlook["budget_source"])
    d[2].metric("Forecast / budget", widgets.pct(outlook["forecast_ratio"]), help=outlook["forecast_note"])
    by_provider = data.query(q.daily_by, "provider", since, until, flt).to_pandas()
    if by_provider.empty:
        st.info(f"No spend between {since} and {until}. " + widgets.EMPTY)
    else:
        widgets.stacked_daily(by_provider, "provider", "Daily spend by provider", "daily-by-provider")
        by_service = data.query(q.daily_by, "service", since, until, flt).to_pandas()
        widgets.stacked_daily(by_service, "service", "Daily spend by service", "daily-by-service")
    firing = data.query(qa.firing_now).to_pandas()
    st.subheader(f"Alerts firing now: {len(firing)}")
    if firing.empty:
        st.success("Nothing is firing.")
    else:
        st.dataframe(firing, hide_index=True)
        st.page_link("dashboards/pages/alerts.py", label="Alerts & actions →")
    widgets.table(data.query(q.freshness).to_pandas(), "Data freshness", "freshness")
