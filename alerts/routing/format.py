"""Words and links of notifications: titles, plain texts, RFC 3339 times and the dashboard link of an alert."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from urllib.parse import quote

from spendscope.records import AlertState, Notification, NotificationKind, State

# Labels every alert carries (the engine adds them); titles show the other, instance-identifying ones.
_STANDARD_LABELS = frozenset({"alertname", "rule", "severity"})
MAX_TITLE = 150


def rfc3339(t: dt.datetime) -> str:
    """UTC RFC 3339 with a Z (naive times are taken as UTC), as Alertmanager and webhook receivers expect."""
    t = t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)
    return t.isoformat().replace("+00:00", "Z")


def alert_url(external_url: str, fingerprint: str) -> str:
    """The dashboard's page of one alert: generatorURL and the link in every message."""
    return f"{external_url.rstrip('/')}/alerts?fingerprint={quote(fingerprint)}"


def _identity(alert: AlertState) -> str:
    """`rule k=v …`: what tells this alert apart from other instances of the same alertname."""
    parts = [alert.rule] if alert.rule != alert.alertname else []
    parts += [f"{k}={v}" for k, v in sorted(alert.labels.items()) if k not in _STANDARD_LABELS]
    return " ".join(parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def title(alert: AlertState, kind: NotificationKind) -> str:
    """`[CRITICAL] BudgetExceeded fleet-daily team=ml`, `[RESOLVED] …`, or `… (still firing)` for repeats."""
    tag = "RESOLVED" if kind is NotificationKind.resolved else alert.severity.value.upper()
    text = f"[{tag}] {alert.alertname} {_identity(alert)}".rstrip()
    if kind is NotificationKind.repeat:
        text += " (still firing)"
    return _clip(text, MAX_TITLE)


def summary(alert: AlertState) -> str:
    """The alert's summary annotation, else a sentence built from its name and state."""
    return alert.annotations.get("summary") or f"{alert.alertname} is {alert.state.value}"


def _fmt_time(t: dt.datetime | None) -> str:
    return "-" if t is None else t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def text(alert: AlertState, kind: NotificationKind, external_url: str) -> str:
    """A plain-text body: summary, description, value, times, labels and the dashboard link."""
    lines = [summary(alert)]
    if alert.annotations.get("description"):
        lines.append(alert.annotations["description"])
    if alert.value is not None:
        lines.append(f"Value: {alert.value:g}")
    lines.append(f"Started: {_fmt_time(alert.fired_at or alert.active_since)}")
    if kind is NotificationKind.resolved or alert.state is State.resolved:
        lines.append(f"Resolved: {_fmt_time(alert.resolved_at)}")
    if alert.acked_by:
        lines.append(f"Acknowledged by {alert.acked_by}" + (f": {alert.ack_comment}" if alert.ack_comment else ""))
    lines.append("Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())))
    lines.append(f"Link: {alert_url(external_url, alert.fingerprint)}")
    return "\n".join(lines)


def subject(batch: Sequence[Notification]) -> str:
    """One line for a batch: the most severe notification's title and `(+N more)`."""
    first = ordered(batch)[0]
    more = f" (+{len(batch) - 1} more)" if len(batch) > 1 else ""
    return first.title + more


def ordered(batch: Sequence[Notification]) -> list[Notification]:
    """Most severe first, resolutions last, then by title: the order people read them in."""
    return sorted(
        batch, key=lambda n: (n.kind is NotificationKind.resolved, -n.alert.severity.rank, n.title, n.alert.fingerprint)
    )
