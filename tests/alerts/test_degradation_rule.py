"""The degradation rule on the demo's degradation episode and on synthetic workload_metrics for exact figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alerts.loader import parse_rules
from alerts.rules.degradation import DegradationRule, default_direction
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.demo import DemoResult
from tests.alerts.telemetry_rows import MIN, NOW, context, workload_rows, write, yaml_example

HOUR = dt.timedelta(hours=1)
BASE_START = NOW - 2 * dt.timedelta(days=1)  # a baseline two days long, then the recent hour


def rule(**kw: Any) -> DegradationRule:
    return DegradationRule.model_validate({"name": "degraded", "type": "degradation", **kw})


def series(lake: DuckDbLake, metric: str, platform: str, baseline: list[float], recent: list[float],
           workload: str = "llm-pretrain") -> None:  # fmt: skip
    """`baseline` values spread over the two days before the last hour, `recent` ones inside it."""
    step = (2 * dt.timedelta(days=1) - HOUR) / len(baseline)
    write(lake, "workload_metrics", workload_rows(workload, metric, platform, BASE_START, baseline, step))
    write(lake, "workload_metrics", workload_rows(workload, metric, platform, NOW - HOUR + 5 * MIN, recent))


def test_the_docstring_example_validates() -> None:
    [parsed] = parse_rules(yaml_example(DegradationRule))
    assert isinstance(parsed, DegradationRule) and (parsed.metric, parsed.drop) == ("training_throughput", 0.15)


def test_the_direction_follows_the_metric_name() -> None:
    assert default_direction("inference_latency_seconds") == "higher_is_worse"
    assert default_direction("training_throughput") == "lower_is_worse"
    assert default_direction("gpu_busy_ratio") == "lower_is_worse"


def test_throughput_down_more_than_the_drop_vs_the_baseline_median(lake: DuckDbLake, settings: Settings) -> None:
    # baseline median 100 (one outlier at 10 does not move it); the recent mean 83 is 17% down
    series(lake, "training_throughput", "gce", [100.0] * 39 + [10.0, 101.0, 99.0], [80.0, 86.0] * 3)
    [f] = rule().evaluate(context(lake, settings))
    assert f.labels == {"workload": "llm-pretrain", "metric": "training_throughput", "platform": "gce"}
    assert (f.evidence["baseline"], f.evidence["recent"]) == (pytest.approx(100.0), pytest.approx(83.0))
    assert f.value == pytest.approx(-0.17) and f.evidence["change_ratio"] == pytest.approx(-0.17)
    assert (f.evidence["recent_samples"], f.evidence["baseline_samples"]) == (6, 42)
    assert "down 17%" in f.annotations["summary"]


def test_a_smaller_drop_is_quiet(lake: DuckDbLake, settings: Settings) -> None:
    series(lake, "training_throughput", "gce", [100.0] * 40, [86.0] * 6)  # 14% down
    assert rule().evaluate(context(lake, settings)) == []
    assert len(rule(drop=0.1).evaluate(context(lake, settings))) == 1


def test_latency_is_worse_when_higher(lake: DuckDbLake, settings: Settings) -> None:
    series(lake, "inference_latency_seconds", "gke", [0.2] * 40, [0.24] * 6, workload="chat-serving")
    series(lake, "inference_latency_seconds", "databricks", [0.2] * 40, [0.16] * 6, workload="chat-serving")
    [f] = rule(metric="inference_latency_seconds").evaluate(context(lake, settings))
    assert (
        f.labels["platform"] == "gke" and f.value == pytest.approx(0.2) and f.evidence["direction"] == "higher_is_worse"
    )
    # an explicit direction overrides the name: now the faster one is the "worse" one
    [g] = rule(metric="inference_latency_seconds", direction="lower_is_worse").evaluate(context(lake, settings))
    assert g.labels["platform"] == "databricks"


def test_each_platform_is_compared_with_its_own_past(lake: DuckDbLake, settings: Settings) -> None:
    series(lake, "training_throughput", "gce", [1250.0] * 40, [1000.0] * 6)  # 20% down on GCE
    series(lake, "training_throughput", "databricks", [1000.0] * 40, [1000.0] * 6)  # Databricks as always
    assert [f.labels["platform"] for f in rule().evaluate(context(lake, settings))] == ["gce"]
    assert rule(platforms=["databricks"]).evaluate(context(lake, settings)) == []


def test_too_few_samples_on_either_side_say_nothing(lake: DuckDbLake, settings: Settings) -> None:
    series(lake, "training_throughput", "gce", [100.0] * 40, [50.0] * 3)
    series(lake, "training_throughput", "gke", [100.0] * 10, [50.0] * 6)
    assert rule().evaluate(context(lake, settings)) == []
    got = rule(min_samples=3, min_baseline_samples=10).evaluate(context(lake, settings))
    assert sorted(f.labels["platform"] for f in got) == ["gce", "gke"]


def test_a_workload_that_stopped_is_not_degraded(lake: DuckDbLake, settings: Settings) -> None:
    series(lake, "training_throughput", "gce", [100.0] * 40, [50.0] * 6)
    later = NOW + 2 * HOUR  # its last samples are now older than the recent window
    assert rule().evaluate(context(lake, settings, later)) == []


def test_the_metric_filter_and_every_metric(lake: DuckDbLake, settings: Settings) -> None:
    series(lake, "training_throughput", "gce", [100.0] * 40, [50.0] * 6)
    series(lake, "gpu_busy_ratio", "gce", [0.9] * 40, [0.5] * 6)
    ctx = context(lake, settings)
    assert sorted(f.labels["metric"] for f in rule().evaluate(ctx)) == ["gpu_busy_ratio", "training_throughput"]
    assert [f.labels["metric"] for f in rule(metric="gpu_busy_ratio").evaluate(ctx)] == ["gpu_busy_ratio"]


def test_the_demo_episode_is_found_and_nothing_else(demo_run: tuple[DemoResult, DuckDbLake], demo_ctx: Any) -> None:
    telemetry = demo_run[0].telemetry
    assert telemetry is not None and telemetry.degradation is not None
    episode = telemetry.degradation
    r = rule(metric="training_throughput")
    [f] = r.evaluate(demo_ctx(episode.start + 2 * HOUR))
    assert f.labels == {"workload": episode.workload, "metric": "training_throughput", "platform": episode.platform}
    assert f.value == pytest.approx(episode.factor - 1, abs=0.04)  # the episode's factor, give or take the noise
    # every other hour of the demo's last days, across all metrics: quiet
    r_all = rule()
    t = dt.datetime.combine(episode.start.date() - dt.timedelta(days=3), dt.time(), dt.UTC)
    while t < episode.start + 6 * HOUR:
        if not episode.start < t <= episode.end + HOUR:  # the window touches the episode up to an hour after
            assert r_all.evaluate(demo_ctx(t)) == [], t
        t += 3 * HOUR
