"""Shared sidebar filters, drawn once by app.py: date range, provider, platform, team, project, env.

Pages read the choice with `window()` and `current()`; the values a multiselect offers come from the cost
rollup (`spendscope.costs.dimension_values`), so a filter never offers a value that matches nothing.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboards import data
from dashboards.queries import costs as q
from spendscope.costs import FILTERS, CostFilter

DEFAULT_DAYS = 30
_KEY = "window"
LABELS = {"providers": "Provider", "platforms": "Platform", "teams": "Team", "projects": "Project / workspace",
          "envs": "Env"}  # fmt: skip


def _default() -> tuple[dt.date, dt.date]:
    today = data.today()
    return today - dt.timedelta(days=DEFAULT_DAYS), today


def sidebar() -> None:
    """Draw the shared filters in the sidebar (the date range of reporting days, inclusive)."""
    st.sidebar.date_input("Date range", value=_default(), key=_KEY)
    if data.version() is None:
        return
    values = data.query(q.dimension_values)
    for field, dim in FILTERS.items():
        st.sidebar.multiselect(LABELS[field], values.get(dim, []), key=f"filter-{field}", placeholder="all")


def window() -> tuple[dt.date, dt.date]:
    """The chosen date range; while a range is half-picked, the default one."""
    picked = st.session_state.get(_KEY)
    if isinstance(picked, tuple | list) and len(picked) == 2:
        return picked[0], picked[1]
    return _default()


def current() -> CostFilter:
    """The chosen provider/platform/team/project/env values (empty = all)."""
    chosen = {f: tuple(sorted(st.session_state.get(f"filter-{f}") or ())) for f in FILTERS}
    return CostFilter(**chosen)
