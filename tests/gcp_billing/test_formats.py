"""Every accepted file format of the billing export ingests to the same rows and the same FOCUS totals."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from collectors.base import RunContext
from collectors.gcp_billing import parse_parquet
from collectors.gcp_billing.collector import GcpBillingCollector
from collectors.gcp_billing.columns import resolve
from collectors.gcp_billing.parse_parquet import dictionary_leaves, open_parquet
from spendscope.ingest import run
from tests.gcp_billing.conftest import (
    EXPORT,
    FIX,
    assert_close,
    billed_by_day,
    expected_by_day,
    make_parquet,
    raw_rows,
)

# Columns the console CSV fixture carries (it has no price, ancestors, consumption_model or publisher_type).
CSV_COLUMNS = (
    "billing_account_id", "service", "sku", "usage_start_time", "usage_end_time", "labels", "system_labels",
    "location", "resource", "export_time", "cost", "currency", "usage", "credits", "cost_type", "_day",
)  # fmt: skip


def _ingest(collector: GcpBillingCollector, ctx: RunContext, *paths: Path) -> list[dict[str, Any]]:
    summary = run(collector, ctx, [str(p) for p in paths])
    assert not summary.quarantined, summary.lines()
    return raw_rows(ctx)


def test_ndjson_billed_cost_is_cost_plus_credits_per_day_and_in_total(
    collector: GcpBillingCollector, ctx: RunContext, export_rows: list[dict[str, Any]]
) -> None:
    summary = run(collector, ctx, [str(EXPORT)])
    want = expected_by_day(export_rows)
    assert summary.rows == {"gcp_billing_export": 12}
    assert_close(billed_by_day(ctx), want)
    total = ctx.warehouse.query("SELECT SUM(BilledCost) AS t FROM focus_costs").column("t")[0].as_py()
    assert total == pytest.approx(sum(want.values()), abs=1e-9)
    # Credits stay negative and separate from cost in the raw table.
    raw = ctx.warehouse.query(
        "SELECT SUM(cost) AS cost, SUM((SELECT SUM(c.amount) FROM UNNEST(credits) AS c)) AS credits "
        "FROM gcp_billing_export"
    ).to_pylist()[0]
    assert raw["cost"] == pytest.approx(sum(float(r["cost"]) for r in export_rows))
    assert raw["credits"] < 0


def test_ndjson_keeps_nested_records_labels_and_detailed_columns(
    collector: GcpBillingCollector, ctx: RunContext
) -> None:
    rows = _ingest(collector, ctx, EXPORT)
    gpu = next(r for r in rows if r["sku"]["id"] == "6C5B-8E3A-1F2D")  # the first on-demand H100 hour
    assert gpu["sku"]["description"] == "Nvidia H100 80GB GPU running in Americas"
    assert {"key": "workload", "value": "llm-pretrain"} in gpu["labels"]
    assert {"key": "compute.googleapis.com/machine_spec", "value": "a3-highgpu-8g"} in gpu["system_labels"]
    assert gpu["resource"]["global_name"].endswith("/instances/4728193847561234567")
    assert gpu["credits"][0]["type"] == "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE"
    assert gpu["credits"][0]["amount"] == pytest.approx(-17.69824)
    assert gpu["price"]["effective_price"] == pytest.approx(11.0614)  # NUMERIC written as a string
    assert gpu["project"]["ancestors"][2]["resource_name"] == "organizations/738204519372"
    assert gpu["export_time"].isoformat() == "2026-11-18T09:14:22.118431+00:00"
    focus = ctx.warehouse.query(
        "SELECT x_GpuModel, x_IsSpot, x_Team FROM focus_costs WHERE ChargeDescription LIKE 'Nvidia H100%' "
        "ORDER BY ChargePeriodStart"
    ).to_pylist()
    assert focus[0] == {"x_GpuModel": "H100", "x_IsSpot": False, "x_Team": "ml-research"}
    assert {"x_GpuModel": "H100", "x_IsSpot": True, "x_Team": "ml-infra"} in focus


@pytest.mark.parametrize("variant", ["", "numeric", "ns-naive", "ms"])
def test_parquet_variants_give_the_same_rows_as_ndjson(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, variant: str, parquet_read: str
) -> None:
    want = _ingest(collector, ctx, EXPORT)
    path = make_parquet.write(tmp_path / f"export-{variant or 'bq'}.parquet", variant)
    got = _ingest(collector, ctx, path)  # same (account, day) keys: replaces the NDJSON rows
    if variant == "ms":  # a millisecond file cannot carry export_time's microseconds
        for r in want:
            r["export_time"] = r["export_time"].replace(microsecond=r["export_time"].microsecond // 1000 * 1000)
    assert got == want


def test_json_array_download_gives_the_same_rows_as_ndjson(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    want = _ingest(collector, ctx, EXPORT)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(export_rows, indent=2))
    assert _ingest(collector, ctx, path) == want


def test_gzipped_ndjson_and_csv_are_read(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, export_rows: list[dict[str, Any]]
) -> None:
    for src in (EXPORT, FIX / "export_console.csv"):
        gz = tmp_path / (src.name + ".gz")
        with src.open("rb") as f, gzip.open(gz, "wb") as out:
            shutil.copyfileobj(f, out)
        _ingest(collector, ctx, gz)
        assert_close(billed_by_day(ctx), expected_by_day(export_rows))


def test_console_csv_gives_the_same_rows_and_totals_as_ndjson(
    collector: GcpBillingCollector, ctx: RunContext, export_rows: list[dict[str, Any]]
) -> None:
    want = [{k: r[k] for k in CSV_COLUMNS} for r in _ingest(collector, ctx, EXPORT)]
    got = [{k: r[k] for k in CSV_COLUMNS} for r in _ingest(collector, ctx, FIX / "export_console.csv")]
    # Labels keep their order in every CSV form; the JSON-object form keeps insertion order too.
    assert got == want
    assert_close(billed_by_day(ctx), expected_by_day(export_rows))


def test_every_format_reaches_the_same_focus_totals(
    collector: GcpBillingCollector, ctx: RunContext, export_parquet: Path, export_rows: list[dict[str, Any]]
) -> None:
    want = expected_by_day(export_rows)
    for path in (EXPORT, FIX / "export_console.csv", export_parquet):
        run(collector, ctx, [str(path)])
        assert_close(billed_by_day(ctx), want)


def _usage_amount_as_text(table: pa.Table) -> pa.Table:
    """`table` with usage.amount written as text ('0.5'), as a hand-made export might."""
    usage = table.column("usage").combine_chunks()
    fields = [
        usage.field(i).cast(pa.string()) if f.name == "amount" else usage.field(i) for i, f in enumerate(usage.type)
    ]
    text = pa.StructArray.from_arrays(fields, names=[f.name for f in usage.type], mask=usage.is_null())
    return table.set_column(table.schema.get_field_index("usage"), "usage", text)


def test_parquet_string_leaves_are_read_as_dictionaries_where_the_schema_wants_text(tmp_path: Path) -> None:
    """Every string leaf of a known column whose canonical type is text, at any depth; not the account (the key),
    not a number the file spells as text (`usage.amount` here, cast as before), not an unknown column."""
    table = _usage_amount_as_text(make_parquet.build(make_parquet.ndjson_rows()))
    table = table.append_column("note", pa.array(["x"] * table.num_rows))
    path = tmp_path / "export.parquet"
    pq.write_table(table, path)
    pf = pq.ParquetFile(path)

    picked = {pf.schema.column(i).path for i in dictionary_leaves(pf, resolve(pf.schema_arrow.names))}

    leaves = [pf.schema.column(i) for i in range(pf.metadata.num_columns)]
    text = {c.path for c in leaves if c.physical_type == "BYTE_ARRAY" and c.logical_type.type == "STRING"}
    assert picked == text - {"billing_account_id", "usage.amount", "note"}
    assert {"service.description", "labels.list.element.key", "credits.list.element.type", "currency"} <= picked


def test_a_number_spelled_as_text_in_a_parquet_export_still_ingests_as_the_ndjson_does(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, parquet_read: str
) -> None:
    want = _ingest(collector, ctx, EXPORT)
    table = _usage_amount_as_text(make_parquet.build(make_parquet.ndjson_rows()))
    path = tmp_path / "export.parquet"
    pq.write_table(table, path, row_group_size=5)
    assert _ingest(collector, ctx, path) == want


def test_parquet_and_ndjson_halves_of_one_export_in_one_command_give_the_whole_export(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One day's rows arrive as text (NDJSON) and as dictionaries (Parquet) in the same write: the same rows."""
    monkeypatch.setattr(parse_parquet, "DICTIONARY_MIN_ROWS", 1)
    want = _ingest(collector, ctx, EXPORT)
    rows = make_parquet.ndjson_rows()
    half = tmp_path / "half.ndjson"
    half.write_text("".join(json.dumps(r) + "\n" for r in rows[1::2]))
    parquet = make_parquet.write(tmp_path / "half.parquet", rows=rows[::2], row_group_size=3)
    assert _ingest(collector, ctx, parquet, half) == want


