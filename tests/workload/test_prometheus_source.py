"""Prometheus source of the workload collector: windows, exact rows, skipped points, idempotent re-pulls.

The HTTP API is a local stand-in (tests/workload/conftest.py) that checks each POST /api/v1/query_range
form and answers the documented matrix JSON from SYNTHETIC fixtures; the rows go through the real
ingest runner into a real Delta lake.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

import collectors.workload.collector  # noqa: F401 - registers "workload"
from collectors import registry
from collectors.base import Quarantined, RunContext
from collectors.workload.collector import WorkloadCollector
from collectors.workload.prometheus_source import plan_windows, window_seconds
from spendscope.config_telemetry import WorkloadConfig, WorkloadQuery
from spendscope.ingest import run
from tests.workload.conftest import LATENCY_QUERY, T0, THROUGHPUT_QUERY, PromStandIn, at

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
UTC = dt.UTC


def config(url: str | None) -> WorkloadConfig:
    return WorkloadConfig(
        prometheus_url=url,
        queries=[
            WorkloadQuery(metric="training_throughput", query=THROUGHPUT_QUERY),
            WorkloadQuery(
                metric="inference_latency_seconds",
                query=LATENCY_QUERY,
                workload_label="service",
                platform="gke",
                team="serving",
            ),
        ],
    )


def rows(ctx: RunContext) -> list[dict]:
    sql = "SELECT * FROM workload_metrics ORDER BY metric, workload, ts"
    return ctx.warehouse.query(sql).to_pylist()


def test_windows_are_epoch_aligned_hours_in_whole_steps() -> None:
    assert window_seconds(60) == 3600
    assert window_seconds(7) == 3605  # an hour rounded up to whole 7 s steps
    got = plan_windows(dt.datetime(2026, 11, 20, 11, 55, tzinfo=UTC), dt.datetime(2026, 11, 20, 12, 20, tzinfo=UTC), 60)
    assert got == [
        (dt.datetime(2026, 11, 20, 11, tzinfo=UTC), dt.datetime(2026, 11, 20, 12, tzinfo=UTC)),
        (dt.datetime(2026, 11, 20, 12, tzinfo=UTC), dt.datetime(2026, 11, 20, 13, tzinfo=UTC)),
    ]
    assert plan_windows(NOW, NOW, 60) == []  # nothing after now


@pytest.mark.integration
def test_first_pull_writes_exact_rows_of_the_last_hour(ctx: RunContext, prom: PromStandIn) -> None:
    collector = WorkloadCollector(config(prom.url))
    summary = run(collector, at(ctx, NOW))

    assert prom.errors == []
    # One window [11:00, 12:00): each query asked once, by POST form, ending one step before the next window.
    assert [(r["path"], r["query"], r["start"], r["end"], r["step"]) for r in prom.requests] == [
        ("/api/v1/query_range", q, f"{T0.timestamp():.3f}", f"{(NOW - dt.timedelta(minutes=1)).timestamp():.3f}", "60s")
        for q in (THROUGHPUT_QUERY, LATENCY_QUERY)
    ]
    src = f"workload:prometheus:{prom.url}@2026-11-20T11:00:00+00:00"
    got = rows(ctx)
    lat, tp, sps = "inference_latency_seconds", "training_throughput", "samples_per_second"
    m1, m2 = T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=2)
    assert [(r["ts"], r["workload"], r["metric"], r["value"], r["unit"], r["platform"], r["team"]) for r in got] == [
        (T0, "embeddings-serving", lat, 0.0421, "seconds", "gke", "serving"),
        (m2, "embeddings-serving", lat, 0.05, "seconds", "gke", "serving"),
        (T0, "embeddings-train", tp, 800.0, sps, "gke", None),
        (m1, "embeddings-train", tp, 810.25, sps, "gke", None),
        (T0, "llm-pretrain", tp, 1250.5, sps, None, "research"),
        (m2, "llm-pretrain", tp, 1300.0, sps, None, "research"),
    ]
    assert {(r["source"], r["run_id"], r["_source"], r["_day"]) for r in got} == {
        ("prometheus", None, src, dt.date(2026, 11, 20))
    }
    # Labels: what is left after workload/platform/team; the workload label of the latency query is `service`.
    assert got[0]["labels"] == [{"key": "le_quantile", "value": "0.99"}]
    assert got[4]["labels"] == [{"key": "cluster", "value": "a3-prod"}]
    assert summary.rows == {"workload_metrics": 6}


@pytest.mark.integration
def test_nan_points_and_unlabelled_series_are_skipped_and_counted(ctx: RunContext, prom: PromStandIn) -> None:
    collector = WorkloadCollector(config(prom.url))
    summary = run(collector, at(ctx, NOW))

    stats = collector.last_stats["prometheus"]
    assert (stats.rows, stats.skipped_points, stats.unlabelled_series, stats.unlabelled_points) == (6, 2, 1, 2)
    assert summary.quarantined == [
        Quarantined(
            "workload_metrics",
            prom.url,
            None,
            "training_throughput: 1 series without the workload label skipped (with their points)",
            json.dumps({"cluster": "a3-prod", "job": "trainer"}, sort_keys=True),
        )
    ]
    assert ctx.warehouse.query("SELECT COUNT(*) AS n FROM quarantine").column("n")[0].as_py() == 1


@pytest.mark.integration
def test_repulls_replace_windows_and_never_double_rows(ctx: RunContext, prom: PromStandIn) -> None:
    collector = WorkloadCollector(config(prom.url))
    run(collector, at(ctx, NOW))
    later = NOW + dt.timedelta(minutes=20)
    run(collector, at(ctx, later))
    # The watermark stopped 5 minutes short of 12:00, so 11:00 was pulled again along with 12:00 → 12:20.
    assert [r["start"] for r in prom.requests[2:]] == [f"{T0.timestamp():.3f}"] * 2 + [f"{NOW.timestamp():.3f}"] * 2
    second = rows(ctx)
    assert len(second) == 8  # 6 rows of 11:00 once, plus the two throughput points at 12:00 and 12:05
    new = [(r["ts"], r["value"]) for r in second if r["ts"] >= NOW]
    assert new == [(NOW, 1310.0), (NOW + dt.timedelta(minutes=5), 1320.0)]

    run(collector, at(ctx, later))
    assert rows(ctx) == second
    state = ctx.warehouse.query("SELECT source, `partition`, watermark FROM ingest_state").to_pylist()
    assert state == [
        {
            "source": f"workload:prometheus:{prom.url}",
            "partition": "range",
            "watermark": later - dt.timedelta(minutes=5),
        }
    ]


@pytest.mark.integration
def test_target_option_overrides_the_configured_url(ctx: RunContext, prom: PromStandIn) -> None:
    collector = WorkloadCollector(config("http://127.0.0.1:9"))  # nothing listens there
    run(collector, at(ctx, NOW, targets=[prom.url, "http://127.0.0.1:9"]))
    got = rows(ctx)
    assert len(got) == 6
    assert {r["_source"] for r in got} == {f"workload:prometheus:{prom.url}@2026-11-20T11:00:00+00:00"}


def test_registered_as_workload() -> None:
    assert registry.get("workload") is WorkloadCollector
