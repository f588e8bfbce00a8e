"""cost_daily: reporting days come out right across DST changes and in zones offset by 30 or 45 minutes."""

from __future__ import annotations

import datetime as dt

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from tests.seed import seed_costs

UTC = dt.UTC


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Asia/Kolkata", "Asia/Kathmandu", "UTC"])
def test_rollup_days_match_a_direct_conversion(lake: DuckDbLake, tz: str) -> None:
    # Every quarter hour across the 2026-11-01 DST change in Los Angeles, plus a very late charge (2024)
    # outside the quarter-hour lookup window, converted row by row.
    start = dt.datetime(2026, 10, 31, 12, tzinfo=UTC)
    rows = [
        {
            "BilledCost": 1.0,
            "ProviderName": "P",
            "ServiceName": "S",
            "ChargePeriodStart": start + dt.timedelta(minutes=m),
        }
        for m in range(0, 36 * 60, 15)
    ]
    rows.append({"BilledCost": 7.0, "ProviderName": "P", "ServiceName": "S",
                 "ChargePeriodStart": dt.datetime(2024, 2, 29, 23, 50, tzinfo=UTC), "_day": start.date()})  # fmt: skip
    seed_costs(lake, rows, tz=tz)
    direct = lake.query(
        "SELECT DATE(ChargePeriodStart, @tz) AS day, SUM(BilledCost) AS c FROM focus_costs GROUP BY 1 ORDER BY 1",
        {"tz": tz},
    ).to_pylist()
    rolled = lake.query("SELECT day, SUM(billed_cost) AS c FROM cost_daily GROUP BY 1 ORDER BY 1").to_pylist()
    assert rolled == direct
    assert sum(r["c"] for r in rolled) == len(rows) - 1 + 7.0
