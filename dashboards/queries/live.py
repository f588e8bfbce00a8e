"""Queries of the live estimate for the dashboard and `spendscope live`: an hour's estimate by resource, the
estimate against the bill (daily and hourly), the correction factors in force, and `spend_live` by basis.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pyarrow as pa

from spendscope.live.estimate import floor_hour
from spendscope.live.factors import Factor, factors
from spendscope.live.now import live_now as live_now  # the page's "now" figures are the exporter's

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse
    from spendscope.config import Settings

HOUR_SQL = """
SELECT platform, resource_name, team, component, nodes, running,
       usd_per_hour * correction AS usd_per_hour, usd, projected_usd, correction, price_source, basis, until
FROM cost_estimates
WHERE _day = @day AND hour = @hour
ORDER BY projected_usd DESC, platform, resource_name, component
"""
DAILY_ERRORS_SQL = """
SELECT DATE(hour) AS day, platform, COUNT(*) AS hours, SUM(estimated_raw_usd) AS estimated_raw_usd,
       SUM(estimated_usd) AS estimated_usd, SUM(billed_usd) AS billed_usd,
       SUM(estimated_usd) - SUM(billed_usd) AS error_usd,
       SAFE_DIVIDE(SUM(estimated_usd) - SUM(billed_usd), SUM(billed_usd)) AS error_ratio,
       SAFE_DIVIDE(SUM(ABS(error_usd)), SUM(billed_usd)) AS hourly_abs_error_ratio
FROM estimate_errors
WHERE _day BETWEEN @first AND @last AND level = 'platform'
GROUP BY 1, 2
ORDER BY 1, 2
"""
HOURLY_SQL = """
SELECT hour, platform, estimated_usd, billed_usd, error_usd
FROM estimate_errors
WHERE _day BETWEEN @first AND @last AND level = 'platform'
ORDER BY hour, platform
"""
MISSED_SQL = """
SELECT platform, resource_id, ANY_VALUE(resource_name) AS resource_name, SUM(billed_usd) AS billed_usd,
       COUNT(*) AS hours
FROM estimate_errors
WHERE _day BETWEEN @first AND @last AND level = 'resource' AND NOT matched
GROUP BY 1, 2
ORDER BY billed_usd DESC
LIMIT 20
"""
BASIS_SQL = """
SELECT platform, basis, SUM(usd) AS usd, MIN(hour) AS first_hour, MAX(data_until) AS data_until
FROM spend_live
WHERE hour >= @start AND hour < @end
GROUP BY 1, 2
ORDER BY 1, 2
"""


def hour_estimate(wh: Warehouse, settings: Settings, at: dt.datetime) -> pa.Table:
    """The stored estimate of the UTC hour holding `at`, by resource and component, costliest first."""
    hour = floor_hour(at)
    return wh.query(HOUR_SQL, {"day": hour.date(), "hour": hour})


def live_factors(wh: Warehouse, settings: Settings, at: dt.datetime) -> tuple[Factor, ...]:
    """The correction factors in force at `at`, one per platform with history."""
    return tuple(factors(wh, settings.live, floor_hour(at)).values())


def daily_errors(wh: Warehouse, settings: Settings, first: dt.date, last: dt.date) -> pa.Table:
    """Per UTC day and platform: estimated vs billed over the hours reconciled, and the error."""
    return wh.query(DAILY_ERRORS_SQL, {"first": first, "last": last})


def hourly_errors(wh: Warehouse, settings: Settings, first: dt.date, last: dt.date) -> pa.Table:
    """Per reconciled hour and platform: estimated (corrected) and billed USD."""
    return wh.query(HOURLY_SQL, {"first": first, "last": last})


def missed_resources(wh: Warehouse, settings: Settings, first: dt.date, last: dt.date) -> pa.Table:
    """Billed resources the estimate did not see (serverless endpoints, cluster fees …), costliest first."""
    return wh.query(MISSED_SQL, {"first": first, "last": last})


def spend_by_basis(wh: Warehouse, settings: Settings, start: dt.datetime, end: dt.datetime) -> pa.Table:
    """spend_live over [start, end) per platform and basis (billed | estimated)."""
    return wh.query(BASIS_SQL, {"start": start, "end": end})


TOTALS_SQL = """
WITH days AS (
  SELECT DATE(hour) AS day, platform, SUM(estimated_usd) AS estimated, SUM(billed_usd) AS billed
  FROM estimate_errors
  WHERE _day BETWEEN @first AND @last AND level = 'platform'
  GROUP BY 1, 2
)
SELECT platform, COUNT(*) AS days, SUM(estimated) AS estimated_usd, SUM(billed) AS billed_usd,
       SAFE_DIVIDE(SUM(estimated) - SUM(billed), SUM(billed)) AS error_ratio,
       MAX(ABS(SAFE_DIVIDE(estimated - billed, billed))) AS worst_day_error_ratio
FROM days
GROUP BY platform
ORDER BY platform
"""


def estimate_vs_billed(wh: Warehouse, settings: Settings, first: dt.date, last: dt.date) -> pa.Table:
    """Per platform over UTC days first..last: estimated vs billed (reconciled hours), the error, the worst day."""
    return wh.query(TOTALS_SQL, {"first": first, "last": last})
