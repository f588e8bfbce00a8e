"""Budgets & credits page queries, and the Overview's month-end outlook: the alert rules' own numbers.

Budgets and credits are the configured `budget` and `credit` rules (alerts.loader.load_rules: the shipped
rules/default.yaml or `alerts.rule_files`, plus inline rules), evaluated through BudgetRule.views and
CreditRule.burns on an EvalContext, so the page shows exactly what the alerts judge. A burn-down's daily
points come from the same memoized cost_daily index (alerts/rules/costdata.py) with the rule's scope, groups
and cost kind; its last cumulative point is the rule's actual spend. An expired credit is shown as it stood
at the end of its last day; one not started yet shows its buckets at $0.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from alerts.context import EvalContext
from alerts.loader import load_rules
from alerts.rules.budget import BudgetRule, BudgetView
from alerts.rules.costdata import F64, CostIndex, daily_index, scope_values
from alerts.rules.credit import Burn, CreditRule
from exporters.warehouse.engine import Warehouse
from spendscope.clock import local_day, local_midnight
from spendscope.config import Settings
from spendscope.costs import FILTERS, NO_FILTER, CostFilter

DAY, TICK = dt.timedelta(days=1), dt.timedelta(microseconds=1)
S, F, D, T = pa.string(), pa.float64(), pa.date32(), pa.timestamp("us", tz="UTC")
BUDGETS = pa.schema([("rule", S), ("budget", S), ("period", S), ("start", D), ("end", D), ("amount_usd", F),
                     ("actual_usd", F), ("used_ratio", F), ("forecast_usd", F), ("forecast_ratio", F),
                     ("forecast_method", S), ("forecast_note", S), ("complete", pa.bool_()),
                     ("data_until", T)])  # fmt: skip
CREDITS = pa.schema([("credit", S), ("bucket", S), ("state", S), ("amount_usd", F), ("used_usd", F),
                     ("remaining_usd", F), ("used_ratio", F), ("daily_burn_usd", F), ("burn_days", pa.int64()),
                     ("exhausts_on", D), ("before_expiry", pa.bool_()), ("start", D), ("expires", D),
                     ("data_until", T)])  # fmt: skip
# Burn-down lines, long form: one row per point of a series (actual / forecast / budget; used / projected / amount).
LINES = pa.schema([("name", S), ("day", D), ("series", S), ("usd", F)])
PLAN_TARGET = "plan target (settings.plan.target_monthly_usd)"


def _ctx(wh: Warehouse, s: Settings, now: dt.datetime | None) -> EvalContext:
    return EvalContext(wh, s, dt.datetime.now(dt.UTC) if now is None else now)


def budget_rules(s: Settings) -> list[BudgetRule]:
    """The enabled `budget` rules of the configured rule files and inline rules."""
    return [r for r in load_rules(s) if isinstance(r, BudgetRule) and r.enabled]


def credit_rules(s: Settings) -> list[CreditRule]:
    """The enabled `credit` rules."""
    return [r for r in load_rules(s) if isinstance(r, CreditRule) and r.enabled]


def budget_statuses(wh: Warehouse, s: Settings, now: dt.datetime | None = None) -> pa.Table:
    """One row per budget (per group of a grouped rule), crossed or not: BudgetRule.views' status and forecast."""
    ctx = _ctx(wh, s, now)
    rows = []
    for rule in budget_rules(s):
        for v in rule.views(ctx):
            st = v.status
            rows.append({"rule": rule.name, "budget": st.budget, "period": st.period, "start": st.start,
                         "end": st.end, "amount_usd": st.amount_usd, "actual_usd": st.actual_usd,
                         "used_ratio": st.used_ratio, "forecast_usd": st.forecast_usd,
                         "forecast_ratio": st.forecast_ratio, "forecast_method": v.forecast.method,
                         "forecast_note": v.forecast.note, "complete": v.complete,
                         "data_until": st.data_until})  # fmt: skip
    return pa.Table.from_pylist(rows, schema=BUDGETS)


def _daily(idx: CostIndex, mask: Any, group_by: list[str], cost: str) -> dict[tuple[str, ...], F64]:
    """Spend per group and index slot (summed over sources)."""
    keys, cube = idx.cube(mask, group_by, cost)
    return {k: cube[i].sum(axis=0) for i, k in enumerate(keys)}


def _series(idx: CostIndex, per_slot: F64 | None, first: dt.date, last: dt.date) -> F64:
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    if per_slot is None:
        return np.zeros(len(days))
    return np.array([per_slot[idx.position[d]] if d in idx.position else 0.0 for d in days])


def _reach(data_until: dt.datetime | None, tz: str) -> dt.date | None:
    """The reporting day the data reaches into (its last, possibly partial, day)."""
    return None if data_until is None else local_day(data_until - TICK, tz)


