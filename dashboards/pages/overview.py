"""Overview: month-to-date, yesterday, burn rate and month-end outlook; spend by provider and service; alerts
firing now; how far each source's data reaches."""

from __future__ import annotations

import streamlit as st

from dashboards import data, widgets
from dashboards.filters import current, window
from dashboards.queries import alerts as qa
from dashboards.queries import budgets as qb
from dashboards.queries import costs as q
from spendscope.errors import SpendscopeError

st.title("Overview")
if not widgets.empty_state():
    since, until = window()
    flt = current()
    today = data.today()
    head = data.query(q.headline, today, flt)
    a, b, c = st.columns(3)
    a.metric(
        f"Month to date ({today:%B})",
        widgets.money(head["mtd"]),
        delta=f"{head['vs_last_month']:,.0f} vs the same days last month",
        delta_color="inverse",
    )
    b.metric("Yesterday", widgets.money(head["yesterday"]))
    c.metric("Daily burn (last 7 days)", widgets.money(head["daily_burn"]))
    try:
        outlook = data.query(qb.month_outlook, today, flt)
    except SpendscopeError as exc:  # a broken rule file must not take the landing page down
        st.warning(f"Budgets unavailable: {exc}")
    else:
        budget, forecast = outlook["budget_usd"], outlook["forecast_usd"]
        d = st.columns(3)
        month = f"{outlook['period_start']:%B}"
        d[0].metric(
            f"Month-end forecast ({month})",
            widgets.money(forecast),
            delta=None if budget is None or forecast is None else f"{forecast - budget:,.0f} vs budget",
            delta_color="inverse",
        )
        d[1].metric(f"Monthly budget ({month})", widgets.money(budget), help=outlook["budget_source"])
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
