"""Collector wiring: registry, scheduling flags, and config errors that name the key or variable."""

from __future__ import annotations

import pytest

from collectors import registry
from collectors.base import RunContext
from collectors.databricks.collector import DatabricksCollector
from spendscope.config import DatabricksConfig, Settings
from spendscope.errors import ConfigError


def test_registered_under_databricks() -> None:
    assert registry.get("databricks") is DatabricksCollector


def test_enabled_and_interval_come_from_settings(tmp_path) -> None:
    s = Settings.model_validate(
        {
            "collectors": {
                "databricks": {"enabled": True, "interval_minutes": 30, "host": "https://x", "warehouse_id": "w"}
            }
        }
    )
    c = DatabricksCollector.from_settings(s)
    assert c.enabled(s) is True and c.interval_minutes(s) == 30
    assert c.enabled(Settings()) is False


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"warehouse_id": None}, "collectors.databricks.warehouse_id is not set"),
        ({"host": None}, "collectors.databricks.host is not set"),
        ({}, "environment variable SPENDSCOPE_TEST_DBX_TOKEN is not set"),
    ],
)
def test_missing_settings_are_config_errors(
    update: dict[str, object], message: str, settings: Settings, ctx: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPENDSCOPE_TEST_DBX_TOKEN", raising=False)
    cfg: DatabricksConfig = settings.collectors.databricks.model_copy(update=update)

    with pytest.raises(ConfigError, match=message):
        list(DatabricksCollector(cfg).collect(ctx))
