"""The GCP billing export already in BigQuery, against `bqemulator` on loopback with the real client:
read in place through a view (BigQuery engine) and pulled incrementally by partition (DuckDB engine).

The export table is created in the emulator and filled from the synthetic export fixture (see bq_export).
Emulator limit: it has no ingestion-time partitions (`_PARTITIONTIME` reads as the current time), so the
incremental tests use an export partitioned on `export_time`, which our code reads as `DATE(export_time)`.
"""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud import bigquery

from collectors.base import RunContext
from collectors.gcp_billing.bigquery_source import collect_from_bigquery
from collectors.gcp_billing.collector import GcpBillingCollector
from exporters.warehouse.bigquery import BigQueryWarehouse, make_client
from exporters.warehouse.bq_schema import partition_day
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import GcpBillingConfig, Settings
from spendscope.errors import MissingColumnsError, SourceError
from spendscope.ingest import run
from tests.bqemu import Emulator
from tests.conftest import FIXTURES
from tests.warehouse.bq_export import create_export, fill_export
from tests.warehouse.conftest import bq_settings

pytestmark = pytest.mark.integration

EXPORT_FILE = str(FIXTURES / "gcp_billing" / "export.ndjson")
# export_time days of the fixture's 12 rows: 6 on 11-18, 5 on 11-19, 1 on 11-20.
ROWS_BY_EXPORT_DAY = {dt.date(2026, 11, 18): 6, dt.date(2026, 11, 19): 5, dt.date(2026, 11, 20): 1}
LATE_ROW = """INSERT INTO `{ref}` (billing_account_id, usage_start_time, usage_end_time, export_time, cost,
  currency, credits, invoice, cost_type) VALUES ('01A2B3-C4D5E6-F7A8B9', TIMESTAMP '2026-11-18 03:00:00',
  TIMESTAMP '2026-11-18 04:00:00', TIMESTAMP '2026-11-19 23:10:00', 0, 'USD',
  [STRUCT('Committed use discount' AS name, -2.5 AS amount, 'COMMITTED_USAGE_DISCOUNT' AS type)],
  STRUCT('202611' AS month), 'regular')"""


