"""Replace semantics: re-ingesting is idempotent, a re-exported day replaces the old one, shards combine."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from collectors.base import Batch, RunContext
from collectors.gcp_billing.collector import GcpBillingCollector
from spendscope.errors import MissingColumnsError
from spendscope.ingest import run
from tests.gcp_billing.conftest import EXPORT, assert_close, billed_by_day, expected_by_day, make_parquet, utc

ACCT = "01A2B3-C4D5E6-F7A8B9"
NOV18, NOV19 = dt.date(2026, 11, 18), dt.date(2026, 11, 19)


def _write_ndjson(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _count(ctx: RunContext) -> int:
    return ctx.warehouse.query("SELECT COUNT(*) AS n FROM gcp_billing_export").column("n")[0].as_py()


def test_ingesting_the_same_file_twice_gives_the_same_totals(
    collector: GcpBillingCollector, ctx: RunContext, export_rows: list[dict[str, Any]]
) -> None:
    run(collector, ctx, [str(EXPORT)])
    first = billed_by_day(ctx)
    run(collector, ctx, [str(EXPORT)])
    assert billed_by_day(ctx) == first
    assert_close(first, expected_by_day(export_rows))
    assert _count(ctx) == len(export_rows)


def test_a_reexported_day_with_changed_rows_replaces_the_old_day(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    run(collector, ctx, [str(EXPORT)])
    # Google re-exports Nov 19 for account A: one row gets a late credit, one row vanished.
    day19 = [r for r in export_rows if utc(r["usage_start_time"]).date() == NOV19 and r["billing_account_id"] == ACCT]
    changed = [dict(r) for r in day19[:-1]]
    changed[0]["credits"] = [*changed[0]["credits"], {"name": "Goodwill", "amount": -10.0, "type": "PROMOTION"}]
    run(collector, ctx, [str(_write_ndjson(tmp_path / "reexport.ndjson", changed))])

    others = [r for r in export_rows if r not in day19]
    assert_close(billed_by_day(ctx), expected_by_day(others + changed))
    assert _count(ctx) == len(others) + len(changed)
    # Nov 18 and the other account's Nov 19 are untouched.
    assert billed_by_day(ctx)[NOV18] == pytest.approx(expected_by_day(export_rows)[NOV18])


def test_one_account_day_split_across_two_files_in_one_command_keeps_every_row(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    # Shards of one export, as `bq extract … export-*.json` writes them: both hold Nov 18 of account A.
    a = _write_ndjson(tmp_path / "export-000000000000.json", export_rows[::2])
    b = _write_ndjson(tmp_path / "export-000000000001.json", export_rows[1::2])
    summary = run(collector, ctx, [str(a), str(b)])
    assert summary.rows == {"gcp_billing_export": len(export_rows)}
    assert _count(ctx) == len(export_rows)
    assert_close(billed_by_day(ctx), expected_by_day(export_rows))


def test_files_of_one_command_form_one_batch_whose_keys_cover_every_account_day(
    collector: GcpBillingCollector, ctx: RunContext, export_parquet: Path
) -> None:
    items = list(collector.collect_files(ctx, [str(EXPORT), str(export_parquet)]))
    batches = [i for i in items if isinstance(i, Batch)]
    assert len(batches) == 1
    assert sorted((k["billing_account_id"], k["_day"]) for k in batches[0].keys) == [
        ("019C3E-7F2A11-B0D4E5", NOV19), (ACCT, NOV18), (ACCT, NOV19),
    ]  # fmt: skip
    assert {s["partition"] for s in batches[0].state} == {
        f"{NOV19}|019C3E-7F2A11-B0D4E5", f"{NOV18}|{ACCT}", f"{NOV19}|{ACCT}",
    }  # fmt: skip


def test_a_directory_of_shards_is_ingested_as_one_snapshot(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    shards = tmp_path / "extract"
    shards.mkdir()
    make_parquet.write(shards / "export-000000000000.parquet", rows=export_rows[:7])
    make_parquet.write(shards / "export-000000000001.parquet", rows=export_rows[7:])
    (shards / "_SUCCESS").write_text("")
    run(collector, ctx, [str(shards)])
    assert _count(ctx) == len(export_rows)
    assert_close(billed_by_day(ctx), expected_by_day(export_rows))


def test_partition_time_in_the_file_sets_the_day_and_usage_day_mode_ignores_it(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    # Late rows: usage on Nov 18 and 19, all exported into the Nov 20 partition.
    rows = [{**r, "_PARTITIONTIME": "2026-11-20 00:00:00 UTC"} for r in export_rows]
    path = _write_ndjson(tmp_path / "partition.ndjson", rows)
    run(collector, ctx, [str(path)])
    assert_close(billed_by_day(ctx), {dt.date(2026, 11, 20): sum(expected_by_day(export_rows).values())})

    ctx.options["replace_by"] = "usage-day"
    lake2 = type(ctx.warehouse)(str(tmp_path / "lake2"))
    ctx2 = RunContext(settings=ctx.settings, warehouse=lake2, clock=ctx.clock, options={"replace_by": "usage-day"})
    run(collector, ctx2, [str(path)])
    assert_close(billed_by_day(ctx2), expected_by_day(export_rows))


def test_partition_date_alias_column_in_parquet_sets_the_day(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = make_parquet.build(export_rows)
    table = table.append_column("partition_date", pa.array([NOV19] * table.num_rows, pa.date32()))
    pq.write_table(table, tmp_path / "p.parquet")
    ctx.options["replace_by"] = "partition"
    run(collector, ctx, [str(tmp_path / "p.parquet")])
    assert_close(billed_by_day(ctx), {NOV19: sum(expected_by_day(export_rows).values())})


def test_replace_by_partition_without_a_partition_column_is_an_error_naming_it(
    collector: GcpBillingCollector, ctx: RunContext, export_parquet: Path
) -> None:
    ctx.options["replace_by"] = "partition"
    for path in (EXPORT, export_parquet):
        with pytest.raises(MissingColumnsError, match="_PARTITIONTIME"):
            run(collector, ctx, [str(path)])
    assert _count(ctx) == 0


def test_a_partitiontime_column_in_csv_sets_the_day(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path
) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "billing_account_id,usage_start_time,usage_end_time,cost,_PARTITIONTIME\n"
        f"{ACCT},2026-11-18 03:00:00 UTC,2026-11-18 04:00:00 UTC,2.5,2026-11-19 00:00:00 UTC\n"
        f"{ACCT},2026-11-18 04:00:00 UTC,2026-11-18 05:00:00 UTC,1.5,\n"  # no partition: its usage day
    )
    run(collector, ctx, [str(path)])
    assert_close(billed_by_day(ctx), {NOV19: 2.5, NOV18: 1.5})
