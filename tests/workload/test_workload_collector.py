"""The workload collector as a whole: both sources together, one failing source, all failing, bad config.

Prometheus is the local API stand-in of conftest.py (it checks each query_range request); MLflow is a
real SQLite tracking store, or an MLflow REST URI on a closed loopback port for an unreachable server.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from collectors.base import RunContext
from collectors.workload.collector import WorkloadCollector
from spendscope.config import Settings
from spendscope.config_telemetry import WorkloadConfig, WorkloadQuery
from spendscope.errors import ConfigError, SourceError
from spendscope.ingest import run
from tests.workload.conftest import THROUGHPUT_QUERY, PromStandIn, at
from tests.workload.test_mlflow_source import NOW, log_runs

QUERIES = [WorkloadQuery(metric="training_throughput", query=THROUGHPUT_QUERY)]


def closed_url() -> str:
    """An http URL on a loopback port nobody listens on (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def sources(ctx: RunContext) -> dict[str, int]:
    sql = "SELECT source, COUNT(*) AS n FROM workload_metrics GROUP BY source"
    return {r["source"]: r["n"] for r in ctx.warehouse.query(sql).to_pylist()}


@pytest.mark.integration
def test_both_sources_write_side_by_side(ctx: RunContext, prom: PromStandIn, mlflow_store: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=mlflow_store)
    log_runs(client, "both", tmp_path)
    cfg = WorkloadConfig(
        prometheus_url=prom.url, queries=QUERIES, mlflow_tracking_uri=mlflow_store, mlflow_experiments=["both"]
    )
    c = WorkloadCollector(cfg, mlflow_client=client)
    run(c, at(ctx, NOW))
    run(c, at(ctx, NOW))  # each source replaces only its own keys: the other's rows stay, none doubled
    assert sources(ctx) == {"prometheus": 4, "mlflow": 4}


@pytest.mark.integration
def test_a_failing_source_does_not_stop_the_other(
    ctx: RunContext, prom: PromStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail at once instead of backing off
    cfg = WorkloadConfig(
        prometheus_url=prom.url, queries=QUERIES, mlflow_tracking_uri=closed_url(), mlflow_experiments=["x"]
    )
    c = WorkloadCollector(cfg)
    summary = run(c, at(ctx, NOW))
    assert summary.rows == {"workload_metrics": 4}
    assert sources(ctx) == {"prometheus": 4}


@pytest.mark.integration
def test_every_source_failing_raises_source_error(
    ctx: RunContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    cfg = WorkloadConfig(
        prometheus_url=closed_url(), queries=QUERIES, mlflow_tracking_uri=closed_url(), mlflow_experiments=["x"]
    )
    with pytest.raises(SourceError, match=r"every source failed: prometheus: .*; mlflow: "):
        run(WorkloadCollector(cfg), at(ctx, NOW))


@pytest.mark.integration
def test_prometheus_error_answer_fails_the_window_without_writing(ctx: RunContext, prom: PromStandIn) -> None:
    queries = [*QUERIES, WorkloadQuery(metric="gpu_busy_ratio", query="not_a_known_query")]
    with pytest.raises(SourceError, match="bad_data: unknown query"):
        run(WorkloadCollector(WorkloadConfig(prometheus_url=prom.url, queries=queries)), at(ctx, NOW))
    # The window is written whole or not at all: the good query's rows were not written alone.
    assert ctx.warehouse.query("SELECT COUNT(*) AS n FROM workload_metrics").column("n")[0].as_py() == 0


def test_nothing_configured_is_a_config_error(ctx: RunContext) -> None:
    with pytest.raises(ConfigError, match="nothing to read"):
        list(WorkloadCollector(WorkloadConfig()).collect(ctx))


def test_target_without_queries_is_a_config_error(ctx: RunContext) -> None:
    with pytest.raises(ConfigError, match=r"--target needs collectors\.workload\.queries"):
        list(WorkloadCollector(WorkloadConfig()).collect(at(ctx, NOW, targets=["http://127.0.0.1:9090"])))


def test_from_settings_reads_the_workload_section(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "home": str(tmp_path),
            "collectors": {
                "workload": {"enabled": True, "mlflow_tracking_uri": "databricks", "mlflow_experiments": ["/e"]}
            },
        }
    )
    c = WorkloadCollector.from_settings(settings)
    assert c.cfg.mlflow_experiments == ["/e"]
    assert c.enabled(settings)
    assert c.interval_minutes(settings) == 15