def _cumulative(name: str, first: dt.date, values: F64, series: str) -> list[dict[str, Any]]:
    total = np.cumsum(values)
    return [{"name": name, "day": first + dt.timedelta(days=i), "series": series, "usd": float(total[i])}
            for i in range(len(values))]  # fmt: skip


def budget_burn_down(wh: Warehouse, s: Settings, rule_name: str, now: dt.datetime | None = None) -> pa.Table:
    """Every budget of one rule: cumulative actual per day of its period, the forecast line from the last
    actual point to the period's end, and the budget line (LINES; `name` is the budget)."""
    ctx = _ctx(wh, s, now)
    rule = next(r for r in budget_rules(s) if r.name == rule_name)
    views = rule.views(ctx)
    if not views:
        return LINES.empty_table()
    lo, hi = min(v.period.start for v in views), max(v.period.end for v in views) - DAY
    hi = hi if rule.period == "range" else min(hi, ctx.today)  # the rule reads no later day
    idx = daily_index(ctx, lo, max(lo, hi))
    per_group = _daily(idx, idx.mask(rule.scope), rule.group_by, rule.cost)
    rows: list[dict[str, Any]] = []
    for v in views:
        rows += _budget_lines(idx, v, per_group.get(tuple(v.status.labels[d] for d in rule.group_by)), hi, ctx.tz)
    return pa.Table.from_pylist(rows, schema=LINES)


def _budget_lines(idx: CostIndex, v: BudgetView, per_slot: F64 | None, hi: dt.date, tz: str) -> list[dict[str, Any]]:
    st = v.status
    out = [{"name": st.budget, "day": d, "series": "budget", "usd": st.amount_usd} for d in (st.start, st.end)]
    last = min(st.end, hi, _reach(st.data_until, tz) or st.start - DAY)
    if last < st.start:
        return out
    values = _series(idx, per_slot, st.start, last)
    out += _cumulative(st.budget, st.start, values, "actual")
    if st.forecast_usd is not None and last < st.end:
        out += [{"name": st.budget, "day": last, "series": "forecast", "usd": float(values.sum())},
                {"name": st.budget, "day": st.end, "series": "forecast", "usd": st.forecast_usd}]  # fmt: skip
    return out


def _credit_ctx(wh: Warehouse, s: Settings, rule: CreditRule, now: dt.datetime | None) -> tuple[EvalContext, str]:
    """The context a credit is read at and its state: active, not started, or expired (read at its last moment)."""
    ctx = _ctx(wh, s, now)
    if ctx.today < rule.start:
        return ctx, "not started"
    if rule.expires is not None and ctx.today > rule.expires:
        return EvalContext(wh, s, local_midnight(rule.expires + DAY, ctx.tz) - TICK), "expired"
    return ctx, "active"


def _exhausts_on(b: Burn, tz: str) -> dt.date | None:
    if b.exhausts_at is None:
        return None
    # A used-up credit's exhaustion instant is the end of the day it ran out (CreditRule._burn).
    return local_day(b.exhausts_at - DAY if b.remaining_usd <= 0 else b.exhausts_at, tz)


def credit_status(wh: Warehouse, s: Settings, now: dt.datetime | None = None) -> pa.Table:
    """Every credit's total and buckets: used, remaining, daily burn and projected exhaustion (CreditRule.burns)."""
    rows = []
    for rule in credit_rules(s):
        ctx, state = _credit_ctx(wh, s, rule, now)
        parts = [("total", rule.total_usd), *((n, b.amount_usd) for n, b in rule.buckets.items())]
        zero = [Burn(n, a, 0.0, None, 0, None, None, []) for n, a in parts]
        burns = zero if state == "not started" else rule.burns(ctx)
        for b in burns:
            on = _exhausts_on(b, ctx.tz)
            rows.append({"credit": rule.name, "bucket": b.bucket, "state": state, "amount_usd": b.amount_usd,
                         "used_usd": b.used_usd, "remaining_usd": b.remaining_usd, "used_ratio": b.used_ratio,
                         "daily_burn_usd": b.daily_burn_usd, "burn_days": b.burn_days, "exhausts_on": on,
                         "before_expiry": None if on is None or rule.expires is None else on <= rule.expires,
                         "start": rule.start, "expires": rule.expires, "data_until": b.data_until})  # fmt: skip
    return pa.Table.from_pylist(rows, schema=CREDITS)


