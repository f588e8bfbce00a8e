"""Titles, texts and payload builders on synthetic alert states."""

from __future__ import annotations

import datetime as dt

from alerts.routing.alertmanager import postable_alert
from alerts.routing.datadog import to_event
from alerts.routing.format import rfc3339, subject, text, title
from spendscope.records import AlertState, Notification, NotificationKind, Severity, State
from tests.alerts.routing.helpers import T0, make_alert


def note(alert: AlertState, kind: NotificationKind = NotificationKind.firing) -> Notification:
    return Notification(kind, alert, title(alert, kind), text(alert, kind, "https://cost.example"), T0)


def test_titles_name_severity_alert_rule_and_instance_labels() -> None:
    a = make_alert(labels={"team": "ml", "cluster": "train"})
    assert title(a, NotificationKind.firing) == "[CRITICAL] BudgetExceeded fleet-daily cluster=train team=ml"
    assert title(a, NotificationKind.repeat).endswith("team=ml (still firing)")
    assert title(a, NotificationKind.resolved).startswith("[RESOLVED] BudgetExceeded fleet-daily")
    same = make_alert(alertname="Spike", rule="Spike", severity=Severity.info)
    assert title(same, NotificationKind.firing) == "[INFO] Spike"


def test_subject_leads_with_the_most_severe_and_counts_the_rest() -> None:
    batch = [note(make_alert(alertname="GpuIdle", severity=Severity.warning)), note(make_alert(labels={"t": "1"}))]
    assert subject(batch) == "[CRITICAL] BudgetExceeded fleet-daily t=1 (+1 more)"
    assert subject(batch[:1]) == "[WARNING] GpuIdle fleet-daily"


def test_text_has_summary_value_times_ack_labels_and_link() -> None:
    a = make_alert(state=State.resolved, resolved_at=T0 + dt.timedelta(hours=2), acked_by="ana", ack_comment="on it")
    lines = text(a, NotificationKind.resolved, "https://cost.example/").splitlines()
    assert lines == [
        "fleet-daily is over budget",
        "Spend today is 112% of the daily budget.",
        "Value: 1.12",
        "Started: 2026-11-22 12:00 UTC",
        "Resolved: 2026-11-22 14:00 UTC",
        "Acknowledged by ana: on it",
        "Labels: alertname=BudgetExceeded, rule=fleet-daily, severity=critical",
        f"Link: https://cost.example/alerts?fingerprint={a.fingerprint}",
    ]


def test_rfc3339_is_utc_with_z() -> None:
    assert rfc3339(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    cet = dt.timezone(dt.timedelta(hours=1))
    assert rfc3339(dt.datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=cet)) == "2026-01-02T02:04:05.250000Z"


def test_postable_alert_has_string_annotations_and_ends_only_when_resolved() -> None:
    a = make_alert(labels={"team": "ml"})
    del a.labels["alertname"]  # then AlertState.alertname is the rule name, and Alertmanager requires one
    a.annotations.pop("description")
    body = postable_alert(a, "https://cost.example", description="from the text")
    assert body == {
        "labels": {"alertname": "fleet-daily", "rule": "fleet-daily", "severity": "critical", "team": "ml"},
        "annotations": {"summary": "fleet-daily is over budget", "description": "from the text", "value": "1.12"},
        "startsAt": "2026-11-22T12:00:00Z",
        "generatorURL": f"https://cost.example/alerts?fingerprint={a.fingerprint}",
    }
    a.state, a.resolved_at = State.resolved, T0 + dt.timedelta(minutes=7)
    assert postable_alert(a, "https://cost.example")["endsAt"] == "2026-11-22T12:07:00Z"


def test_datadog_event_types_follow_severity_and_resolution() -> None:
    types = {s: to_event(note(make_alert(severity=s))).alert_type for s in Severity}
    assert types == {Severity.info: "info", Severity.warning: "warning", Severity.critical: "error"}
    resolved = to_event(note(make_alert(), NotificationKind.resolved))
    assert resolved.alert_type == "success"
    long = to_event(note(make_alert(labels={"x": "y" * 300})))
    assert len(long.title) == 100 and all(len(t) <= 200 for t in long.tags)
