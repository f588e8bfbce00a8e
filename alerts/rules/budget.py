"""The `budget` rule: spend of a day, month or date range against an amount, actual and forecast.

Every budget rule reads the same memoized `cost_daily` window (alerts/rules/costdata.py) and filters it in
memory, so a thousand rules cost one query. A budget judges the reporting day (or its month) that its
sources' data reaches into — today if it does — and says whether that period's data is complete.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from alerts.rules import forecast as fc
from alerts.rules.base import RuleBase
from alerts.rules.budget_text import budget_annotations, budget_evidence
from alerts.rules.costdata import (
    DAILY_DIMS,
    CostIndex,
    CostKind,
    Scope,
    check_dims,
    daily_index,
    horizon_of,
    horizons,
    scope_labels,
)
from alerts.rules.livedata import ESTIMATE, check_live_dims, live_view, source_evidence
from alerts.rules.registry import RULES
from spendscope.clock import local_day, local_midnight
from spendscope.records import Finding, Severity

if TYPE_CHECKING:
    from alerts.context import EvalContext

DEFAULT_THRESHOLDS = {Severity.warning: 0.7, Severity.critical: 0.9}


@dataclass(frozen=True)
class BudgetStatus:
    """One budget (one group of a grouped rule) now, crossed or not: what the Prometheus exporter shows."""

    budget: str
    period: str
    start: dt.date
    end: dt.date  # last day of the period (inclusive)
    amount_usd: float
    actual_usd: float
    used_ratio: float | None
    forecast_usd: float | None
    forecast_ratio: float | None
    data_until: dt.datetime | None
    labels: dict[str, str]


@dataclass(frozen=True)
class BudgetView:
    """A budget's status with what its alert explains: the period, the forecast, the sources it covers."""

    status: BudgetStatus
    period: fc.Period
    forecast: fc.Forecast
    sources: list[str]
    data_from: dt.datetime | None  # where the data begins when that is after the period starts
    estimated_usd: float = 0.0  # of the actual: the live estimate, not yet billed (rules with source: live)

    @property
    def complete(self) -> bool:
        until, since = self.status.data_until, self.data_from
        return until is not None and until >= self.period.end_at and (since is None or since <= self.period.start_at)


