"""Alert routing: label-matcher routes to notifiers (Alertmanager, Datadog events, email, webhook)."""

from alerts.routing.base import Delivery, Notifier
from alerts.routing.notifiers import NOTIFIER_TYPES, build_notifiers
from alerts.routing.router import Router

__all__ = ["NOTIFIER_TYPES", "Delivery", "Notifier", "Router", "build_notifiers"]
