"""Cost summaries over `focus_costs`, shared by `spendscope costs`, the dashboard and (later) the email.

Days are reporting days in the configured time zone; money is summed in SQL and rounded only for display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyarrow as pa

from exporters.warehouse.engine import Warehouse

# --by name → SQL expression over focus_costs (BigQuery dialect). @tz is the reporting time zone.
DIMENSIONS: dict[str, str] = {
    "provider": "ProviderName",
    "platform": "x_Platform",
    "service": "ServiceName",
    "category": "ServiceCategory",
    "team": "IFNULL(x_Team, '(untagged)')",
    "env": "IFNULL(x_Env, '(untagged)')",
    "workload": "IFNULL(x_Workload, '(untagged)')",
    "project": "IFNULL(SubAccountId, '(none)')",
    "account": "BillingAccountId",
    "sku": "ChargeDescription",
    "gpu": "IFNULL(x_GpuModel, '(no GPU)')",
    "day": "DATE(ChargePeriodStart, @tz)",
    "month": "FORMAT_DATE('%Y-%m', DATE(ChargePeriodStart, @tz))",
}


def summary(
    wh: Warehouse,
    by: Sequence[str],
    since: dt.date | None,
    until: dt.date | None,
    tz: str,
) -> pa.Table:
    """Billed and list cost grouped by `by` dimensions between reporting days `since`..`until` inclusive."""
    unknown = [b for b in by if b not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown --by {', '.join(unknown)}; valid: {', '.join(DIMENSIONS)}")
    dims = [f"{DIMENSIONS[b]} AS {b}" for b in by]
    group = ", ".join(str(i + 1) for i in range(len(by)))
    order = ", ".join(by) if "day" in by or "month" in by else "billed_cost DESC"
    sql = f"""
        SELECT {", ".join(dims) + "," if dims else ""}
               SUM(BilledCost) AS billed_cost,
               SUM(ListCost) AS list_cost,
               SUM(ListCost) - SUM(BilledCost) AS savings,
               COUNT(*) AS charges,
               COUNTIF(BilledCost IS NULL) AS unpriced
        FROM focus_costs
        WHERE {_window(since, until)}
        {"GROUP BY " + group if dims else ""}
        {"ORDER BY " + order if dims else ""}
    """
    return wh.query(sql, {"tz": tz, "since": since, "until": until})


def _window(since: dt.date | None, until: dt.date | None) -> str:
    terms = ["TRUE"]
    if since is not None:
        terms.append("DATE(ChargePeriodStart, @tz) >= @since")
    if until is not None:
        terms.append("DATE(ChargePeriodStart, @tz) <= @until")
    return " AND ".join(terms)


def daily_by(wh: Warehouse, dim: str, since: dt.date, until: dt.date, tz: str) -> pa.Table:
    """Daily billed cost split by one dimension: columns day, <dim>, billed_cost."""
    return summary(wh, ["day", dim], since, until, tz)


def month_to_date(wh: Warehouse, today: dt.date, tz: str) -> dict[str, float]:
    """Month-to-date, yesterday and the same span of last month, in billed USD."""
    first = today.replace(day=1)
    prev_first = (first - dt.timedelta(days=1)).replace(day=1)
    prev_same = prev_first + (today - first)
    sql = """
        SELECT
          SUM(IF(d >= @first AND d <= @today, BilledCost, 0)) AS mtd,
          SUM(IF(d = @yesterday, BilledCost, 0)) AS yesterday,
          SUM(IF(d >= @prev_first AND d <= @prev_same, BilledCost, 0)) AS prev_mtd
        FROM (SELECT DATE(ChargePeriodStart, @tz) AS d, BilledCost FROM focus_costs
              WHERE DATE(ChargePeriodStart, @tz) >= @prev_first)
    """
    row = wh.query(
        sql,
        {
            "tz": tz,
            "first": first,
            "today": today,
            "yesterday": today - dt.timedelta(days=1),
            "prev_first": prev_first,
            "prev_same": prev_same,
        },
    ).to_pylist()[0]
    return {k: float(v or 0.0) for k, v in row.items()}


def freshness(wh: Warehouse) -> pa.Table:
    """How far each source's data reaches: last charge end per provider and table, and last ingest."""
    return wh.query(
        """
        SELECT x_SourceTable AS source, ProviderName AS provider,
               MAX(ChargePeriodEnd) AS data_until, COUNT(*) AS charges
        FROM focus_costs GROUP BY 1, 2 ORDER BY 1, 2
        """
    )
