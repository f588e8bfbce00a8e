"""Webhook POSTs to a loopback HTTP server that verifies the HMAC signature itself (its own code, not ours).

The server recomputes HMAC-SHA256(secret, timestamp + "." + raw body), compares it in constant time with
X-Spendscope-Signature, rejects timestamps more than 5 minutes off, and answers 401 when anything is wrong.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import pytest

from alerts.config import AlertsConfig
from alerts.routing import Router
from alerts.routing.webhook import sign, verify
from spendscope.records import NotificationKind, Severity, State
from tests.alerts.routing.helpers import T0, HttpRecorder, Seen, make_alert
from tests.common.servers import free_port

pytestmark = pytest.mark.integration
SECRET = "whsec-test-0123456789"
TOKEN_PATH = "/hooks/T0K3N-in-the-path"


def server_verifies(seen: Seen) -> int:
    ts, sig = seen.headers.get("x-spendscope-timestamp"), seen.headers.get("x-spendscope-signature")
    if ts is None or sig is None or abs(time.time() - int(ts)) > 300:
        return 401
    expected = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + seen.body, hashlib.sha256).hexdigest()
    return 200 if hmac.compare_digest(expected, sig) else 401


@pytest.fixture
def server() -> Iterator[HttpRecorder]:
    rec = HttpRecorder(check=server_verifies).start()
    yield rec
    rec.stop()


def hook_router(url: str, **extra: object) -> Router:
    hook = {"type": "webhook", "url": url, "secret_env": "HOOK_SECRET", "headers": {"X-Team": "finops"}, **extra}
    return Router(AlertsConfig.model_validate({"notifiers": {"hook": hook}, "external_url": "https://cost.example"}))


def test_signed_batch_is_verified_by_the_server(server: HttpRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    router = hook_router(server.url + TOKEN_PATH)
    crit = make_alert(labels={"team": "ml"})
    warn = make_alert(alertname="GpuIdle", rule="idle-gpus", severity=Severity.warning, labels={"team": "ml"})
    out = router.notify([crit, warn], T0)
    router.close()
    assert [(d.ok, d.kind) for d in out] == [(True, NotificationKind.firing)] * 2
    [seen] = server.seen
    assert (seen.method, seen.path, seen.status) == ("POST", TOKEN_PATH, 200)
    assert seen.headers["content-type"] == "application/json" and seen.headers["x-team"] == "finops"
    body = seen.json()
    assert {k: body[k] for k in ("version", "receiver", "status", "externalURL")} == {
        "version": "1", "receiver": "hook", "status": "firing", "externalURL": "https://cost.example",
    }  # fmt: skip
    assert body["commonLabels"] == {"team": "ml"}
    first = body["alerts"][0]
    assert first == {
        "status": "firing",
        "kind": "firing",
        "labels": crit.labels,
        "annotations": crit.annotations,
        "startsAt": "2026-11-22T12:00:00Z",
        "endsAt": None,
        "fingerprint": crit.fingerprint,
        "generatorURL": f"https://cost.example/alerts?fingerprint={crit.fingerprint}",
        "title": "[CRITICAL] BudgetExceeded fleet-daily team=ml",
        "text": first["text"],
        "value": 1.12,
    }
    assert body["alerts"][1]["labels"]["alertname"] == "GpuIdle"


def test_resolved_batch_and_the_replay_window(server: HttpRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    router = hook_router(server.url + TOKEN_PATH)
    alert = make_alert(state=State.resolved, resolved_at=T0 + dt.timedelta(hours=1))
    alert.notified["hook"] = T0
    [d] = router.notify([alert], T0 + dt.timedelta(hours=1))
    router.close()
    assert (d.ok, d.kind) == (True, NotificationKind.resolved)
    [seen] = server.seen
    body = seen.json()
    assert body["status"] == "resolved" and body["alerts"][0]["endsAt"] == "2026-11-22T13:00:00Z"
    ts, sig = seen.headers["x-spendscope-timestamp"], seen.headers["x-spendscope-signature"]
    assert verify(SECRET, seen.body, ts, sig, now=time.time())
    # Replayed 10 minutes later, or with the timestamp changed to look fresh, it no longer verifies.
    later = str(int(ts) + 600)
    assert not verify(SECRET, seen.body, ts, sig, now=int(ts) + 600)
    assert not verify(SECRET, seen.body, later, sig, now=int(ts) + 600)
    replay = httpx.post(server.url + TOKEN_PATH, content=seen.body,
                        headers={"x-spendscope-timestamp": later, "x-spendscope-signature": sig})  # fmt: skip
    assert replay.status_code == 401
    assert sign(SECRET, ts, seen.body) == sig


def test_a_wrong_secret_is_refused_and_the_error_hides_the_url_path(
    server: HttpRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "someone-elses-secret")
    router = hook_router(server.url + TOKEN_PATH)
    [d] = router.notify([make_alert()], T0)
    router.close()
    assert (d.ok, d.error) == (False, f"hook: POST {server.url}: HTTP 401")
    assert [s.status for s in server.seen] == [401]


def test_a_dead_notifier_does_not_stop_a_working_one(server: HttpRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    dead = f"http://127.0.0.1:{free_port()}/nothing-listens"
    cfg = AlertsConfig.model_validate(
        {
            "notifiers": {
                "dead": {"type": "webhook", "url": dead, "timeout_seconds": 5},
                "hook": {"type": "webhook", "url": server.url + TOKEN_PATH, "secret_env": "HOOK_SECRET"},
            }
        }
    )
    router = Router(cfg)
    out = router.notify([make_alert()], T0)
    router.close()
    assert sorted((d.notifier, d.ok, d.error) for d in out) == [
        ("dead", False, f"dead: POST {dead.rsplit('/', 1)[0]} failed: ConnectError"),
        ("hook", True, None),
    ]
    assert [s.status for s in server.seen] == [200]


def test_without_a_secret_nothing_is_signed() -> None:
    plain = HttpRecorder().start()
    try:
        router = Router(AlertsConfig.model_validate({"notifiers": {"hook": {"type": "webhook", "url": plain.url}}}))
        [d] = router.notify([make_alert()], T0)
        router.close()
    finally:
        plain.stop()
    assert d.ok
    [seen] = plain.seen
    assert "x-spendscope-signature" not in seen.headers and "x-spendscope-timestamp" not in seen.headers
    assert seen.json()["alerts"][0]["kind"] == "firing"
