"""File ingest (`--from-file`): system.billing exports as CSV/JSON/NDJSON/Parquet, and the legacy CSV."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from collectors.base import RunContext
from collectors.databricks.collector import DatabricksCollector
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import ingest
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.errors import InputError, MissingColumnsError
from tests.databricks.conftest import DBX, EXPECTED_TOTAL, fixture_rows, total_cost

USAGE_ORDERED = "SELECT * EXCLUDE (_source) FROM databricks_usage ORDER BY record_id"
PRICES_ORDERED = "SELECT * EXCLUDE (_source) FROM databricks_list_prices ORDER BY sku_name, cloud, price_start_time"


def _collector(settings: Settings, **update: Any) -> DatabricksCollector:
    return DatabricksCollector(settings.collectors.databricks.model_copy(update=update))


def _ts(s: str | None) -> dt.datetime | None:
    return None if s is None else dt.datetime.fromisoformat(s)


def _write_usage_parquet(path: Path) -> None:
    """usage.json as Spark writes the table to Parquet: native timestamps, DECIMAL, MAP and STRUCT types."""
    meta_fields = sorted({k for r in fixture_rows("usage.json") for k in r["usage_metadata"]})
    schema = pa.schema([
        ("record_id", pa.string()), ("account_id", pa.string()), ("workspace_id", pa.string()),
        ("sku_name", pa.string()), ("cloud", pa.string()), ("usage_start_time", pa.timestamp("us", "UTC")),
        ("usage_end_time", pa.timestamp("us", "UTC")), ("usage_date", pa.date32()),
        ("custom_tags", pa.map_(pa.string(), pa.string())), ("usage_unit", pa.string()),
        ("usage_quantity", pa.decimal128(38, 18)),
        ("usage_metadata", pa.struct([(f, pa.string()) for f in meta_fields])),
        ("identity_metadata", pa.struct([("run_as", pa.string()), ("owned_by", pa.string())])),
        ("record_type", pa.string()), ("ingestion_date", pa.date32()), ("billing_origin_product", pa.string()),
        ("product_features", pa.struct([("jobs_tier", pa.string()), ("sql_tier", pa.string()),
                                        ("is_serverless", pa.bool_()), ("is_photon", pa.bool_()),
                                        ("serving_type", pa.string())])),
        ("usage_type", pa.string()),
    ])  # fmt: skip
    rows = []
    for r in fixture_rows("usage.json"):
        rows.append({
            **r,
            "usage_start_time": _ts(r["usage_start_time"]), "usage_end_time": _ts(r["usage_end_time"]),
            "usage_date": dt.date.fromisoformat(r["usage_date"]),
            "ingestion_date": dt.date.fromisoformat(r["ingestion_date"]),
            "custom_tags": list(r["custom_tags"].items()),
            "usage_quantity": Decimal(r["usage_quantity"]),
        })  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Stored rows of usage.json and list_prices.json: what every other spelling must equal."""
    root = tmp_path_factory.mktemp("reference")
    s = Settings.model_validate({"home": str(root / "home"), "warehouse": {"path": str(root / "lake")}})
    lake = DuckDbLake(root / "lake")
    ctx = RunContext(s, lake, fixed_clock(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)))
    ingest.run(DatabricksCollector.from_settings(s), ctx, [str(DBX / "usage.json"), str(DBX / "list_prices.json")])
    return {"usage": lake.query(USAGE_ORDERED).to_pylist(), "prices": lake.query(PRICES_ORDERED).to_pylist()}


@pytest.mark.parametrize("name", ["usage.csv", "usage.ndjson", "usage.parquet"])
def test_usage_export_formats_ingest_to_the_same_rows(
    name: str, reference: dict[str, Any], settings: Settings, ctx: RunContext, lake: DuckDbLake, tmp_path: Path
) -> None:
    path = DBX / name
    if name == "usage.parquet":
        path = tmp_path / name
        _write_usage_parquet(path)

    summary = ingest.run(_collector(settings), ctx, [str(path), str(DBX / "list_prices.json")])

    assert summary.quarantined == []
    assert summary.rows["databricks_usage"] == 10
    assert lake.query(USAGE_ORDERED).to_pylist() == reference["usage"]
    assert total_cost(lake) == pytest.approx(EXPECTED_TOTAL)


