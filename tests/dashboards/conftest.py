"""Shared dashboard fixtures: a fresh lake per test for the app, and one demo warehouse per test session, ending
yesterday (the pages use today).

Read the demo, never write to it: tests that write (acks, silences) copy it or seed their own lake.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import streamlit as st

from spendscope.config import Settings
from spendscope.demo import run_demo
from tests.dashboards.apptest import reporting_today, write_config

DEMO_DAYS = 21


@pytest.fixture
def app_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app (AppTest runs it in this process) at tmp_path/spendscope.toml over an empty tmp_path/lake."""
    cfg = write_config(tmp_path)
    monkeypatch.setenv("SPENDSCOPE_CONFIG", str(cfg))
    st.cache_data.clear()  # results cached by an earlier test in this process must not answer for this lake
    return cfg


@pytest.fixture(scope="session")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spendscope.toml over a lake holding the demo's last DEMO_DAYS days (with telemetry and alerts data)."""
    root = tmp_path_factory.mktemp("dashboard_demo")
    cfg = write_config(root)
    settings = Settings.model_validate({"home": str(root / "home"), "warehouse": {"path": str(root / "lake")}})
    run_demo(settings, days=DEMO_DAYS, end=reporting_today() - dt.timedelta(days=1))
    return cfg


@pytest.fixture
def demo_app(demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app (AppTest runs it in this process) at the shared demo warehouse."""
    monkeypatch.setenv("SPENDSCOPE_CONFIG", str(demo_config))
    return demo_config
