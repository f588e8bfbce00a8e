"""Cost summaries, shared by `spendscope costs`, the dashboard and (later) the daily email.

They read the `cost_daily` rollup (small, refreshed per ingested partition); only a dimension the rollup
does not carry (`sku`) falls back to the `focus_costs` view. Days are reporting days in the configured
time zone; money is summed in SQL and rounded only for display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyarrow as pa

from exporters.warehouse.engine import Warehouse
from spendscope.errors import SpendscopeError

# --by name → expression over cost_daily (BigQuery dialect)
DIMENSIONS: dict[str, str] = {
    "provider": "provider",
    "platform": "platform",
    "service": "service",
    "category": "category",
    "team": "IFNULL(team, '(untagged)')",
    "env": "IFNULL(env, '(untagged)')",
    "workload": "IFNULL(workload, '(untagged)')",
    "project": "IFNULL(project, '(none)')",
    "account": "account",
    "gpu": "IFNULL(gpu, '(no GPU)')",
    "sku": "ChargeDescription",
    "day": "day",
    "month": "FORMAT_DATE('%Y-%m', day)",
    "currency": "IFNULL(currency, 'USD')",
}
# Dimensions only the detailed view has: the query then reads focus_costs, rolled up the same way.
_DETAIL_ONLY = {"sku"}
_DETAIL = """(SELECT DATE(ChargePeriodStart, @tz) AS day, ChargeDescription, BillingCurrency AS currency,
                     BilledCost AS billed_cost,
                     ListCost AS list_cost, 1 AS charges, IF(BilledCost IS NULL, 1, 0) AS unpriced
              FROM focus_costs)"""


class StaleRollupError(SpendscopeError):
    """cost_daily was built for another reporting time zone."""


def _source(wh: Warehouse, by: Sequence[str], tz: str) -> str:
    if _DETAIL_ONLY & set(by):
        return _DETAIL
    other = wh.query("SELECT ANY_VALUE(tz) AS tz FROM cost_daily WHERE tz != @tz", {"tz": tz}).column("tz")[0]
    if other.as_py() is not None:
        raise StaleRollupError(
            f"the cost rollup was built for time zone {other.as_py()!r}, the config says {tz!r}: "
            "run `spendscope rebuild`"
        )
    return "cost_daily"


def summary(wh: Warehouse, by: Sequence[str], since: dt.date | None, until: dt.date | None, tz: str) -> pa.Table:
    """Billed and list cost grouped by `by` between reporting days `since`..`until` inclusive.

    Money in different billing currencies is never added up: `currency` is always a grouping column.
    """
    unknown = [b for b in by if b not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown --by {', '.join(unknown)}; valid: {', '.join(DIMENSIONS)}")
    by = [*by, "currency"] if "currency" not in by else list(by)
    dims = [f"{DIMENSIONS[b]} AS {b}" for b in by]
    group = ", ".join(str(i + 1) for i in range(len(by)))
    order = ", ".join(by) if "day" in by or "month" in by else "billed_cost DESC"
    where = ["TRUE"]
    if since is not None:
        where.append("day >= @since")
    if until is not None:
        where.append("day <= @until")
    sql = f"""
        SELECT {", ".join(dims) + "," if dims else ""}
               SUM(billed_cost) AS billed_cost,
               SUM(list_cost) AS list_cost,
               SUM(list_cost) - SUM(billed_cost) AS savings,
               CAST(SUM(charges) AS INT64) AS charges,
               CAST(SUM(unpriced) AS INT64) AS unpriced
        FROM {_source(wh, by, tz)}
        WHERE {" AND ".join(where)}
        {"GROUP BY " + group if dims else ""}
        {"ORDER BY " + order if dims else ""}
    """
    return wh.query(sql, {"tz": tz, "since": since, "until": until})


def daily_by(wh: Warehouse, dim: str, since: dt.date, until: dt.date, tz: str) -> pa.Table:
    """Daily billed cost split by one dimension: columns day, <dim>, billed_cost, …"""
    return summary(wh, ["day", dim], since, until, tz)


def month_to_date(wh: Warehouse, today: dt.date, tz: str, currency: str = "USD") -> dict[str, float]:
    """Month-to-date, yesterday and the same span of last month, billed, in one billing currency."""
    first = today.replace(day=1)
    prev_first = (first - dt.timedelta(days=1)).replace(day=1)
    prev_same = prev_first + (today - first)
    sql = f"""
        SELECT
          SUM(IF(day >= @first AND day <= @today, billed_cost, 0)) AS mtd,
          SUM(IF(day = @yesterday, billed_cost, 0)) AS yesterday,
          SUM(IF(day >= @prev_first AND day <= @prev_same, billed_cost, 0)) AS prev_mtd
        FROM {_source(wh, [], tz)}
        WHERE day >= @prev_first AND IFNULL(currency, 'USD') = @currency
    """
    params = {"tz": tz, "currency": currency, "first": first, "today": today, "yesterday": today - dt.timedelta(days=1),
              "prev_first": prev_first, "prev_same": prev_same}  # fmt: skip
    row = wh.query(sql, params).to_pylist()[0]
    return {k: float(v or 0.0) for k, v in row.items()}


def freshness(wh: Warehouse) -> pa.Table:
    """How far each source's data reaches: last charge end per source table and provider."""
    return wh.query(
        """
        SELECT x_SourceTable AS source, provider, MAX(data_until) AS data_until, CAST(SUM(charges) AS INT64) AS charges
        FROM cost_daily GROUP BY 1, 2 ORDER BY 1, 2
        """
    )
