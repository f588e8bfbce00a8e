"""The BigQuery engine against a real BigQuery API emulator (`bqemulator`) on loopback, driven by the real
google-cloud-bigquery client: day-partitioned tables with nested schemas, Parquet load jobs, whole-partition
replace by MERGE, queries with the dataset as default, derived refreshes. Rows here are synthetic.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from exporters.warehouse.bigquery import BigQueryWarehouse, bq_predicate
from exporters.warehouse.bq_functions import FUNCTIONS
from exporters.warehouse.engine import open_warehouse
from exporters.warehouse.schema import TABLES
from exporters.warehouse.sqltext import DUCKDB_MACROS
from spendscope.errors import QueryError
from tests.bqemu import Emulator
from tests.warehouse.conftest import bq_settings

pytestmark = pytest.mark.integration

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def state_rows(day: dt.date, source: str, costs: list[float]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"source": source, "partition": f"p{i}", "cost": c, "rows": 1, "_day": day} for i, c in enumerate(costs)]
    )


def total(wh: BigQueryWarehouse, sources: list[str], where: str = "TRUE") -> float:
    out = wh.query(
        f"SELECT IFNULL(SUM(cost), 0) AS c FROM ingest_state WHERE source IN UNNEST(@s) AND {where}", {"s": sources}
    )
    return float(out.column("c")[0].as_py())


@pytest.fixture
def src() -> str:
    """A source name of this test's own (the module shares one warehouse)."""
    return f"s-{uuid.uuid4().hex[:8]}"


def test_open_warehouse_builds_the_bigquery_engine_from_config(tmp_path: Path, bq_emulator: Emulator) -> None:
    wh = open_warehouse(bq_settings(tmp_path, bq_emulator, "spendscope_open"))
    assert isinstance(wh, BigQueryWarehouse)
    assert (wh.engine, wh.dataset_ref) == ("bigquery", f"{bq_emulator.project}.spendscope_open")


def test_ensure_creates_every_table_day_partitioned_with_nested_records(bq_shared: BigQueryWarehouse) -> None:
    client: Any = bq_shared.client
    for name in TABLES:
        table = client.get_table(bq_shared.ref(name))
        assert table.time_partitioning.field == "_day", name
        assert [f.name for f in table.schema] == TABLES[name].schema.names, name
    export = {f.name: f for f in client.get_table(bq_shared.ref("gcp_billing_export")).schema}
    assert (export["credits"].field_type, export["credits"].mode) == ("RECORD", "REPEATED")
    labels = {f.name: f for f in export["project"].fields}["labels"]
    assert (labels.field_type, labels.mode, [f.name for f in labels.fields]) == ("RECORD", "REPEATED", ["key", "value"])
    assert export["_day"].mode == "REQUIRED"


def test_replace_swaps_only_the_named_partitions(bq_shared: BigQueryWarehouse, src: str) -> None:
    a, b = src + "a", src + "b"
    bq_shared.replace("ingest_state", state_rows(D1, a, [1, 2]), [{"_day": D1, "source": a}])
    bq_shared.replace("ingest_state", state_rows(D2, a, [10]), [{"_day": D2, "source": a}])
    bq_shared.replace("ingest_state", state_rows(D1, b, [100]), [{"_day": D1, "source": b}])
    assert total(bq_shared, [a, b]) == 113
    # The same partition again with changed rows: replaced, not added; the other partitions stay.
    assert bq_shared.replace("ingest_state", state_rows(D1, a, [5]), [{"_day": D1, "source": a}]) == 1
    assert total(bq_shared, [a, b]) == 115
    assert total(bq_shared, [b]) == 100
    assert total(bq_shared, [a], f"_day = DATE '{D2}'") == 10


def test_replacing_twice_with_the_same_rows_is_idempotent(bq_shared: BigQueryWarehouse, src: str) -> None:
    for _ in range(3):
        bq_shared.replace("ingest_state", state_rows(D1, src, [1.5, 2.5]), [{"_day": D1, "source": src}])
    assert total(bq_shared, [src]) == 4.0


def test_empty_replace_clears_the_partition_and_no_keys_appends(bq_shared: BigQueryWarehouse, src: str) -> None:
    bq_shared.replace("ingest_state", state_rows(D1, src, [1]), [{"_day": D1, "source": src}])
    bq_shared.replace("ingest_state", state_rows(D2, src, [7]), [{"_day": D2, "source": src}])
    bq_shared.replace("ingest_state", pa.table({"_day": pa.array([], pa.date32())}), [{"_day": D1, "source": src}])
    assert total(bq_shared, [src]) == 7
    assert bq_shared.append("ingest_state", state_rows(D2, src, [3])) == 1
    assert bq_shared.append("ingest_state", state_rows(D2, src, [3])) == 1
    assert total(bq_shared, [src]) == 13


