"""A plan against the billing account's budgets (pure): what a sync would create, update (which fields, from what to
what) or leave, and the side-by-side view of ours and GCP's that `budgets list` and the Budgets page show.

Only budgets whose display name starts with `spendscope:` are ever updated, each matched by its exact display name;
two GCP budgets with one such name are a conflict left to a person, and a managed budget no rule maps to any
more is reported, never deleted. An update names the top-level fields that differ (budget_filter, amount,
threshold_rules) in its update mask, so notification settings made in the console stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from collectors.gcp_budgets.plan import Desired, Plan
from collectors.gcp_budgets.spec import (
    LAST_PERIOD,
    BudgetSpec,
    GcpBudget,
    amount_text,
    filter_text,
    period_text,
    scope_text,
    thresholds_text,
)

CENT = 0.005  # amounts closer than half a cent are equal (money is units + nanos on the wire)
Action = Literal["create", "update", "unchanged", "conflict", "orphan"]


@dataclass(frozen=True)
class FieldChange:
    field: str  # a top-level Budget field: budget_filter | amount | threshold_rules
    old: str
    new: str


@dataclass(frozen=True)
class Change:
    """What a sync does about one managed display name."""

    action: Action
    display_name: str
    desired: Desired | None = None
    existing: GcpBudget | None = None
    fields: tuple[FieldChange, ...] = ()
    reason: str = ""

    @property
    def mask(self) -> list[str]:
        """The update mask: the fields that differ."""
        return [f.field for f in self.fields]


def compare(old: BudgetSpec, new: BudgetSpec) -> tuple[FieldChange, ...]:
    """The top-level fields of `new` that differ from `old`, with both sides as text."""
    out = []
    if old.filter_key() != new.filter_key():
        out.append(FieldChange("budget_filter", filter_text(old), filter_text(new)))
    same_amount = (
        old.amount_type == new.amount_type
        and (old.amount_type == LAST_PERIOD or abs((old.amount or 0.0) - (new.amount or 0.0)) < CENT)
        and (old.currency is None or new.currency is None or old.currency == new.currency)
    )
    if not same_amount:
        out.append(FieldChange("amount", amount_text(old), amount_text(new)))
    if old.thresholds != new.thresholds:
        out.append(FieldChange("threshold_rules", thresholds_text(old), thresholds_text(new)))
    return tuple(out)


def diff(plan: Plan, existing: Sequence[GcpBudget]) -> list[Change]:
    """One change per planned budget (create / update / unchanged / conflict) and per orphaned managed budget."""
    by_name: dict[str, list[GcpBudget]] = {}
    for b in existing:
        if b.managed:
            by_name.setdefault(b.display_name, []).append(b)
    foreign = sorted({c for b in existing if (c := b.spec.currency) and c != "USD"})
    out: list[Change] = []
    for d in plan.desired:
        found = by_name.get(d.display_name, [])
        if len(found) > 1:
            names = ", ".join(b.name for b in found)
            out.append(Change("conflict", d.display_name, d, found[0], reason=f"{len(found)} budgets: {names}"))
        elif not found:
            if foreign:
                why = f"the account's budgets are in {', '.join(foreign)}; our amounts are USD"
                out.append(Change("conflict", d.display_name, d, reason=why))
            else:
                out.append(Change("create", d.display_name, d))
        else:
            b = found[0]
            if b.spec.currency not in (None, "USD"):
                why = f"{b.name} is in {b.spec.currency}; our amounts are USD"
                out.append(Change("conflict", d.display_name, d, b, reason=why))
                continue
            fields = compare(b.spec, d.spec)
            out.append(Change("update" if fields else "unchanged", d.display_name, d, b, fields))
    planned = {d.display_name for d in plan.desired}
    for name, budgets in sorted(by_name.items()):
        if name not in planned:
            why = "no budget rule maps to it now; left as it is"
            out += [Change("orphan", name, existing=b, reason=why) for b in budgets]
    return out


BESIDE = pa.schema([("our_budget", pa.string()), ("our_period", pa.string()), ("our_amount_usd", pa.float64()),
                    ("gcp_budget", pa.string()), ("match", pa.string()), ("state", pa.string()),
                    ("gcp_amount", pa.float64()), ("gcp_currency", pa.string()), ("gcp_period", pa.string()),
                    ("gcp_scope", pa.string()), ("gcp_thresholds", pa.string()), ("gcp_name", pa.string()),
                    ("notes", pa.string())])  # fmt: skip
_STATE = {"create": "missing in GCP", "unchanged": "in sync", "conflict": "conflict", "orphan": "no rule maps to it"}


def _gcp(b: GcpBudget | None) -> dict[str, Any]:
    if b is None:
        return {}
    s = b.spec
    return {"gcp_budget": b.display_name, "gcp_amount": s.amount, "gcp_currency": s.currency,
            "gcp_period": period_text(s), "gcp_scope": scope_text(s), "gcp_thresholds": thresholds_text(s),
            "gcp_name": b.name}  # fmt: skip


def beside(plan: Plan, existing: Sequence[GcpBudget]) -> pa.Table:
    """Our budgets and the account's, side by side (BESIDE): matched by display name, else by the same scope."""
    rows: list[dict[str, Any]] = []
    shown: set[str] = set()
    unmanaged = [b for b in existing if not b.managed]
    for c in diff(plan, existing):
        d = c.desired
        if d is None:  # an orphaned managed budget
            rows.append({**_gcp(c.existing), "match": "", "state": _STATE["orphan"], "notes": c.reason})
            shown.add(c.existing.name if c.existing else "")
            continue
        gcp, match = c.existing, "display name" if c.existing else ""
        if gcp is None:
            gcp = next((b for b in unmanaged if b.spec.filter_key() == d.spec.filter_key()), None)
            match = "scope" if gcp else ""
        state = f"differs: {', '.join(c.mask)}" if c.action == "update" else _STATE[c.action]
        notes = [c.reason] if c.reason else []
        rows.append({"our_budget": d.budget, "our_period": "month", "our_amount_usd": d.spec.amount, **_gcp(gcp),
                     "match": match, "state": state, "notes": "; ".join(notes + list(d.notes))})  # fmt: skip
        if gcp is not None:
            shown.add(gcp.name)
    for s in plan.skipped:
        rows.append({"our_budget": s.budget, "our_period": s.period, "our_amount_usd": s.amount_usd, "match": "",
                     "state": "not synced", "notes": s.reason})  # fmt: skip
    for b in existing:
        if b.name not in shown:
            rows.append({**_gcp(b), "match": "", "state": "GCP only", "notes": ""})
    return pa.Table.from_pylist(rows, schema=BESIDE)