@RULES.register("budget")
class BudgetRule(RuleBase):
    """Spend of a day, month or date range against a budget, per group, on actual spend and on forecast.

    ```yaml
    rules:
      - name: team-daily
        type: budget
        period: day
        group_by: [team]
        amount_usd: 1000
        amounts: {ml-research: 2500}
        thresholds: {warning: 0.7, critical: 0.9}
        forecast: true
        labels: {route: finops}
    ```
    """

    default_alertname: ClassVar[str] = "BudgetExceeded"
    type: Literal["budget"]
    period: fc.PeriodKind = Field(description="day | month | range (with start and end)")
    start: dt.date | None = Field(default=None, description="first day of a range budget")
    end: dt.date | None = Field(default=None, description="last day of a range budget (inclusive)")
    scope: Scope = Field(default_factory=dict, description="dimension → value or [values] (cost_daily dimensions)")
    group_by: list[str] = Field(default_factory=list, description="one budget per value of these dimensions")
    amount_usd: float | None = Field(default=None, gt=0, description="the budget (per group with group_by)")
    amounts: dict[str, float] = Field(default_factory=dict, description="group value ('a/b' for 2 dims) → budget")
    thresholds: dict[Severity, float] = Field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    forecast: bool = Field(default=False, description="also alert when the projected period spend crosses")
    forecast_method: fc.Method = Field(default="both", description="run-rate | trend | both (lower) | either")
    min_coverage: float = Field(default=0.25, ge=0, le=1, description="share of the period data must cover to forecast")
    trend_min_days: int = Field(default=3, ge=2, description="complete days a trend needs")
    cost: CostKind = "billed"
    source: Literal["billed", "live"] = Field(
        default="billed",
        description="billed: cost_daily; live: spend_live, billed where complete and the live estimate after "
        "(scope and group_by on provider, platform, service, team, project; docs/live.md)",
    )

    @model_validator(mode="after")
    def _check(self) -> BudgetRule:
        check_dims(list(self.scope), DAILY_DIMS, "scope")
        check_dims(self.group_by, DAILY_DIMS, "group_by")
        check_live_dims(self.source, [*self.scope, *self.group_by], "scope and group_by")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("group_by names a dimension twice")
        if self.period == "range":
            if self.start is None or self.end is None or self.end < self.start:
                raise ValueError("a range budget needs start and end (end on or after start)")
        elif self.start is not None or self.end is not None:
            raise ValueError(f"start and end are for range budgets, not period {self.period}")
        if self.amount_usd is None and not self.amounts:
            raise ValueError("set amount_usd, amounts (with group_by), or both")
        if self.amounts and not self.group_by:
            raise ValueError("amounts are per group: set group_by")
        if any(v <= 0 for v in self.amounts.values()) or any(v <= 0 for v in self.thresholds.values()):
            raise ValueError("amounts and threshold ratios must be positive")
        if not self.thresholds:
            raise ValueError("thresholds: give at least one severity: ratio")
        return self

    def _window(self, ctx: EvalContext) -> tuple[dt.date, dt.date]:
        """The days every day/month budget reads: from the month the least advanced source is in, to today."""
        if self.period == "range":
            assert self.start is not None and self.end is not None
            return self.start, self.end
        lag = [local_day(u - dt.timedelta(microseconds=1), ctx.tz) for u in horizons(ctx).values()]
        return min([ctx.today, *lag]).replace(day=1), ctx.today

    def views(self, ctx: EvalContext) -> list[BudgetView]:
        """Every budget of this rule (one per group), crossed or not, with its forecast."""
        ctx = live_view(ctx, self.source)
        if self.period == "range" and self.start is not None and ctx.today < self.start:
            return []
        idx = daily_index(ctx, *self._window(ctx))
        keys, cube = idx.cube(idx.mask(self.scope), self.group_by, self.cost)
        found = dict(zip(keys, range(len(keys)), strict=True))
        wanted = [k for k in keys if self.amount_usd is not None or "/".join(k) in self.amounts]
        wanted += [k for k in (tuple(a.split("/")) for a in self.amounts) if k not in found]
        return [self._view(ctx, idx, k, cube[found[k]] if k in found else None) for k in wanted]

    def _view(self, ctx: EvalContext, idx: CostIndex, key: tuple[str, ...], cube: Any) -> BudgetView:
        present = [] if cube is None else [idx.sources[i] for i in np.flatnonzero(np.abs(cube).sum(axis=1) > 0)]
        horizon = horizon_of(ctx, present)
        period = fc.period_for(self.period, horizon, ctx.today, ctx.tz, self.start, self.end)
        cols = np.array([idx.position.get(d, -1) for d in _days(period)], dtype=np.int64)
        by_source = {}
        for s in present:
            row = cube[idx.sources.index(s)]
            by_source[s] = np.where(cols >= 0, row[np.maximum(cols, 0)], 0.0)
        h = horizons(ctx)
        reach = {s: h[s] for s in present if s in h} if present else h
        starts = {s: local_midnight(d, ctx.tz) for s, d in idx.starts_late(present).items()}
        f = fc.forecast(period, by_source, reach, starts, self.forecast_method, self.min_coverage, self.trend_min_days)
        actual = float(sum(v.sum() for v in by_source.values()))
        group = "/".join(key)
        amount = self.amounts.get(group, self.amount_usd) if key else self.amount_usd
        assert amount is not None  # views() keeps only groups with an amount
        labels = {"budget": f"{self.name}/{group}" if key else self.name, "period": self.period}
        labels |= scope_labels(self.scope) | dict(zip(self.group_by, key, strict=True))
        status = BudgetStatus(
            budget=labels["budget"],
            period=self.period,
            start=period.start,
            end=period.end - dt.timedelta(days=1),
            amount_usd=amount,
            actual_usd=actual,
            used_ratio=actual / amount,
            forecast_usd=f.used,
            forecast_ratio=None if f.used is None else f.used / amount,
            data_until=horizon,
            labels=labels,
        )
        since = max(starts.values(), default=None)
        estimated = float(by_source[ESTIMATE].sum()) if ESTIMATE in by_source else 0.0
        return BudgetView(status, period, f, present, since if since and since > period.start_at else None, estimated)

    def status(self, ctx: EvalContext) -> list[BudgetStatus]:
        """One status per budget (per group), crossed or not."""
        return [v.status for v in self.views(ctx)]

    def _level(self, ratio: float | None) -> tuple[int, Severity | None]:
        """The highest threshold `ratio` crosses: (its position by ratio, 1-based; 0 = none) and severity."""
        order = sorted(self.thresholds.items(), key=lambda kv: (kv[1], kv[0].rank))
        crossed = [i for i, (_, thr) in enumerate(order, 1) if ratio is not None and ratio >= thr]
        return (crossed[-1], order[crossed[-1] - 1][0]) if crossed else (0, None)

    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        out = []
        ctx = live_view(ctx, self.source)
        for v in self.views(ctx):
            until = v.status.data_until
            if self.period == "range" and ctx.today >= v.period.end and until and until >= v.period.end_at:
                continue  # a finished range its data has reached the end of: status shows it, nobody is paged
            actual_pos, actual_sev = self._level(v.status.used_ratio)
            if actual_sev is not None:
                out.append(self._finding(ctx, v, "actual", actual_sev))
            if self.forecast:
                pos, sev = self._level(v.status.forecast_ratio)
                # Only when the forecast says more than the actual spend already does: one page per news.
                if sev is not None and pos > actual_pos:
                    out.append(self._finding(ctx, v, "forecast", sev))
        return out

    def _finding(self, ctx: EvalContext, v: BudgetView, kind: str, sev: Severity) -> Finding:
        s = v.status
        return Finding(
            labels={**s.labels, "kind": kind},
            annotations=budget_annotations(ctx, v, kind, self.cost, self.thresholds[sev]),
            value=s.used_ratio if kind == "actual" else s.forecast_ratio,
            severity=sev,
            evidence=budget_evidence(ctx, v, kind, self.cost, self.min_coverage, self.scope)
            | source_evidence(self.source, v.estimated_usd),
        )


def _days(period: fc.Period) -> list[dt.date]:
    return [period.start + dt.timedelta(days=i) for i in range(period.days)]
