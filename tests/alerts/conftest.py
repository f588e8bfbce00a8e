"""Shared alert fixtures: one demo warehouse per test session (read it, never write to it) and contexts over it.

The demo (spendscope.demo, synthetic data in the real upstream formats) ends on 2026-11-21 with 10 days of
telemetry: a spend spike, an idle GCE VM weekend and an idle Databricks cluster weekend, a degradation
episode. Reporting days are UTC so cost_daily's days are telemetry days. Tests that write (alert_events,
action_log) use the per-test `lake` fixture or their own copy, never `demo_lake`.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.context import EvalContext
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.demo import DemoResult, run_demo
from tests.alerts.routing.helpers import HttpRecorder
from tests.common.servers import free_port, real_server

DEMO_END = dt.date(2026, 11, 21)
DEMO_NOW = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("alerts_demo")
    return Settings.model_validate(
        {
            "home": str(root / "home"),
            "warehouse": {"path": str(root / "lake")},
            "reporting": {"timezone": "UTC"},
            "exporters": {"prometheus": {"port": 0}},
        }
    )


@pytest.fixture(scope="session")
def demo_run(demo_settings: Settings) -> tuple[DemoResult, DuckDbLake]:
    lake = DuckDbLake(demo_settings.warehouse.path, reporting_tz="UTC")
    result = run_demo(demo_settings, days=10, seed=7, end=DEMO_END, warehouse=lake, clock=fixed_clock(DEMO_NOW))
    return result, lake


@pytest.fixture(scope="session")
def demo_lake(demo_run: tuple[DemoResult, DuckDbLake]) -> DuckDbLake:
    return demo_run[1]


@pytest.fixture
def demo_ctx(demo_settings: Settings, demo_lake: DuckDbLake) -> Any:
    """A context factory over the demo: demo_ctx(now) → EvalContext (a fresh query cache each call)."""

    def make(now: dt.datetime = DEMO_NOW, settings: Settings = demo_settings) -> EvalContext:
        return EvalContext(wh=demo_lake, settings=settings, now=now)

    return make


@pytest.fixture
def lake_copy(demo_lake: DuckDbLake, tmp_path: Path) -> DuckDbLake:
    """A private copy of the demo lake: the engine writes alert_events and action_log into it."""
    shutil.copytree(demo_lake.root, tmp_path / "lake")
    return DuckDbLake(str(tmp_path / "lake"), reporting_tz="UTC")


def settings_for(demo_settings: Settings, lake: DuckDbLake, alerts: dict[str, Any]) -> Settings:
    data = demo_settings.model_dump(by_alias=True, exclude={"source"})
    data["warehouse"]["path"] = str(lake.root)
    data["home"] = str(Path(lake.root).parent / "home")  # its own alert-evaluator lock
    data["alerts"] = alerts
    return Settings.model_validate(data)


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


# A real Alertmanager on loopback (Debian package prometheus-alertmanager) with a webhook receiver behind it.


@pytest.fixture
def receiver() -> Iterator[HttpRecorder]:
    rec = HttpRecorder().start()
    yield rec
    rec.stop()


@pytest.fixture
def alertmanager(tmp_path: Path, receiver: HttpRecorder) -> Iterator[str]:
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n  - name: hook\n    webhook_configs:\n"
        f"      - url: {receiver.url}/am\n        send_resolved: true\n"
    )
    argv = [ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"]  # fmt: skip
    with real_server(argv, tmp_path / "alertmanager.log", f"http://127.0.0.1:{port}") as base:
        yield base
