"""Budget periods and end-of-period forecasts, pro-rated by how far the data reaches (never by wall-clock time).

Two methods, both reported: *run-rate* scales each source's spend in the period by the share of the period
its data covers (a source a day behind is not read as a cheap day), and *trend* fits a least-squares line
through the period's complete days and adds the line for the days still to come (an incomplete day counts
as the larger of its line value and what is already billed). Neither is made from less than
`min_coverage` of the period; a day period has no trend (cost_daily has one point per day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from alerts.rules.costdata import F64
from spendscope.clock import local_day, local_midnight

PeriodKind = Literal["day", "month", "range"]
Method = Literal["run-rate", "trend", "both", "either"]


@dataclass(frozen=True)
class Period:
    """Reporting days start..end (end exclusive) in time zone `tz`."""

    kind: PeriodKind
    start: dt.date
    end: dt.date
    tz: str

    @cached_property
    def start_at(self) -> dt.datetime:
        return local_midnight(self.start, self.tz)

    @cached_property
    def end_at(self) -> dt.datetime:
        return local_midnight(self.end, self.tz)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def clamp(self, at: dt.datetime) -> dt.datetime:
        return min(max(at, self.start_at), self.end_at)

    def covered(self, horizon: dt.datetime | None, since: dt.datetime | None = None) -> float:
        """Share of the period's time (0–1) between `since` (data start; None: before the period) and `horizon`."""
        if horizon is None:
            return 0.0
        begin = self.start_at if since is None else self.clamp(since)
        span = (self.end_at - self.start_at).total_seconds()
        return max(0.0, (self.clamp(horizon) - begin).total_seconds()) / span

    def day_index(self, at: dt.datetime | None) -> int:
        """How many whole days of the period lie before `at` (0 when None or before the start)."""
        if at is None:
            return 0
        return min(max((local_day(at, self.tz) - self.start).days, 0), self.days)


def period_for(
    kind: PeriodKind,
    horizon: dt.datetime | None,
    today: dt.date,
    tz: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Period:
    """The day or month the data reaches into (today if it does), or the fixed range start..end inclusive."""
    if kind == "range":
        assert start is not None and end is not None  # the rule validates this
        return Period(kind, start, end + dt.timedelta(days=1), tz)
    day = today if horizon is None else min(today, local_day(horizon - dt.timedelta(microseconds=1), tz))
    if kind == "day":
        return Period(kind, day, day + dt.timedelta(days=1), tz)
    first = day.replace(day=1)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return Period(kind, first, nxt, tz)


@dataclass(frozen=True)
class Forecast:
    """End-of-period projections; `used` is the one alerts compare, `note` says why one is missing."""

    run_rate: float | None
    trend: float | None
    used: float | None
    method: str
    coverage: float
    note: str

    def evidence(self, min_coverage: float) -> dict[str, Any]:
        return {
            "run_rate_usd": _round(self.run_rate),
            "trend_usd": _round(self.trend),
            "forecast_usd": _round(self.used),
            "method": self.method,
            "coverage": round(self.coverage, 4),
            "min_coverage": min_coverage,
            "note": self.note,
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def forecast(
    period: Period,
    by_source: Mapping[str, F64],
    horizons: Mapping[str, dt.datetime],
    starts: Mapping[str, dt.datetime],
    method: Method,
    min_coverage: float,
    trend_min_days: int,
) -> Forecast:
    """Project end-of-period spend from each source's daily spend in the period (arrays over period days).

    `horizons`: how far each source's data reaches; `starts`: where it begins, for sources whose data begins
    after the period does (their earlier spend is unknown, not zero, and is pro-rated like the rest).
    """
    horizon = min(horizons.values(), default=None)
    since = max(starts.values(), default=None)
    coverage = period.covered(horizon, since)
    daily = np.sum(list(by_source.values()), axis=0) if by_source else np.zeros(period.days)
    actual = float(daily.sum())
    if coverage >= 1.0:
        return Forecast(actual, actual, actual, method, 1.0, "period complete: forecast = actual")
    if coverage < min_coverage:
        note = f"no forecast: data covers {coverage:.0%} of the period, less than the {min_coverage:.0%} minimum"
        return Forecast(None, None, None, method, coverage, note)
    rate = 0.0
    for src, spend in by_source.items():
        share = period.covered(horizons.get(src, horizon), starts.get(src))
        rate += float(spend.sum()) / share if share > 0 else 0.0
    # Whole days from the first one every source covers to the last complete one (sources start at midnight).
    first = period.day_index(since)
    trend, why = _trend(daily, first, period.day_index(horizon), trend_min_days, period.kind)
    return _pick(rate, trend, method, coverage, why)


def _trend(daily: F64, first: int, last: int, min_days: int, kind: str) -> tuple[float | None, str]:
    """Least-squares line through the known complete days first..last-1; the other days from the line."""
    if kind == "day":
        return None, "a day period has no trend (one cost point per day)"
    if last - first < min_days:
        return None, f"trend needs {min_days} complete days in the period, {max(last - first, 0)} so far"
    t = np.arange(first, last, dtype=np.float64)
    slope, intercept = np.polyfit(t, daily[first:last], 1)
    line = np.maximum(intercept + slope * np.arange(len(daily), dtype=np.float64), 0.0)
    # A day outside the fit counts as the larger of its line value and what is already billed for it.
    est = np.maximum(daily, line)
    est[first:last] = daily[first:last]
    return float(est.sum()), f"trend over {last - first} complete day(s)"


def _pick(rate: float, trend: float | None, method: Method, coverage: float, why: str) -> Forecast:
    if trend is None:
        note = f"{why}; using run-rate" if method != "run-rate" else why
        return Forecast(rate, None, rate, "run-rate", coverage, note)
    if method == "run-rate":
        used, name = rate, "run-rate"
    elif method == "trend":
        used, name = trend, "trend"
    elif method == "both":  # both must cross: the lower projection
        used, name = (rate, "run-rate") if rate <= trend else (trend, "trend")
    else:  # either may cross: the higher projection
        used, name = (rate, "run-rate") if rate >= trend else (trend, "trend")
    return Forecast(rate, trend, used, name, coverage, f"{why}; {method} → {name}")
