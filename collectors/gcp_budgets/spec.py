"""A GCP budget in the one comparable form spendscope reads, plans and diffs, with the one-line texts it shows.

`BudgetSpec` holds what a budget tracks and alerts on (amount, period, filter, threshold rules) with the API's
defaults made explicit (no period = MONTH, no spend basis = CURRENT_SPEND, no credit treatment =
INCLUDE_ALL_CREDITS: the Budget API's documented defaults), lists sorted, so two specs compare field by field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

MANAGED_PREFIX = "spendscope:"
DISPLAY_NAME_MAX = 60  # the API's limit on display_name
CURRENT, FORECASTED = "CURRENT_SPEND", "FORECASTED_SPEND"
SPECIFIED, LAST_PERIOD = "SPECIFIED_AMOUNT", "LAST_PERIOD_AMOUNT"
# Service IDs of the Cloud Billing Catalog (formats.md §7.1: services/6F81-5844-456A is Compute Engine).
KNOWN_SERVICES = {"Compute Engine": "services/6F81-5844-456A", "Kubernetes Engine": "services/CCD8-9BF1-090E"}
Labels = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, order=True)
class Threshold:
    """One threshold rule: a 1.0-based share of the amount (0.9 = 90%) on current or forecasted spend."""

    basis: str
    percent: float

    def text(self) -> str:
        return f"{100 * self.percent:g}%" + (" forecast" if self.basis == FORECASTED else "")


@dataclass(frozen=True)
class BudgetSpec:
    """What a budget tracks: amount, period, filter and threshold rules (normalized: sorted, defaults explicit)."""

    amount: float | None = None  # None with LAST_PERIOD_AMOUNT
    currency: str | None = None
    amount_type: str = SPECIFIED
    calendar_period: str | None = "MONTH"  # None with a custom period
    custom_start: dt.date | None = None
    custom_end: dt.date | None = None
    projects: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    labels: Labels = ()
    credit_types_treatment: str = "INCLUDE_ALL_CREDITS"
    other_filters: tuple[str, ...] = ()
    thresholds: tuple[Threshold, ...] = ()

    def __post_init__(self) -> None:
        # Normalize once so equality is field equality (frozen: set through object.__setattr__).
        object.__setattr__(self, "projects", tuple(sorted(set(self.projects))))
        object.__setattr__(self, "services", tuple(sorted(set(self.services))))
        object.__setattr__(self, "labels", tuple(sorted((k, tuple(sorted(v))) for k, v in self.labels)))
        object.__setattr__(self, "other_filters", tuple(sorted(self.other_filters)))
        rounded = {Threshold(t.basis, round(t.percent, 6)) for t in self.thresholds}
        object.__setattr__(self, "thresholds", tuple(sorted(rounded)))

    def filter_key(self) -> tuple[object, ...]:
        """Everything of the budget filter (scope and period): equal keys track the same spend."""
        return (self.calendar_period, self.custom_start, self.custom_end, self.projects, self.services, self.labels,
                self.credit_types_treatment, self.other_filters)  # fmt: skip


@dataclass(frozen=True)
class GcpBudget:
    """One budget of the billing account as the API returned it."""

    name: str  # billingAccounts/<account>/budgets/<id>
    display_name: str
    spec: BudgetSpec = field(default_factory=BudgetSpec)
    etag: str = ""

    @property
    def managed(self) -> bool:
        """spendscope created it (display name `spendscope:…`): the only budgets a sync may update."""
        return self.display_name.startswith(MANAGED_PREFIX)


def service_name(service: str) -> str:
    """`services/6F81-…` → `Compute Engine` for the services we know by name, else the ID itself."""
    names = {v: k for k, v in KNOWN_SERVICES.items()}
    return names.get(service, service)


def period_text(s: BudgetSpec) -> str:
    if s.calendar_period is not None:
        return s.calendar_period
    return f"custom {s.custom_start} … {s.custom_end or 'open'}"


def scope_text(s: BudgetSpec) -> str:
    """`projects: a, b; services: Compute Engine; labels: team=x` (`whole account` when unfiltered)."""
    parts = []
    if s.projects:
        parts.append("projects: " + ", ".join(p.removeprefix("projects/") for p in s.projects))
    if s.services:
        parts.append("services: " + ", ".join(service_name(v) for v in s.services))
    if s.labels:
        parts.append("labels: " + ", ".join(f"{k}={'|'.join(v)}" for k, v in s.labels))
    parts.extend(s.other_filters)
    return "; ".join(parts) or "whole account"


def filter_text(s: BudgetSpec) -> str:
    """The whole budget filter in one line: period, scope, credits."""
    return f"{period_text(s)}; {scope_text(s)}; credits {s.credit_types_treatment}"


def amount_text(s: BudgetSpec) -> str:
    if s.amount_type == LAST_PERIOD or s.amount is None:
        return "last period's spend"
    return f"{s.amount:,.2f} {s.currency or '(account currency)'}"


def thresholds_text(s: BudgetSpec) -> str:
    return ", ".join(t.text() for t in s.thresholds) or "none"
