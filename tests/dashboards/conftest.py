"""Shared dashboard fixtures: one demo warehouse per test session, ending yesterday (the pages use today).

Read it, never write to it: tests that write (acks, silences) copy it or seed their own lake.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from spendscope.config import Settings
from spendscope.demo import run_demo

DEMO_DAYS = 21


@pytest.fixture(scope="session")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spendscope.toml over a lake holding the demo's last DEMO_DAYS days (with telemetry and alerts data)."""
    root = tmp_path_factory.mktemp("dashboard_demo")
    cfg = root / "spendscope.toml"
    cfg.write_text(f'home = "{root}/home"\n[warehouse]\npath = "{root}/lake"\n')
    settings = Settings.model_validate({"home": str(root / "home"), "warehouse": {"path": str(root / "lake")}})
    run_demo(settings, days=DEMO_DAYS, end=dt.date.today() - dt.timedelta(days=1))
    return cfg


@pytest.fixture
def demo_app(demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app (AppTest runs it in this process) at the shared demo warehouse."""
    monkeypatch.setenv("SPENDSCOPE_CONFIG", str(demo_config))
    return demo_config
