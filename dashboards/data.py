"""The app's one warehouse handle and one cached way to call a query function (TTL + data version in the key).

Pages never hold SQL: they call `query(fn, *args)` where `fn(wh, settings, *args)` lives in dashboards/queries/
or spendscope/ and is what the tests cover. Results are cached per function, arguments and data version, so a
page renders from memory until the TTL passes or a table it may read is written.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from exporters.warehouse import Warehouse, open_warehouse
from spendscope import config
from spendscope.clock import today_in

TTL_SECONDS = 60
# Tables whose writes invalidate every cached result (their Delta versions are part of the cache key).
WATCHED = ("cost_daily", "gpu_minutes", "net_samples", "inventory", "alert_events", "silences", "action_log",
           "workload_metrics", "gcp_budgets", "cost_estimates", "estimate_errors")  # fmt: skip
T = TypeVar("T")


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


def today() -> dt.date:
    """The reporting day under way (`reporting.timezone`), not the server's local date: the pages' "today"."""
    return today_in(settings().reporting.timezone)


def version() -> Any:
    """None while there are no costs at all (the empty-warehouse page), else a key that changes on any write."""
    wh = warehouse()
    costs = wh.table_version("cost_daily")
    if costs is None:
        return None
    return (_config_path(), costs, *(wh.table_version(t) for t in WATCHED[1:]))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _call(target: str, args: tuple[Any, ...], data_version: Any) -> Any:
    # `data_version` is unused here but part of Streamlit's cache key (it must not start with "_").
    module, _, name = target.partition(":")
    fn = getattr(importlib.import_module(module), name)
    return fn(warehouse(), settings(), *args)


def query(fn: Callable[..., T], *args: Any) -> T:
    """`fn(warehouse, settings, *args)`, cached; args must be hashable values (dates, tuples, CostFilter)."""
    return _call(f"{fn.__module__}:{fn.__qualname__}", args, version())
