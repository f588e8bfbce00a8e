"""Databricks test fixtures: settings with fallback prices, the fixture rows, the API stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.databricks.collector import DatabricksCollector
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from tests.conftest import FIXTURES
from tests.databricks.sql_api_stub import WAREHOUSE_ID, SqlApiStub, serve

DBX = FIXTURES / "databricks"
HOST = "https://2345678901234567.7.gcp.databricks.com"
# 0.35 prices the serverless jobs SKU that list_prices lacks; the 0.99 for jobs compute must lose to
# the real list price wherever one exists (config rows are fallbacks only).
SKU_PRICES = {"PREMIUM_JOBS_SERVERLESS_COMPUTE_US_CENTRAL": 0.35, "premium jobs compute": 0.99}
# Expected BilledCost of the fixture usage (see fixtures/databricks/README.md).
EXPECTED_TOTAL = 16.205


def fixture_rows(name: str) -> list[dict[str, Any]]:
    """A JSON-array fixture's records."""
    data: list[dict[str, Any]] = json.loads((DBX / name).read_text())
    return data


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "home": str(tmp_path / "home"),
            "warehouse": {"path": str(tmp_path / "lake")},
            "collectors": {
                "databricks": {
                    "host": HOST,
                    "warehouse_id": WAREHOUSE_ID,
                    "token_env": "SPENDSCOPE_TEST_DBX_TOKEN",
                    "sku_prices": SKU_PRICES,
                    "initial_days": 10,
                    "trailing_days": 2,
                }
            },
        }
    )


@pytest.fixture
def api() -> Iterator[SqlApiStub]:
    with serve(SqlApiStub(usage=fixture_rows("usage.json"), prices=fixture_rows("list_prices.json"))) as stub:
        yield stub


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def api_collector(api: SqlApiStub, settings: Settings, sleeps: list[float]) -> DatabricksCollector:
    """The collector with a real WorkspaceClient pointed at the stand-in, one window per pull."""
    from databricks.sdk import WorkspaceClient

    client = WorkspaceClient(host=api.url, token="x", auth_type="pat")
    cfg = settings.collectors.databricks.model_copy(update={"host": api.url})
    return DatabricksCollector(cfg, workspace_client=client, window_days=30, sleep=sleeps.append)


def total_cost(lake: DuckDbLake) -> float:
    """Sum of Databricks BilledCost in focus_costs."""
    got = lake.query("SELECT SUM(BilledCost) AS c FROM focus_costs WHERE x_Platform = 'databricks'")
    return float(got.column("c")[0].as_py() or 0.0)
