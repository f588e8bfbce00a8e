"""Rule types (one module each) and `Rule`, their discriminated union (`type` picks the class)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from alerts.rules import budget, credit, degradation, freshness, idle, runtime, source_down, spike, threshold
from alerts.rules.base import RuleBase
from alerts.rules.registry import RULES

Rule = Annotated[
    budget.BudgetRule
    | spike.SpikeRule
    | credit.CreditRule
    | idle.IdleRule
    | degradation.DegradationRule
    | threshold.ThresholdRule
    | runtime.RuntimeRule
    | freshness.FreshnessRule
    | source_down.SourceDownRule,
    Field(discriminator="type"),
]

__all__ = ["RULES", "Rule", "RuleBase"]
