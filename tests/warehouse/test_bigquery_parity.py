"""Same input, same SQL, same answers: the synthetic export fixture ingested through the real runner into the
DuckDB lake and into BigQuery (the real google-cloud-bigquery client against `bqemulator` on loopback), then
focus_costs derived by each engine from the one BigQuery-dialect SQL file and queried with the same SQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from collectors.base import RunContext
from collectors.gcp_billing import parse_parquet
from collectors.gcp_billing.collector import GcpBillingCollector
from exporters.warehouse.bigquery import BigQueryWarehouse
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.engine import Warehouse
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.ingest import run
from tests.conftest import FIXTURES
from tests.gcp_billing.conftest import make_parquet

pytestmark = pytest.mark.integration

EXPORT = str(FIXTURES / "gcp_billing" / "export.ndjson")
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)

SUMMARIES = {
    "raw": """SELECT billing_account_id, _day, COUNT(*) AS n, SUM(cost) AS cost,
                     SUM(IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0)) AS credits
              FROM gcp_billing_export GROUP BY billing_account_id, _day""",
    "by_team_platform_day": """SELECT x_Team, x_Platform, DATE(ChargePeriodStart) AS d, SUM(BilledCost) AS billed,
                                      SUM(ListCost) AS list, COUNT(*) AS n
                               FROM focus_costs GROUP BY x_Team, x_Platform, d""",
    "gpu_hours": """SELECT x_GpuModel, x_IsSpot,
                           SUM(x_GpuCount * TIMESTAMP_DIFF(ChargePeriodEnd, ChargePeriodStart, SECOND)) / 3600 AS h
                    FROM focus_costs WHERE x_GpuModel IS NOT NULL GROUP BY x_GpuModel, x_IsSpot""",
    "by_service": """SELECT ServiceName, ServiceCategory, ChargeCategory, PricingCategory, SUM(EffectiveCost) AS c
                     FROM focus_costs WHERE _day IN UNNEST(@days) GROUP BY 1, 2, 3, 4""",
    # Both rollups, which one GROUPING SETS query (sql/cost_rollups.sql) derives on each engine.
    "cost_daily": """SELECT day, tz, provider, platform, service, team, env, project, gpu, is_spot, charge_category,
                            billed_cost, list_cost, gpu_hours, charges, unpriced, data_until, _day FROM cost_daily""",
    "cost_hourly": """SELECT hour, provider, platform, service, team, project, billed_cost, effective_cost, charges,
                             data_until, _day FROM cost_hourly""",
}


def normalized(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, Any], ...]]:
    """Rows as sorted tuples: floats rounded (summation order differs), instants compared in UTC."""

    def value(v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 6)
        if isinstance(v, dt.datetime):
            return v.astimezone(dt.UTC)
        return v

    return sorted((tuple(sorted((k, value(v)) for k, v in r.items())) for r in rows), key=repr)


def ingest(wh: Warehouse, ctx: RunContext) -> int:
    summary = run(
        GcpBillingCollector(ctx.settings.collectors.gcp_billing), RunContext(ctx.settings, wh, ctx.clock), [EXPORT]
    )
    return summary.total_rows


@pytest.fixture(scope="module")
def bq_ingested(bq_shared: BigQueryWarehouse, tmp_path_factory: pytest.TempPathFactory) -> BigQueryWarehouse:
    """The export fixture ingested once into the module's BigQuery warehouse."""
    settings = Settings.model_validate({"home": str(tmp_path_factory.mktemp("home"))})
    assert ingest(bq_shared, RunContext(settings, bq_shared, fixed_clock(NOW))) == 12
    return bq_shared


def test_the_same_export_gives_the_same_focus_rows_and_summaries_on_both_engines(
    ctx: RunContext, lake: DuckDbLake, bq_ingested: BigQueryWarehouse
) -> None:
    assert ingest(lake, ctx) == 12
    days = sorted(lake.query("SELECT DISTINCT _day FROM gcp_billing_export").column("_day").to_pylist())
    for name, sql in SUMMARIES.items():
        duck = normalized(lake.query(sql, {"days": days}).to_pylist())
        bq = normalized(bq_ingested.query(sql, {"days": days}).to_pylist())
        assert duck, name
        assert bq == duck, name
    focus_duck = normalized(lake.query("SELECT * FROM focus_costs").to_pylist())
    focus_bq = normalized(bq_ingested.query("SELECT * FROM focus_costs").to_pylist())
    assert len(focus_bq) == 12
    assert focus_bq == focus_duck


def test_a_parquet_export_read_with_dictionaries_lands_in_bigquery_as_the_ndjson_did(
    ctx: RunContext, bq_ingested: BigQueryWarehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Parquet twin, its strings read as dictionaries (threshold lowered to the fixture's row groups), replaces
    the NDJSON's partitions with the same rows: BigQuery's load takes them as text."""
    monkeypatch.setattr(parse_parquet, "DICTIONARY_MIN_ROWS", 1)
    sql = "SELECT * EXCEPT (_source) FROM gcp_billing_export"
    before = normalized(bq_ingested.query(sql).to_pylist())
    path = make_parquet.write(tmp_path / "export.parquet")
    wh_ctx = RunContext(ctx.settings, bq_ingested, ctx.clock)
    assert run(GcpBillingCollector(ctx.settings.collectors.gcp_billing), wh_ctx, [str(path)]).total_rows == 12
    assert normalized(bq_ingested.query(sql).to_pylist()) == before
    assert len(before) == 12


def test_re_ingesting_the_export_into_bigquery_does_not_double_count(
    ctx: RunContext, bq_ingested: BigQueryWarehouse
) -> None:
    sql = "SELECT COUNT(*) AS n, SUM(cost) AS c FROM gcp_billing_export"
    first = bq_ingested.query(sql).to_pylist()
    assert ingest(bq_ingested, ctx) == 12
    assert bq_ingested.query(sql).to_pylist() == first
    assert first[0]["n"] == 12
    rollup = bq_ingested.query("SELECT SUM(charges) AS n FROM cost_daily").to_pylist()
    assert rollup == [{"n": 12}]