@pytest.mark.parametrize(("min_rows", "encoded"), [(3, True), (4, False)])
def test_parquet_strings_are_read_as_dictionaries_only_from_row_groups_of_the_minimum_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, min_rows: int, encoded: bool
) -> None:
    monkeypatch.setattr(parse_parquet, "DICTIONARY_MIN_ROWS", min_rows)
    rows = make_parquet.ndjson_rows()[:12]
    path = make_parquet.write(tmp_path / "export.parquet", rows=rows, row_group_size=3)  # 4 groups of 3
    src = open_parquet(str(path), "auto")
    late: list[Any] = []
    batches = list(src.batches(set(src.summary), late))
    assert sum(b.num_rows for b in batches) == len(rows) == 12 and not late
    sku = pa.Table.from_batches(batches).schema.field("sku").type
    assert pa.types.is_dictionary(sku.field("description").type) is encoded
    assert len(batches) == (4 if encoded else 1)  # one row group per batch, or batches across row groups


def test_parquet_columns_stored_as_small_categoricals_ingest_as_text(
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, parquet_read: str
) -> None:
    """A file written from pandas categoricals restores them as dictionary<int8> columns (its stored Arrow schema):
    the account and the currency land as text, as the NDJSON's do (int8 indices could not hold a lake's values)."""
    want = _ingest(collector, ctx, EXPORT)
    table = make_parquet.build(make_parquet.ndjson_rows())
    for name in ("billing_account_id", "currency"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(name).cast(pa.dictionary(pa.int8(), pa.string())))
    path = tmp_path / "export.parquet"
    pq.write_table(table, path, row_group_size=5)
    assert pa.types.is_dictionary(pq.ParquetFile(path).schema_arrow.field("currency").type)
    src = open_parquet(str(path), "auto")
    streamed = pa.Table.from_batches(list(src.batches(set(src.summary), [])))
    assert streamed.schema.field("billing_account_id").type == streamed.schema.field("currency").type == pa.string()
    assert _ingest(collector, ctx, path) == want
