"""MLflow source of the workload collector, against a REAL MLflow tracking store.

Runs are logged with mlflow-skinny's own MlflowClient into a SQLite tracking store (the backend MLflow
3.x supports; SQLAlchemy and alembic come with the test extras) and, once, into the legacy file store;
the collector reads them back through the same client and the real ingest runner writes a real lake.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pyarrow as pa
import pytest
from mlflow.tracking import MlflowClient

from collectors.base import RunContext
from collectors.workload.collector import WorkloadCollector
from exporters.warehouse.schema import TABLES
from spendscope.config_telemetry import WorkloadConfig
from spendscope.ingest import run
from tests.workload.conftest import at

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=UTC)
MIDNIGHT = dt.datetime(2026, 11, 20, tzinfo=UTC)


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def collector(uri: str, *experiments: str, client: MlflowClient | None = None) -> WorkloadCollector:
    cfg = WorkloadConfig(mlflow_tracking_uri=uri, mlflow_experiments=list(experiments))
    return WorkloadCollector(cfg, mlflow_client=client or MlflowClient(tracking_uri=uri))


def log_runs(client: MlflowClient, name: str, artifacts: Path) -> dict[str, str]:
    """Three runs: a finished one spanning midnight, a finished Databricks one, a running one; ids by role."""
    eid = client.create_experiment(name, artifact_location=artifacts.as_uri())
    pre = client.create_run(
        eid,
        start_time=ms(MIDNIGHT - dt.timedelta(hours=1)),
        run_name="pretrain-7b-0042",
        tags={"workload": "llm-pretrain", "team": "research", "platform": "gce", "owner": "ana"},
    ).info.run_id
    client.log_param(pre, "batch_size", 32)
    for minutes, value, step in ((-2, 1250.5, 100), (-1, math.nan, 200), (2, 1300.0, 300)):
        client.log_metric(pre, "throughput", value, timestamp=ms(MIDNIGHT + dt.timedelta(minutes=minutes)), step=step)
    client.log_metric(pre, "loss", 2.1, timestamp=ms(MIDNIGHT), step=300)  # not mapped: no row
    client.set_terminated(pre, end_time=ms(MIDNIGHT + dt.timedelta(hours=1)))

    serve = client.create_run(
        eid,
        start_time=ms(NOW - dt.timedelta(hours=3)),
        run_name="bert-serve-eval",
        tags={"mlflow.databricks.cluster.id": "0123-456789-abcdefgh"},
    ).info.run_id
    client.log_metric(serve, "latency_seconds", 0.042, timestamp=ms(NOW - dt.timedelta(hours=2)), step=0)
    client.set_terminated(serve, end_time=ms(NOW - dt.timedelta(hours=2)))

    live = client.create_run(eid, start_time=ms(NOW - dt.timedelta(hours=1)), tags={"workload": "llm-finetune"})
    client.log_metric(live.info.run_id, "throughput", 640.0, timestamp=ms(NOW - dt.timedelta(minutes=30)), step=10)
    return {"experiment": eid, "pre": pre, "serve": serve, "live": live.info.run_id}


def rows(ctx: RunContext) -> list[dict]:
    return ctx.warehouse.query("SELECT * FROM workload_metrics ORDER BY ts").to_pylist()


def test_each_history_point_becomes_a_row_with_exact_fields(ctx: RunContext, mlflow_store: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=mlflow_store)
    ids = log_runs(client, "exact-rows", tmp_path)
    c = collector(mlflow_store, "exact-rows", client=client)
    summary = run(c, at(ctx, NOW))

    got = rows(ctx)
    assert [(r["ts"], r["workload"], r["metric"], r["value"], r["unit"], r["platform"], r["team"], r["run_id"])
            for r in got] == [
        (MIDNIGHT - dt.timedelta(minutes=2), "llm-pretrain", "training_throughput", 1250.5, "samples_per_second",
         "gce", "research", ids["pre"]),
        (MIDNIGHT + dt.timedelta(minutes=2), "llm-pretrain", "training_throughput", 1300.0, "samples_per_second",
         "gce", "research", ids["pre"]),
        (NOW - dt.timedelta(hours=2), "bert-serve-eval", "inference_latency_seconds", 0.042, "seconds",
         "databricks", None, ids["serve"]),
        (NOW - dt.timedelta(minutes=30), "llm-finetune", "training_throughput", 640.0, "samples_per_second",
         None, None, ids["live"]),
    ]  # fmt: skip
    assert [r["_day"] for r in got] == [dt.date(2026, 11, 19)] + [dt.date(2026, 11, 20)] * 3
    assert [r["_source"] for r in got] == [f"mlflow:{ids[k]}" for k in ("pre", "pre", "serve", "live")]
    assert {r["source"] for r in got} == {"mlflow"}
    assert got[0]["labels"] == [
        {"key": "experiment", "value": "exact-rows"},
        {"key": "param.batch_size", "value": "32"},
        {"key": "run_name", "value": "pretrain-7b-0042"},
        {"key": "step", "value": "100"},
        {"key": "tag.owner", "value": "ana"},
    ]
    stats = c.last_stats["mlflow"]
    assert (stats.runs, stats.rows, stats.skipped_points) == (3, 4, 1)  # the NaN throughput point
    assert summary.rows == {"workload_metrics": 4}
    assert pa.Table.from_pylist(got, schema=TABLES["workload_metrics"].schema).num_rows == 4


def test_rerun_replaces_reread_runs_and_never_doubles(ctx: RunContext, mlflow_store: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=mlflow_store)
    ids = log_runs(client, "idempotent", tmp_path)
    c = collector(mlflow_store, "idempotent", client=client)
    run(c, at(ctx, NOW))
    first = rows(ctx)

    run(c, at(ctx, NOW))  # the running run is read again and replaces its own rows
    assert c.last_stats["mlflow"].runs == 1
    assert rows(ctx) == first

    # A full re-read (the watermark row deleted by hand) replaces every run, across both days.
    state_key = {"source": f"workload:mlflow:{mlflow_store}", "partition": ids["experiment"]}
    assert ctx.warehouse.query("SELECT COUNT(*) AS n FROM ingest_state").column("n")[0].as_py() == 1
    ctx.warehouse.replace("ingest_state", pa.table({"source": pa.array([], pa.string())}), [state_key])
    run(c, at(ctx, NOW))
    assert c.last_stats["mlflow"].runs == 3
    assert rows(ctx) == first

    # New points of the running run are added once; its old point is not doubled.
    client.log_metric(ids["live"], "throughput", 650.0, timestamp=ms(NOW + dt.timedelta(minutes=5)), step=20)
    run(c, at(ctx, NOW + dt.timedelta(minutes=10)))
    assert len(rows(ctx)) == len(first) + 1


def test_only_runs_changed_since_the_watermark_are_read(ctx: RunContext, mlflow_store: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=mlflow_store)
    ids = log_runs(client, "incremental", tmp_path)
    eid = ids["experiment"]
    c = collector(mlflow_store, "incremental", client=client)
    run(c, at(ctx, NOW))
    assert c.last_stats["mlflow"].runs == 3

    later = NOW + dt.timedelta(hours=1)
    run(c, at(ctx, later))
    assert c.last_stats["mlflow"].runs == 1  # only the RUNNING one; the finished ones ended before the watermark

    # After that pull the running run finishes and a new run starts and ends: both are read, nothing else.
    client.set_terminated(ids["live"], end_time=ms(later + dt.timedelta(minutes=5)))
    new = client.create_run(eid, start_time=ms(later + dt.timedelta(minutes=1)), tags={"workload": "llm-eval"})
    client.log_metric(new.info.run_id, "throughput", 99.5, timestamp=ms(later + dt.timedelta(minutes=2)), step=1)
    client.set_terminated(new.info.run_id, end_time=ms(later + dt.timedelta(minutes=10)))
    run(c, at(ctx, later + dt.timedelta(minutes=20)))
    assert c.last_stats["mlflow"].runs == 2
    got = rows(ctx)
    assert len(got) == 5
    assert [(r["workload"], r["value"]) for r in got if r["run_id"] == new.info.run_id] == [("llm-eval", 99.5)]


def test_unknown_experiment_is_counted_and_the_rest_is_read(ctx: RunContext, mlflow_store: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=mlflow_store)
    log_runs(client, "known", tmp_path)
    c = collector(mlflow_store, "no-such-experiment", "known", client=client)
    run(c, at(ctx, NOW))
    assert c.last_stats["mlflow"].missing_experiments == ["no-such-experiment"]
    assert len(rows(ctx)) == 4


def test_file_store_tracking_uri_reads_the_same_rows(
    ctx: RunContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow 3.x keeps the file store in maintenance mode behind this opt-in; users with ./mlruns set it too.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    client = MlflowClient(tracking_uri=uri)
    ids = log_runs(client, "file-store", tmp_path / "artifacts")
    run(collector(uri, "file-store", client=client), at(ctx, NOW))
    got = rows(ctx)
    assert [(r["run_id"], r["value"]) for r in got] == [
        (ids["pre"], 1250.5),
        (ids["pre"], 1300.0),
        (ids["serve"], 0.042),
        (ids["live"], 640.0),
    ]
