"""The same rollup and unit-economics SQL on the BigQuery engine: a real `bqemulator` on loopback, driven by
the real google-cloud-bigquery client, gives the figures the embedded engine gives."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporters.warehouse.bigquery import BigQueryWarehouse
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.gpu_rollup import prune_raw, refresh_hours
from spendscope.economics import idle_now, unit_economics
from tests.bqemu import running_emulator
from tests.telemetry.helpers import H10, append_samples, at, minute_rows, minutes, sample, write_minutes
from tests.telemetry.seed_economics import TZ, D, seed_all
from tests.warehouse.conftest import bq_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigQueryWarehouse]:
    with running_emulator() as emu:
        settings = bq_settings(tmp_path_factory.mktemp("bq"), emu, f"telemetry_{uuid.uuid4().hex[:10]}")
        wh = BigQueryWarehouse.from_settings(settings)
        wh.ensure()
        seed_all(wh)
        yield wh
        wh.close()


@pytest.fixture
def duck(lake: DuckDbLake) -> DuckDbLake:
    seed_all(lake)
    return lake


def test_unit_economics_and_idle_now_match_the_embedded_engine(bq: BigQueryWarehouse, duck: DuckDbLake) -> None:
    until = D + dt.timedelta(days=2)
    got, want = unit_economics(bq, D, until, TZ).to_pylist(), unit_economics(duck, D, until, TZ).to_pylist()
    assert len(got) == len(want) == 5
    for g, w in zip(got, want, strict=True):
        assert g == {k: v if not isinstance(v, float) else pytest.approx(v) for k, v in w.items()}
    now = dt.datetime.combine(D, dt.time(19), dt.UTC)
    assert idle_now(bq, now).to_pylist() == idle_now(duck, now).to_pylist()


def test_gpu_minutes_refresh_and_prune_on_bigquery(bq: BigQueryWarehouse, tmp_path: Path) -> None:
    rows = [sample(at(0, 0), gpu_util_ratio=0.5, gr_engine_active_ratio=0.0625),
            sample(at(0, 30), gpu_util_ratio=0.5, gr_engine_active_ratio=0.0),
            sample(at(0, 10), host="node-a.internal", source="nvml", gpu_util_ratio=1.0)]  # fmt: skip
    append_samples(bq, rows)
    assert refresh_hours(bq, [H10]) == 1
    assert refresh_hours(bq, [H10]) == 1  # idempotent
    [row] = minutes(bq, f"hour = TIMESTAMP '{H10.isoformat()}'")
    assert (row["source"], row["samples"], row["gr_engine_active_ratio"], row["busy"]) == ("dcgm", 2, 0.03125, False)
    assert prune_raw(bq, H10.date() + dt.timedelta(days=5), keep_days=3)["gpu_samples"] == 1
    assert bq.query("SELECT COUNT(*) AS n FROM gpu_samples").column("n")[0].as_py() == 0
    assert len(minutes(bq, f"hour = TIMESTAMP '{H10.isoformat()}'")) == 1


def test_mig_weight_by_gpu_model_on_bigquery(bq: BigQueryWarehouse, duck: DuckDbLake) -> None:
    day = D + dt.timedelta(days=6)  # a day of its own, away from the seeded ones
    start = dt.datetime.combine(day, dt.time(18), dt.UTC)
    rows = [{**r, "gpu_model": "NVIDIA A30"} for r in minute_rows("a30-1", 1, start, 60, True, mig=("1", "4g.24gb"))]
    rows += minute_rows("a100-1", 1, start, 60, False, mig=("1", "3g.40gb"))  # no model: 7 slices
    for wh in (bq, duck):
        write_minutes(wh, rows)
    got, want = unit_economics(bq, day, day, TZ).to_pylist(), unit_economics(duck, day, day, TZ).to_pylist()
    assert [r["telemetry_gpu_hours"] for r in got] == pytest.approx([r["telemetry_gpu_hours"] for r in want])
    assert got[0]["telemetry_gpu_hours"] == pytest.approx(1.0 + 3 / 7)
    now = start + dt.timedelta(minutes=60)
    assert idle_now(bq, now).to_pylist() == idle_now(duck, now).to_pylist()
