"""Shared fixtures: a fresh Delta lake per test and a run context over it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from collectors.base import RunContext
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "home": str(tmp_path / "home"),
            "warehouse": {"path": str(tmp_path / "lake")},
            "exporters": {"prometheus": {"port": 0}},  # a daemon started in a test takes a free port
        }
    )


@pytest.fixture
def lake(settings: Settings) -> DuckDbLake:
    return DuckDbLake(settings.warehouse.path)


@pytest.fixture
def ctx(settings: Settings, lake: DuckDbLake) -> RunContext:
    return RunContext(
        settings=settings, warehouse=lake, clock=fixed_clock(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
    )
