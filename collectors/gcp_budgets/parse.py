"""Budget protos ↔ spendscope's forms: a listed `budgets_v1.Budget` → GcpBudget → `gcp_budgets` rows, and back;
a planned BudgetSpec → the Budget a create or update sends. Pure: no I/O, no logging.

The Budget API's defaults are made explicit on the way in (formats.md §7.2; budgets_v1 types): a filter with
neither calendar nor custom period is a MONTH budget, a threshold without spend basis is CURRENT_SPEND, no
credit treatment is INCLUDE_ALL_CREDITS. Money is `units + nanos / 1e9`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from collectors.gcp_budgets.spec import LAST_PERIOD, SPECIFIED, BudgetSpec, GcpBudget, Threshold
from exporters.warehouse.schema.gcp_budgets import GCP_BUDGETS

TABLE = "gcp_budgets"


def _enum_name(enum: Any, value: Any) -> str:
    return str(enum(int(value)).name)


def _date(d: Any) -> dt.date | None:
    """A google.type.Date; None when unset (year 0)."""
    return dt.date(d.year, d.month, d.day) if d is not None and d.year else None


def _label_values(values: Any) -> tuple[str, ...]:
    # proto-plus marshals a struct ListValue to a sequence of plain values; keep a Value's string if it is one.
    return tuple(str(getattr(v, "string_value", v)) for v in values)


def budget_from_proto(b: Any) -> GcpBudget:
    """A `budgets_v1.Budget` (as list_budgets yields it) → GcpBudget."""
    from google.cloud.billing import budgets_v1

    f = b.budget_filter
    custom = "custom_period" in f
    period = int(f.calendar_period) if "calendar_period" in f else 0
    if "specified_amount" in b.amount:
        money = b.amount.specified_amount
        amount: float | None = money.units + money.nanos / 1e9
        currency, kind = money.currency_code or None, SPECIFIED
    else:
        amount, currency, kind = None, None, LAST_PERIOD if "last_period_amount" in b.amount else SPECIFIED
    treatment = int(f.credit_types_treatment) or int(budgets_v1.Filter.CreditTypesTreatment.INCLUDE_ALL_CREDITS)
    other = [f"resource_ancestors={v}" for v in f.resource_ancestors]
    other += [f"subaccounts={v}" for v in f.subaccounts] + [f"credit_types={v}" for v in f.credit_types]
    spec = BudgetSpec(
        amount=amount,
        currency=currency,
        amount_type=kind,
        calendar_period=None if custom else _enum_name(budgets_v1.CalendarPeriod, period or 1),
        custom_start=_date(f.custom_period.start_date) if custom else None,
        custom_end=_date(f.custom_period.end_date) if custom else None,
        projects=tuple(f.projects),
        services=tuple(f.services),
        labels=tuple((k, _label_values(v)) for k, v in f.labels.items()),
        credit_types_treatment=_enum_name(budgets_v1.Filter.CreditTypesTreatment, treatment),
        other_filters=tuple(other),
        thresholds=tuple(
            Threshold(_enum_name(budgets_v1.ThresholdRule.Basis, int(t.spend_basis) or 1), t.threshold_percent)
            for t in b.threshold_rules
        ),
    )
    return GcpBudget(name=b.name, display_name=b.display_name, spec=spec, etag=b.etag)


def to_table(budgets: Sequence[GcpBudget], account: str, synced_at: dt.datetime) -> pa.Table:
    """`gcp_budgets` rows of one sync (`_day` = the sync's UTC day)."""
    rows = []
    for b in budgets:
        s = b.spec
        rows.append({"synced_at": synced_at, "billing_account": account, "name": b.name,
                     "display_name": b.display_name, "managed": b.managed, "amount_type": s.amount_type,
                     "amount": s.amount, "currency": s.currency, "calendar_period": s.calendar_period,
                     "custom_start": s.custom_start, "custom_end": s.custom_end, "projects": list(s.projects),
                     "services": list(s.services),
                     "labels": [{"key": k, "value": v} for k, vs in s.labels for v in vs],
                     "credit_types_treatment": s.credit_types_treatment, "other_filters": list(s.other_filters),
                     "thresholds": [{"percent": t.percent, "basis": t.basis} for t in s.thresholds],
                     "etag": b.etag, "_day": synced_at.astimezone(dt.UTC).date(),
                     "_source": f"billingAccounts/{account}"})  # fmt: skip
    return pa.Table.from_pylist(rows, schema=GCP_BUDGETS)


def from_rows(rows: Iterable[dict[str, Any]]) -> list[GcpBudget]:
    """`gcp_budgets` rows (as read back) → GcpBudget, in display-name order."""
    out = []
    for r in rows:
        labels: dict[str, list[str]] = {}
        for kv in r["labels"] or []:
            labels.setdefault(kv["key"], []).append(kv["value"])
        spec = BudgetSpec(
            amount=r["amount"],
            currency=r["currency"],
            amount_type=r["amount_type"],
            calendar_period=r["calendar_period"],
            custom_start=r["custom_start"],
            custom_end=r["custom_end"],
            projects=tuple(r["projects"] or ()),
            services=tuple(r["services"] or ()),
            labels=tuple((k, tuple(v)) for k, v in labels.items()),
            credit_types_treatment=r["credit_types_treatment"],
            other_filters=tuple(r["other_filters"] or ()),
            thresholds=tuple(Threshold(t["basis"], t["percent"]) for t in r["thresholds"] or ()),
        )
        out.append(GcpBudget(r["name"], r["display_name"], spec, r["etag"] or ""))
    return sorted(out, key=lambda b: (b.display_name, b.name))


def money(amount: float, currency: str | None) -> Any:
    """A google.type.Money of `amount` (units + nanos, nanos with the sign of units)."""
    from google.type import money_pb2

    units = math.trunc(amount)
    nanos = round((amount - units) * 1e9)
    if abs(nanos) >= 1_000_000_000:  # rounding carried into the units
        units, nanos = units + (1 if nanos > 0 else -1), 0
    return money_pb2.Money(currency_code=currency or "", units=units, nanos=nanos)


MANAGED_FIELDS = ("budget_filter", "amount", "threshold_rules")  # what a sync sets; never notifications_rule


def to_proto(
    spec: BudgetSpec, display_name: str = "", name: str = "", etag: str = "", fields: Sequence[str] = MANAGED_FIELDS
) -> Any:
    """The `budgets_v1.Budget` a create (display name, no name) or an update (name, etag, the changed `fields`) sends.

    Only a MONTH/QUARTER/YEAR spec with a specified amount is ever built: that is all a plan produces.
    """
    from google.cloud.billing import budgets_v1

    assert spec.calendar_period is not None and spec.amount is not None
    budget = budgets_v1.Budget(name=name, display_name=display_name, etag=etag)
    if "budget_filter" in fields:
        budget.budget_filter = budgets_v1.Filter(
            projects=list(spec.projects),
            services=list(spec.services),
            labels={k: list(v) for k, v in spec.labels},
            calendar_period=getattr(budgets_v1.CalendarPeriod, spec.calendar_period),
            credit_types_treatment=getattr(budgets_v1.Filter.CreditTypesTreatment, spec.credit_types_treatment),
        )
    if "amount" in fields:
        budget.amount = budgets_v1.BudgetAmount(specified_amount=money(spec.amount, spec.currency))
    if "threshold_rules" in fields:
        budget.threshold_rules = [
            budgets_v1.ThresholdRule(
                threshold_percent=t.percent, spend_basis=getattr(budgets_v1.ThresholdRule.Basis, t.basis)
            )
            for t in spec.thresholds
        ]
    return budget
