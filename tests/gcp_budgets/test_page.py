"""The Budgets page's GCP section: its query functions over a real DuckDB lake holding a snapshot the collector took
through the real client from the loopback Budget API stand-in (not Google), and the page through Streamlit's AppTest
(the table equals the query layer's; unconfigured, a one-line note says how to configure it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from click.testing import CliRunner

from dashboards.queries import budgets_gcp as qg
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.cli import cli
from spendscope.config import load
from tests.alerts.cost_rows import DBX, daily, put
from tests.dashboards.apptest import open_page, reporting_today
from tests.dashboards.apptest import write_config as plain_config
from tests.gcp_budgets import budget_api
from tests.gcp_budgets.budget_api import ACCOUNT, BudgetApi
from tests.gcp_budgets.scenario import write_config

pytestmark = pytest.mark.integration


@pytest.fixture
def api() -> Iterator[BudgetApi]:
    with budget_api.serve() as stub:
        yield stub


@pytest.fixture
def synced(tmp_path: Path, api: BudgetApi, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scenario's config (the app points at it) over a lake with a snapshot and this month's costs of
    acme-ml-prod on GCP and on Databricks."""
    cfg = write_config(tmp_path, api.url)
    monkeypatch.setenv("SPENDSCOPE_CONFIG", str(cfg))
    st.cache_data.clear()
    result = CliRunner().invoke(cli, ["--config", str(cfg), "collect", "gcp-budgets"])
    assert result.exit_code == 0, result.output
    today, until = reporting_today(), dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    lake = DuckDbLake(load(str(cfg)).warehouse.path)
    put(lake, "cost_daily", [daily(today, 500.0, until, project="acme-ml-prod"),
                             daily(today, 80.0, until, source=DBX, project="acme-ml-prod")])  # fmt: skip
    return cfg


def test_status_names_the_account_and_the_last_sync(synced: Path) -> None:
    settings = load(str(synced))
    status = qg.gcp_budgets_status(DuckDbLake(settings.warehouse.path), settings)
    assert (status["configured"], status["billing_account"], status["budgets"]) == (True, ACCOUNT, 6)
    assert status["synced_at"] is not None and status["daemon"] is False


def test_beside_ours_reads_the_snapshot_and_the_groups_sources_from_the_data(synced: Path, api: BudgetApi) -> None:
    settings = load(str(synced))
    api.seen.clear()
    rows = qg.gcp_budgets_beside_ours(DuckDbLake(settings.warehouse.path), settings).to_pylist()
    assert api.seen == []  # the page's query never calls the API
    project = next(r for r in rows if r["our_budget"] == "project-monthly/acme-ml-prod")
    assert (project["gcp_budget"], project["state"]) == ("spendscope:project-monthly/acme-ml-prod", "in sync")
    assert project["notes"] == "our budget also counts databricks_usage; the GCP budget sees this billing account only"
    assert {r["gcp_budget"] for r in rows if r["state"] == "GCP only"} == {"Finance: whole account", "GPU project FY26"}


def test_unconfigured_status_and_table_are_empty(tmp_path: Path) -> None:
    settings = load(str(plain_config(tmp_path)))
    lake = DuckDbLake(settings.warehouse.path)
    assert qg.gcp_budgets_status(lake, settings)["configured"] is False
    assert qg.gcp_budgets_beside_ours(lake, settings).num_rows == 0


def test_the_page_shows_the_gcp_section_as_the_query_layer_says(synced: Path) -> None:
    at = open_page("budgets")
    assert "GCP budgets" in [h.value for h in at.header]
    settings = load(str(synced))
    lake = DuckDbLake(settings.warehouse.path)
    expected = qg.gcp_budgets_beside_ours(lake, settings).to_pandas()
    (shown,) = [df.value for df in at.dataframe if tuple(df.value.columns)[:2] == ("our_budget", "our_period")]
    assert list(shown.columns) == list(expected.columns)
    for col in ("our_budget", "gcp_budget", "match", "state", "notes"):
        assert shown[col].fillna("").tolist() == expected[col].fillna("").tolist(), col
    assert shown["gcp_amount"].fillna(-1).tolist() == expected["gcp_amount"].fillna(-1).tolist()
    caption = next(c.value for c in at.caption if ACCOUNT in c.value)
    assert "6 GCP budget(s)" in caption


def test_the_page_says_how_to_configure_it_when_unconfigured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDSCOPE_CONFIG", str(plain_config(tmp_path)))
    st.cache_data.clear()
    at = open_page("budgets")
    assert "GCP budgets" in [h.value for h in at.header]
    assert any(c.value.startswith("Not configured: set `[gcp_budgets] billing_account") for c in at.caption)
    assert not [df for df in at.dataframe if tuple(df.value.columns)[:1] == ("our_budget",)]
