"""The live pull over the SQL Statement Execution API.

These drive the REAL databricks-sdk WorkspaceClient against a local HTTP server on 127.0.0.1
(tests/databricks/sql_api_stub.py) — not Databricks — which checks each request's method, path,
bearer token and JSON body and answers with the documented StatementResponse shapes.
"""

from __future__ import annotations

import pytest

from collectors.base import RunContext
from collectors.databricks.collector import DatabricksCollector
from collectors.databricks.pull import USAGE_SQL
from collectors.databricks.statement_api import StatementRunner
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import ingest
from spendscope.errors import SourceError
from tests.databricks.conftest import EXPECTED_TOTAL, total_cost
from tests.databricks.sql_api_stub import WAREHOUSE_ID, SqlApiStub

pytestmark = pytest.mark.integration


def _usage_count(lake: DuckDbLake) -> int:
    return int(lake.query("SELECT COUNT(*) AS n FROM databricks_usage").column("n")[0].as_py())


def test_inline_succeeded_result_is_ingested_with_exact_requests(
    api: SqlApiStub, settings, ctx: RunContext, lake: DuckDbLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The collector builds its own client from host + the token env var (the production path).
    monkeypatch.setenv("SPENDSCOPE_TEST_DBX_TOKEN", "x")
    cfg = settings.collectors.databricks.model_copy(update={"host": api.url})
    collector = DatabricksCollector(cfg, window_days=30)

    summary = ingest.run(collector, ctx)

    assert api.problems == []
    assert [(s.method, s.path) for s in api.seen] == [
        ("GET", "/.well-known/databricks-config"),
        ("POST", "/api/2.0/sql/statements"),
        ("POST", "/api/2.0/sql/statements"),
    ]
    prices_body, usage_body = api.statements()
    assert "FROM system.billing.list_prices" in prices_body["statement"]
    assert prices_body.get("parameters", []) == []
    assert usage_body["parameters"] == [
        {"name": "since", "type": "DATE", "value": "2026-11-10"},  # clock 2026-11-20 − initial_days 10
        {"name": "until", "type": "DATE"},  # open-ended last window: NULL
    ]
    assert usage_body["warehouse_id"] == WAREHOUSE_ID
    assert summary.rows["databricks_usage"] == 10
    assert _usage_count(lake) == 10
    assert total_cost(lake) == pytest.approx(EXPECTED_TOTAL)


def test_pending_statement_is_polled_until_succeeded(
    api: SqlApiStub, api_collector: DatabricksCollector, ctx: RunContext, lake: DuckDbLake, sleeps: list[float]
) -> None:
    api.mode["usage"] = "pending"

    ingest.run(api_collector, ctx)

    assert api.problems == []
    polls = [s.path for s in api.seen if s.method == "GET" and s.path.startswith("/api/")]
    usage_id = polls[0].rsplit("/", 1)[1]
    assert polls == [f"/api/2.0/sql/statements/{usage_id}"] * 2  # RUNNING, then SUCCEEDED
    assert sleeps == [2.0, 2.0]
    assert _usage_count(lake) == 10


def test_two_chunk_result_is_followed_by_next_chunk_index(
    api: SqlApiStub, api_collector: DatabricksCollector, ctx: RunContext, lake: DuckDbLake
) -> None:
    api.mode["usage"] = "chunks"
    api.mode["prices"] = "chunks"

    ingest.run(api_collector, ctx)

    assert api.problems == []
    chunk_calls = [s.path for s in api.seen if "/result/chunks/" in s.path]
    assert len(chunk_calls) == 2 and all(p.endswith("/result/chunks/1") for p in chunk_calls)
    assert _usage_count(lake) == 10  # 5 rows from chunk 0 and 5 from chunk 1
    prices = lake.query("SELECT COUNT(*) AS n FROM databricks_list_prices WHERE _source != 'config'")
    assert prices.column("n")[0].as_py() == 6
    assert total_cost(lake) == pytest.approx(EXPECTED_TOTAL)


def test_failed_statement_with_http_200_raises_and_writes_nothing(
    api: SqlApiStub, api_collector: DatabricksCollector, ctx: RunContext, lake: DuckDbLake
) -> None:
    api.mode["usage"] = "failed"

    with pytest.raises(SourceError, match=r"FAILED: BAD_REQUEST \[INSUFFICIENT_PERMISSIONS\].*SQLSTATE 42501"):
        ingest.run(api_collector, ctx)

    # The list_prices statement succeeded first, but nothing is written before usage does too.
    for table in ("databricks_usage", "databricks_list_prices", "ingest_state", "cost_daily"):
        assert lake.table_version(table) is None, table


def test_failed_list_prices_statement_raises_before_usage_is_asked(
    api: SqlApiStub, api_collector: DatabricksCollector, ctx: RunContext, lake: DuckDbLake
) -> None:
    api.mode["prices"] = "failed"

    with pytest.raises(SourceError, match="INSUFFICIENT_PERMISSIONS"):
        ingest.run(api_collector, ctx)

    assert len(api.statements()) == 1
    assert lake.table_version("databricks_usage") is None


def test_runner_converts_values_by_manifest_type(api: SqlApiStub) -> None:
    from databricks.sdk import WorkspaceClient

    from collectors.databricks.parse_results import records

    runner = StatementRunner(WorkspaceClient(host=api.url, token="x", auth_type="pat"), WAREHOUSE_ID)
    res = runner.run(USAGE_SQL, {"since": ("2026-11-17", "DATE"), "until": ("2026-11-18", "DATE")})
    assert api.problems == []
    assert [c[1] for c in res.columns[5:8]] == ["TIMESTAMP", "TIMESTAMP", "DATE"]
    got = [rec for _, rec, _ in records(res.columns, res.rows)]
    assert len(got) == 3
    first = got[0]
    assert isinstance(first, dict)
    assert first["usage_quantity"] == 100.0
    assert first["usage_start_time"].isoformat() == "2026-11-17T00:00:00+00:00"
    assert str(first["usage_date"]) == "2026-11-17"
    assert (
        first["usage_metadata"]
        == '{"endpoint_name":"llama-70b-chat","endpoint_id":"b7c6d5e4f3a21098","node_type":"a3-highgpu-8g"}'
    )
