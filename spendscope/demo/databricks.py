"""Databricks `system.billing.usage` and `system.billing.list_prices` rows for the plan (formats.md §2).

Usage rows are hourly per compute resource, in DBUs, `record_type` ORIGINAL; `custom_tags` is a map
(a dict here, a JSON object once written). Prices are list prices with one change (PREMIUM_JOBS_COMPUTE)
inside the window, so cost depends on the price period each usage hour falls in.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

from spendscope.demo.plan import Plan, Run, diurnal
from spendscope.demo.workspace import DBU_PRICES, DBX, DBX_ACCOUNT, DBX_WORKSPACE, JOBS, JOBS_PRICE_AFTER, DbxCompute

Row = dict[str, Any]
HOUR = dt.timedelta(hours=1)
PRICES_SINCE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _hours(run: Run) -> Iterator[tuple[dt.datetime, int]]:
    hour = run.start.replace(minute=0, second=0, microsecond=0)
    while hour < run.end:
        used = int((min(run.end, hour + HOUR) - max(run.start, hour)).total_seconds())
        if used > 0:
            yield hour, used
        hour += HOUR


def _quantity(c: DbxCompute, run: Run, hour: dt.datetime, used: int) -> float:
    load = diurnal(hour.hour) if c.product == "MODEL_SERVING" else 1.0
    return round(c.dbu_per_node_hour * run.nodes * load * used / 3600, 6)


def usage_rows(plan: Plan) -> list[Row]:
    """Every usage row of the plan's Databricks runs, sorted by hour and resource."""
    rng = random.Random(plan.seed * 104729 + 2)
    rows: list[Row] = []
    for run in plan.runs:
        c = DBX.get(run.key)
        if c is None:
            continue
        meta = dict(c.metadata)
        if "job_id" in meta:
            meta["job_run_id"] = str(rng.randrange(10**14, 10**15))
        for hour, used in _hours(run):
            start = hour
            # Records land within ~12 hours (formats.md §2.1): late-evening hours are ingested the next day.
            ingestion = (start + dt.timedelta(hours=6)).date()
            identity = {"run_as": c.run_as} if c.product != "ALL_PURPOSE" else {"owned_by": "researcher@acme.example"}
            rows.append(
                {
                    "record_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "account_id": DBX_ACCOUNT,
                    "workspace_id": DBX_WORKSPACE,
                    "sku_name": c.sku,
                    "cloud": "GCP",
                    "usage_start_time": start,
                    "usage_end_time": start + HOUR,
                    "usage_date": start.date(),
                    "custom_tags": dict(c.tags),
                    "usage_unit": "DBU",
                    "usage_quantity": _quantity(c, run, hour, used),
                    "usage_metadata": meta,
                    "identity_metadata": identity,
                    "record_type": "ORIGINAL",
                    "ingestion_date": ingestion,
                    "billing_origin_product": c.product,
                    "product_features": dict(c.features),
                    "usage_type": "COMPUTE_TIME",
                }
            )
    rows.sort(key=lambda r: (r["usage_start_time"], r["sku_name"], r["record_id"]))
    return rows


def _price(value: float) -> dict[str, Any]:
    # Decimal strings, as the documentation example shows them (formats.md §2.4).
    whole, frac = f"{value:.6f}".rstrip("0").split(".")
    text = f"{whole}.{frac:0<2}"
    return {"default": text, "promotional": {"default": text}, "effective_list": {"default": text}}


def list_price_rows(plan: Plan) -> list[Row]:
    """One row per SKU and price period; the JOBS SKU changes price at `plan.jobs_price_change`."""
    rows: list[Row] = []
    for sku, price in sorted(DBU_PRICES.items()):
        periods: list[tuple[dt.datetime, dt.datetime | None, float]] = [(PRICES_SINCE, None, price)]
        if sku == JOBS and plan.jobs_price_change is not None:
            periods = [(PRICES_SINCE, plan.jobs_price_change, price), (plan.jobs_price_change, None, JOBS_PRICE_AFTER)]
        for start, end, value in periods:
            row: Row = {"price_start_time": start, "price_end_time": end}
            if end is None:
                del row["price_end_time"]  # current price: NULL, left out of the JSON
            rows.append(
                {
                    **row,
                    "account_id": DBX_ACCOUNT,
                    "sku_name": sku,
                    "cloud": "GCP",
                    "currency_code": "USD",
                    "usage_unit": "DBU",
                    "pricing": _price(value),
                }
            )
    return rows
