"""`build_notifiers`: one Notifier per `[alerts.notifiers.<name>]`, chosen by its `type`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from alerts.routing.alertmanager import AlertmanagerSender
from alerts.routing.base import Notifier
from alerts.routing.datadog import DatadogSender
from alerts.routing.email import EmailSender
from alerts.routing.webhook import WebhookSender

if TYPE_CHECKING:
    from alerts.config import AlertsConfig

NOTIFIER_TYPES: dict[str, type[Notifier]] = {
    "alertmanager": AlertmanagerSender,
    "datadog": DatadogSender,
    "email": EmailSender,
    "webhook": WebhookSender,
}


def build_notifiers(cfg: AlertsConfig, environ: Mapping[str, str] = os.environ) -> dict[str, Notifier]:
    """The configured notifiers by name; nothing is contacted and no secret is read until they send."""
    return {name: NOTIFIER_TYPES[nc.type](name, nc, cfg.external_url, environ) for name, nc in cfg.notifiers.items()}
