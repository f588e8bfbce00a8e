"""The Datadog exporter drives the REAL datadog-api-client against a local stand-in for the Datadog API
(tests/exporters/datadog_stub.py on 127.0.0.1) that checks paths, the DD-API-KEY header, the compressed body
and the JSON shape: Datadog itself cannot be reached from here."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from exporters.datadog import DatadogExporter, Event
from exporters.datadog.series import MAX_COMPRESSED_BYTES, MAX_UNCOMPRESSED_BYTES, datadog_name
from exporters.prometheus.snapshot import Samples, Snapshot, SnapshotBuilder, assemble
from spendscope.config import Settings
from spendscope.errors import ConfigError, SourceError
from spendscope.scheduler import JobHealth
from tests.exporters.conftest import H100, NOW
from tests.exporters.datadog_stub import API_KEY, DatadogStub

pytestmark = pytest.mark.integration
ENV = {"DD_API_KEY": API_KEY}


@pytest.fixture
def stub() -> Iterator[DatadogStub]:
    s = DatadogStub().start()
    yield s
    s.stop()


def dd_settings(settings: Settings, **datadog: Any) -> Settings:
    return Settings.model_validate(
        {**settings.model_dump(exclude_unset=True), "exporters": {"datadog": {"enabled": True, **datadog}}}
    )


def make(settings: Settings, stub: DatadogStub, source: Any, **kw: Any) -> tuple[DatadogExporter, list[float]]:
    sleeps: list[float] = []
    exp = DatadogExporter(
        dd_settings(settings, api_url=stub.url, tags=["env:test"]), source, environ=ENV,
        clock=lambda: NOW.timestamp(), sleep=sleeps.append, **kw,
    )  # fmt: skip
    return exp, sleeps


def test_push_sends_gauges_with_tags_and_host_resources(
    settings: Settings, stub: DatadogStub, builder: SnapshotBuilder
) -> None:
    exp, _ = make(settings, stub, builder.build)
    result = exp.push()
    (req,) = [r for r in stub.requests if r.path == "/api/v2/series"]
    assert req.headers["DD-API-KEY"] == API_KEY
    assert req.headers["Content-Encoding"] == "deflate"
    assert req.headers["Content-Type"] == "application/json"
    series = {(s["metric"], tuple(s["tags"])): s for s in req.json["series"]}
    util = series[("spendscope.gpu_utilization_ratio",
                   ("gpu:0", f"gpu_model:{H100}", "platform:gce", "cluster:a3-node-1", "env:test"))]  # fmt: skip
    assert util["type"] == 3
    assert util["points"] == [{"timestamp": int(NOW.timestamp()), "value": 0.93}]
    assert util["resources"] == [{"name": "a3-node-1", "type": "host"}]
    cost = [s for s in req.json["series"] if s["metric"] == "spendscope.cost_usd" and "period:day" in s["tags"]]
    assert sorted(s["points"][0]["value"] for s in cost) == [0.0, 100.0]
    assert all("resources" not in s for s in cost)
    # Counters have no previous value on the first push: no .count series yet.
    assert not any(s["metric"].endswith(".count") for s in req.json["series"])
    assert result.series == len(req.json["series"]) and result.requests == 1


def test_counters_are_sent_as_count_deltas_between_pushes(
    settings: Settings, stub: DatadogStub, builder: SnapshotBuilder
) -> None:
    health = {"focus": JobHealth(up=True, runs=3, failures=0)}
    builder.health = lambda: health
    clock = iter([1000.0, 1060.0])
    exp = DatadogExporter(
        dd_settings(settings, api_url=stub.url), builder.build, environ=ENV, clock=lambda: next(clock)
    )
    exp.push()
    health["focus"] = JobHealth(up=True, runs=5, failures=0)
    exp.push()
    runs = [s for s in stub.series() if s["metric"] == "spendscope.collector_runs.count"]
    assert runs == [{"metric": "spendscope.collector_runs.count", "type": 1, "interval": 60,
                     "points": [{"timestamp": 1060, "value": 2.0}], "tags": ["collector:focus"]}]  # fmt: skip


def test_an_increase_in_a_failed_push_is_sent_by_the_next_one(
    settings: Settings, stub: DatadogStub, builder: SnapshotBuilder
) -> None:
    health = {"focus": JobHealth(up=True, runs=3)}
    builder.health = lambda: health
    clock = iter([1000.0, 1060.0, 1120.0])
    exp = DatadogExporter(
        dd_settings(settings, api_url=stub.url), builder.build, environ=ENV, clock=lambda: next(clock),
        sleep=lambda _s: None, max_retries=0,
    )  # fmt: skip
    exp.push()  # first sight: the baseline is 3
    health["focus"] = JobHealth(up=True, runs=5)
    stub.queue("/api/v2/series", 503, {"errors": ["unavailable"]})
    with pytest.raises(SourceError):
        exp.push()
    health["focus"] = JobHealth(up=True, runs=6)
    exp.push()
    runs = [s for s in stub.series(accepted_only=True) if s["metric"] == "spendscope.collector_runs.count"]
    # 6 - 3, over the 120 s since the baseline: the failed push's +2 is not lost.
    assert [(s["points"][0]["value"], s["interval"]) for s in runs] == [(3.0, 120)]


def counter_snapshot(value: float) -> Snapshot:
    """300 counter series: enough for several requests under a 10 kB limit."""
    return assemble({"spendscope_collector_runs_total": [((f"job-{i:03d}",), value + i) for i in range(300)]}, NOW)


def test_a_push_that_fails_half_way_resends_only_what_was_not_accepted(settings: Settings, stub: DatadogStub) -> None:
    snaps = iter([counter_snapshot(10), counter_snapshot(11), counter_snapshot(12)])
    exp, _ = make(settings, stub, lambda: next(snaps), max_retries=0, max_uncompressed_bytes=10_000)
    exp.push()  # baselines only
    stub.queue("/api/v2/series", 202, {"errors": []})
    stub.queue("/api/v2/series", 503, {"errors": ["unavailable"]})
    with pytest.raises(SourceError):
        exp.push()  # the first request is accepted, the second fails and the rest are not sent
    accepted_in_failed_push = len(stub.series(accepted_only=True))
    assert 0 < accepted_in_failed_push < 300
    exp.push()
    sent: dict[tuple[str, ...], float] = {}
    for s in stub.series(accepted_only=True):
        sent[tuple(s["tags"])] = sent.get(tuple(s["tags"]), 0.0) + s["points"][0]["value"]
    # Every counter went up by 2 since the baseline; what Datadog accepted sums to exactly that, once.
    assert len(sent) == 300 and set(sent.values()) == {2.0}


def test_429_then_202_is_retried_with_the_rate_limit_reset(
    settings: Settings, stub: DatadogStub, builder: SnapshotBuilder
) -> None:
    stub.queue("/api/v2/series", 429, {"errors": ["Too many requests"]}, {"X-RateLimit-Reset": "7"})
    exp, sleeps = make(settings, stub, builder.build)
    exp.push()
    reqs = [r for r in stub.requests if r.path == "/api/v2/series"]
    assert len(reqs) == 2 and reqs[0].json == reqs[1].json  # the same payload, sent again
    assert len(sleeps) == 1 and sleeps[0] >= 7.0


def test_5xx_backs_off_exponentially_then_gives_up_with_source_error(
    settings: Settings, stub: DatadogStub, builder: SnapshotBuilder
) -> None:
    for _ in range(4):
        stub.queue("/api/v2/series", 503, {"errors": ["unavailable"]})
    exp, sleeps = make(settings, stub, builder.build, max_retries=3, backoff_seconds=1.0)
    with pytest.raises(SourceError, match="HTTP 503"):
        exp.push()
    assert len([r for r in stub.requests if r.path == "/api/v2/series"]) == 4
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):  # equal jitter: between half and all of 1, 2, 4 s
        assert 2**attempt / 2 <= delay <= 2**attempt


def test_a_4xx_is_not_retried_and_names_the_key(
    settings: Settings, stub: DatadogStub, builder: SnapshotBuilder
) -> None:
    exp = DatadogExporter(
        dd_settings(settings, api_url=stub.url), builder.build, environ={"DD_API_KEY": "wrong"}, sleep=lambda _s: None
    )
    with pytest.raises(SourceError, match=r"HTTP 403.*check the API key"):
        exp.push()
    assert len(stub.requests) == 1


def big_snapshot(hosts: int) -> Snapshot:
    names = ["spendscope_gpu_utilization_ratio", "spendscope_gpu_busy", "spendscope_gpu_memory_used_bytes",
             "spendscope_gpu_power_watts", "spendscope_gpu_temperature_celsius", "spendscope_gpu_xid_last"]  # fmt: skip
    gpus = [
        (f"gke-a3-highgpu-pool-{h:05d}", str(g), H100, "gke", "training-cluster")
        for h in range(hosts)
        for g in range(8)
    ]
    return assemble({n: [(g, i * 0.001) for i, g in enumerate(gpus)] for n in names}, NOW)


def test_large_snapshots_are_batched_under_the_limits_and_each_series_is_sent_once(
    settings: Settings, stub: DatadogStub
) -> None:
    snap = big_snapshot(96)  # 96 hosts × 8 GPUs × 6 metrics = 4,608 series (~1 MB of JSON)
    exp, _ = make(settings, stub, lambda: snap, max_uncompressed_bytes=200_000, max_compressed_bytes=10_000)
    result = exp.push()
    reqs = [r for r in stub.requests if r.path == "/api/v2/series"]
    assert result.requests == len(reqs) > 5
    for r in reqs:
        assert r.body_bytes < 200_000 and r.wire_bytes < 10_000
    sent = [(s["metric"], tuple(s["tags"]), s["resources"][0]["name"]) for s in stub.series()]
    assert len(sent) == len(set(sent)) == 4_608


def test_default_limits_are_the_documented_ones_and_hold_for_a_fleet(settings: Settings) -> None:
    from exporters.datadog.series import batches, payload_bytes, to_series

    assert (MAX_COMPRESSED_BYTES, MAX_UNCOMPRESSED_BYTES) == (512_000, 5_242_880)
    series = to_series(big_snapshot(768), 1, ["env:prod"], {}).series  # 6,144 GPUs: 36,864 series, ~10 MB
    parts = list(batches(series))
    assert len(parts) >= 2 and sum(map(len, parts)) == len(series)
    for p in parts:
        body = payload_bytes(p)
        assert len(body) < MAX_UNCOMPRESSED_BYTES and len(zlib.compress(body)) < MAX_COMPRESSED_BYTES


def test_send_events_posts_v1_events(settings: Settings, stub: DatadogStub) -> None:
    exp, _ = make(settings, stub, lambda: Snapshot([], NOW))
    n = exp.send_events([Event("Budget 90%", "ml-team is at 90% of its month", "warning", "budget-ml", ("budget:ml",),
                               host="a3-node-1", date_happened=1_795_176_000)])  # fmt: skip
    assert n == 1
    (req,) = stub.requests
    assert req.path == "/api/v1/events" and req.headers["DD-API-KEY"] == API_KEY
    assert req.json == {"title": "Budget 90%", "text": "ml-team is at 90% of its month", "alert_type": "warning",
                        "aggregation_key": "budget-ml", "tags": ["budget:ml", "env:test"], "host": "a3-node-1",
                        "date_happened": 1_795_176_000}  # fmt: skip


def test_collector_down_and_recovered_events(settings: Settings, stub: DatadogStub, builder: SnapshotBuilder) -> None:
    health = {"focus": JobHealth(up=True, runs=1), "databricks": JobHealth(up=False, runs=1, failures=1)}
    builder.health = lambda: health
    exp, _ = make(settings, stub, builder.build)
    exp.push()  # databricks is down when first seen
    health["databricks"] = JobHealth(up=True, runs=2, failures=1)
    health["focus"] = JobHealth(up=False, runs=2, failures=1)
    exp.push()
    exp.push()  # no change: no event
    events = [r.json for r in stub.requests if r.path == "/api/v1/events"]
    assert [(e["title"], e["alert_type"], e["aggregation_key"]) for e in events] == [
        ("spendscope: databricks is down", "error", "spendscope-collector-databricks"),
        ("spendscope: databricks recovered", "success", "spendscope-collector-databricks"),
        ("spendscope: focus is down", "error", "spendscope-collector-focus"),
    ]
    assert events[0]["tags"] == ["collector:databricks", "env:test"]


def test_missing_api_key_is_a_config_error_naming_the_variable(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="MY_DD_KEY"):
        DatadogExporter(dd_settings(settings, api_key_env="MY_DD_KEY"), lambda: Snapshot([], NOW), environ={})


def test_site_picks_the_api_host(settings: Settings) -> None:
    exp = DatadogExporter(dd_settings(settings, site="datadoghq.eu"), lambda: Snapshot([], NOW), environ=ENV)
    assert exp.host == "https://api.datadoghq.eu"
    assert exp._client.configuration.host == "https://api.datadoghq.eu"


def test_datadog_names_follow_the_openmetrics_check() -> None:
    assert datadog_name("spendscope_gpu_power_watts", counter=False) == "spendscope.gpu_power_watts"
    assert datadog_name("spendscope_collector_runs_total", counter=True) == "spendscope.collector_runs.count"


def test_nan_values_are_not_sent(settings: Settings, stub: DatadogStub) -> None:
    samples: Samples = {"spendscope_exporter_snapshot_duration_seconds": [((), float("nan"))],
               "spendscope_exporter_snapshot_timestamp_seconds": [((), 5.0)]}  # fmt: skip
    snap = assemble(samples, dt.datetime.now(dt.UTC))
    exp, _ = make(settings, stub, lambda: snap)
    exp.push()
    assert [s["metric"] for s in stub.series()] == ["spendscope.exporter_snapshot_timestamp_seconds"]