def test_usage_cells_are_normalized(settings: Settings, ctx: RunContext, lake: DuckDbLake) -> None:
    ingest.run(_collector(settings), ctx, [str(DBX / "usage.csv")])

    rows = {r["record_id"][-2:]: r for r in lake.query("SELECT * FROM databricks_usage").to_pylist()}
    first = rows["01"]
    assert first["custom_tags"] == [
        {"key": "team", "value": "ml-platform"}, {"key": "env", "value": "prod"},
        {"key": "workload", "value": "llm-finetune"},
    ]  # fmt: skip
    assert first["usage_metadata"]["node_type"] == "a3-highgpu-8g"
    assert first["usage_metadata"]["job_id"] == "412345678901234"
    assert first["product_features"]["is_serverless"] is False
    assert first["_day"] == dt.date(2026, 11, 14) and first["_source"] == "file:usage.csv"
    # Spark's `{k -> v}` map text and a Python repr read like JSON.
    assert rows["06"]["custom_tags"] == [{"key": "team", "value": "research"}, {"key": "env", "value": "dev"}]
    assert rows["07"]["custom_tags"] == [{"key": "team", "value": "analytics"}]
    assert rows["10"]["usage_unit"] == "GB" and rows["10"]["custom_tags"] == []


@pytest.mark.parametrize("name", ["list_prices.csv", "list_prices_flat.csv"])
def test_list_price_exports_store_the_same_prices(
    name: str, reference: dict[str, Any], settings: Settings, ctx: RunContext, lake: DuckDbLake
) -> None:
    ingest.run(_collector(settings, sku_prices={}), ctx, [str(DBX / name)])

    got = lake.query(PRICES_ORDERED).to_pylist()
    assert got == reference["prices"]
    jobs_gcp = [r for r in got if r["sku_name"] == "PREMIUM_JOBS_COMPUTE" and r["cloud"] == "GCP"]
    assert [r["pricing"]["effective_list"]["default"] for r in jobs_gcp] == [0.15, 0.18]
    sql = next(r for r in got if r["sku_name"].startswith("PREMIUM_SERVERLESS_SQL"))
    assert sql["pricing"] == {"default": 0.88, "promotional": {"default": 0.70}, "effective_list": {"default": 0.70}}


def test_price_change_loaded_later_reprices_stored_usage(settings: Settings, ctx: RunContext, lake: DuckDbLake) -> None:
    ingest.run(_collector(settings), ctx, [str(DBX / "usage.json")])
    # Without list prices only the configured fallbacks apply (0.99 for jobs, 0.35 serverless jobs).
    assert total_cost(lake) == pytest.approx((12.5 + 10 + 8 - 8 + 6) * 0.99 + 4 * 0.35)

    ingest.run(_collector(settings), ctx, [str(DBX / "list_prices.csv")])

    assert total_cost(lake) == pytest.approx(EXPECTED_TOTAL)


def test_reingesting_and_overlapping_files_never_double_count(
    settings: Settings, ctx: RunContext, lake: DuckDbLake
) -> None:
    files = [str(DBX / "usage.json"), str(DBX / "list_prices.json")]
    ingest.run(_collector(settings), ctx, files)
    ingest.run(_collector(settings), ctx, files)
    ingest.run(_collector(settings), ctx, [str(DBX / "usage.csv"), str(DBX / "list_prices.csv")])

    assert lake.query("SELECT COUNT(*) AS n FROM databricks_usage").column("n")[0].as_py() == 10
    assert (
        lake.query("SELECT COUNT(*) AS n FROM databricks_list_prices WHERE _source != 'config'").column("n")[0].as_py()
        == 6
    )
    assert total_cost(lake) == pytest.approx(EXPECTED_TOTAL)


