"""The demo generator alone (no ingest): deterministic files, rows that fit the warehouse schemas, real formats.

The demo data is synthetic by design; these tests check it is shaped like the real exports (formats.md §1, §2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from exporters.warehouse.schema.databricks import DATABRICKS_LIST_PRICES, DATABRICKS_USAGE
from exporters.warehouse.schema.gcp_billing import GCP_BILLING_EXPORT
from spendscope.clock import fixed_clock
from spendscope.demo import GCP_FILE, PRICES_FILE, USAGE_FILE, default_end, run_demo, write_files
from spendscope.demo.databricks import list_price_rows, usage_rows
from spendscope.demo.gcp import gcp_rows
from spendscope.demo.plan import make_plan
from spendscope.demo.writer import spark_timestamp, write_jsonl
from spendscope.errors import InputError

END = dt.date(2026, 11, 21)
BQ_TS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
SPARK_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _without_provenance(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f for f in schema if not f.name.startswith("_")])


def _check_keys(value: Any, typ: pa.DataType, where: str) -> None:
    """Every key of `value` is a field of `typ`, recursively: no column the schema does not know."""
    if isinstance(value, dict) and pa.types.is_struct(typ):
        names = {typ.field(i).name: typ.field(i).type for i in range(typ.num_fields)}
        unknown = set(value) - set(names)
        assert not unknown, f"{where}: unknown field(s) {sorted(unknown)}"
        for k, v in value.items():
            _check_keys(v, names[k], f"{where}.{k}")
    elif isinstance(value, list) and pa.types.is_list(typ):
        for v in value:
            _check_keys(v, typ.value_type, f"{where}[]")


def _conforms(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows convert to `schema` with no unknown fields (Arrow raises on a wrong type)."""
    struct = pa.struct(list(schema))
    for i, row in enumerate(rows[:2000]):
        _check_keys(row, struct, f"row {i}")
    return pa.Table.from_pylist(rows, schema=schema)


def test_same_seed_writes_byte_identical_files(tmp_path: Path) -> None:
    write_files(make_plan(END, 5, seed=3), tmp_path / "a")
    write_files(make_plan(END, 5, seed=3), tmp_path / "b")
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a == b
    assert set(a) == {GCP_FILE, USAGE_FILE, PRICES_FILE}


def test_another_seed_writes_different_files(tmp_path: Path) -> None:
    write_files(make_plan(END, 5, seed=3), tmp_path / "a")
    write_files(make_plan(END, 5, seed=4), tmp_path / "b")
    assert _digests(tmp_path / "a")[GCP_FILE] != _digests(tmp_path / "b")[GCP_FILE]


def test_gcp_rows_fit_the_export_schema() -> None:
    rows = gcp_rows(make_plan(END, 4, seed=7))
    table = _conforms(rows, _without_provenance(GCP_BILLING_EXPORT))
    assert table.num_rows == len(rows) > 1000
    assert set(table.column("currency").to_pylist()) == {"USD"}
    assert set(table.column("cost_type").to_pylist()) == {"regular"}  # no adjustments in a 4-day window


def test_databricks_rows_fit_the_system_table_schemas() -> None:
    plan = make_plan(END, 60, seed=7)
    usage = usage_rows(plan)
    # custom_tags is a MAP upstream; the warehouse stores maps as key/value lists.
    as_stored = [{**r, "custom_tags": [{"key": k, "value": v} for k, v in r["custom_tags"].items()]} for r in usage]
    table = _conforms(as_stored, _without_provenance(DATABRICKS_USAGE))
    assert set(table.column("record_type").to_pylist()) == {"ORIGINAL"}
    assert set(table.column("billing_origin_product").to_pylist()) == {"ALL_PURPOSE", "JOBS", "SQL", "MODEL_SERVING"}
    prices = list_price_rows(plan)
    # pricing values are decimal strings upstream ("0.15"); the warehouse stores DOUBLE.
    numeric = [
        {**p, "pricing": {"default": float(p["pricing"]["default"]),
                          "promotional": {"default": float(p["pricing"]["promotional"]["default"])},
                          "effective_list": {"default": float(p["pricing"]["effective_list"]["default"])}}}
        for p in prices
    ]  # fmt: skip
    _conforms(numeric, _without_provenance(DATABRICKS_LIST_PRICES))


