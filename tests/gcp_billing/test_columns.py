"""File-level checks: required columns, extra and differently-cased columns, empty files, paths."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from collectors.base import RunContext
from collectors.gcp_billing.collector import GcpBillingCollector
from spendscope.errors import InputError, MissingColumnsError
from spendscope.ingest import run
from tests.gcp_billing.conftest import EXPORT, FIX, assert_close, billed_by_day, expected_by_day, make_parquet


def _tables_written(ctx: RunContext) -> int:
    return ctx.warehouse.query("SELECT COUNT(*) AS n FROM gcp_billing_export").column("n")[0].as_py()


@pytest.mark.parametrize(
    ("name", "column"), [("missing_cost.csv", "cost"), ("missing_start.ndjson", "usage_start_time")]
)
def test_a_missing_required_column_raises_naming_it_and_writes_nothing(
    collector: GcpBillingCollector, ctx: RunContext, name: str, column: str
) -> None:
    # The good file comes first: nothing of it may be written either.
    with pytest.raises(MissingColumnsError) as err:
        run(collector, ctx, [str(EXPORT), str(FIX / name)])
    assert err.value.missing == [column]
    assert column in str(err.value) and name in str(err.value)
    assert _tables_written(ctx) == 0
    assert ctx.warehouse.query("SELECT COUNT(*) AS n FROM quarantine").column("n")[0].as_py() == 0


def test_a_parquet_file_without_billing_account_id_is_rejected_before_anything_is_written(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    path = tmp_path / "noacct.parquet"
    pq.write_table(make_parquet.build(export_rows).drop_columns(["billing_account_id"]), path)
    with pytest.raises(MissingColumnsError, match="billing_account_id"):
        run(collector, ctx, [str(EXPORT), str(path)])
    assert _tables_written(ctx) == 0


def test_extra_and_differently_cased_columns_are_ignored_or_matched(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    table = make_parquet.build(export_rows)
    table = table.rename_columns([n.upper() if n == "cost" else n for n in table.column_names])
    table = table.append_column("x_internal_id", pa.array(range(table.num_rows)))
    table = table.append_column("gcp_metadata", pa.array([{"a": 1}] * table.num_rows))
    pq.write_table(table, tmp_path / "extra.parquet")
    ndjson = tmp_path / "extra.ndjson"
    ndjson.write_text("".join(json.dumps({"Usage_Start_Time": r.pop("usage_start_time"), **r, "x": [1]}) + "\n"
                              for r in [dict(r) for r in export_rows]))  # fmt: skip
    for path in (tmp_path / "extra.parquet", ndjson, FIX / "export_console.csv"):  # the CSV has x_custom_note
        summary = run(collector, ctx, [str(path)])
        assert not summary.quarantined
        assert_close(billed_by_day(ctx), expected_by_day(export_rows))


@pytest.mark.parametrize("name", ["empty.ndjson", "empty.csv", "header_only.csv"])
def test_an_empty_file_ingests_zero_rows(collector: GcpBillingCollector, ctx: RunContext, name: str) -> None:
    summary = run(collector, ctx, [str(FIX / name)])
    assert summary.total_rows == 0 and not summary.quarantined
    assert _tables_written(ctx) == 0


def test_an_empty_parquet_file_and_an_empty_json_array_ingest_zero_rows(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path
) -> None:
    pq.write_table(make_parquet.schema().empty_table(), tmp_path / "empty.parquet")
    (tmp_path / "empty.json").write_text("[\n]\n")
    summary = run(collector, ctx, [str(tmp_path / "empty.parquet"), str(tmp_path / "empty.json")])
    assert summary.total_rows == 0 and not summary.quarantined


def test_a_glob_expands_to_its_files_and_unknown_paths_are_input_errors(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    make_parquet.write(tmp_path / "a-0.parquet", rows=export_rows[:4])
    make_parquet.write(tmp_path / "a-1.parquet", rows=export_rows[4:])
    run(collector, ctx, [str(tmp_path / "a-*.parquet")])
    assert_close(billed_by_day(ctx), expected_by_day(export_rows))
    with pytest.raises(InputError, match="no such file"):
        run(collector, ctx, [str(tmp_path / "nope.csv")])
    with pytest.raises(InputError, match="no billing export files match"):
        run(collector, ctx, [str(tmp_path / "zz-*.json")])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="unknown file type"):
        run(collector, ctx, [str(tmp_path / "notes.txt")])


def test_an_unreadable_parquet_file_is_an_input_error(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path
) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        run(collector, ctx, [str(tmp_path / "broken.parquet")])


def test_an_unknown_replace_by_option_is_an_input_error(collector: GcpBillingCollector, ctx: RunContext) -> None:
    ctx.options["replace_by"] = "export-day"
    with pytest.raises(InputError, match="replace_by"):
        run(collector, ctx, [str(EXPORT)])


def test_numbers_as_strings_mixed_with_numbers_in_one_column_still_parse(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    # BigQuery writes NUMERIC as strings; a hand-merged file may mix both forms in one column.
    mixed = [{**r, "cost": str(r["cost"])} if i % 2 else r for i, r in enumerate(export_rows)]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in mixed))
    run(collector, ctx, [str(path)])
    assert_close(billed_by_day(ctx), expected_by_day(export_rows))
    assert dt.date(2026, 11, 18) in billed_by_day(ctx)
