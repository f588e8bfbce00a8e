"""The app's one warehouse handle and cached query wrappers (TTL + table version as the cache key).

Pages call these, never SQL: the functions underneath (spendscope.costs) are what the tests cover.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pandas as pd
import streamlit as st

from exporters.warehouse import Warehouse, open_warehouse
from spendscope import config, costs

TTL_SECONDS = 60
# The cached functions take `data_version` (see version()) so a write invalidates them at once; it must not
# start with an underscore, which would leave it out of Streamlit's cache key.


def _config_path() -> str | None:
    return os.environ.get("SPENDSCOPE_CONFIG")


@st.cache_resource
def _settings_for(path: str | None) -> config.Settings:
    return config.load(path)


@st.cache_resource
def _warehouse_for(path: str | None) -> Warehouse:
    return open_warehouse(_settings_for(path))


def settings() -> config.Settings:
    return _settings_for(_config_path())


def warehouse() -> Warehouse:
    return _warehouse_for(_config_path())


def version() -> Any:
    """Changes whenever cost_daily is written (or the config), so cached results never outlive the data."""
    v = warehouse().table_version("cost_daily")
    return None if v is None else (_config_path(), v)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def daily_by(dim: str, since: dt.date, until: dt.date, data_version: Any) -> pd.DataFrame:
    return costs.daily_by(warehouse(), dim, since, until, settings().reporting.timezone).to_pandas()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def summary(by: tuple[str, ...], since: dt.date, until: dt.date, data_version: Any) -> pd.DataFrame:
    return costs.summary(warehouse(), list(by), since, until, settings().reporting.timezone).to_pandas()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def month_to_date(today: dt.date, data_version: Any) -> dict[str, float]:
    return costs.month_to_date(warehouse(), today, settings().reporting.timezone, settings().reporting.currency)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def freshness(data_version: Any) -> pd.DataFrame:
    return costs.freshness(warehouse()).to_pandas()
