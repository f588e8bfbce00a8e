"""Cost filters (the dashboard's sidebar) on the cost_daily rollup: values are parameters, never SQL text."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from spendscope import costs
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
