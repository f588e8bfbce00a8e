"""A real Alertmanager (Debian package, /usr/bin/prometheus-alertmanager 0.25) receives our alerts and resolutions.

The test starts Alertmanager on a free loopback port with a temporary config and storage directory (no
clustering) and a webhook receiver on another loopback port. The router posts through AlertmanagerSender;
the test reads Alertmanager's own API (GET /api/v2/alerts) and what Alertmanager forwards to its receiver.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from alerts.config import AlertsConfig
from alerts.routing import Router
from alerts.routing.format import rfc3339
from spendscope.records import NotificationKind, Severity, State
from tests.alerts.routing.helpers import HttpRecorder, make_alert
from tests.common.servers import poll

pytestmark = pytest.mark.integration


def am_alerts(base: str, alertname: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{base}/api/v2/alerts", params={"filter": f'alertname="{alertname}"'}, timeout=5)
    r.raise_for_status()
    return list(r.json())


def forwarded(receiver: HttpRecorder, status: str) -> list[dict[str, Any]]:
    """Alerts Alertmanager's webhook receiver got in notifications of `status`."""
    return [a for s in receiver.seen for a in s.json()["alerts"] if s.json()["status"] == status]


def test_alertmanager_receives_firing_resends_and_resolution(alertmanager: str, receiver: HttpRecorder) -> None:
    cfg = AlertsConfig.model_validate(
        {"notifiers": {"am": {"type": "alertmanager", "url": alertmanager}}, "external_url": "https://cost.example/"}
    )
    router = Router(cfg)
    # Alertmanager works on wall-clock time, so the alert fires "now" (whole milliseconds: what it keeps).
    fired = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=2)
    alert = make_alert(labels={"team": "ml"}, fired_at=fired)
    alert.annotations["runbook_url"] = "https://wiki.example/budget"
    try:
        [d] = router.notify([alert], fired)
        assert (d.notifier, d.ok, d.kind, d.record) == ("am", True, NotificationKind.firing, True)
        alert.notified["am"] = fired

        [got] = am_alerts(alertmanager, "BudgetExceeded")
        assert got["labels"] == alert.labels
        assert got["annotations"] == {
            "summary": "fleet-daily is over budget",
            "description": "Spend today is 112% of the daily budget.",
            "runbook_url": "https://wiki.example/budget",
            "value": "1.12",
        }
        assert dt.datetime.fromisoformat(got["startsAt"]) == fired
        assert got["generatorURL"] == f"https://cost.example/alerts?fingerprint={alert.fingerprint}"
        assert got["status"]["state"] == "active" and [r["name"] for r in got["receivers"]] == ["hook"]
        # No endsAt from us while firing: Alertmanager holds it for resolve_timeout, so we must re-send.
        assert dt.datetime.fromisoformat(got["endsAt"]) > dt.datetime.now(dt.UTC)
        fired_note = poll(lambda: forwarded(receiver, "firing"))
        assert fired_note[0]["labels"] == alert.labels

        [d] = router.notify([alert], fired + dt.timedelta(minutes=1))
        assert (d.ok, d.kind, d.record) == (True, NotificationKind.repeat, False)
        assert len(am_alerts(alertmanager, "BudgetExceeded")) == 1  # the same label set: the same alert

        resolved = dt.datetime.now(dt.UTC).replace(microsecond=0)
        alert.state, alert.resolved_at = State.resolved, resolved
        [d] = router.notify([alert], resolved)
        assert (d.ok, d.kind, d.record) == (True, NotificationKind.resolved, True)
        alert.notified["am"] = resolved
        # endsAt has passed: Alertmanager no longer lists the alert, and tells its receiver it resolved.
        poll(lambda: am_alerts(alertmanager, "BudgetExceeded") == [])
        [res] = poll(lambda: forwarded(receiver, "resolved"))
        assert res["labels"] == alert.labels and res["endsAt"].startswith(rfc3339(resolved)[:-1])
        [d] = router.notify([alert], resolved + dt.timedelta(minutes=1))
        assert (d.ok, d.kind, d.record) == (True, NotificationKind.resolved, False)
    finally:
        router.close()


def test_alertmanager_rejection_is_a_failed_delivery_with_its_reason(alertmanager: str) -> None:
    cfg = AlertsConfig.model_validate({"notifiers": {"am": {"type": "alertmanager", "url": alertmanager}}})
    router = Router(cfg)
    try:
        # A label name Alertmanager refuses (names are [a-zA-Z_][a-zA-Z0-9_]*).
        now = dt.datetime.now(dt.UTC)
        bad = make_alert(severity=Severity.warning, labels={"cost-center": "42"}, fired_at=now)
        [d] = router.notify([bad], now)
        assert not d.ok and d.error is not None
        assert d.error.startswith(f"am: POST {alertmanager}/api/v2/alerts: HTTP 400")
        assert "cost-center" in d.error
    finally:
        router.close()
