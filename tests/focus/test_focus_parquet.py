"""FOCUS Parquet exports: the type variants providers write, streamed in batches.

The Parquet files are SYNTHETIC: the CSV fixtures' rows written with each provider's Parquet types
(tests/focus/helpers.py: parquet_flavour documents which).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from collectors.base import RunContext
from collectors.focus import files
from collectors.focus.collector import FocusCollector
from spendscope.ingest import run
from tests.focus.helpers import FOCUS, as_decimal, costs_daily, expected_daily, parquet_flavour


@pytest.mark.parametrize(
    ("fixture", "flavour"),
    [("aws_focus_1_0.csv", "aws"), ("gcp_focus_bigquery.csv", "gcp"), ("azure_focus_1_0r2.csv", "text"),
     ("focus_1_3.csv", "text")],
)  # fmt: skip
def test_parquet_flavour_daily_totals_equal_sum_of_billed_cost(
    ctx: RunContext, tmp_path: Path, fixture: str, flavour: str
) -> None:
    path = parquet_flavour(FOCUS / fixture, tmp_path / f"{flavour}.snappy.parquet", flavour)
    summary = run(FocusCollector(), ctx, [str(path)])
    assert not summary.quarantined
    assert costs_daily(ctx.warehouse) == as_decimal(expected_daily(FOCUS / fixture))


@pytest.mark.parametrize("flavour", ["aws", "gcp"])
def test_parquet_map_and_key_value_tags_become_json_objects(ctx: RunContext, tmp_path: Path, flavour: str) -> None:
    path = parquet_flavour(FOCUS / "aws_focus_1_0.csv", tmp_path / "x.parquet", flavour)
    run(FocusCollector(), ctx, [str(path)])
    row = ctx.warehouse.query("SELECT Tags, x_Team, x_Env FROM focus_costs WHERE ResourceName = 'trainer-0'")
    assert row.to_pylist() == [
        {"Tags": '{"team":"ml","env":"prod","workload":"llm-train"}', "x_Team": "ml", "x_Env": "prod"}
    ]


def test_naive_parquet_timestamps_are_utc(ctx: RunContext, tmp_path: Path) -> None:
    path = parquet_flavour(FOCUS / "aws_focus_1_0.csv", tmp_path / "x.parquet", "aws")
    assert pq.read_schema(path).field("ChargePeriodStart").type == pa.timestamp("ms")
    run(FocusCollector(), ctx, [str(path)])
    got = ctx.warehouse.query("SELECT ChargePeriodStart FROM focus_import WHERE ResourceName = 'trainer-0'")
    assert got.to_pylist() == [{"ChargePeriodStart": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)}]


def test_parquet_is_streamed_in_batches_and_bad_rows_keep_their_row_number(
    ctx: RunContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "BATCH_ROWS", 4)
    n = 10
    starts = [dt.datetime(2025, 3, 1 + i % 3, tzinfo=dt.UTC) for i in range(n)]
    costs = [f"{i}.5" for i in range(n)]
    costs[6] = "oops"  # row 7, in the second batch
    table = pa.table({
        "ChargePeriodStart": pa.array(starts, pa.timestamp("us", tz="UTC")),
        "ChargePeriodEnd": pa.array([s + dt.timedelta(hours=1) for s in starts], pa.timestamp("us", tz="UTC")),
        "BilledCost": costs,
        "ProviderName": ["AWS"] * n,
    })  # fmt: skip
    path = tmp_path / "batched.parquet"
    pq.write_table(table, path, row_group_size=3)
    seen: list[int] = []
    real = files.iter_columns

    def spy(*args, **kwargs):  # count the batches the collector actually gets
        for cols in real(*args, **kwargs):
            seen.append(len(next(iter(cols.values()))))
            yield cols

    monkeypatch.setattr("collectors.focus.collector.iter_columns", spy)
    summary = run(FocusCollector(), ctx, [str(path)])
    assert max(seen) <= 4
    assert [(q.line, q.reason) for q in summary.quarantined] == [(7, "BilledCost: cannot parse 'oops'")]
    total = sum(Decimal(c) for i, c in enumerate(costs) if i != 6)
    assert sum(costs_daily(ctx.warehouse).values()) == total
