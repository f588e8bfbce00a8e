"""Bad rows are quarantined with file, line and reason; the rest of the file is ingested."""

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
from spendscope.ingest import run
from tests.gcp_billing.conftest import FIX, billed_by_day, make_parquet

NOV18 = dt.date(2026, 11, 18)


def _quarantine(ctx: RunContext) -> list[dict[str, Any]]:
    t = ctx.warehouse.query("SELECT table_name, file, line, reason, raw FROM quarantine ORDER BY file, line")
    return t.to_pylist()


def test_bad_ndjson_lines_land_in_quarantine_with_line_and_reason(
    collector: GcpBillingCollector, ctx: RunContext
) -> None:
    path = str(FIX / "bad_rows.ndjson")
    summary = run(collector, ctx, [path])
    assert summary.rows == {"gcp_billing_export": 2}
    assert len(summary.quarantined) == 9
    rows = _quarantine(ctx)
    assert {r["table_name"] for r in rows} == {"gcp_billing_export"}
    assert {r["file"] for r in rows} == {path}
    got = {r["line"]: r["reason"] for r in rows}
    assert got[2].startswith("invalid JSON")
    assert got[4] == "cost: not a number: 'abc'"
    assert got[5] == "usage_start_time is missing"
    assert "before usage_start_time" in got[6]
    assert got[7] == "billing_account_id is missing"
    assert got[8] == "not a JSON object"
    assert got[10] == "usage_start_time: not a timestamp: 'yesterday'"
    assert got[11] == "credits[0].amount: not a number: 'n/a'"
    assert got[12] == "cost is not a finite number: inf"
    assert rows[0]["raw"].startswith('{"billing_account_id"')  # the line itself, to fix and re-ingest
    # The good rows: 1.0 - 0.25 on Nov 18, 3.5 on Nov 19.
    assert sorted(billed_by_day(ctx).values()) == [pytest.approx(0.75), pytest.approx(3.5)]
    assert any("quarantined: 9 row(s)" in line for line in summary.lines())


def test_bad_values_on_the_fast_ndjson_path_keep_their_line_numbers_across_blank_lines(
    collector: GcpBillingCollector, ctx: RunContext
) -> None:
    summary = run(collector, ctx, [str(FIX / "bad_values.ndjson")])
    assert summary.rows == {"gcp_billing_export": 2}
    got = {r["line"]: r["reason"] for r in _quarantine(ctx)}
    assert got == {
        3: "cost: not a number: 'abc'",
        5: "usage_end_time 2026-11-18 06:00:00+00:00 is before usage_start_time 2026-11-18 07:00:00+00:00",
        7: "billing_account_id is missing",
    }
    assert billed_by_day(ctx) == {NOV18: pytest.approx(1.5 - 0.5 + 2.5)}


def test_one_broken_line_in_a_large_ndjson_file_is_quarantined_and_the_rest_ingested(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    row = export_rows[5]  # the egress row: no credits
    lines = [json.dumps({**row, "cost": 1.0}) for _ in range(600)]
    lines[436] = lines[436][:80]  # line 437 cut short
    path = tmp_path / "big.ndjson"
    path.write_text("\n".join(lines) + "\n")
    summary = run(collector, ctx, [str(path)])
    assert summary.rows == {"gcp_billing_export": 599}
    assert [(q.line, q.reason.split(":")[0]) for q in summary.quarantined] == [(437, "invalid JSON")]
    assert billed_by_day(ctx) == {NOV18: pytest.approx(599.0)}


def test_bad_csv_cells_are_quarantined_at_the_physical_line_the_record_starts_on(
    collector: GcpBillingCollector, ctx: RunContext
) -> None:
    summary = run(collector, ctx, [str(FIX / "bad_labels.csv")])
    assert summary.rows == {"gcp_billing_export": 2}
    got = {r["line"]: r["reason"] for r in _quarantine(ctx)}
    # Line 2-3 is one record (a quoted cell spans two lines), so the bad ones start at 4.
    assert got == {
        4: "labels: cannot parse 'team:ml-research,broken': 'broken' is not key:value or key=value",
        5: "labels: cannot parse \"[{'key': 'team'\" as JSON or a Python literal",
        6: "credits: cannot parse 'not json': expected a JSON list",
        7: "credits[0].amount: not a number: 'n/a'",
    }
    assert billed_by_day(ctx) == {NOV18: pytest.approx(10.0 - 1.0 + 15.0 - 2.5)}


def test_bad_parquet_rows_are_quarantined_by_row_index(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    table = make_parquet.build(export_rows)
    accounts = table.column("billing_account_id").to_pylist()
    accounts[3] = None
    ends = table.column("usage_end_time").to_pylist()
    ends[9] = ends[9].replace(year=2025)
    table = table.set_column(0, "billing_account_id", pa.array(accounts))
    i = table.schema.get_field_index("usage_end_time")
    table = table.set_column(i, "usage_end_time", pa.array(ends, table.schema.field(i).type))
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path, row_group_size=4)
    summary = run(collector, ctx, [str(path)])
    assert summary.rows == {"gcp_billing_export": len(export_rows) - 2}
    got = {r["line"]: r["reason"] for r in _quarantine(ctx)}
    assert set(got) == {3, 9}
    assert got[3] == "billing_account_id is missing"
    assert "before usage_start_time" in got[9]
    assert json.loads(_quarantine(ctx)[0]["raw"])["sku"]["description"].startswith("Nvidia H100")


def test_quarantined_rows_are_written_even_when_no_row_of_the_file_is_valid(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path
) -> None:
    path = tmp_path / "allbad.ndjson"
    path.write_text('{"billing_account_id":"A","cost":1,"usage_start_time":"x","usage_end_time":"y"}\n')
    summary = run(collector, ctx, [str(path)])
    assert summary.rows == {}
    assert [(r["line"], r["reason"]) for r in _quarantine(ctx)] == [(1, "usage_start_time: not a timestamp: 'x'")]
