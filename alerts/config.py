"""`[alerts]`: rule files and inline rules, notifiers, routes, and the auto-shutdown safety settings."""

from __future__ import annotations

from pydantic import Field, model_validator

from alerts.actions.config import ActionsConfig
from alerts.routing.config import NotifierConfig, RouteConfig
from alerts.rules import Rule
from spendscope.config_base import Strict


class AlertsConfig(Strict):
    enabled: bool = Field(default=True, description="the daemon evaluates rules after the collectors")
    interval_minutes: float = Field(default=1, gt=0, description="how often the daemon evaluates")
    rule_files: list[str] | None = Field(
        default=None, description="YAML rule files or globs; default: the shipped rules/default.yaml"
    )
    rules: list[Rule] = Field(default_factory=list, description="rules inline in this file ([[alerts.rules]])")
    notifiers: dict[str, NotifierConfig] = Field(default_factory=dict)
    routes: list[RouteConfig] = Field(
        default_factory=list, description="label-matcher routes; none: every alert to every notifier"
    )
    actions: ActionsConfig = ActionsConfig()
    external_url: str = Field(
        default="http://localhost:8501", description="the dashboard's URL: generatorURL and links in notifications"
    )

    @model_validator(mode="after")
    def _routes_name_notifiers(self) -> AlertsConfig:
        for i, route in enumerate(self.routes):
            unknown = [n for n in route.notifiers if n not in self.notifiers]
            if unknown:
                valid = ", ".join(sorted(self.notifiers)) or "(none defined)"
                raise ValueError(f"routes[{i}]: unknown notifier(s) {', '.join(unknown)}; defined: {valid}")
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule name(s) used twice: {', '.join(dupes)}")
        return self