def test_legacy_billable_usage_csv_is_priced_from_config(settings: Settings, ctx: RunContext, lake: DuckDbLake) -> None:
    collector = _collector(settings, sku_prices={"PREMIUM_JOBS_COMPUTE": 0.15, "premium_all_purpose_compute": 0.55})

    summary = ingest.run(collector, ctx, [str(DBX / "billable_usage_legacy.csv")])

    assert summary.rows["databricks_usage"] == 3
    assert [(q.line, q.reason) for q in summary.quarantined] == [(5, "dbus: not a number: 'not-a-number'")]
    assert total_cost(lake) == pytest.approx(2 * 24 * 0.15 + 5.5 * 0.55)
    rows = lake.query("SELECT * FROM databricks_usage ORDER BY usage_start_time, sku_name").to_pylist()
    first, notebook = rows[0], rows[1]  # 09:00: ALL_PURPOSE sorts before JOBS
    assert first["usage_end_time"] - first["usage_start_time"] == dt.timedelta(hours=1)
    assert (first["usage_unit"], first["cloud"], first["usage_date"]) == ("DBU", "GCP", dt.date(2026, 11, 10))
    assert first["usage_metadata"]["cluster_id"] == "1110-080000-h100a3x8"
    assert first["usage_metadata"]["node_type"] == "a3-highgpu-8g"
    assert first["custom_tags"] == [
        {"key": "team", "value": "ml-platform"}, {"key": "env", "value": "prod"},
        {"key": "ClusterName", "value": "llm-train"},
    ]  # fmt: skip
    assert notebook["sku_name"] == "PREMIUM_ALL_PURPOSE_COMPUTE"
    assert notebook["custom_tags"][:2] == [{"key": "team", "value": "research"}, {"key": "env", "value": "dev"}]
    gpus = lake.query("SELECT x_GpuModel, SUM(BilledCost) AS c FROM focus_costs GROUP BY 1 ORDER BY 1").to_pylist()
    assert gpus == [{"x_GpuModel": "A100", "c": pytest.approx(3.025)}, {"x_GpuModel": "H100", "c": pytest.approx(7.2)}]


def test_bad_rows_are_quarantined_and_the_rest_ingested(settings: Settings, ctx: RunContext, lake: DuckDbLake) -> None:
    path = str(DBX / "bad_usage.csv")

    summary = ingest.run(_collector(settings), ctx, [path])

    assert summary.rows["databricks_usage"] == 2
    got = lake.query("SELECT file, line, reason, table_name FROM quarantine ORDER BY line").to_pylist()
    assert [(r["file"], r["line"], r["table_name"]) for r in got] == [
        (path, n, "databricks_usage") for n in (3, 4, 5, 6, 7)
    ]
    reasons = [r["reason"] for r in got]
    assert reasons[0].startswith("usage_start_time: not a timestamp")
    assert reasons[1].startswith("usage_quantity: not a number")
    assert reasons[2] == "sku_name is empty"
    assert reasons[3].startswith("custom_tags: cannot read as a map or struct")
    assert reasons[4] == "6 cells for 15 columns"


def test_missing_required_column_fails_before_anything_is_written(
    settings: Settings, ctx: RunContext, lake: DuckDbLake
) -> None:
    with pytest.raises(MissingColumnsError, match="usage_end_time"):
        ingest.run(_collector(settings), ctx, [str(DBX / "usage.json"), str(DBX / "usage_missing_column.csv")])

    for table in ("databricks_usage", "databricks_list_prices", "cost_daily"):
        assert lake.table_version(table) is None


def test_empty_files_ingest_zero_rows(settings: Settings, ctx: RunContext, lake: DuckDbLake, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "empty.json").write_text("[]")
    (tmp_path / "header_only.csv").write_text((DBX / "usage.csv").read_text().splitlines()[0] + "\n")

    summary = ingest.run(
        _collector(settings, sku_prices={}),
        ctx,
        [str(tmp_path / n) for n in ("empty.csv", "empty.json", "header_only.csv")],
    )

    assert summary.total_rows == 0 and summary.quarantined == []


def test_unrecognised_file_is_an_input_error(settings: Settings, ctx: RunContext, tmp_path: Path) -> None:
    (tmp_path / "other.csv").write_text("invoice,amount\nINV-1,3.5\n")

    with pytest.raises(InputError, match="not a Databricks usage, list_prices or billable-usage export"):
        ingest.run(_collector(settings), ctx, [str(tmp_path / "other.csv")])
