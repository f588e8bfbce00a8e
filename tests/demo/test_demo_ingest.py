"""The demo end to end: files written, ingested through the real gcp-billing and databricks collectors,
then read back from focus_costs. One 90-day run (module fixture) serves the totals tests; small runs
check idempotence. All data is synthetic (spendscope.demo), in the real upstream formats.
"""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path
from typing import Any

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.demo import DemoResult, run_demo

END = dt.date(2026, 11, 21)
CLOCK = fixed_clock(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC))


def _settings(root: Path) -> Settings:
    return Settings.model_validate({"home": str(root / "home"), "warehouse": {"path": str(root / "lake")}})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, DuckDbLake]:
    root = tmp_path_factory.mktemp("demo90")
    settings = _settings(root)
    lake = DuckDbLake(settings.warehouse.path)
    return run_demo(settings, days=90, seed=7, end=END, warehouse=lake, clock=CLOCK), lake


def _window(lake: DuckDbLake, start: dt.date, days: int) -> dict[str, float]:
    got = lake.query(
        """SELECT SUM(BilledCost) AS total, SUM(IF(x_Platform = 'databricks', BilledCost, 0)) AS dbx
           FROM focus_costs WHERE ChargePeriodStart >= @a AND ChargePeriodStart < @b""",
        {"a": dt.datetime.combine(start, dt.time(), dt.UTC),
         "b": dt.datetime.combine(start + dt.timedelta(days=days), dt.time(), dt.UTC)},
    ).to_pylist()[0]  # fmt: skip
    return {"total": got["total"], "share": got["dbx"] / got["total"]}


def _daily(lake: DuckDbLake) -> dict[dt.date, float]:
    rows = lake.query("SELECT DATE(ChargePeriodStart) AS d, SUM(BilledCost) AS c FROM focus_costs GROUP BY d")
    return {r["d"]: r["c"] for r in rows.to_pylist()}


def test_files_are_written_under_home_demo(demo: tuple[DemoResult, DuckDbLake]) -> None:
    result, _ = demo
    assert result.out_dir.name == "demo" and result.out_dir.parent.name == "home"
    assert all(f.path.is_file() and f.rows > 0 for f in result.files)
    assert result.start == END - dt.timedelta(days=89)


def test_first_30_days_near_62_5k_nearly_all_gcp(demo: tuple[DemoResult, DuckDbLake]) -> None:
    result, lake = demo
    first = _window(lake, result.start, 30)
    assert 62_500 * 0.9 <= first["total"] <= 62_500 * 1.1
    assert first["share"] < 0.05


def test_last_30_days_near_41_5k_with_60_percent_databricks(demo: tuple[DemoResult, DuckDbLake]) -> None:
    _, lake = demo
    last = _window(lake, END - dt.timedelta(days=29), 30)
    assert 41_500 * 0.9 <= last["total"] <= 41_500 * 1.1
    assert 0.55 <= last["share"] <= 0.65


def test_every_row_ingested_and_priced(demo: tuple[DemoResult, DuckDbLake]) -> None:
    result, lake = demo
    sql = "SELECT x_SourceTable, COUNT(*) AS n FROM focus_costs WHERE BilledCost IS NOT NULL GROUP BY 1"
    counts = {r["x_SourceTable"]: r["n"] for r in lake.query(sql).to_pylist()}
    by_table = {f.table: f.rows for f in result.files}
    assert counts == {"gcp_billing_export": by_table["gcp_billing_export"],
                      "databricks_usage": by_table["system.billing.usage"]}  # fmt: skip
    assert not any(s.quarantined for s in result.summaries)


def test_spike_day_stands_out(demo: tuple[DemoResult, DuckDbLake]) -> None:
    result, lake = demo
    assert result.spike is not None
    daily = _daily(lake)
    around = [daily[result.spike.day + dt.timedelta(days=k)] for k in range(-7, 8) if k]
    assert daily[result.spike.day] > 1.8 * statistics.median(around)
    spot = lake.query(
        """SELECT EXTRACT(HOUR FROM ChargePeriodStart) AS h, COUNT(DISTINCT ResourceName) AS vms
           FROM focus_costs WHERE DATE(ChargePeriodStart) = @d AND x_IsSpot AND x_GpuModel = 'H100'
           GROUP BY h""",
        {"d": result.spike.day},
    ).to_pylist()
    vms = {r["h"]: r["vms"] for r in spot}
    assert max(vms.values()) == result.spike.nodes + 1 and vms[14] == result.spike.nodes + 1


