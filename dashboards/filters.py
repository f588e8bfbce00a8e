"""Shared sidebar filters; pages read the chosen window from `st.session_state`."""

from __future__ import annotations

import datetime as dt

import streamlit as st


def date_window(default_days: int = 30) -> tuple[dt.date, dt.date]:
    """The sidebar date range (reporting days, inclusive); defaults to the last `default_days` days."""
    today = dt.date.today()
    picked = st.sidebar.date_input("Date range", value=(today - dt.timedelta(days=default_days), today), key="window")
    if isinstance(picked, tuple) and len(picked) == 2:
        return picked[0], picked[1]
    return today - dt.timedelta(days=default_days), today
