"""Every accepted file format of the billing export ingests to the same rows and the same FOCUS totals."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from collectors.base import RunContext
from collectors.gcp_billing.collector import GcpBillingCollector
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
    collector: GcpBillingCollector, ctx: RunContext, tmp_path: Path, variant: str
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
