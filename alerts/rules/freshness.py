"""The `freshness` rule: billing data that stopped arriving, and daemon jobs that stay down.

Budget and spike rules judge only the data that has arrived, so a stalled billing export would make them
silently quiet; this rule says so instead. How far each cost source reaches is the latest charge-period end
in `cost_daily` (the same horizon the budget and spike rules name in their alerts); jobs are the daemon's
collectors and upkeep jobs (`spendscope_collector_up`), judged only inside the daemon (the CLI has no
job health).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from alerts.rules.base import RuleBase
from alerts.rules.registry import RULES
from spendscope.config_base import Duration
from spendscope.records import Finding

if TYPE_CHECKING:
    from alerts.context import EvalContext


def _age(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


@RULES.register("freshness")
class FreshnessRule(RuleBase):
    """Cost data older than `max_age` per source table; daemon jobs failing for longer than `jobs_down_for`.

    ```yaml
    rules:
      - name: data-freshness
        type: freshness
        max_age: {gcp_billing_export: 36h, databricks_usage: 36h}
        jobs_down_for: 15m
        severity: warning
    ```
    """

    default_alertname: ClassVar[str] = "DataStale"
    type: Literal["freshness"]
    max_age: dict[str, Duration] = Field(
        default_factory=lambda: {
            "gcp_billing_export": dt.timedelta(hours=36),
            "databricks_usage": dt.timedelta(hours=36),
        },
        description="cost source table → how old its newest charge may be (sources with no data are not judged)",
    )
    jobs_down_for: Duration | None = Field(
        default=dt.timedelta(minutes=15), description="a daemon job failing this long (none: jobs not judged)"
    )

    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        findings = []
        reach = ctx.cost_data_until()
        for source, limit in sorted(self.max_age.items()):
            until = reach.get(source)
            if until is None or ctx.now - until <= limit:
                continue
            age = ctx.now - until
            findings.append(Finding(
                labels={"source": source, "kind": "data"},
                annotations={
                    "summary": f"{source}: no cost data newer than {until:%Y-%m-%d %H:%M} UTC ({_age(age)} old)",
                    "description": f"The newest charge of {source} ends {until.isoformat()}, older than the "
                                   f"{_age(limit)} allowed: budget and spike alerts cannot see spend after it. "
                                   "Check the billing export / collector (spendscope status).",
                },
                value=age.total_seconds(),
                evidence={"data_until": until.isoformat(), "age_seconds": age.total_seconds()},
            ))  # fmt: skip
        if self.jobs_down_for is not None and ctx.health:
            for name, health in sorted(ctx.health.items()):
                if health.up is not False or name == "alerts":
                    continue
                since = health.last_success
                if since is not None and ctx.now - since < self.jobs_down_for:
                    continue
                findings.append(Finding(
                    labels={"job": name, "kind": "job"},
                    annotations={
                        "summary": f"job {name} failing ({health.consecutive_failures} run(s) in a row)",
                        "description": f"Last error: {health.last_error}. Last success: "
                                       f"{since.isoformat() if since else 'never'}.",
                    },
                    value=float(health.consecutive_failures),
                    evidence={"last_error": health.last_error, "last_success": since.isoformat() if since else None},
                ))  # fmt: skip
        return findings
