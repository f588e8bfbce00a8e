"""Notifier and route config: `[alerts.notifiers.<name>]` (type as discriminator) and `[[alerts.routes]]`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from spendscope.config_base import Duration, Strict
from spendscope.records import Severity


class NotifierBase(Strict):
    repeat_interval: Duration = Field(default=dt.timedelta(hours=4), description="re-notify a still-firing alert")
    send_resolved: bool = True


class AlertmanagerNotifier(NotifierBase):
    """Alertmanager API v2: POST /api/v2/alerts; re-sent every evaluation while firing, resolved by endsAt."""

    type: Literal["alertmanager"]
    url: str = Field(
        description="Alertmanager base URL, e.g. http://alertmanager:9093 (https verifies its certificate)"
    )
    ca_file: str | None = Field(
        default=None, description="PEM CA bundle that verifies the server's certificate (else the public CAs)"
    )
    repeat_interval: Duration = Field(default=dt.timedelta(minutes=1), description="re-send while firing")
    resolve_resend_for: Duration = Field(
        default=dt.timedelta(minutes=5), description="keep re-sending a resolution this long (Alertmanager's advice)"
    )
    timeout_seconds: float = Field(default=10, gt=0)


class DatadogNotifier(NotifierBase):
    """Datadog events (v1 create_event) through datadog-api-client; the key from `api_key_env`."""

    type: Literal["datadog"]
    site: str = "datadoghq.com"
    api_key_env: str = "DD_API_KEY"
    api_url: str | None = Field(default=None, description="override the API base URL (a proxy; tests)")
    ca_file: str | None = Field(
        default=None,
        description="PEM CA bundle that verifies the API's (or the proxy's) certificate (else the system's)",
    )
    tags: list[str] = Field(default_factory=list)


class EmailNotifier(NotifierBase):
    """SMTP mail: immediate for `immediate_severities`; the rest wait for the daily digest."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: str | None = Field(default=None, description="env var with the SMTP user (no auth when unset)")
    password_env: str | None = None
    ca_file: str | None = Field(default=None, description="PEM CA bundle to verify the server with (else the system's)")
    sender: str = "spendscope@localhost"
    to: list[str] = Field(min_length=1)
    immediate_severities: list[Severity] = Field(default_factory=lambda: [Severity.critical])
    timeout_seconds: float = Field(default=30, gt=0)


class WebhookNotifier(NotifierBase):
    """Generic JSON POST; with `secret_env`, an HMAC-SHA256 of timestamp and body (see alerts/routing/webhook.py)."""

    type: Literal["webhook"]
    url: str = Field(description="where the JSON is POSTed (https verifies the receiver's certificate)")
    ca_file: str | None = Field(
        default=None, description="PEM CA bundle that verifies the server's certificate (else the public CAs)"
    )
    secret_env: str | None = None
    signature_header: str = "X-Spendscope-Signature"
    timestamp_header: str = Field(default="X-Spendscope-Timestamp", description="signed send time (unix seconds)")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=10, gt=0)


NotifierConfig = Annotated[
    AlertmanagerNotifier | DatadogNotifier | EmailNotifier | WebhookNotifier, Field(discriminator="type")
]


class RouteConfig(Strict):
    """Alerts whose labels match go to `notifiers`; the first matching route wins unless `continue`."""

    match: dict[str, str] = Field(default_factory=dict, description="label = value (all must hold)")
    match_re: dict[str, str] = Field(default_factory=dict, description="label = regex (anchored, all must hold)")
    notifiers: list[str] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue", description="also try the routes after this one")
    repeat_interval: Duration | None = Field(default=None, description="override the notifiers' repeat interval")

    @model_validator(mode="after")
    def _regexes_compile(self) -> RouteConfig:
        import re

        for name, pattern in self.match_re.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"match_re.{name}: bad regex {pattern!r}: {exc}") from None
        return self