def credit_burn_down(wh: Warehouse, s: Settings, credit_name: str, now: dt.datetime | None = None) -> pa.Table:
    """One credit's total and buckets: cumulative use per day since `start`, the projection at the current
    daily burn to exhaustion (or expiry, whichever comes first), and the amount line (LINES; `name` = bucket)."""
    rule = next(r for r in credit_rules(s) if r.name == credit_name)
    ctx, state = _credit_ctx(wh, s, rule, now)
    if state == "not started":
        return LINES.empty_table()
    last = ctx.today if rule.expires is None else min(ctx.today, rule.expires)
    burns = {b.bucket: b for b in rule.burns(ctx)}
    idx = daily_index(ctx, rule.start, last)  # the index burns() read (memoized in ctx)
    base = idx.mask(rule.scope)
    masks = {"total": base} | {n: base & idx.mask(b.scope) for n, b in rule.buckets.items()}
    rows: list[dict[str, Any]] = []
    for name, mask in masks.items():
        b = burns[name]
        reach = min(last, _reach(b.data_until, ctx.tz) or rule.start - DAY)
        end = rule.expires or reach
        if reach >= rule.start:
            values = _series(idx, _daily(idx, mask, [], rule.cost).get(()), rule.start, reach)
            rows += _cumulative(name, rule.start, values, "used")
            on = _exhausts_on(b, ctx.tz)
            if b.daily_burn_usd and b.remaining_usd > 0 and on is not None and b.data_until is not None:
                stop = min(on, end) if rule.expires else on
                left = (local_midnight(stop + DAY, ctx.tz) - b.data_until) / DAY
                value = min(b.amount_usd, b.used_usd + b.daily_burn_usd * max(left, 0.0))
                rows += [{"name": name, "day": reach, "series": "projected", "usd": b.used_usd},
                         {"name": name, "day": stop, "series": "projected", "usd": value}]  # fmt: skip
                end = max(end, stop)
        rows += [{"name": name, "day": d, "series": "amount", "usd": b.amount_usd} for d in (rule.start, end)]
    return pa.Table.from_pylist(rows, schema=LINES)


def _match(rules: list[BudgetRule], flt: CostFilter) -> tuple[BudgetRule, tuple[str, ...]] | None:
    """The month budget whose scope and groups are exactly the filter's values (the fleet-wide one for none):
    a rule with no group_by whose scope equals the filter, else a grouped rule with one value per group."""
    want = {dim: sorted(v) for f, dim in FILTERS.items() if (v := getattr(flt, f))}
    months = [r for r in rules if r.period == "month"]
    for r in months:
        if not r.group_by and r.amount_usd is not None and _scope(r) == want:
            return r, ()
    for r in months:
        if not r.group_by or any(len(want.get(d, [])) != 1 for d in r.group_by):
            continue
        key = tuple(want[d][0] for d in r.group_by)
        rest = {d: v for d, v in want.items() if d not in r.group_by}
        if _scope(r) == rest and (r.amount_usd is not None or "/".join(key) in r.amounts):
            return r, key
    return None


def _scope(r: BudgetRule) -> dict[str, list[str]]:
    return {d: sorted(v) for d, v in scope_values(r.scope).items()}


def month_outlook(
    wh: Warehouse, s: Settings, today: dt.date, flt: CostFilter = NO_FILTER, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Month-to-date spend, the month-end forecast (the budget rules' method) and the monthly budget it is
    compared with: the month budget rule matching the filter (the fleet-wide one without a filter), else
    settings.plan.target_monthly_usd when unfiltered, else none. `budget_source` says which."""
    now = dt.datetime.now(dt.UTC) if now is None else now
    ctx = EvalContext(wh, s, min(now, local_midnight(today + DAY, s.reporting.timezone) - TICK))
    found = _match(budget_rules(s), flt)
    if found is not None:
        rule, key = found
        source = f"budget rule {rule.name}" + (f" ({'/'.join(key)})" if key else "")
    else:
        scope: dict[str, str | list[str]] = {dim: list(v) for f, dim in FILTERS.items() if (v := getattr(flt, f))}
        amount = s.plan.target_monthly_usd if not flt.active else None
        # Same defaults as any budget rule (forecast_method both, min_coverage 0.25): the figure a rule would give.
        rule = BudgetRule(name="month-outlook", type="budget", period="month", scope=scope, amount_usd=amount or 1.0)
        key, source = (), PLAN_TARGET if amount is not None else "no monthly budget rule matches the filter"
    view = next((v for v in rule.views(ctx) if tuple(v.status.labels[d] for d in rule.group_by) == key), None)
    if view is None:  # a group with no spend in the period: the same budget as an ungrouped rule
        fixed = rule.scope | dict(zip(rule.group_by, key, strict=True))
        amount = rule.amounts.get("/".join(key), rule.amount_usd)
        rule = rule.model_copy(update={"scope": fixed, "group_by": [], "amounts": {}, "amount_usd": amount})
        view = rule.views(ctx)[0]
    st = view.status
    budget = st.amount_usd if found is not None or not flt.active else None
    return {
        "period_start": st.start,
        "period_end": st.end,
        "mtd_usd": st.actual_usd,
        "forecast_usd": st.forecast_usd,
        "forecast_method": view.forecast.method,
        "forecast_note": view.forecast.note,
        "budget_usd": budget,
        "budget_source": source,
        "used_ratio": None if budget is None else st.actual_usd / budget,
        "forecast_ratio": None if budget is None or st.forecast_usd is None else st.forecast_usd / budget,
        "data_until": st.data_until,
        "complete": view.complete,
    }
