"""Typed records the alert engine passes between rules, routing and actions (DESIGN §3).

Cost and telemetry rows stay in their Arrow schemas; these are the few values that travel between the
alerting layers. `Finding` is what a rule says is true now; `AlertState` is the engine's view of one alert
over time; `Notification` is what a notifier sends; `Resource` names a thing an action may stop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """Alert severity; ordered info < warning < critical."""

    info = "info"
    warning = "warning"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.info: 0, Severity.warning: 1, Severity.critical: 2}


@dataclass(frozen=True)
class Resource:
    """Something an auto-shutdown action can stop: a Databricks cluster, a GCE instance, a GKE node pool."""

    platform: str  # databricks | gce | gke
    kind: str  # cluster | instance | node_pool
    resource_id: str  # cluster_id / instance id / node pool self link or name
    name: str | None = None
    project: str | None = None  # GCP project / Databricks workspace
    location: str | None = None  # zone or region
    cluster: str | None = None  # GKE cluster of a node pool
    state: str | None = None  # upstream state when last seen (RUNNING, TERMINATED, …)
    labels: Mapping[str, str] = field(default_factory=dict)  # GCE labels / GKE node labels / Databricks tags
    price_usd_per_hour: float | None = None
    hosts: tuple[str, ...] = ()


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable 16-hex id of a label set (sorted name=value pairs): the same labels, the same alert."""
    text = "\x00".join(f"{k}\x01{labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Finding:
    """One alert instance a rule finds active now (like one series of a Prometheus alert expression).

    `labels` identify it (the engine adds alertname, rule and severity); `annotations` describe it for
    people (summary, description); `evidence` is JSON-able detail kept in alert_events and action_log.
    `resource` is set by rules whose finding an action may act on (idle clusters).
    """

    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    value: float | None = None
    severity: Severity | None = None  # None: the rule's configured severity
    evidence: Mapping[str, Any] = field(default_factory=dict)
    resource: Resource | None = None
    # The rule cannot tell now whether this instance is active (its inputs are not in yet, e.g. a job that has
    # not finished a run since the daemon restarted): an alert with these labels keeps its state; none is made.
    undecided: bool = False


class State(StrEnum):
    pending = "pending"
    firing = "firing"
    resolved = "resolved"


@dataclass
class AlertState:
    """The engine's view of one alert (one fingerprint); rebuilt from alert_events after a restart."""

    fingerprint: str
    rule: str
    labels: dict[str, str]
    annotations: dict[str, str]
    severity: Severity
    state: State
    active_since: dt.datetime  # first evaluation the condition held (pending start)
    last_active: dt.datetime  # last evaluation the condition held
    fired_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    value: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    acked_by: str | None = None
    acked_at: dt.datetime | None = None
    ack_comment: str | None = None
    silenced_by: str | None = None  # silence id while a silence matches
    notified: dict[str, dt.datetime] = field(default_factory=dict)  # notifier → last send
    resource: Resource | None = None

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", self.rule)


class NotificationKind(StrEnum):
    firing = "firing"  # first notification of a firing alert
    repeat = "repeat"  # still firing, repeat interval elapsed (or a stateless re-send to Alertmanager)
    resolved = "resolved"
    action = "action"  # an auto-shutdown warning or result


@dataclass(frozen=True)
class Notification:
    """One thing to tell a notifier: an alert (its state at send time) and why it is sent now."""

    kind: NotificationKind
    alert: AlertState
    title: str
    text: str
    at: dt.datetime
