"""The alert engine's persistence: alert_events (every transition, notification, ack) and silences.

Nothing lives only in memory: the current state of every alert is the latest alert_events row of its
fingerprint, plus the notified/acked/silenced rows since it became active — so a restarted daemon, the CLI
and the dashboard all see the same alerts. Acks and silences written by the CLI are picked up by a running
daemon on its next evaluation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from alerts.silences import Silence
from exporters.warehouse.engine import Warehouse
from spendscope.records import AlertState, Resource, Severity, State

# Event kinds that are not state transitions: they annotate the current alert.
ANNOTATING = ("notified", "acked", "silenced", "unsilenced")


def _kv(d: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": str(v)} for k, v in sorted(d.items())]


def _unkv(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {i["key"]: i["value"] for i in items or []}


def _resource_json(r: Resource | None) -> str | None:
    if r is None:
        return None
    d = dataclasses.asdict(r)
    d["labels"] = dict(r.labels)
    return json.dumps(d, sort_keys=True)


def _resource(text: str | None) -> Resource | None:
    if not text:
        return None
    d = json.loads(text)
    d["hosts"] = tuple(d.get("hosts") or ())
    return Resource(**d)


def event_row(
    alert: AlertState, event: str, at: dt.datetime, seq: int, **extra: Any
) -> dict[str, Any]:  # fmt: skip
    """An alert_events row carrying the alert's full state after `event` (so the latest row rebuilds it)."""
    return {
        "at": at,
        "seq": seq,
        "fingerprint": alert.fingerprint,
        "rule": alert.rule,
        "alertname": alert.alertname,
        "severity": str(alert.severity),
        "event": event,
        "state": str(alert.state),
        "labels": _kv(alert.labels),
        "annotations": _kv(alert.annotations),
        "value": alert.value,
        "active_since": alert.active_since,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "notifier": extra.get("notifier"),
        "author": extra.get("author"),
        "comment": extra.get("comment"),
        "silence_id": extra.get("silence_id"),
        "evidence": json.dumps(alert.evidence, sort_keys=True, default=str),
        "resource": _resource_json(alert.resource),
        "_day": at.astimezone(dt.UTC).date(),
        "_source": extra.get("source", "engine"),
    }


def state_from_row(r: Mapping[str, Any]) -> AlertState:
    """An AlertState from its latest alert_events row (annotating rows are applied by `AlertStore.current`)."""
    return AlertState(
        fingerprint=r["fingerprint"],
        rule=r["rule"],
        labels=_unkv(r["labels"]),
        annotations=_unkv(r["annotations"]),
        severity=Severity(r["severity"]),
        state=State(r["state"]),
        active_since=r["active_since"],
        last_active=r["at"] if r["state"] != "resolved" else (r["resolved_at"] or r["at"]),
        fired_at=r["fired_at"],
        resolved_at=r["resolved_at"],
        value=r["value"],
        evidence=json.loads(r["evidence"] or "{}"),
        resource=_resource(r["resource"]),
    )


class AlertStore:
    """Reads and writes alert_events and silences through the warehouse API."""

    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh

    def append(self, rows: Sequence[dict[str, Any]]) -> int:
        if not rows:
            return 0
        return self.wh.append("alert_events", pa.Table.from_pylist(list(rows)))

    def current(self, resolved_since: dt.datetime | None = None) -> list[AlertState]:
        """Every alert not resolved, and those resolved at or after `resolved_since`, with acks/notifications."""
        # State comes from transition rows only: an ack or notification row written by another process (with
        # its own, possibly stale, copy of the alert) never decides whether an alert is firing.
        latest = self.wh.query(
            "SELECT * FROM alert_events WHERE event NOT IN UNNEST(@kinds) "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY fingerprint ORDER BY `at` DESC, seq DESC) = 1",
            {"kinds": list(ANNOTATING)},
        ).to_pylist()
        states = {}
        for r in latest:
            if r["state"] == "resolved" and (resolved_since is None or (r["resolved_at"] or r["at"]) < resolved_since):
                continue
            states[r["fingerprint"]] = state_from_row(r)
        if not states:
            return []
        notes = self.wh.query(
            "SELECT fingerprint, event, `at`, seq, notifier, author, comment, silence_id FROM alert_events "
            "WHERE event IN UNNEST(@kinds) AND fingerprint IN UNNEST(@fps) ORDER BY `at`, seq",
            {"kinds": list(ANNOTATING), "fps": sorted(states)},
        ).to_pylist()
        for n in notes:
            apply_note(states[n["fingerprint"]], n)
        for alert in states.values():
            if alert.state == State.resolved:
                alert.silenced_by = None  # as the engine does on resolution
        return list(states.values())

    def notes_since(self, since: dt.datetime) -> list[dict[str, Any]]:
        """Acks written since `since` (by the CLI while a daemon runs), oldest first."""
        return self.wh.query(
            "SELECT fingerprint, event, `at`, seq, notifier, author, comment, silence_id FROM alert_events "
            "WHERE _day >= @day AND `at` > @since AND event = 'acked' ORDER BY `at`, seq",
            {"day": since.astimezone(dt.UTC).date(), "since": since},
        ).to_pylist()

    def history(self, since: dt.datetime, fingerprint: str | None = None) -> pa.Table:
        """alert_events rows since `since` (newest first), optionally of one alert (a fingerprint prefix)."""
        sql = (
            "SELECT `at`, fingerprint, alertname, rule, severity, event, state, notifier, author, comment "
            "FROM alert_events WHERE _day >= @day AND `at` >= @since"
        )
        params: dict[str, Any] = {"day": since.astimezone(dt.UTC).date(), "since": since}
        if fingerprint:
            sql += " AND STARTS_WITH(fingerprint, @fp)"  # `alerts list` shows the first 8 characters
            params["fp"] = fingerprint.strip().lower()
        return self.wh.query(sql + " ORDER BY `at` DESC, seq DESC", params)

    # silences ---------------------------------------------------------------------------------------------

    def silences(self) -> list[Silence]:
        """Every silence (latest version of each id)."""
        rows = self.wh.query(
            "SELECT * FROM silences QUALIFY ROW_NUMBER() OVER (PARTITION BY id ORDER BY IFNULL(expired_at, created_at) "
            "DESC) = 1 ORDER BY created_at"
        ).to_pylist()
        return [Silence.from_row(r) for r in rows]

    def add_silence(self, silence: Silence) -> None:
        self.wh.replace("silences", pa.Table.from_pylist([silence.to_row()]), [{"id": silence.id}])

    def expire_silence(self, silence: Silence, now: dt.datetime) -> Silence:
        expired = dataclasses.replace(silence, expired_at=now)
        self.wh.replace("silences", pa.Table.from_pylist([expired.to_row()]), [{"id": silence.id}])
        return expired


def apply_note(alert: AlertState, note: Mapping[str, Any]) -> None:
    """Apply a notified/acked/silenced row to `alert` if it belongs to the alert's current episode."""
    at: dt.datetime = note["at"]
    if at < alert.active_since:
        return  # from an earlier episode of the same fingerprint
    kind = note["event"]
    if kind == "notified" and note["notifier"]:
        prev = alert.notified.get(note["notifier"])
        alert.notified[note["notifier"]] = max(prev, at) if prev else at
    elif kind == "acked":
        alert.acked_by, alert.acked_at, alert.ack_comment = note["author"] or "?", at, note["comment"]
    elif kind == "silenced":
        alert.silenced_by = note["silence_id"]
    elif kind == "unsilenced":
        alert.silenced_by = None
