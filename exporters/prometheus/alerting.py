"""Metrics for alerting on budgets and on the built-in alert engine, from the config's rules and `alert_events`.

- `spendscope_budget_{amount_usd,actual_usd,used_ratio,forecast_usd,forecast_ratio}{budget,period}`: the status
  of every enabled budget rule (`BudgetRule.status`, one series per budget, or per group of a grouped rule): the
  numbers the engine's budget alerts judge, so a Prometheus rule over them (alerts/prometheus/) agrees with it.
  A forecast the rule cannot make yet (too little of the period has data) gives no forecast series.
- `spendscope_alerts_firing{rule,severity}`: the latest `alert_events` row per fingerprint, counted where its
  state is firing. Read with SQL rather than through the engine's store, so the exporter does not depend on
  engine internals. Rules and severities that have had events but fire nothing show 0; the labels stay bounded
  by the configured rules.

Both are cached across snapshots by their inputs: budgets by the rules, the reporting day and the `cost_daily`
version (rewritten after each billing ingest) within `BUDGET_REFRESH_SECONDS`; alert counts by the
`alert_events` version, so a long history is re-read only when the engine writes.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from alerts.store import ANNOTATING
from exporters.prometheus.snapshot import PartContext, Samples
from spendscope.clock import local_day

if TYPE_CHECKING:
    from alerts.rules.budget import BudgetStatus

log = logging.getLogger(__name__)

# A forecast moves with the clock as well as with the data (a source whose charges run to the end of today is
# judged up to now), so budgets are recomputed at least this often even when cost_daily is unchanged.
BUDGET_REFRESH_SECONDS = 300

BUDGET_FIELDS = {
    "spendscope_budget_amount_usd": "amount_usd",
    "spendscope_budget_actual_usd": "actual_usd",
    "spendscope_budget_used_ratio": "used_ratio",
    "spendscope_budget_forecast_usd": "forecast_usd",
    "spendscope_budget_forecast_ratio": "forecast_ratio",
}

# The latest transition row of each alert carries its state (alerts/store.py: ack/notification/silence rows
# annotate the alert and never decide its state).
_FIRING_SQL = """
SELECT rule, severity, SUM(CASE WHEN state = 'firing' THEN 1 ELSE 0 END) AS firing
FROM (
  SELECT rule, severity, state
  FROM alert_events
  WHERE fingerprint IS NOT NULL AND event NOT IN UNNEST(@annotating)
  QUALIFY ROW_NUMBER() OVER (PARTITION BY fingerprint ORDER BY `at` DESC, seq DESC) = 1
)
GROUP BY rule, severity
"""


def _budget_rules(ctx: PartContext) -> list[Any]:
    from alerts.loader import load_rules

    return [r for r in load_rules(ctx.settings) if getattr(r, "type", None) == "budget" and r.enabled]


def budget_samples(statuses: Sequence[BudgetStatus]) -> Samples:
    """The budget families from budget statuses; a repeated (budget, period) keeps its first status."""
    out: Samples = {name: [] for name in BUDGET_FIELDS}
    seen: set[tuple[str, str]] = set()
    for s in statuses:
        labels = (s.budget, s.period)
        if labels in seen:  # a repeated series would make Prometheus reject the whole scrape
            log.warning("exporter:budgets duplicate budget:%s period:%s", s.budget, s.period)
            continue
        seen.add(labels)
        for name, attr in BUDGET_FIELDS.items():
            value = getattr(s, attr)
            if value is not None and math.isfinite(value):
                out[name].append((labels, float(value)))
    return out


def budget_metrics(ctx: PartContext) -> Samples:
    """The spendscope_budget_* families for every enabled budget rule of the config."""
    from alerts.context import EvalContext

    rules = _budget_rules(ctx)
    if not rules:
        return {}
    tz = ctx.settings.reporting.timezone
    bucket = int(ctx.now.timestamp() // BUDGET_REFRESH_SECONDS)
    key = (
        tuple(r.model_dump_json() for r in rules), tz, local_day(ctx.now, tz), bucket,
        ctx.warehouse.table_version("cost_daily"),
    )  # fmt: skip
    cached = ctx.memo.get("budgets")
    if cached is not None and cached[0] == key:
        return dict(cached[1])
    # One context for all rules: they share its memoized cost_daily read.
    ectx = EvalContext(wh=ctx.warehouse, settings=ctx.settings, now=ctx.now.astimezone(dt.UTC))
    statuses = [s for rule in rules for s in rule.status(ectx)]
    samples = budget_samples(statuses)
    ctx.memo["budgets"] = (key, samples)
    return dict(samples)


def firing_samples(rows: Sequence[dict[str, Any]]) -> Samples:
    """spendscope_alerts_firing from (rule, severity, firing) rows."""
    counts: dict[tuple[str, str], float] = {}
    for r in rows:
        labels = (str(r["rule"] or ""), str(r["severity"] or ""))
        counts[labels] = counts.get(labels, 0.0) + float(r["firing"] or 0)
    return {"spendscope_alerts_firing": list(counts.items())}


def alert_metrics(ctx: PartContext) -> Samples:
    """spendscope_alerts_firing{rule,severity} from the engine's alert_events."""
    version = ctx.warehouse.table_version("alert_events")
    if version is None:  # the engine has never written: no rule has alerts to count
        return {}
    cached = ctx.memo.get("alerts_firing")
    if cached is not None and cached[0] == version:
        return dict(cached[1])
    rows = ctx.warehouse.query(_FIRING_SQL, {"annotating": list(ANNOTATING)}).to_pylist()
    samples = firing_samples(rows)
    ctx.memo["alerts_firing"] = (version, samples)
    return dict(samples)
