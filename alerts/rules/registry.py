"""The rule-type registry: `@RULES.register("budget")` on each rule class (filled by alerts/rules/__init__)."""

from __future__ import annotations

from alerts.rules.base import RuleBase
from spendscope.registry import Registry

RULES: Registry[type[RuleBase]] = Registry("rule type")
