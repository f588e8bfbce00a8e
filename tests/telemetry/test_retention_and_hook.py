"""Raw-sample retention (prune_raw) and the ingest runner's gpu_minutes refresh after a gpu_samples append."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pytest

from collectors.base import Batch, Collector, Item, RunContext
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.gpu_rollup import prune_raw
from exporters.warehouse.schema import TABLES
from spendscope import ingest
from spendscope.config import Settings
from tests.telemetry.helpers import H10, at, minute_rows, minutes, sample, samples_table, write_minutes

TODAY = dt.date(2026, 11, 20)


def _days(wh: DuckDbLake, table: str) -> list[dt.date]:
    return wh.query(f"SELECT DISTINCT _day FROM {table} ORDER BY 1").column("_day").to_pylist()


def test_prune_raw_deletes_old_sample_partitions_and_keeps_gpu_minutes(lake: DuckDbLake) -> None:
    days = [TODAY - dt.timedelta(days=i) for i in range(6)]  # 11-15 .. 11-20
    stamps = [dt.datetime.combine(d, dt.time(12), dt.UTC) for d in days]
    lake.append("gpu_samples", samples_table([sample(t, gpu_util_ratio=0.5) for t in stamps]))
    net = [{"ts": t, "host": "node-a", "interface": "eth0", "rx_bytes_total": 1.0, "_day": t.date()} for t in stamps]
    lake.append("net_samples", pa.Table.from_pylist(net, schema=TABLES["net_samples"].schema))
    write_minutes(lake, minute_rows("node-a", 1, stamps[-1], 1, True))  # the oldest day's minute

    assert prune_raw(lake, TODAY, keep_days=3) == {"gpu_samples": 3, "net_samples": 3}

    kept = [TODAY - dt.timedelta(days=i) for i in (2, 1, 0)]
    assert _days(lake, "gpu_samples") == kept
    assert _days(lake, "net_samples") == kept
    assert _days(lake, "gpu_minutes") == [days[-1]]  # the rollup keeps its history
    assert prune_raw(lake, TODAY, keep_days=3) == {"gpu_samples": 0, "net_samples": 0}  # nothing left to prune


def test_prune_raw_refuses_to_keep_nothing(lake: DuckDbLake) -> None:
    with pytest.raises(ValueError):
        prune_raw(lake, TODAY, keep_days=0)


class _Scrape(Collector):
    """A scrape-like collector: gpu_samples appended (keys=[]), once as a table and once as a batch stream."""

    name = "test-scrape"

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    @classmethod
    def from_settings(cls, settings: Settings) -> Collector:
        raise NotImplementedError

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        yield Batch("gpu_samples", self.table.slice(0, 1))
        yield Batch("gpu_samples", iter(self.table.slice(1).to_batches(max_chunksize=1)))


def test_ingest_refreshes_the_gpu_minutes_of_the_hours_an_append_touched(ctx: RunContext) -> None:
    h11 = H10 + dt.timedelta(hours=1)
    table = samples_table([sample(at(3), gpu_util_ratio=0.5), sample(at(3, 30), gpu_util_ratio=0.0),
                           sample(h11, gpu_util_ratio=0.03125)])  # fmt: skip
    write_minutes(ctx.warehouse, minute_rows("node-old", 1, H10 - dt.timedelta(hours=3), 1, True))

    summary = ingest.run(_Scrape(table), ctx)

    assert summary.rows == {"gpu_samples": 3}
    got = {r["minute"]: r for r in minutes(ctx.warehouse, "host = 'node-a'")}
    assert set(got) == {at(3), h11}
    assert (got[at(3)]["samples"], got[at(3)]["gpu_util_ratio"], got[at(3)]["busy"]) == (2, 0.25, True)
    assert got[h11]["busy"] is False
    assert len(minutes(ctx.warehouse, "host = 'node-old'")) == 1  # an hour the batch did not touch is left alone
    ingest.run(_Scrape(table), ctx)  # the same samples again (appended twice): minutes replaced, not added
    assert len(minutes(ctx.warehouse, "host = 'node-a'")) == 2