@pytest.fixture(scope="module")
def fixture_rows(bq_shared: BigQueryWarehouse, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The export fixture ingested once (our schema): the rows every export table here is filled from."""
    settings = Settings.model_validate({"home": str(tmp_path_factory.mktemp("home"))})
    clock = fixed_clock(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC))
    run(GcpBillingCollector(settings.collectors.gcp_billing), RunContext(settings, bq_shared, clock), [EXPORT_FILE])
    return bq_shared.ref("gcp_billing_export")


def make_export(client: Any, fixture_rows: str, partitioning: str) -> str:
    """An export table in its own dataset, holding the fixture's 12 rows."""
    dataset = f"billing_{uuid.uuid4().hex[:8]}"
    client.create_dataset(dataset)
    ref = f"{client.project}.{dataset}.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
    create_export(client, ref, partitioning)
    fill_export(client, ref, fixture_rows)
    return ref


@pytest.fixture
def export_ref(bq_client: Any, fixture_rows: str) -> str:
    return make_export(bq_client, fixture_rows, "export_time")


@pytest.fixture
def in_place(tmp_path: Path, bq_emulator: Emulator, export_ref: str) -> Iterator[BigQueryWarehouse]:
    """A BigQuery warehouse configured to read `export_ref` in place."""
    settings = bq_settings(tmp_path, bq_emulator, f"inplace_{uuid.uuid4().hex[:8]}", export_table=export_ref)
    wh = BigQueryWarehouse.from_settings(settings)
    yield wh
    wh.close()


def cfg_for(ref: str) -> GcpBillingConfig:
    return GcpBillingConfig(enabled=True, export_table=ref, trailing_days=10, initial_days=62)


def test_export_view_reads_the_export_in_place_in_our_schema(
    in_place: BigQueryWarehouse, export_ref: str, bq_client: Any
) -> None:
    in_place.ensure()
    assert bq_client.get_table(in_place.ref("gcp_billing_export")).table_type == "VIEW"
    out = in_place.query(
        "SELECT _day, _source, COUNT(*) AS n, SUM(cost) AS cost, SUM(usage.amount_in_pricing_units) AS amount, "
        "COUNTIF(price IS NULL AND resource IS NULL AND IFNULL(ARRAY_LENGTH(tags), 0) = 0) AS no_price, "
        "SUM((SELECT SUM(c.amount) FROM UNNEST(credits) AS c WHERE c.full_name IS NULL)) AS credits "
        "FROM gcp_billing_export GROUP BY _day, _source"
    )
    assert out.schema.field("amount").type == "double"  # NUMERIC in the export, FLOAT64 in our schema
    rows = {r["_day"]: r for r in out.to_pylist()}
    assert {d: r["n"] for d, r in rows.items()} == ROWS_BY_EXPORT_DAY
    assert {r["_source"] for r in rows.values()} == {f"bq:{export_ref}"}
    assert sum(r["no_price"] for r in rows.values()) == 12
    source_total = (
        bq_client.query(f"SELECT SUM(cost) AS c FROM `{export_ref}`").result().to_arrow(create_bqstorage_client=False)
    )
    assert sum(r["cost"] for r in rows.values()) == pytest.approx(source_total.column("c")[0].as_py())


def test_export_partition_is_read_from_table_metadata(bq_client: Any) -> None:
    for partitioning, expected in (
        ("ingestion", "DATE(_PARTITIONTIME)"),
        ("export_time", "DATE(`export_time`)"),
        ("none", "DATE(`export_time`)"),
    ):
        ref = f"{bq_client.project}.meta_{uuid.uuid4().hex[:8]}.export"
        bq_client.create_dataset(ref.rsplit(".", 1)[0])
        create_export(bq_client, ref, partitioning)
        assert partition_day(bq_client.get_table(ref)) == expected, partitioning


def test_export_view_on_an_ingestion_time_table_uses_partitiontime(bq_client: Any, fixture_rows: str) -> None:
    ref = make_export(bq_client, fixture_rows, "ingestion")
    wh = BigQueryWarehouse(bq_client, f"ing_{uuid.uuid4().hex[:8]}", emulator=True, use_storage_api=False)
    bq_client.create_dataset(wh.dataset)
    wh.ensure_export_view(ref)
    sql = f"SELECT DISTINCT _day FROM `{wh.ref('gcp_billing_export')}`"
    days = bq_client.query(sql).result().to_arrow(create_bqstorage_client=False).column("_day").to_pylist()
    # The emulator evaluates _PARTITIONTIME as the current time: every row is in today's partition.
    assert len(days) == 1
    assert abs((days[0] - dt.datetime.now(dt.UTC).date()).days) <= 1


def test_export_without_a_required_column_or_table_is_refused(
    tmp_path: Path, bq_emulator: Emulator, bq_client: Any
) -> None:
    dataset = f"bad_{uuid.uuid4().hex[:8]}"
    bq_client.create_dataset(dataset)
    bq_client.create_table(
        bigquery.Table(f"{bq_client.project}.{dataset}.export", schema=[bigquery.SchemaField("cost", "FLOAT64")])
    )
    wh = BigQueryWarehouse.from_settings(
        bq_settings(tmp_path, bq_emulator, f"w_{dataset}", f"{bq_client.project}.{dataset}.export")
    )
    with pytest.raises(MissingColumnsError, match="usage_end_time, usage_start_time"):
        wh.ensure()
    with pytest.raises(SourceError, match="not found"):
        wh.ensure_export_view(f"{bq_client.project}.{dataset}.nope")


def lake_counts(lake: DuckDbLake) -> dict[dt.date, int]:
    out = lake.query("SELECT _day, COUNT(*) AS n FROM gcp_billing_export GROUP BY _day").to_pylist()
    return {r["_day"]: r["n"] for r in out}


def test_incremental_pull_takes_new_partitions_then_nothing_then_only_the_moved_one(
    ctx: RunContext, lake: DuckDbLake, export_ref: str, bq_client: Any
) -> None:
    collector = GcpBillingCollector(cfg_for(export_ref), bq_client)
    first = run(collector, ctx)
    assert (first.total_rows, first.partitions["gcp_billing_export"]) == (12, 3)
    assert lake_counts(lake) == ROWS_BY_EXPORT_DAY
    state = lake.query(
        "SELECT `partition`, watermark, rows FROM ingest_state WHERE source = @s", {"s": f"gcp_billing:{export_ref}"}
    )
    assert sorted(state.column("partition").to_pylist()) == ["2026-11-18", "2026-11-19", "2026-11-20"]

    assert list(collect_from_bigquery(ctx, cfg_for(export_ref), bq_client)) == []
    assert run(collector, ctx).total_rows == 0

    bq_client.query(LATE_ROW.format(ref=export_ref)).result()  # a late credit: 11-19's max(export_time) moves
    before = lake.query("SELECT SUM(cost) AS c FROM gcp_billing_export WHERE _day != DATE '2026-11-19'").to_pylist()
    third = run(collector, ctx)
    assert (third.total_rows, third.partitions["gcp_billing_export"]) == (6, 1)  # the whole partition, once
    assert lake_counts(lake) == {**ROWS_BY_EXPORT_DAY, dt.date(2026, 11, 19): 6}
    assert (
        lake.query("SELECT SUM(cost) AS c FROM gcp_billing_export WHERE _day != DATE '2026-11-19'").to_pylist()
        == before
    )
    focus = lake.query("SELECT COUNT(*) AS n, SUM(BilledCost) - SUM(ContractedCost) AS credits FROM focus_costs "
                       "WHERE _day = DATE '2026-11-19'").to_pylist()[0]  # fmt: skip
    assert focus["n"] == 6
    assert focus["credits"] == pytest.approx(lake.query(
        "SELECT SUM((SELECT SUM(c.amount) FROM UNNEST(credits) AS c)) AS x FROM gcp_billing_export "
        "WHERE _day = DATE '2026-11-19'").column("x")[0].as_py())  # fmt: skip


def test_in_place_ingest_writes_no_rows_but_records_watermarks_and_refreshes_the_rollup(
    in_place: BigQueryWarehouse, export_ref: str, bq_client: Any, ctx: RunContext
) -> None:
    bq_ctx = RunContext(ctx.settings, in_place, ctx.clock)
    collector = GcpBillingCollector(cfg_for(export_ref), bq_client)
    first = run(collector, bq_ctx)
    assert (first.total_rows, first.partitions["gcp_billing_export"]) == (0, 3)
    assert first.derived_rows > 0  # cost_daily refreshed from focus_costs over the view
    assert rollup(in_place) == ROWS_BY_EXPORT_DAY
    states = in_place.query(
        "SELECT COUNT(*) AS n FROM ingest_state WHERE source = @s", {"s": f"gcp_billing:{export_ref}"}
    )
    assert states.column("n").to_pylist() == [3]
    second = run(collector, bq_ctx)
    assert (second.partitions, second.derived_rows) == ({}, 0)

    bq_client.query(LATE_ROW.format(ref=export_ref)).result()
    third = run(collector, bq_ctx)
    assert third.partitions == {"gcp_billing_export": 1}
    assert rollup(in_place) == {**ROWS_BY_EXPORT_DAY, dt.date(2026, 11, 19): 6}
    focus = in_place.query("SELECT COUNT(*) AS n FROM focus_costs WHERE _day = DATE '2026-11-19'")
    assert focus.column("n").to_pylist() == [6]


def rollup(wh: BigQueryWarehouse) -> dict[dt.date, int]:
    """Charges per ingest partition in the cost_daily rollup."""
    out = wh.query(
        "SELECT _day, SUM(charges) AS n FROM cost_daily WHERE x_SourceTable = 'gcp_billing_export' GROUP BY _day"
    )
    return {r["_day"]: r["n"] for r in out.to_pylist()}


def test_unreachable_bigquery_is_a_source_error(ctx: RunContext) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = make_client("test-project", f"http://127.0.0.1:{port}")
    with pytest.raises(SourceError, match="gcp billing export"):
        list(collect_from_bigquery(ctx, cfg_for("test-project.billing.export"), dead, retry_deadline_s=1))
