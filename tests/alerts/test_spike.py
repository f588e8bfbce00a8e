"""The `spike` rule: the last complete hour against the same hour of earlier days, ratio and robust score.

Demo tests read the session demo warehouse (its spike: GKE pool h100-spot +14 a3-highgpu-8g Spot nodes,
2026-11-16 13:00–19:00 UTC). Exact-arithmetic tests write synthetic cost_hourly rows, plus the cost_daily rows
that say how far each source's data reaches (tests/alerts/cost_rows.py), into a fresh lake.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from alerts.loader import parse_rules
from alerts.rules.spike import SpikeRule, robust_score
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.errors import ConfigError
from tests.alerts.cost_rows import DBX, GCP, context, daily, hourly, put

SPIKE = dt.datetime(2026, 11, 16, 13, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
NOON = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)  # the synthetic tests' evaluated hour


def rule(**kw: Any) -> SpikeRule:
    return SpikeRule.model_validate({"name": "s", "type": "spike", **kw})


def test_robust_score() -> None:
    assert robust_score(30.0, [10.0, 12.0, 8.0, 11.0, 9.0]) == pytest.approx((30 - 10) / (1.4826 * 1.0))
    # MAD 0 (most hours identical): the mean absolute deviation stands in for it.
    assert robust_score(20.0, [10.0, 10.0, 10.0, 14.0]) == pytest.approx((20 - 10) / (1.2533 * 1.0))
    assert robust_score(20.0, [10.0] * 5) == math.inf and robust_score(10.0, [10.0] * 5) == 0.0


def test_demo_spike_fires_for_its_first_hour(demo_ctx: Any, demo_lake: DuckDbLake) -> None:
    ctx = demo_ctx(SPIKE + H + dt.timedelta(minutes=5))
    [f] = rule().evaluate(ctx)
    spend = demo_lake.query(
        "SELECT SUM(billed_cost) AS c FROM cost_hourly WHERE hour = @h", {"h": SPIKE}
    ).column("c")[0].as_py()  # fmt: skip
    assert f.evidence["hour"] == SPIKE.isoformat()
    assert f.evidence["spend_usd"] == round(spend, 2)
    assert len(f.evidence["baseline_usd"]) == 4  # the demo starts on the 12th: four earlier days at 13:00
    assert f.value is not None and f.value >= 2.0
    assert "2026-11-16 13:00–14:00 UTC" in f.annotations["summary"]
    [gke] = rule(group_by=["platform"]).evaluate(ctx)
    assert dict(gke.labels) == {"platform": "gke"}


def test_demo_spike_does_not_fire_on_ordinary_hours(demo_settings: Settings, demo_lake: DuckDbLake) -> None:
    from alerts.context import EvalContext

    # Databricks is left out per platform: the demo migrates to it, so its first nights of new jobs are new
    # highs for their hour (from $0) and do page at platform level, as new spend should.
    fleet, platforms = rule(), rule(group_by=["platform"], scope={"platform": ["gke", "gce"]})
    fired: dict[str, set[dt.datetime]] = {"fleet": set(), "gke/gce": set()}
    hour = dt.datetime(2026, 11, 15, tzinfo=dt.UTC)  # from the first hour with 3 earlier days of data
    while hour < dt.datetime(2026, 11, 22, tzinfo=dt.UTC):
        ctx = EvalContext(wh=demo_lake, settings=demo_settings, now=hour + H + dt.timedelta(minutes=5))
        for name, r in (("fleet", fleet), ("gke/gce", platforms)):
            for f in r.evaluate(ctx):
                assert f.evidence["hour"] == hour.isoformat()
                fired[name].add(hour)
        hour += H
    spike_hours = {SPIKE + i * H for i in range(6)}
    assert fired["fleet"] == spike_hours
    assert fired["gke/gce"] == spike_hours


def _source_reach(until: dt.datetime, source: str = GCP) -> dict[str, Any]:
    return daily(until.date(), 0.0, until, source=source)


def test_fires_on_flat_baseline_and_uses_the_lagging_source_s_last_whole_hour(
    settings: Settings, lake: DuckDbLake
) -> None:
    # GCP data reaches 13:00 (so 12:00 is whole), Databricks 12:59: the judged hour is 11:00, not 12:00.
    rows = [hourly(NOON - H - k * dt.timedelta(days=1), 100.0) for k in range(1, 8)]
    rows += [hourly(NOON - H, 250.0), hourly(NOON, 5000.0), hourly(NOON - H, 1.0, source=DBX)]
    put(lake, "cost_hourly", rows)
    put(lake, "cost_daily", [_source_reach(NOON + H), _source_reach(NOON + dt.timedelta(minutes=59), DBX)])
    ctx = context(settings, lake, NOON + 3 * H)
    [f] = rule().evaluate(ctx)
    assert f.evidence["hour"] == (NOON - H).isoformat()
    assert f.evidence["spend_usd"] == 251.0 and f.evidence["baseline_median_usd"] == 100.0
    assert f.evidence["score"] is None and f.evidence["score_infinite"] is True  # MAD and mean deviation 0
    assert f.value == pytest.approx(2.51)
    assert rule(ratio=2.6).evaluate(ctx) == []


def _series(settings: Settings, lake: DuckDbLake, baseline: list[float], x: float) -> Any:
    """Spend `x` at 12:00 after `baseline` at 12:00 on the days before (most recent last)."""
    n = len(baseline)
    rows = [hourly(NOON - (n - i) * dt.timedelta(days=1), v) for i, v in enumerate(baseline)]
    put(lake, "cost_hourly", [*rows, hourly(NOON, x)])
    put(lake, "cost_daily", [_source_reach(NOON + H)])
    return context(settings, lake, NOON + H + dt.timedelta(minutes=30))


def test_noisy_baseline_does_not_page(settings: Settings, lake: DuckDbLake) -> None:
    # 320 is 2.7× the median (120) but the baseline swings: robust score (320−120)/(1.4826·40) = 3.37 < 3.5.
    ctx = _series(settings, lake, [100, 300, 80, 250, 120, 90, 280], 320)
    assert rule(max_ratio=0).evaluate(ctx) == []
    [f] = rule(max_ratio=0, min_score=3.3).evaluate(ctx)
    assert f.evidence["score"] == pytest.approx(200 / (1.4826 * 40), abs=1e-3)


def test_weekly_job_seen_last_week_does_not_page_again(settings: Settings, lake: DuckDbLake) -> None:
    ctx = _series(settings, lake, [400, 10, 10, 10, 10, 10, 10], 420)
    assert rule().evaluate(ctx) == []  # 42× the median, but not 1.5× last week's 400
    [f] = rule(max_ratio=0).evaluate(ctx)
    assert f.evidence["baseline_max_usd"] == 400.0


def test_small_spend_and_short_history_do_not_page(settings: Settings, lake: DuckDbLake) -> None:
    ctx = _series(settings, lake, [5, 5, 5, 5], 40)
    assert rule().evaluate(ctx) == []  # 8× but only $40
    assert len(rule(min_usd=30).evaluate(ctx)) == 1


def test_too_few_baseline_days_give_no_verdict(settings: Settings, lake: DuckDbLake) -> None:
    ctx = _series(settings, lake, [100, 100], 900)
    assert rule().evaluate(ctx) == []
    assert len(rule(min_baseline_days=2).evaluate(ctx)) == 1


def test_group_by_team_and_scope(settings: Settings, lake: DuckDbLake) -> None:
    days = [NOON - k * dt.timedelta(days=1) for k in range(1, 8)]
    rows = [hourly(d, 100.0, team="a") for d in days] + [hourly(d, 100.0, team=None) for d in days]
    rows += [hourly(NOON, 100.0, team="a"), hourly(NOON, 300.0, team=None), hourly(NOON, 900.0, platform="gce")]
    put(lake, "cost_hourly", rows)
    put(lake, "cost_daily", [_source_reach(NOON + H)])
    ctx = context(settings, lake, NOON + H)
    [f] = rule(group_by=["team"], scope={"platform": "gke"}).evaluate(ctx)
    assert dict(f.labels) == {"platform": "gke", "team": "(untagged)"}


def test_invalid_spike_rules_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown group_by dimension"):
        parse_rules("rules: [{name: x, type: spike, group_by: [category]}]")
    with pytest.raises(ConfigError, match="min_baseline_days"):
        parse_rules("rules: [{name: x, type: spike, baseline_days: 2, min_baseline_days: 3}]")
