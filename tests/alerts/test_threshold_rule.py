"""The threshold rule on synthetic gpu_minutes / net_samples (exact cases) and on the demo (its saturated spike)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.loader import parse_rules
from alerts.rules.idle import IdleRule
from alerts.rules.threshold import ThresholdRule
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.demo import DemoResult
from tests.alerts.telemetry_rows import (
    FB_TOTAL,
    MIN,
    NOW,
    context,
    gpu_minutes,
    inventory_row,
    net_samples,
    write,
    yaml_example,
)

HOST = "a3-train-09"


def rule(metric: str, value: float | None = None, **kw: Any) -> ThresholdRule:
    return ThresholdRule.model_validate({"name": f"{metric}-limit", "type": "threshold", "metric": metric,
                                         "value": value, **kw})  # fmt: skip


@pytest.fixture
def fleet(lake: DuckDbLake) -> DuckDbLake:
    write(lake, "inventory", [inventory_row("gce", "instance", "id-1", HOST, [HOST])])
    return lake


def test_the_docstring_example_validates() -> None:
    [parsed] = parse_rules(yaml_example(ThresholdRule))
    assert isinstance(parsed, ThresholdRule) and (parsed.metric, parsed.value) == ("gpu_memory", 0.9)


def test_utilization_over_the_limit_for_the_whole_duration_per_gpu(fleet: DuckDbLake, settings: Settings) -> None:
    # GPU 0 above 85% for 10 minutes; GPU 1 dips to 80% once in the last 5 minutes; GPU 2 dipped before them.
    util = {0: lambda i: 0.9 + i / 100, 1: lambda i: 0.8 if i == 7 else 0.95, 2: lambda i: 0.5 if i < 5 else 0.99}
    write(fleet, "gpu_minutes", gpu_minutes(HOST, 3, NOW - 9 * MIN, 10, gpu_util_ratio=lambda g, i: util[g](i)))
    findings = rule("gpu_utilization", 0.85).evaluate(context(fleet, settings))
    assert [f.labels["gpu"] for f in findings] == ["0", "2"]
    f = findings[0]
    assert f.labels == {"host": HOST, "platform": "gce", "cluster": HOST, "metric": "gpu_utilization", "gpu": "0",
                        "gpu_uuid": f"GPU-{HOST}-0"}  # fmt: skip
    assert f.value == pytest.approx(0.99)  # the worst sample of the window
    assert f.evidence["observed_min"] == pytest.approx(0.95)  # the last 5 minutes only
    assert f.evidence["coverage"] == 1.0 and f.evidence["matching_samples"] == 5
    assert "GPU utilization > 85% for 5 min" in f.annotations["summary"]


def test_a_gap_in_the_duration_means_no_finding(fleet: DuckDbLake, settings: Settings) -> None:
    rows = gpu_minutes(HOST, 1, NOW - 9 * MIN, 10, gpu_util_ratio=0.97)
    write(fleet, "gpu_minutes", [r for r in rows if r["minute"] not in (NOW - 2 * MIN, NOW - 3 * MIN)])
    assert rule("gpu_utilization", 0.85).evaluate(context(fleet, settings)) == []
    assert len(rule("gpu_utilization", 0.85, min_coverage=0.6).evaluate(context(fleet, settings))) == 1


def test_a_gpu_that_just_appeared_is_not_yet_over_the_duration(fleet: DuckDbLake, settings: Settings) -> None:
    write(fleet, "gpu_minutes", gpu_minutes(HOST, 1, NOW - 2 * MIN, 3, gpu_util_ratio=0.97))
    assert rule("gpu_utilization", 0.85).evaluate(context(fleet, settings)) == []


def test_stale_data_says_nothing(fleet: DuckDbLake, settings: Settings) -> None:
    write(fleet, "gpu_minutes", gpu_minutes(HOST, 1, NOW - 20 * MIN, 10, gpu_util_ratio=0.97))  # ends 10 min ago
    assert rule("gpu_utilization", 0.85).evaluate(context(fleet, settings)) == []
    assert len(rule("gpu_utilization", 0.85).evaluate(context(fleet, settings, NOW - 10 * MIN))) == 1


def test_gpu_memory_is_used_over_total_framebuffer(fleet: DuckDbLake, settings: Settings) -> None:
    used = {0: 0.95, 1: 0.85}
    write(fleet, "gpu_minutes", gpu_minutes(HOST, 2, NOW - 5 * MIN, 6, fb_used_bytes=lambda g, i: used[g] * FB_TOTAL))
    [f] = rule("gpu_memory", 0.9).evaluate(context(fleet, settings))
    assert f.labels["gpu"] == "0" and f.value == pytest.approx(0.95)


def test_any_xid_error_in_the_window_is_a_finding(fleet: DuckDbLake, settings: Settings) -> None:
    xid = {(0, 11): 79.0, (1, 1): 48.0}  # GPU 0: XID 79 three minutes ago; GPU 1: XID 48 thirteen minutes ago
    write(fleet, "gpu_minutes", gpu_minutes(HOST, 3, NOW - 14 * MIN, 15, xid_last=lambda g, i: xid.get((g, i), 0.0)))
    # the last duration + slack (5m + 5m) before now: a late-arriving minute is still seen
    [f] = rule("xid").evaluate(context(fleet, settings))
    assert (f.labels["gpu"], f.value) == ("0", 79.0) and "XID 79" in f.annotations["summary"]
    got = {f.labels["gpu"]: f.value for f in rule("xid", duration="10m").evaluate(context(fleet, settings))}
    assert got == {"0": 79.0, "1": 48.0}


def test_xid_zero_everywhere_is_quiet(fleet: DuckDbLake, settings: Settings) -> None:
    write(fleet, "gpu_minutes", gpu_minutes(HOST, 8, NOW - 10 * MIN, 11))
    assert rule("xid").evaluate(context(fleet, settings)) == []


def test_per_host_is_one_finding_listing_its_gpus(fleet: DuckDbLake, settings: Settings) -> None:
    write(
        fleet, "gpu_minutes", gpu_minutes(HOST, 4, NOW - 5 * MIN, 6, gpu_util_ratio=lambda g, i: 0.9 if g < 2 else 0.3)
    )
    [f] = rule("gpu_utilization", 0.85, per="host").evaluate(context(fleet, settings))
    assert f.labels == {"host": HOST, "platform": "gce", "cluster": HOST, "metric": "gpu_utilization"}
    assert f.evidence["gpus"] == ["0", "1"] and f.annotations["summary"].startswith(f"2 GPU(s) on {HOST}")


def test_below_limits_work_too(fleet: DuckDbLake, settings: Settings) -> None:
    write(fleet, "gpu_minutes", gpu_minutes(HOST, 2, NOW - 5 * MIN, 6, power_watts=lambda g, i: 90.0 + 400 * g))
    [f] = rule("gpu_power", 100, op="<").evaluate(context(fleet, settings))
    assert f.labels["gpu"] == "0" and f.value == 90.0


def test_network_saturation_per_host_and_interface(lake: DuckDbLake, settings: Settings) -> None:
    start = NOW - 10 * MIN
    rows = [*net_samples(HOST, start, 20, 30, 0.9), *net_samples(HOST, start, 20, 30, 0.5, "eth1")]
    rows += net_samples("a3-train-10", start, 20, 30, lambda i: 0.7 if i == 15 else 0.95)  # dips once
    write(lake, "net_samples", rows)
    [f] = rule("network_saturation", 0.8).evaluate(context(lake, settings))
    # no inventory at all: the host is named by the no-inventory rule (a plain VM name is GCE)
    assert f.labels == {"host": HOST, "interface": "eth0", "platform": "gce", "cluster": HOST,
                        "metric": "network_saturation"}  # fmt: skip
    assert f.evidence["coverage"] == 1.0 and f.value == pytest.approx(0.9)


def test_network_samples_must_cover_the_duration(lake: DuckDbLake, settings: Settings) -> None:
    # 30-second samples only for the last 3 minutes (the first has no rate): 2.5 of the 5 minutes covered
    write(lake, "net_samples", net_samples(HOST, NOW - 3 * MIN, 6, 30, 0.95))
    assert rule("network_saturation", 0.8).evaluate(context(lake, settings)) == []
    assert len(rule("network_saturation", 0.8, min_coverage=0.5).evaluate(context(lake, settings))) == 1


def test_a_ratio_limit_given_as_percent_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"write 0\.85 for 85%"):
        rule("gpu_utilization", 85)
    with pytest.raises(ValidationError, match="value is required"):
        rule("gpu_temperature")


def test_idle_and_threshold_rules_get_window_aggregates_not_the_window_rows(fleet: DuckDbLake,
                                                                            settings: Settings) -> None:  # fmt: skip
    # 8 GPUs × 41 minutes = 328 rows in the window: every answer about gpu_minutes is one row per GPU at most
    # (the warehouse sums the windows), so what the rules hold does not grow with the window; inventory once.
    write(fleet, "gpu_minutes", gpu_minutes(HOST, 8, NOW - 40 * MIN, 41, busy=False, gpu_util_ratio=0.0))
    seen: list[tuple[str, int]] = []
    real = fleet.query

    def counting(sql: str, params: Any = None) -> Any:
        got = real(sql, params)
        seen.append((sql, got.num_rows))
        return got

    fleet.query = counting  # type: ignore[method-assign]
    ctx = context(fleet, settings)
    idle = IdleRule.model_validate({"name": "idle", "type": "idle", "windows": {"gce": "15m"}})
    rules = [idle, rule("gpu_utilization", 0.85),
             rule("gpu_memory", 0.9), rule("xid"), rule("gpu_temperature", 85)]  # fmt: skip
    found = [f for r in rules for f in r.evaluate(ctx)]
    assert [f.labels.get("cluster") for f in found] == [HOST]  # the idle VM; no threshold crossed
    answers = [n for sql, n in seen if "FROM gpu_minutes" in sql]
    assert answers and max(answers) <= 8
    assert sum("FROM inventory" in sql for sql, _ in seen) == 1


def test_the_demo_spike_saturates_the_spot_pool_and_nothing_runs_hot_elsewhere(
    demo_run: tuple[DemoResult, DuckDbLake], demo_ctx: Any
) -> None:
    spike = demo_run[0].spike
    assert spike is not None
    now = dt.datetime.combine(spike.day, dt.time(16), dt.UTC)  # mid-spike (13:00–19:00 UTC)
    ctx = demo_ctx(now)
    saturated = rule("gpu_utilization", 0.85, per="host").evaluate(ctx)
    spot = [f for f in saturated if "h100-spot" in f.labels["host"]]
    assert len(spot) >= 14 and all(f.labels["cluster"] == "ml-gke-prod" for f in spot)
    assert all(f.labels["platform"] in ("gce", "gke", "databricks") for f in saturated)  # every host is inventoried
    # the demo has no XID errors and keeps framebuffer use under 80%
    assert rule("xid").evaluate(ctx) == [] and rule("gpu_memory", 0.9).evaluate(ctx) == []
