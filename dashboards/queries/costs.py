"""Cost queries for the pages, in the `fn(wh, settings, *args)` form `dashboards.data.query` caches.

Thin: the figures come from spendscope.costs, the same functions `spendscope costs` prints, so a page and
the CLI can never disagree.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from exporters.warehouse.engine import Warehouse
from spendscope import costs
from spendscope.config import Settings
from spendscope.costs import NO_FILTER, CostFilter


def daily_by(
    wh: Warehouse, s: Settings, dim: str, since: dt.date, until: dt.date, flt: CostFilter = NO_FILTER
) -> pa.Table:
    """Daily billed cost by one dimension (columns day, <dim>, billed_cost, list_cost, …)."""
    return costs.daily_by(wh, dim, since, until, s.reporting.timezone, flt)


def summary(
    wh: Warehouse, s: Settings, by: tuple[str, ...], since: dt.date, until: dt.date, flt: CostFilter = NO_FILTER
) -> pa.Table:
    """Billed cost grouped by `by` over the window."""
    return costs.summary(wh, list(by), since, until, s.reporting.timezone, flt)


def month_to_date(wh: Warehouse, s: Settings, today: dt.date, flt: CostFilter = NO_FILTER) -> dict[str, float]:
    """Month-to-date, yesterday and last month's same span, in the reporting currency."""
    return costs.month_to_date(wh, today, s.reporting.timezone, s.reporting.currency, flt)


def headline(wh: Warehouse, s: Settings, today: dt.date, flt: CostFilter = NO_FILTER) -> dict[str, float]:
    """The Overview's figures: month to date, yesterday, the change against the same span of last month, and the
    daily burn rate — the mean of the last 7 complete reporting days (today is still being billed)."""
    tz, currency = s.reporting.timezone, s.reporting.currency
    mtd = costs.month_to_date(wh, today, tz, currency, flt)
    burn = costs.daily_average(wh, today, tz, currency, flt)
    return {**mtd, "vs_last_month": mtd["mtd"] - mtd["prev_mtd"], "daily_burn": burn}


def dimension_values(wh: Warehouse, s: Settings) -> dict[str, list[str]]:
    """The sidebar filters' choices."""
    return costs.dimension_values(wh, s.reporting.timezone)


def freshness(wh: Warehouse, s: Settings) -> pa.Table:
    """How far each source's billing data reaches."""
    return costs.freshness(wh)
