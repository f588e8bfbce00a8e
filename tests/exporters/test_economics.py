"""The economics part: the real spendscope.economics on demo data, and unit economics cached across snapshots."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pytest

from exporters.prometheus import unit_costs
from exporters.prometheus.snapshot import Snapshot, SnapshotBuilder
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import economics
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.demo import run_demo
from tests.exporters.conftest import NOW, fake_unit_economics

DEMO_END = dt.date(2026, 11, 19)
# 10:00 in Los Angeles on the demo's last day: reporting "yesterday" is 2026-11-18, inside the 3 telemetry days,
# and the 30 minutes before it are in the demo's idle stretch of the gpu-research-h100 cluster.
DEMO_NOW = dt.datetime(2026, 11, 19, 18, tzinfo=dt.UTC)


def values(snap: Snapshot, name: str) -> dict[tuple[str, ...], float]:
    fam = snap.family(name)
    return {} if fam is None else dict(fam.samples)


def test_real_unit_economics_and_idle_now_on_demo_data(settings: Settings, lake: DuckDbLake) -> None:
    """No stand-in: demo billing, telemetry and inventory ingested through the real collectors, and the exported
    values compared with direct calls of economics.unit_economics / idle_now for the same day and window."""
    run_demo(settings, days=10, telemetry_days=3, warehouse=lake, end=DEMO_END, clock=fixed_clock(DEMO_NOW))
    builder = SnapshotBuilder(settings, lake, dict, fixed_clock(DEMO_NOW), collector_names=lambda: [])
    snap = builder.build()
    assert builder.errors["economics"] == 0

    tz = settings.reporting.timezone
    day = dt.date(2026, 11, 18)
    unit = economics.unit_economics(lake, since=day, until=day, tz=tz).to_pylist()
    per_gpu = {(r["platform"],): r["cost_per_gpu_hour_usd"] for r in unit if r["cost_per_gpu_hour_usd"] is not None}
    per_busy = {(r["platform"],): r["cost_per_busy_gpu_hour_usd"] for r in unit
                if r["cost_per_busy_gpu_hour_usd"] is not None}  # fmt: skip
    assert per_gpu and per_busy  # the demo day has billed GPU-hours and busy minutes
    # DuckDB sums in parallel, so two runs of one query may differ in the last bit: equal to 1e-12.
    assert values(snap, "spendscope_cost_per_gpu_hour_usd") == pytest.approx(per_gpu, rel=1e-12)
    assert values(snap, "spendscope_cost_per_busy_gpu_hour_usd") == pytest.approx(per_busy, rel=1e-12)

    idle: dict[tuple[str, str], float] = defaultdict(float)
    for r in economics.idle_now(lake, DEMO_NOW, unit_costs.IDLE_WINDOW_MINUTES).to_pylist():
        if r["idle_cost_usd_per_hour"] is not None:
            idle[(r["cluster"], r["platform"])] += r["idle_cost_usd_per_hour"]  # one series per cluster
    exported = values(snap, "spendscope_gpu_idle_cost_usd_per_hour")
    assert exported == pytest.approx(dict(idle), rel=1e-12)
    assert any(v > 0 for v in exported.values())  # an idle cluster is in the window, not only zeros


def counting(builder: SnapshotBuilder) -> list[dt.date]:
    """Swap in a unit-economics function that records each call's day."""
    calls: list[dt.date] = []

    def unit(wh: Any, since: dt.date, until: dt.date, tz: str) -> pa.Table:
        calls.append(since)
        return fake_unit_economics(wh, since, until, tz)

    builder.unit_economics = unit
    return calls


def test_unit_economics_is_computed_once_while_its_inputs_are_unchanged(builder: SnapshotBuilder) -> None:
    calls = counting(builder)
    first, second = builder.build(), builder.build()
    assert calls == [dt.date(2026, 11, 19)]
    assert values(second, "spendscope_cost_per_gpu_hour_usd") == values(first, "spendscope_cost_per_gpu_hour_usd")
    assert values(second, "spendscope_cost_per_gpu_hour_usd") == {("gce",): 2.0}
    assert values(second, "spendscope_cost_per_busy_gpu_hour_usd") == {("gce",): 4.0}


@pytest.mark.parametrize("table", unit_costs.UNIT_ECONOMICS_INPUTS)
def test_a_write_to_an_input_table_recomputes_unit_economics(
    builder: SnapshotBuilder, seeded: DuckDbLake, table: str
) -> None:
    calls = counting(builder)
    builder.build()
    seeded.append(table, seeded.query(f"SELECT * FROM {table} LIMIT 1"))  # any commit is a new version
    builder.build()
    builder.build()
    assert len(calls) == 2


def test_a_new_reporting_day_recomputes_unit_economics(builder: SnapshotBuilder) -> None:
    calls = counting(builder)
    builder.build()
    builder.clock = fixed_clock(NOW + dt.timedelta(days=1))
    builder.build()
    assert calls == [dt.date(2026, 11, 19), dt.date(2026, 11, 20)]


def test_idle_now_runs_on_every_snapshot(builder: SnapshotBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dt.datetime] = []
    real = economics.idle_now

    def idle_now(wh: Any, now: dt.datetime, window_minutes: int = 30) -> pa.Table:
        calls.append(now)
        return real(wh, now, window_minutes)

    monkeypatch.setattr(economics, "idle_now", idle_now)
    counting(builder)
    builder.build()
    builder.build()
    assert calls == [NOW, NOW]
