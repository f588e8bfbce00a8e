"""Cost summaries, shared by `spendscope costs`, the dashboard and (later) the daily email.

They read the `cost_daily` rollup (small, refreshed per ingested partition); only a dimension the rollup
does not carry (`sku`) falls back to the `focus_costs` view. Days are reporting days in the configured
time zone; money is summed in SQL and rounded only for display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


# Filterable dimensions (the dashboard's sidebar): the CostFilter field → its DIMENSIONS name.
FILTERS: dict[str, str] = {"providers": "provider", "platforms": "platform", "teams": "team",
                           "projects": "project", "envs": "env"}  # fmt: skip


@dataclass(frozen=True)
class CostFilter:
    """Keep only rows whose dimension is one of the chosen values; an empty tuple keeps everything.

    Values are compared with the displayed form (`(untagged)` matches rows without the label) and always
    passed as query parameters, never formatted into SQL.
    """

    providers: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    envs: tuple[str, ...] = ()

    def clauses(self) -> tuple[list[str], dict[str, Any]]:
        """SQL conditions over cost_daily (BigQuery dialect) and their parameters."""
        where: list[str] = []
        params: dict[str, Any] = {}
        for field, dim in FILTERS.items():
            values = getattr(self, field)
            if values:
                where.append(f"{DIMENSIONS[dim]} IN UNNEST(@f_{field})")
                params[f"f_{field}"] = list(values)
        return where, params

    @property
    def active(self) -> bool:
        return any(getattr(self, f) for f in FILTERS)


NO_FILTER = CostFilter()


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


def summary(
    wh: Warehouse,
    by: Sequence[str],
    since: dt.date | None,
    until: dt.date | None,
    tz: str,
    flt: CostFilter = NO_FILTER,
) -> pa.Table:
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
    source = _source(wh, by, tz)
    if flt.active and source != "cost_daily":
        raise ValueError(f"--by {', '.join(sorted(_DETAIL_ONLY & set(by)))} cannot be combined with filters")
    conds, fparams = flt.clauses()
    where += conds
    sql = f"""
        SELECT {", ".join(dims) + "," if dims else ""}
               SUM(billed_cost) AS billed_cost,
               SUM(list_cost) AS list_cost,
               SUM(list_cost) - SUM(billed_cost) AS savings,
               CAST(SUM(charges) AS INT64) AS charges,
               CAST(SUM(unpriced) AS INT64) AS unpriced
        FROM {source}
        WHERE {" AND ".join(where)}
        {"GROUP BY " + group if dims else ""}
        {"ORDER BY " + order if dims else ""}
    """
    return wh.query(sql, {"tz": tz, "since": since, "until": until, **fparams})


def daily_by(wh: Warehouse, dim: str, since: dt.date, until: dt.date, tz: str, flt: CostFilter = NO_FILTER) -> pa.Table:
    """Daily billed cost split by one dimension: columns day, <dim>, billed_cost, …"""
    return summary(wh, ["day", dim], since, until, tz, flt)


def dimension_values(wh: Warehouse, tz: str) -> dict[str, list[str]]:
    """The values each filterable dimension takes in cost_daily (the sidebar's choices), sorted."""
    dims = list(FILTERS.values())
    # One DISTINCT per dimension, UNION ALL'd: ARRAY_AGG would need IGNORE NULLS, which DuckDB lacks outside windows.
    source = _source(wh, [], tz)
    sql = " UNION ALL ".join(
        f"SELECT DISTINCT '{d}' AS dim, {DIMENSIONS[d]} AS value FROM {source} WHERE {DIMENSIONS[d]} IS NOT NULL"
        for d in dims
    )
    out: dict[str, list[str]] = {d: [] for d in dims}
    for row in wh.query(sql).to_pylist():
        out[row["dim"]].append(row["value"])
    return {d: sorted(v) for d, v in out.items()}


def month_to_date(
    wh: Warehouse, today: dt.date, tz: str, currency: str = "USD", flt: CostFilter = NO_FILTER
) -> dict[str, float]:
    """Month-to-date, yesterday and the same span of last month, billed, in one billing currency."""
    first = today.replace(day=1)
    prev_first = (first - dt.timedelta(days=1)).replace(day=1)
    # The same span of last month, never past its last day (Mar 31 compares with Feb 1–28, not into March).
    prev_same = min(prev_first + (today - first), first - dt.timedelta(days=1))
    conds, fparams = flt.clauses()
    sql = f"""
        SELECT
          SUM(IF(day >= @first AND day <= @today, billed_cost, 0)) AS mtd,
          SUM(IF(day = @yesterday, billed_cost, 0)) AS yesterday,
          SUM(IF(day >= @prev_first AND day <= @prev_same, billed_cost, 0)) AS prev_mtd
        FROM {_source(wh, [], tz)}
        WHERE day >= @prev_first AND IFNULL(currency, 'USD') = @currency {"".join(" AND " + c for c in conds)}
    """
    params = {"tz": tz, "currency": currency, "first": first, "today": today, "yesterday": today - dt.timedelta(days=1),
              "prev_first": prev_first, "prev_same": prev_same, **fparams}  # fmt: skip
    row = wh.query(sql, params).to_pylist()[0]
    return {k: float(v or 0.0) for k, v in row.items()}


def daily_average(
    wh: Warehouse, before: dt.date, tz: str, currency: str = "USD", flt: CostFilter = NO_FILTER, days: int = 7
) -> float:
    """Mean daily billed spend of the `days` reporting days before `before` (days without spend count as zero)."""
    table = summary(wh, ["day"], before - dt.timedelta(days=days), before - dt.timedelta(days=1), tz, flt)
    return sum(r["billed_cost"] or 0.0 for r in table.to_pylist() if r["currency"] == currency) / days


def freshness(wh: Warehouse) -> pa.Table:
    """How far each source's data reaches: last charge end per source table and provider."""
    return wh.query(
        """
        SELECT x_SourceTable AS source, provider, MAX(data_until) AS data_until, CAST(SUM(charges) AS INT64) AS charges
        FROM cost_daily GROUP BY 1, 2 ORDER BY 1, 2
        """
    )
