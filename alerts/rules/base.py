"""The rule contract: a pydantic model with `type` as discriminator and `evaluate(ctx) -> list[Finding]`.

A rule says which alert instances are active *now*; the engine (alerts/engine.py) turns that into
pending → firing → resolved with `for`, `keep_firing_for`, silences and acks. Every rule class carries a
YAML example in its docstring that tests/alerts/test_rule_examples.py validates.
"""

from __future__ import annotations

import abc
import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from spendscope.config_base import Duration
from spendscope.records import Finding, Severity

if TYPE_CHECKING:
    from alerts.context import EvalContext


class RuleBase(BaseModel, abc.ABC):
    """Fields every rule has. Subclasses add `type: Literal[...]`, their own fields and `evaluate`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # The alertname label of findings unless the rule sets `alertname` (CamelCase, as Prometheus alerts are).
    default_alertname: ClassVar[str] = "SpendscopeAlert"

    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$", description="unique rule name; the `rule` label")
    enabled: bool = True
    severity: Severity = Field(default=Severity.warning, description="severity of findings that do not set one")
    alertname: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    for_: Duration = Field(default=dt.timedelta(0), alias="for", description="active this long before firing")
    keep_firing_for: Duration = Field(default=dt.timedelta(0), description="stay firing this long after it clears")
    labels: dict[str, str] = Field(default_factory=dict, description="added to every finding (routing: team, …)")
    annotations: dict[str, str] = Field(default_factory=dict, description="added to every finding (runbook_url, …)")

    @property
    def alert_name(self) -> str:
        return self.alertname or self.default_alertname

    @abc.abstractmethod
    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        """The alert instances active at ctx.now (empty when all is well)."""


class NotJudged(Exception):
    """Raised by a rule that cannot judge in this context (the CLI has no job health): its alerts keep their state."""