def test_nested_rows_round_trip_through_parquet_load(bq_shared: BigQueryWarehouse, src: str) -> None:
    row = {
        "cost": 2.5, "usage_start_time": dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC),
        "project": {"id": "p", "labels": [{"key": "team", "value": "ml"}]},
        "credits": [{"name": "SUD", "amount": -0.5, "type": "SUSTAINED_USAGE_DISCOUNT"}],
        "labels": [], "_day": D1, "_source": src,
    }  # fmt: skip
    bq_shared.replace("gcp_billing_export", pa.Table.from_pylist([row]), [{"_day": D1, "_source": src}])
    out = bq_shared.query(
        "SELECT project, credits, usage_start_time, cost FROM gcp_billing_export WHERE _source = @s", {"s": src}
    ).to_pylist()
    assert len(out) == 1
    assert out[0]["project"]["labels"] == [{"key": "team", "value": "ml"}]
    assert out[0]["credits"][0]["amount"] == -0.5
    assert out[0]["usage_start_time"] == dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC)


def test_query_binds_params_and_failures_raise_query_error(bq_shared: BigQueryWarehouse) -> None:
    bq_shared.replace("ingest_state", state_rows(D1, "it's", [4]), [{"_day": D1, "source": "it's"}])
    out = bq_shared.query("SELECT SUM(cost) AS c FROM ingest_state WHERE source = @s AND _day IN UNNEST(@d)",
                             {"s": "it's", "d": [D1]})  # fmt: skip
    assert out.column("c").to_pylist() == [4.0]
    with pytest.raises(QueryError, match="nope"):
        bq_shared.query("SELECT nope FROM ingest_state")


def test_replace_from_query_replaces_the_keyed_rows_and_counts_them(bq_shared: BigQueryWarehouse, src: str) -> None:
    bq_shared.replace("ingest_state", state_rows(D1, src, [1, 2, 3]), [{"_day": D1, "source": src}])
    sql = (
        "SELECT CONCAT('copy-', source) AS source, `partition`, cost * @k AS cost, _day "
        "FROM ingest_state WHERE source = @s"
    )
    keys = [{"_day": D1, "source": f"copy-{src}"}]
    assert bq_shared.replace_from_query("ingest_state", sql, {"k": 10, "s": src}, keys) == 3
    assert bq_shared.replace_from_query("ingest_state", sql, {"k": 10, "s": src}, keys) == 3
    assert total(bq_shared, [f"copy-{src}"]) == 60
    assert total(bq_shared, [src]) == 6


def test_replace_many_from_query_routes_each_row_to_the_table_its_target_names(
    bq_shared: BigQueryWarehouse, src: str
) -> None:
    bq_shared.replace("ingest_state", state_rows(D1, src, [1, 2, 30]), [{"_day": D1, "source": src}])
    sql = """SELECT IF(cost > @cut, 'cost_hourly', 'cost_daily') AS _target, source AS provider,
                    cost AS billed_cost, @s AS x_SourceTable, _day
             FROM ingest_state WHERE source = @s"""
    keys = [{"x_SourceTable": src, "_day": D1}]
    for _ in range(2):  # a second refresh replaces the first: nothing doubles
        written = bq_shared.replace_many_from_query(
            {"cost_daily": keys, "cost_hourly": keys}, sql, {"cut": 5, "s": src}
        )
        assert written == {"cost_daily": 2, "cost_hourly": 1}
    for table, expected in (("cost_daily", {"c": 3.0, "n": 2}), ("cost_hourly", {"c": 30.0, "n": 1})):
        got = bq_shared.query(
            f"SELECT SUM(billed_cost) AS c, COUNT(*) AS n FROM {table} WHERE x_SourceTable = @s", {"s": src}
        )
        assert got.to_pylist() == [expected]


def test_table_version_is_none_when_absent_and_an_int_once_created(
    bq_warehouse: BigQueryWarehouse, bq_shared: BigQueryWarehouse
) -> None:
    assert bq_warehouse.table_version("ingest_state") is None  # a dataset nobody set up
    version = bq_shared.table_version("ingest_state")
    assert isinstance(version, int) and version > 0


def test_engine_functions_are_the_duckdb_macros_and_match_duckdb_tags(bq_shared: BigQueryWarehouse) -> None:
    macros = {re.search(r"MACRO (\w+)", m).group(1).upper() for m in DUCKDB_MACROS}  # type: ignore[union-attr]
    assert set(FUNCTIONS) == macros
    out = bq_shared.query(
        "SELECT TAGS_JSON([STRUCT('team' AS key, 'ml' AS value), ('env', 'prod'), ('team', 'other')]) AS t, "
        "TAGS_JSON(CAST(NULL AS ARRAY<STRUCT<key STRING, value STRING>>)) AS e, "
        "LABEL_VALUE([STRUCT('a' AS key, 'x' AS value)], 'a') AS v"
    ).to_pylist()
    assert out == [{"t": '{"team":"ml","env":"prod"}', "e": "{}", "v": "x"}]


def test_bq_predicate_folds_days_and_uses_bigquery_literals() -> None:
    keys = [{"_day": D1, "source": "o'k"}, {"_day": D2, "source": "o'k"}]
    assert bq_predicate(keys, "T") == "(T.`source` = 'o\\'k' AND T.`_day` IN (DATE '2026-11-01', DATE '2026-11-02'))"
    assert bq_predicate([]) == "FALSE"
