"""Page building blocks: every chart with its numbers one click away, money formatting, time buckets on a chart's
x axis, the empty state and the empty window."""

from __future__ import annotations

import datetime as dt
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

LABEL = 320  # px of axis label: host, interface and cluster names are long
EMPTY = "No data yet — run `spendscope demo` or configure a source (see README, Configuration)."


def money(x: float | None, digits: int = 0) -> str:
    """$12,345 (or — when unknown)."""
    return "—" if x is None or pd.isna(x) else f"${x:,.{digits}f}"


def pct(x: float | None, digits: int = 0) -> str:
    """0.336 → 33.6% (or — when unknown)."""
    return "—" if x is None or pd.isna(x) else f"{100 * x:.{digits}f}%"


def _frame(df: pd.DataFrame, key: str, **kwargs: Any) -> None:
    st.dataframe(df, hide_index=True, **kwargs)
    st.download_button("CSV", df.to_csv(index=False), file_name=f"{key}.csv", key=f"dl-{key}")


def numbers(df: pd.DataFrame, key: str, label: str = "numbers") -> None:
    """The table behind a chart, in an expander, with a CSV download."""
    with st.expander(label):
        _frame(df, key)


def chart(chart: alt.Chart | alt.LayerChart, df: pd.DataFrame, title: str, key: str) -> None:
    """A titled Altair chart with its numbers one click away."""
    st.subheader(title)
    st.altair_chart(chart, width="stretch")
    numbers(df, key)


def bars(df: pd.DataFrame, title: str, key: str, **encoding: Any) -> None:
    """A titled bar chart of `df` with these Altair encodings, its numbers one click away."""
    chart(alt.Chart(df).mark_bar().encode(**encoding), df, title, key)


def stacked_daily(df: pd.DataFrame, dim: str, title: str, key: str, value: str = "billed_cost") -> None:
    """Daily stacked bars of `value` split by `dim` (columns day, <dim>, <value>)."""
    bars(
        df,
        title,
        key,
        x=alt.X("day:T", title="day"),
        y=alt.Y(f"{value}:Q", title="USD"),
        color=alt.Color(f"{dim}:N"),
        tooltip=["day:T", f"{dim}:N", alt.Tooltip(f"{value}:Q", format=",.2f")],
    )


def time_axis(days: int) -> alt.X:
    """Local time buckets with a dated tick every few days (about ten labels whatever the window)."""
    return alt.X(
        "bucket:T", title=None, axis=alt.Axis(format="%b %d", tickCount={"interval": "day", "step": max(1, days // 10)})
    )


def bucket_end(hours: int) -> str:
    """The Vega expression of a `bucket`'s end, for marks as wide as their bucket (`x2="end:T"`)."""
    return f"timeOffset('hours', toDate(datum.bucket), {hours})"


def bucket_heatmap(
    df: pd.DataFrame, row: str, rows: tuple[str, ...], hours: int, days: int, color: alt.Color, tooltip: list[Any],
    title: str, key: str,
) -> None:  # fmt: skip
    """Cells per `row` value (in `rows` order) and time bucket of `hours`, each as wide as its bucket, by `color`."""
    cells = (
        alt.Chart(df)
        .transform_calculate(end=bucket_end(hours))
        .mark_rect()
        .encode(
            x=time_axis(days),
            x2="end:T",
            y=alt.Y(f"{row}:N", sort=list(rows), title=None, axis=alt.Axis(labelLimit=LABEL, labelOverlap=False)),
            color=color,
            tooltip=[f"{row}:N", "bucket:T", *tooltip],
        )
        .properties(height=max(120, 20 * len(rows)))
    )
    chart(cells, df, title, key)


def table(df: pd.DataFrame, title: str, key: str, **kwargs: Any) -> None:
    """A titled table with a CSV download (for data that is a table, not a chart)."""
    st.subheader(title)
    _frame(df, key, **kwargs)


def empty_state() -> bool:
    """Show the friendly empty-warehouse page and return True when there is no cost data at all."""
    from dashboards import data  # late: keeps this module importable without a warehouse

    if data.version() is None:
        st.info(EMPTY)
        return True
    return False


def window_intro(found: int, what: str, since: dt.date, until: dt.date, note: str) -> bool:
    """Whether the window holds any `what`: a caption naming its reporting days, their zone and `note`, else a hint."""
    if not found:
        st.info(f"No {what} between {since} and {until}. " + EMPTY)
        return False
    from dashboards import data  # late: keeps this module importable without a warehouse

    st.caption(f"Reporting days {since} … {until} ({data.settings().reporting.timezone}){note}")
    return True
