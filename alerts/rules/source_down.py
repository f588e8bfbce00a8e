"""The `source_down` rule: a daemon job whose source failed `failures` runs in a row, after the retries of each.

The daemon retries a transient failure (unreachable, timed out, HTTP 429/5xx) with backoff within the job's
interval (spendscope/retry.py); only a run that still fails counts. One alert per job (`collector` label),
resolved by the job's next successful run. Every other collector, and this evaluation, go on meanwhile.
Judged only inside the daemon: the CLI has no job health.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from alerts.rules.base import NotJudged, RuleBase
from alerts.rules.registry import RULES
from spendscope.records import Finding

if TYPE_CHECKING:
    from alerts.context import EvalContext


@RULES.register("source_down")
class SourceDownRule(RuleBase):
    """A collector (or upkeep job) failing `failures` runs in a row.

    ```yaml
    rules:
      - name: source-down
        type: source_down
        failures: 3
        severity: warning
    ```
    """

    default_alertname: ClassVar[str] = "SourceDown"
    type: Literal["source_down"]
    failures: int = Field(default=3, ge=1, description="failed runs in a row (each after its retries) before it fires")
    jobs: list[str] = Field(default_factory=list, description="only these jobs (empty: every job but alerts)")

    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        if ctx.health is None:
            raise NotJudged("source_down needs the daemon's job health")
        findings = []
        for name, health in sorted(ctx.health.items()):
            # The alerts job reports its own rule errors; judging itself here would only echo them.
            if name == "alerts" or (self.jobs and name not in self.jobs):
                continue
            if health.consecutive_failures < self.failures:
                if health.last_success is None:
                    # No success since the daemon (re)started and not yet N failures: an alert from before the
                    # restart keeps firing until the job succeeds or fails N times again.
                    findings.append(Finding(labels={"collector": name}, undecided=True))
                continue
            since = health.last_success
            findings.append(Finding(
                labels={"collector": name},
                annotations={
                    "summary": f"source {name} down: {health.consecutive_failures} runs failed in a row",
                    "description": f"Last error: {health.last_error}. Retries so far: {health.retries}. Last "
                                   f"success: {since.isoformat() if since else 'never since the daemon started'}. "
                                   "Every other collector goes on; this one resumes from its watermark when the "
                                   "source is back.",
                },
                value=float(health.consecutive_failures),
                evidence={"last_error": health.last_error, "retries": health.retries,
                          "last_success": since.isoformat() if since else None},
            ))  # fmt: skip
        return findings
