"""Live pull cost correctness and incremental re-pulls.

The REAL databricks-sdk WorkspaceClient talks to a local HTTP server on 127.0.0.1 (sql_api_stub.py),
not Databricks; it answers usage statements with the fixture rows whose usage_date lies in the
statement's [:since, :until) range, as the warehouse would.
"""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from collectors.base import RunContext
from collectors.databricks.collector import DatabricksCollector
from collectors.databricks.pull import source_name
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import ingest
from spendscope.clock import fixed_clock
from tests.databricks.conftest import EXPECTED_TOTAL, total_cost
from tests.databricks.sql_api_stub import SqlApiStub

pytestmark = pytest.mark.integration


def _cost_by_record(lake: DuckDbLake) -> dict[str, float | None]:
    got = lake.query(
        "SELECT u.record_id, f.BilledCost FROM focus_costs AS f JOIN databricks_usage AS u "
        "ON f.ChargePeriodStart = u.usage_start_time AND f.ChargePeriodEnd = u.usage_end_time "
        "AND f.SkuId = u.sku_name AND f.ConsumedQuantity = u.usage_quantity"
    )
    return {r["record_id"][-2:]: r["BilledCost"] for r in got.to_pylist()}


def test_cost_is_quantity_times_price_valid_at_usage_end_with_config_fallback(
    api: SqlApiStub, api_collector: DatabricksCollector, ctx: RunContext, lake: DuckDbLake
) -> None:
    ingest.run(api_collector, ctx)

    cost = _cost_by_record(lake)
    assert cost["01"] == pytest.approx(12.5 * 0.15)  # before the price change
    assert cost["02"] == pytest.approx(10 * 0.18)  # ends exactly at the change: the new price applies
    assert cost["03"] == pytest.approx(8 * 0.18)
    assert cost["04"] == pytest.approx(-8 * 0.18)  # retraction
    assert cost["05"] == pytest.approx(6 * 0.18)  # restatement
    assert cost["06"] == pytest.approx(3 * 0.55)
    assert cost["07"] == pytest.approx(2 * 0.70)  # promotional effective_list beats default 0.88
    assert cost["08"] == pytest.approx(100 * 0.07)
    assert cost["09"] == pytest.approx(4 * 0.35)  # no list price: config fallback
    assert cost["10"] is None  # GB row: kept, unpriced
    assert total_cost(lake) == pytest.approx(EXPECTED_TOTAL)
    listed = lake.query("SELECT ListCost FROM focus_costs WHERE SkuId LIKE '%SERVERLESS_SQL%'")
    assert listed.column("ListCost")[0].as_py() == pytest.approx(2 * 0.88)


def test_incremental_repull_replaces_trailing_days_without_doubling(
    api: SqlApiStub, api_collector: DatabricksCollector, ctx: RunContext, lake: DuckDbLake
) -> None:
    ingest.run(api_collector, ctx)
    assert total_cost(lake) == pytest.approx(EXPECTED_TOTAL)
    prices_version = lake.table_version("databricks_list_prices")

    # Next day: a late row for 2026-11-16 and a restated quantity on 2026-11-17 (both inside the
    # trailing window: last day 11-17 − 2 days = 11-15), and a correction for 2026-11-14, before it:
    # a RETRACTION of record 01 and its RESTATEMENT, ingested 2026-11-21.
    late = copy.deepcopy(api.usage[5])
    late.update(record_id="a1f0c3e2-0011-4d6e-9b1a-000000000011", usage_quantity="2.0", ingestion_date="2026-11-20")
    api.usage.append(late)
    api.usage[7]["usage_quantity"] = "120.0"
    for n, (kind, qty) in enumerate([("RETRACTION", "-12.5"), ("RESTATEMENT", "11.0")], start=12):
        fix = copy.deepcopy(api.usage[0])
        fix.update(record_id=f"a1f0c3e2-00{n}-4d6e-9b1a-0000000000{n}", record_type=kind, usage_quantity=qty,
                   ingestion_date="2026-11-21")  # fmt: skip
        api.usage.append(fix)
    later = RunContext(ctx.settings, lake, fixed_clock(dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)))
    before = len(api.statements())
    ingest.run(api_collector, later)

    late_probe, late_day, window = [b["parameters"] for b in api.statements()[before + 1 :]]
    # The watermark is the latest ingestion_date pulled (2026-11-18).
    assert late_probe == [{"name": "mark", "type": "DATE", "value": "2026-11-18"},
                          {"name": "since", "type": "DATE", "value": "2026-11-15"}]  # fmt: skip
    assert [p.get("value") for p in late_day] == ["2026-11-14", "2026-11-15"]
    assert [p.get("value") for p in window] == ["2026-11-15", None]
    assert api.problems == []
    expected = EXPECTED_TOTAL + 2 * 0.55 + 20 * 0.07 + (-12.5 + 11.0) * 0.15
    assert total_cost(lake) == pytest.approx(expected)
    assert lake.query("SELECT COUNT(*) AS n FROM databricks_usage").column("n")[0].as_py() == 13
    # list_prices did not change, so it was not rewritten (no needless full re-pricing).
    assert lake.table_version("databricks_list_prices") == prices_version

    ingest.run(api_collector, later)  # the same pull again: same totals
    assert total_cost(lake) == pytest.approx(expected)
    assert lake.query("SELECT COUNT(*) AS n FROM focus_costs").column("n")[0].as_py() == 13


def test_ingest_state_records_each_usage_date(
    api: SqlApiStub, api_collector: DatabricksCollector, ctx: RunContext, lake: DuckDbLake
) -> None:
    ingest.run(api_collector, ctx)

    got = lake.query("SELECT * FROM ingest_state ORDER BY `partition`").to_pylist()
    assert {r["source"] for r in got} == {source_name(api.url)}
    assert [(r["partition"], r["rows"]) for r in got] == [("2026-11-14", 2), ("2026-11-16", 5), ("2026-11-17", 3)]
    # Watermark: the latest ingestion_date of the day's rows; max_usage_end: how far its usage reaches.
    assert got[0]["watermark"] == dt.datetime(2026, 11, 15, tzinfo=dt.UTC)
    assert got[2]["max_usage_end"] == dt.datetime(2026, 11, 18, tzinfo=dt.UTC)


def test_pull_in_windows_sends_bounded_date_ranges(
    api: SqlApiStub, api_collector: DatabricksCollector, ctx: RunContext, lake: DuckDbLake
) -> None:
    api_collector.window_days = 3

    ingest.run(api_collector, ctx)

    ranges = [tuple(p.get("value") for p in body["parameters"]) for body in api.statements() if body.get("parameters")]
    assert ranges == [
        ("2026-11-10", "2026-11-13"),
        ("2026-11-13", "2026-11-16"),
        ("2026-11-16", "2026-11-19"),
        ("2026-11-19", None),
    ]
    assert api.problems == []
    assert total_cost(lake) == pytest.approx(EXPECTED_TOTAL)
