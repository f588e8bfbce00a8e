"""Shared sidebar filters, drawn once by app.py; pages read the chosen values with `window()`."""

from __future__ import annotations

import datetime as dt

import streamlit as st

DEFAULT_DAYS = 30
_KEY = "window"


def _default() -> tuple[dt.date, dt.date]:
    today = dt.date.today()
    return today - dt.timedelta(days=DEFAULT_DAYS), today


def sidebar() -> None:
    """Draw the shared filters in the sidebar (the date range of reporting days, inclusive)."""
    st.sidebar.date_input("Date range", value=_default(), key=_KEY)


def window() -> tuple[dt.date, dt.date]:
    """The chosen date range; while a range is half-picked, the default one."""
    picked = st.session_state.get(_KEY)
    if isinstance(picked, tuple | list) and len(picked) == 2:
        return picked[0], picked[1]
    return _default()
