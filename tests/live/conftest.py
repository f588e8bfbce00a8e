"""A real Delta lake with synthetic prices (tests/live/seed.py), and settings with a DBU rate for A3 nodes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from tests.live.seed import seed_prices

T0 = dt.datetime(2026, 11, 20, 13, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "home": str(tmp_path / "home"),
            "warehouse": {"path": str(tmp_path / "lake")},
            "exporters": {"prometheus": {"port": 0}},
            "live": {"dbu_per_hour": {"a3-highgpu-8g": 38.0}},
        }
    )


@pytest.fixture
def priced(lake: DuckDbLake) -> DuckDbLake:
    seed_prices(lake)
    return lake
