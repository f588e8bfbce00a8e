"""Overview: month-to-date and daily spend by provider and service, from focus_costs."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import data
from dashboards.filters import window

EMPTY = "No data yet — run `spendscope demo` or configure a source (see README, Configuration)."


def _chart_with_numbers(df: pd.DataFrame, dim: str, title: str, key: str) -> None:
    """A stacked daily bar chart with its numbers one click away (table + CSV)."""
    st.subheader(title)
    chart = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title="day"),
            y=alt.Y("billed_cost:Q", title="USD"),
            color=alt.Color(f"{dim}:N"),
            tooltip=["day:T", f"{dim}:N", alt.Tooltip("billed_cost:Q", format=",.2f")],
        )
    )
    st.altair_chart(chart, use_container_width=True)
    with st.expander("numbers"):
        st.dataframe(df, hide_index=True)
        st.download_button("CSV", df.to_csv(index=False), file_name=f"{key}.csv", key=f"dl-{key}")


def render() -> None:
    """The page body (called by st.navigation)."""
    st.title("Overview")
    version = data.version()
    since, until = window()
    today = dt.date.today()
    if version is None:
        st.info(EMPTY)
        return
    mtd = data.month_to_date(today, version)
    a, b, c = st.columns(3)
    a.metric(
        "Month to date",
        f"${mtd['mtd']:,.0f}",
        delta=f"{mtd['mtd'] - mtd['prev_mtd']:,.0f} vs last month",
        delta_color="inverse",
    )
    b.metric("Yesterday", f"${mtd['yesterday']:,.0f}")
    days_elapsed = max(1, (today - today.replace(day=1)).days + 1)
    c.metric("Daily burn (MTD avg)", f"${mtd['mtd'] / days_elapsed:,.0f}")
    by_provider = data.daily_by("provider", since, until, version)
    if by_provider.empty:
        st.info(f"No spend between {since} and {until}. " + EMPTY)
        return
    _chart_with_numbers(by_provider, "provider", "Daily spend by provider", "daily-by-provider")
    by_service = data.daily_by("service", since, until, version)
    _chart_with_numbers(by_service, "service", "Daily spend by service", "daily-by-service")
    st.subheader("Data freshness")
    st.dataframe(data.freshness(version), hide_index=True)
