"""Seed the warehouse the way an ingest would: FOCUS rows into `focus_import`, then the cost_daily rollup.

Synthetic rows for CLI and dashboard tests; they go through the same view and rollup SQL as real data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from exporters.warehouse import derive
from exporters.warehouse.engine import Warehouse

TZ = "America/Los_Angeles"


def seed_costs(wh: Warehouse, rows: list[dict[str, Any]], tz: str = TZ) -> None:
    """Each row needs BilledCost, ProviderName, ServiceName and ChargePeriodStart; the rest is filled in."""
    full = []
    for r in rows:
        start: dt.datetime = r["ChargePeriodStart"]
        full.append(
            {
                "ChargePeriodEnd": start + dt.timedelta(hours=1),
                "ChargeCategory": "Usage",
                "BillingCurrency": "USD",
                "x_SourceFile": "seed.csv",
                "_day": start.date(),
                "_source": "seed",
                **r,
            }
        )
    days = sorted({r["_day"] for r in full})
    wh.replace("focus_import", pa.Table.from_pylist(full), [{"x_SourceFile": "seed.csv", "_day": d} for d in days])
    derive.refresh(wh, "focus_import", days, tz)
