"""The live-estimate metrics: the run-rate per platform, unpriced resources and how far the estimate reaches,
equal to what the Live estimate page shows (spendscope.live.now) for the seeded estimate (conftest.py)."""

from __future__ import annotations

import datetime as dt

from exporters.prometheus.exposition import render
from exporters.prometheus.snapshot import SnapshotBuilder
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.live.now import live_now
from tests.exporters.conftest import NOW, fake_health


def test_run_rate_and_unpriced_per_platform_are_the_pages_figures(builder: SnapshotBuilder) -> None:
    snap = builder.build()

    assert snap.value("spendscope_live_run_rate_usd_per_hour", platform="gce") == 88.0
    assert snap.value("spendscope_live_run_rate_usd_per_hour", platform="databricks") == 5.0  # 4 $/h × 1.25
    assert snap.value("spendscope_live_unpriced_resources", platform="databricks") == 1.0
    assert snap.value("spendscope_live_unpriced_resources", platform="gce") == 0.0
    assert snap.value("spendscope_live_estimate_until_timestamp_seconds") == NOW.timestamp()
    page = live_now(builder.warehouse, builder.settings, NOW)
    family = snap.family("spendscope_live_run_rate_usd_per_hour")
    assert family is not None and sum(v for _, v in family.samples) == page.usd_per_hour


def test_the_exposition_carries_the_run_rate(builder: SnapshotBuilder) -> None:
    text = render(builder.build()).decode()

    assert "# TYPE spendscope_live_run_rate_usd_per_hour gauge\n" in text
    assert 'spendscope_live_run_rate_usd_per_hour{platform="databricks"} 5\n' in text


def test_nothing_is_exported_before_the_live_job_wrote_an_estimate(settings: Settings, lake: DuckDbLake) -> None:
    snap = SnapshotBuilder(settings, lake, fake_health, fixed_clock(NOW), collector_names=list).build()

    assert snap.family("spendscope_live_run_rate_usd_per_hour") is None
    assert snap.family("spendscope_live_estimate_until_timestamp_seconds") is None
    assert snap.value("spendscope_exporter_snapshot_errors_total", part="live") == 0.0


def test_an_estimate_older_than_the_lookback_is_not_exported_as_now(builder: SnapshotBuilder) -> None:
    later = SnapshotBuilder(
        builder.settings, builder.warehouse, fake_health, fixed_clock(NOW + dt.timedelta(days=40)),
        collector_names=list,
    ).build()  # fmt: skip

    assert later.family("spendscope_live_run_rate_usd_per_hour") is None
