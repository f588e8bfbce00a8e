"""Page building blocks: every chart with its numbers one click away, money formatting, the empty state."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

EMPTY = "No data yet — run `spendscope demo` or configure a source (see README, Configuration)."


def money(x: float | None, digits: int = 0) -> str:
    """$12,345 (or — when unknown)."""
    return "—" if x is None or pd.isna(x) else f"${x:,.{digits}f}"


def pct(x: float | None, digits: int = 0) -> str:
    """0.336 → 33.6% (or — when unknown)."""
    return "—" if x is None or pd.isna(x) else f"{100 * x:.{digits}f}%"


def numbers(df: pd.DataFrame, key: str, label: str = "numbers") -> None:
    """The table behind a chart, in an expander, with a CSV download."""
    with st.expander(label):
        st.dataframe(df, hide_index=True)
        st.download_button("CSV", df.to_csv(index=False), file_name=f"{key}.csv", key=f"dl-{key}")


def chart(chart: alt.Chart | alt.LayerChart, df: pd.DataFrame, title: str, key: str) -> None:
    """A titled Altair chart with its numbers one click away."""
    st.subheader(title)
    st.altair_chart(chart, width="stretch")
    numbers(df, key)


def stacked_daily(df: pd.DataFrame, dim: str, title: str, key: str, value: str = "billed_cost") -> None:
    """Daily stacked bars of `value` split by `dim` (columns day, <dim>, <value>)."""
    bars = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title="day"),
            y=alt.Y(f"{value}:Q", title="USD"),
            color=alt.Color(f"{dim}:N"),
            tooltip=["day:T", f"{dim}:N", alt.Tooltip(f"{value}:Q", format=",.2f")],
        )
    )
    chart(bars, df, title, key)


def table(df: pd.DataFrame, title: str, key: str, **kwargs: Any) -> None:
    """A titled table with a CSV download (for data that is a table, not a chart)."""
    st.subheader(title)
    st.dataframe(df, hide_index=True, **kwargs)
    st.download_button("CSV", df.to_csv(index=False), file_name=f"{key}.csv", key=f"dl-{key}")


def empty_state() -> bool:
    """Show the friendly empty-warehouse page and return True when there is no cost data at all."""
    from dashboards import data  # late: keeps this module importable without a warehouse

    if data.version() is None:
        st.info(EMPTY)
        return True
    return False
