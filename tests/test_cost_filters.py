"""Cost filters (the dashboard's sidebar) on the cost_daily rollup: values are parameters, never SQL text."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from spendscope import costs
from spendscope.clock import fixed_clock, parse_day, today_in
from spendscope.costs import CostFilter
from tests.seed import TZ, seed_costs

DAY = dt.date(2026, 11, 10)
TS = dt.datetime(2026, 11, 10, 20, tzinfo=dt.UTC)  # midday in Los Angeles


@pytest.fixture
def lake(tmp_path: Path) -> DuckDbLake:
    wh = DuckDbLake(tmp_path / "lake")
    seed_costs(
        wh,
        [
            {"BilledCost": 100.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
             "ChargePeriodStart": TS, "Tags": json.dumps({"team": "ml-research", "env": "prod"})},
            {"BilledCost": 40.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
             "ChargePeriodStart": TS, "Tags": json.dumps({"team": "inference", "env": "dev"})},
            {"BilledCost": 7.0, "ProviderName": "Databricks", "ServiceName": "Jobs Compute", "ChargePeriodStart": TS},
        ],
    )  # fmt: skip
    return wh


def total(wh: DuckDbLake, flt: CostFilter) -> float:
    return sum(r["billed_cost"] for r in costs.summary(wh, ["provider"], DAY, DAY, TZ, flt).to_pylist())


def test_each_filter_keeps_only_the_chosen_values(lake: DuckDbLake) -> None:
    assert total(lake, CostFilter()) == pytest.approx(147.0)
    assert total(lake, CostFilter(providers=("Databricks",))) == pytest.approx(7.0)
    assert total(lake, CostFilter(teams=("ml-research", "inference"))) == pytest.approx(140.0)
    assert total(lake, CostFilter(teams=("(untagged)",))) == pytest.approx(7.0)
    assert total(lake, CostFilter(envs=("dev",), providers=("Google Cloud",))) == pytest.approx(40.0)
    mtd = costs.month_to_date(lake, DAY + dt.timedelta(days=1), TZ, flt=CostFilter(envs=("prod",)))
    assert (mtd["mtd"], mtd["yesterday"]) == (pytest.approx(100.0), pytest.approx(100.0))


def test_dimension_values_are_the_sidebar_choices(lake: DuckDbLake) -> None:
    values = costs.dimension_values(lake, TZ)
    assert values["provider"] == ["Databricks", "Google Cloud"]
    assert values["team"] == ["(untagged)", "inference", "ml-research"]


def test_injection_strings_are_only_ever_values(lake: DuckDbLake) -> None:
    evil = ("x' OR '1'='1", "'); DROP TABLE cost_daily; --", "team) OR TRUE --")
    assert total(lake, CostFilter(teams=evil, providers=evil)) == 0.0
    assert total(lake, CostFilter()) == pytest.approx(147.0)  # nothing was dropped


def test_same_span_last_month_never_reaches_into_this_month(tmp_path: Path) -> None:
    """On Mar 31 the comparison span is Feb 1–28, not Feb 1 + 30 days (which would be Mar 3)."""
    wh = DuckDbLake(tmp_path / "lake")
    at = [dt.datetime(2026, 2, 10, 20, tzinfo=dt.UTC), dt.datetime(2026, 3, 2, 20, tzinfo=dt.UTC)]
    seed_costs(
        wh, [{"BilledCost": 10.0, "ProviderName": "p", "ServiceName": "s", "ChargePeriodStart": ts} for ts in at]
    )
    mtd = costs.month_to_date(wh, dt.date(2026, 3, 31), TZ)
    assert (mtd["mtd"], mtd["prev_mtd"]) == (pytest.approx(10.0), pytest.approx(10.0))


def test_relative_days_are_reporting_days_in_the_reporting_zone() -> None:
    """At 05:00 UTC on Nov 22 it is still Nov 21 in Los Angeles: 'yesterday' there is Nov 20."""
    clock = fixed_clock(dt.datetime(2026, 11, 22, 5, tzinfo=dt.UTC))
    assert today_in(TZ, clock) == dt.date(2026, 11, 21)
    assert parse_day("yesterday", TZ, clock) == dt.date(2026, 11, 20)
    assert parse_day("-7d", TZ, clock) == dt.date(2026, 11, 14)
    assert parse_day("yesterday", "UTC", clock) == dt.date(2026, 11, 21)
