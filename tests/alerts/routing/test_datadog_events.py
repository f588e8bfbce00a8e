"""Datadog events through the REAL datadog-api-client, pointed at a loopback stand-in (tests/exporters/datadog_stub).

Datadog cannot be reached from tests: the stub checks the exact requests (method, path /api/v1/events, the
DD-API-KEY header, the JSON body) and answers with the documented response shape (formats.md §5.2–5.3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from alerts.config import AlertsConfig
from alerts.routing import Router
from alerts.routing.datadog import DatadogSender
from spendscope.records import NotificationKind, Severity, State
from tests.alerts.routing.helpers import T0, make_alert
from tests.exporters.datadog_stub import API_KEY, DatadogStub

pytestmark = pytest.mark.integration


@pytest.fixture
def stub() -> Iterator[DatadogStub]:
    s = DatadogStub().start()
    yield s
    s.stop()


def dd_router(url: str | None, **extra: object) -> Router:
    dd = {"type": "datadog", "api_key_env": "ALERTS_DD_KEY", "api_url": url, "tags": ["env:test"], **extra}
    return Router(AlertsConfig.model_validate({"notifiers": {"dd": dd}, "external_url": "https://cost.example"}))


def test_one_event_per_alert_with_type_tags_and_aggregation_key(
    stub: DatadogStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERTS_DD_KEY", API_KEY)
    router = dd_router(stub.url)
    crit = make_alert(labels={"team": "ml"})
    warn = make_alert(alertname="GpuIdle", rule="idle-gpus", severity=Severity.warning, labels={"cluster": "train"})
    try:
        out = router.notify([crit, warn], T0)
        assert [(d.ok, d.kind) for d in out] == [(True, NotificationKind.firing)] * 2
        for d in out:
            {crit.fingerprint: crit, warn.fingerprint: warn}[d.fingerprint].notified["dd"] = T0
        crit.state, crit.resolved_at = State.resolved, T0 + dt.timedelta(minutes=30)
        [d] = router.notify([crit, warn], T0 + dt.timedelta(minutes=30))
        assert (d.ok, d.kind, d.fingerprint) == (True, NotificationKind.resolved, crit.fingerprint)
    finally:
        router.close()
    assert [(r.method, r.path, r.headers["DD-API-KEY"], r.status) for r in stub.requests] == [
        ("POST", "/api/v1/events", API_KEY, 202)
    ] * 3
    first, second, resolved = (r.json for r in stub.requests)
    assert first == {
        "title": "[CRITICAL] BudgetExceeded fleet-daily team=ml",
        "text": first["text"],
        "alert_type": "error",
        "aggregation_key": crit.fingerprint,
        "date_happened": int(T0.timestamp()),
        "tags": [
            "alertname:BudgetExceeded", "rule:fleet-daily", "severity:critical", "team:ml",
            f"fingerprint:{crit.fingerprint}", "notification:firing", "env:test",
        ],
    }  # fmt: skip
    assert "fleet-daily is over budget" in first["text"]
    assert f"https://cost.example/alerts?fingerprint={crit.fingerprint}" in first["text"]
    assert (second["alert_type"], second["title"]) == ("warning", "[WARNING] GpuIdle idle-gpus cluster=train")
    assert "cluster:train" in second["tags"]
    assert (resolved["alert_type"], resolved["aggregation_key"]) == ("success", crit.fingerprint)
    assert resolved["title"] == "[RESOLVED] BudgetExceeded fleet-daily team=ml"
    assert "notification:resolved" in resolved["tags"]
    assert resolved["date_happened"] == int((T0 + dt.timedelta(minutes=30)).timestamp())


def test_a_refused_key_is_a_failed_delivery_without_the_key(stub: DatadogStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTS_DD_KEY", "not-the-right-key")
    router = dd_router(stub.url)
    try:
        [d] = router.notify([make_alert()], T0)
    finally:
        router.close()
    assert not d.ok
    assert d.error == "dd: datadog: POST /api/v1/events failed: HTTP 403 Forbidden (check the API key)"
    assert [r.headers["DD-API-KEY"] for r in stub.requests] == ["not-the-right-key"]


def test_the_site_picks_the_api_host_and_a_new_key_is_picked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTS_DD_KEY", "k1")
    router = dd_router(None, site="datadoghq.eu")
    sender = router.notifiers["dd"]
    assert isinstance(sender, DatadogSender)
    first = sender._client()
    assert first.host == "https://api.datadoghq.eu"
    assert sender._client() is first
    monkeypatch.setenv("ALERTS_DD_KEY", "k2")  # a rotated key is read at the next send
    assert sender._client() is not first
    router.close()