def test_gcp_file_is_ndjson_as_bq_extract_writes_it(tmp_path: Path) -> None:
    write_files(make_plan(END, 3, seed=7), tmp_path)
    lines = (tmp_path / GCP_FILE).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    order = [f.name for f in GCP_BILLING_EXPORT]
    for row in rows:
        for col in ("usage_start_time", "usage_end_time", "export_time"):
            assert BQ_TS.match(row[col]), row[col]
        assert row["export_time"] > row["usage_end_time"]  # exported a few hours after the usage hour
        assert None not in row.values()  # NULL columns are left out, as bq extract does
        assert list(row) == [c for c in order if c in row]  # columns in schema order
        assert isinstance(row["credits"], list) and isinstance(row["labels"], list)
        assert re.fullmatch(r"\d{6}", row["invoice"]["month"])
    a3 = [r for r in rows if r["sku"]["description"] == "Nvidia H100 80GB GPU running in Americas"]
    assert a3, "A3 GPU rows"
    for r in a3:
        assert r["usage"]["unit"] == "seconds" and r["usage"]["pricing_unit"] == "hour"
        assert r["service"] == {"id": "6F81-5844-456A", "description": "Compute Engine"}
        assert {"key": "compute.googleapis.com/machine_spec", "value": "a3-highgpu-8g"} in r["system_labels"]
        assert r["resource"]["global_name"].startswith("//compute.googleapis.com/projects/")
        assert r["usage"]["amount"] <= 8 * 3600  # 8 GPUs × at most one hour
    descriptions = {r["sku"]["description"] for r in rows}
    for expected in ("A3 Instance Core running in Americas", "A3 Instance Ram running in Americas",
                     "C4A Instance Core running in Americas", "Nvidia Tesla A100 GPU running in Americas",
                     "Nvidia H100 80GB GPU attached to Spot Preemptible VMs running in Americas",
                     "Spot Preemptible A3 Instance Core running in Americas", "Hyperdisk Balanced Capacity",
                     "SSD backed Local Storage", "Network Internet Egress from Americas to Americas"):  # fmt: skip
        assert expected in descriptions


def test_databricks_files_are_spark_json_lines(tmp_path: Path) -> None:
    plan = make_plan(END, 60, seed=7)  # long enough for every Databricks product and the price change
    write_jsonl(tmp_path / USAGE_FILE, usage_rows(plan), spark_timestamp)
    write_jsonl(tmp_path / PRICES_FILE, list_price_rows(plan), spark_timestamp)
    usage = [json.loads(x) for x in (tmp_path / USAGE_FILE).read_text(encoding="utf-8").splitlines()]
    for row in usage:
        assert SPARK_TS.match(row["usage_start_time"]) and SPARK_TS.match(row["usage_end_time"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", row["usage_date"])
        assert isinstance(row["custom_tags"], dict) and {"team", "env", "workload"} <= set(row["custom_tags"])
        assert row["usage_unit"] == "DBU" and row["cloud"] == "GCP" and row["record_type"] == "ORIGINAL"
    skus = {r["sku_name"] for r in usage}
    assert {"PREMIUM_ALL_PURPOSE_COMPUTE", "PREMIUM_JOBS_COMPUTE", "PREMIUM_SERVERLESS_SQL_COMPUTE_US_CENTRAL",
            "PREMIUM_SERVERLESS_REAL_TIME_INFERENCE_US_CENTRAL"} == skus  # fmt: skip
    node_types = {r["usage_metadata"].get("node_type") for r in usage}
    assert {"a3-highgpu-8g", "a2-highgpu-1g"} <= node_types
    prices = [json.loads(x) for x in (tmp_path / PRICES_FILE).read_text(encoding="utf-8").splitlines()]
    jobs = sorted((p for p in prices if p["sku_name"] == "PREMIUM_JOBS_COMPUTE"), key=lambda p: p["price_start_time"])
    assert [p["pricing"]["effective_list"]["default"] for p in jobs] == ["0.15", "0.17"]
    assert jobs[0]["price_end_time"] == jobs[1]["price_start_time"] and "price_end_time" not in jobs[1]


def test_row_count_stays_modest_for_90_days() -> None:
    plan = make_plan(END, 90, seed=7)
    assert len(plan.runs) < 5000
    # Rows: GCE/GKE VM × SKU × hour plus daily storage; well under a few hundred thousand.
    n = sum(r.nodes * (r.seconds // 3600 + 2) * 3 for r in plan.runs)
    assert n < 200_000


def test_idle_stretches_and_spike_are_inside_the_window() -> None:
    plan = make_plan(END, 90, seed=7)
    assert plan.spike is not None and plan.days[0] <= plan.spike.day <= END
    assert {i.key for i in plan.idle} == {"a3-train-02", "gpu-research-h100"}
    for stretch in plan.idle:
        assert plan.days[0] <= stretch.start.date() < stretch.end.date() <= END
        assert stretch.end - stretch.start >= dt.timedelta(hours=40)


def test_days_out_of_range_is_an_input_error(settings: Any) -> None:
    with pytest.raises(InputError, match="--days"):
        run_demo(settings, days=0, ingest=False)


def test_default_end_is_yesterday_utc() -> None:
    clock = fixed_clock(dt.datetime(2026, 11, 22, 0, 30, tzinfo=dt.UTC))
    assert default_end(clock) == dt.date(2026, 11, 21)