def test_labels_present_on_both_platforms(demo: tuple[DemoResult, DuckDbLake]) -> None:
    _, lake = demo
    rows = lake.query(
        """SELECT x_Platform, x_Team, x_Env, x_Workload, SUM(BilledCost) AS c FROM focus_costs
           GROUP BY ALL""").to_pylist()  # fmt: skip
    total = sum(r["c"] for r in rows)
    untagged = sum(r["c"] for r in rows if r["x_Team"] is None)
    assert untagged / total < 0.01  # only the GKE cluster fee carries no team
    assert {r["x_Team"] for r in rows} - {None} == {"ml-research", "ml-platform", "inference", "data-eng"}
    assert {r["x_Env"] for r in rows} - {None} == {"prod", "dev"}
    workloads = {r["x_Workload"] for r in rows} - {None}
    assert workloads == {"training", "inference", "batch", "analytics", "notebook"}
    assert {r["x_Platform"] for r in rows} == {"gce", "gke", "databricks"}
    dbx_teams = {r["x_Team"] for r in rows if r["x_Platform"] == "databricks"}
    assert dbx_teams == {"ml-research", "ml-platform", "inference", "data-eng"}


def test_credits_lower_billed_cost(demo: tuple[DemoResult, DuckDbLake]) -> None:
    _, lake = demo
    got = lake.query(
        """SELECT c.type AS type, COUNT(*) AS n, SUM(c.amount) AS amount
           FROM gcp_billing_export, UNNEST(credits) AS c GROUP BY 1""").to_pylist()  # fmt: skip
    by_type = {r["type"]: r for r in got}
    assert {"COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE", "COMMITTED_USAGE_DISCOUNT", "SUSTAINED_USAGE_DISCOUNT"} <= set(
        by_type
    )
    assert all(r["amount"] < 0 for r in got)
    cost = lake.query(
        """SELECT SUM(BilledCost) AS billed, SUM(ListCost) AS list FROM focus_costs
           WHERE x_SourceTable = 'gcp_billing_export'"""
    ).to_pylist()[0]
    assert cost["billed"] < cost["list"]


def test_jobs_price_change_gives_two_price_periods(demo: tuple[DemoResult, DuckDbLake]) -> None:
    _, lake = demo
    got = (
        lake.query(
            "SELECT DISTINCT ContractedUnitPrice AS p FROM focus_costs WHERE SkuId = 'PREMIUM_JOBS_COMPUTE' ORDER BY p"
        )
        .column("p")
        .to_pylist()
    )
    assert got == [0.15, 0.17]


def test_idle_stretches_bill_every_hour(demo: tuple[DemoResult, DuckDbLake]) -> None:
    result, lake = demo
    for stretch in result.idle:
        hours = int((stretch.end - stretch.start).total_seconds() // 3600)
        label = "databricks-cluster-name" if stretch.platform == "databricks" else None
        where = (f"EXISTS (SELECT 1 FROM UNNEST(labels) AS l WHERE l.key = '{label}' AND l.value = @k)"
                 if label else "resource.name = @k")  # fmt: skip
        got = lake.query(
            f"""SELECT COUNT(DISTINCT usage_start_time) AS n FROM gcp_billing_export
                WHERE {where} AND sku.description LIKE 'Nvidia H100%'
                  AND usage_start_time >= @a AND usage_start_time < @b AND usage.amount = 8 * 3600""",
            {"k": stretch.key, "a": stretch.start, "b": stretch.end},
        ).to_pylist()[0]
        assert got["n"] == hours, stretch


def test_late_adjustment_rows(demo: tuple[DemoResult, DuckDbLake]) -> None:
    _, lake = demo
    got = lake.query(
        """SELECT cost, adjustment_info.type AS t, TIMESTAMP_DIFF(export_time, usage_end_time, HOUR) AS lag
           FROM gcp_billing_export WHERE cost_type = 'adjustment'"""
    ).to_pylist()
    assert len(got) == 3
    assert all(r["cost"] < 0 and r["t"] == "USAGE_CORRECTION" and r["lag"] >= 72 for r in got)


def test_result_prints_files_rows_and_monthly_totals(demo: tuple[DemoResult, DuckDbLake]) -> None:
    result, _ = demo
    text = str(result)
    assert "gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9-000000000000.json" in text
    assert "system.billing.usage.json" in text and "monthly totals" in text
    assert [m.label for m in result.months] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    first, last = result.windows
    assert first.label == "first 30 days" and 56_250 <= first.total <= 68_750
    assert last.label == "last 30 days" and 0.55 <= last.databricks / last.total <= 0.65
    assert "spike:" in text and "idle:" in text
    assert sum(m.total for m in result.months) == pytest.approx(sum(_daily(demo[1]).values()), rel=1e-9)


def test_running_twice_does_not_double(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    lake = DuckDbLake(settings.warehouse.path)
    kwargs: dict[str, Any] = {"days": 3, "seed": 11, "end": END, "warehouse": lake, "clock": CLOCK}
    first = run_demo(settings, **kwargs)
    n1 = lake.query("SELECT COUNT(*) AS n FROM focus_costs").to_pylist()[0]["n"]
    second = run_demo(settings, **kwargs)
    n2 = lake.query("SELECT COUNT(*) AS n FROM focus_costs").to_pylist()[0]["n"]
    assert n1 == n2
    assert [m.total for m in second.months] == pytest.approx([m.total for m in first.months])
    assert sum(m.total for m in first.months) > 2_000
