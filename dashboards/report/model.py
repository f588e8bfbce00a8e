"""What the daily cost email says, as frozen dataclasses: data.py fills them, html.py / text.py / chart.py draw them.

Money is billed USD (the reporting currency) as `spendscope costs` sums it, unrounded; the renderers round.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Mover:
    """One value of a dimension (a service, team, project, provider): its spend on the day and the day before."""

    dimension: str
    value: str
    cost: float
    previous: float

    @property
    def change(self) -> float:
        return self.cost - self.previous

    @property
    def change_ratio(self) -> float | None:
        """Change ÷ the day before; None when the day before was zero."""
        return None if self.previous == 0 else self.change / self.previous


@dataclass(frozen=True)
class BudgetLine:
    """A budget's period to date (a budget rule's BudgetStatus, or the Overview's month outlook)."""

    budget: str
    period: str
    start: dt.date
    end: dt.date  # last day, inclusive
    amount_usd: float
    actual_usd: float
    used_ratio: float | None
    forecast_usd: float | None
    forecast_ratio: float | None


@dataclass(frozen=True)
class CreditLine:
    """A prepaid credit (one bucket or its total) at the end of the day (CreditRule.burns)."""

    credit: str
    bucket: str
    amount_usd: float
    used_usd: float
    remaining_usd: float
    daily_burn_usd: float | None
    exhausts_at: dt.datetime | None
    expires: dt.date | None


@dataclass(frozen=True)
class IdleLine:
    """GPU spend and its idle part on one platform that day (spendscope/economics.py unit_economics)."""

    platform: str
    gpu_cost_usd: float | None
    idle_cost_usd: float | None
    busy_ratio: float | None


@dataclass(frozen=True)
class ActionLine:
    """An auto-shutdown step from action_log."""

    at: dt.datetime
    step: str
    action: str
    platform: str | None
    resource: str
    dry_run: bool
    saving_usd_per_hour: float | None
    reason: str | None


@dataclass(frozen=True)
class AlertLine:
    """An alert firing at the report's time, or one that fired since the previous report (resolved since)."""

    fingerprint: str
    alertname: str
    rule: str
    severity: str
    state: str  # firing | resolved
    summary: str
    identity: str  # the labels that tell instances apart (team=ml, …)
    fired_at: dt.datetime | None
    resolved_at: dt.datetime | None
    acked_by: str | None
    silenced: bool
    mailed_at_once: bool  # an email notifier sent it when it fired; the rest wait for this digest
    link: str


@dataclass(frozen=True)
class Freshness:
    """How far one cost source reaches, and whether that covers the whole reporting day."""

    source: str
    provider: str
    data_until: dt.datetime | None
    complete: bool


@dataclass(frozen=True)
class DailyPoint:
    """One provider's spend on one day (the chart's bars)."""

    day: dt.date
    provider: str
    cost: float


@dataclass(frozen=True)
class DailyReport:
    """Everything the email shows for reporting day `day` (in time zone `tz`), built at `generated_at`."""

    day: dt.date
    tz: str
    currency: str
    generated_at: dt.datetime
    window_start: dt.datetime  # alerts and actions: since the previous report …
    window_end: dt.datetime  # … until this one
    total: float  # the day
    previous: float  # the day before
    avg_7d: float  # mean of the 7 days before the day
    by_provider: tuple[Mover, ...]
    movers: tuple[tuple[str, tuple[Mover, ...]], ...]  # (dimension, top movers) for service, team, project
    mtd: float  # month to date, through the day
    prev_mtd: float  # the same span of the month before
    month_budget: BudgetLine | None  # month to date against the month's budget (rule or plan), with the forecast
    budgets: tuple[BudgetLine, ...]
    credits: tuple[CreditLine, ...]
    idle: tuple[IdleLine, ...]
    actions: tuple[ActionLine, ...]
    alerts: tuple[AlertLine, ...]
    freshness: tuple[Freshness, ...]
    daily: tuple[DailyPoint, ...]  # the 14 days up to the day, by provider
    dashboard_url: str
    notes: tuple[str, ...] = ()  # sections that could not be computed, and why

    @property
    def change(self) -> float:
        return self.total - self.previous

    @property
    def idle_cost_usd(self) -> float:
        return sum(i.idle_cost_usd or 0.0 for i in self.idle)

    @property
    def firing(self) -> tuple[AlertLine, ...]:
        return tuple(a for a in self.alerts if a.state == "firing")

    @property
    def saving_usd_per_hour(self) -> float:
        """Estimated $/h saved by the steps that stopped something (executed, not dry-run)."""
        return sum(a.saving_usd_per_hour or 0.0 for a in self.actions if a.step == "executed" and not a.dry_run)
