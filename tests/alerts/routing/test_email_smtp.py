"""Email through a real SMTP server (aiosmtpd) on loopback: STARTTLS + AUTH, implicit TLS (SSL) + AUTH.

The server and its self-signed certificate are tests/common/smtp.py's (shared with the daily report's tests);
the notifier trusts it through `ca_file` and verifies the hostname, and a test without `ca_file` shows that an
untrusted certificate is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alerts.config import AlertsConfig
from alerts.routing import Router
from spendscope.records import NotificationKind, Severity
from tests.alerts.routing.helpers import T0, make_alert
from tests.common.smtp import USER, Inbox, Received

pytestmark = pytest.mark.integration


def mail_router(port: int, security: str, ca_file: Path | None, **extra: Any) -> Router:
    mail = {
        "type": "email", "host": "127.0.0.1", "port": port, "security": security,
        "to": ["ops@example.com", "ml@example.com"], "sender": "alerts@spendscope.example",
        "username_env": "SMTP_USER", "password_env": "SMTP_PASSWORD",
        "timeout_seconds": 10, **extra,
    }  # fmt: skip
    if ca_file is not None:
        mail["ca_file"] = str(ca_file)
    cfg = AlertsConfig.model_validate({"notifiers": {"mail": mail}, "external_url": "https://cost.example"})
    return Router(cfg)


def check_batch_message(r: Received, fingerprints: list[str]) -> None:
    assert r.mail_from == "alerts@spendscope.example"
    assert r.rcpt_tos == ["ops@example.com", "ml@example.com"]
    msg = r.message
    # Equal severity: ordered by title, so team=data comes first.
    assert msg["Subject"] == "[CRITICAL] BudgetExceeded fleet-daily team=data (+1 more)"
    assert msg["To"] == "ops@example.com, ml@example.com"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    # Both alerts, each with its summary, labels, value, start and dashboard link.
    assert text.count("fleet-daily is over budget") == 2
    assert "Labels: alertname=BudgetExceeded, rule=fleet-daily, severity=critical, team=ml" in text
    assert "Labels: alertname=BudgetExceeded, rule=fleet-daily, severity=critical, team=data" in text
    assert "Value: 1.12" in text and "Started: 2026-11-22 12:00 UTC" in text
    for fp in fingerprints:
        assert f"Link: https://cost.example/alerts?fingerprint={fp}" in text
        assert f'href="https://cost.example/alerts?fingerprint={fp}"' in html.get_content()


def test_starttls_with_auth_delivers_one_message_per_batch(
    starttls_server: tuple[Inbox, int], cert: tuple[Path, Path], smtp_env: None
) -> None:
    inbox, port = starttls_server
    router = mail_router(port, "starttls", cert[0])
    alerts = [make_alert(labels={"team": "ml"}), make_alert(labels={"team": "data"})]
    out = router.notify([*alerts, make_alert(severity=Severity.warning)], T0)  # the warning waits for the digest
    assert [(d.notifier, d.ok, d.kind) for d in out] == [("mail", True, NotificationKind.firing)] * 2
    [r] = inbox.received
    assert r.login == USER and r.tls_version is not None and r.tls_version.startswith("TLSv1.")
    check_batch_message(r, [a.fingerprint for a in alerts])


def test_ssl_with_auth_delivers(ssl_server: tuple[Inbox, int], cert: tuple[Path, Path], smtp_env: None) -> None:
    inbox, port = ssl_server
    router = mail_router(port, "ssl", cert[0])
    alerts = [make_alert(labels={"team": "ml"}), make_alert(labels={"team": "data"})]
    out = router.notify(alerts, T0)
    assert [d.ok for d in out] == [True, True]
    [r] = inbox.received
    assert r.login == USER and r.tls_version is not None
    check_batch_message(r, [a.fingerprint for a in alerts])


def test_a_wrong_password_fails_without_showing_it(
    starttls_server: tuple[Inbox, int], cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = starttls_server
    monkeypatch.setenv("SMTP_USER", USER)
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-password")
    [d] = mail_router(port, "starttls", cert[0]).notify([make_alert()], T0)
    assert not d.ok and d.error is not None
    assert d.error.startswith(f"mail: SMTP 127.0.0.1:{port} login: 535")
    assert "wrong-password" not in d.error and inbox.received == []


def test_an_untrusted_certificate_is_refused(starttls_server: tuple[Inbox, int], smtp_env: None) -> None:
    inbox, port = starttls_server
    [d] = mail_router(port, "starttls", None).notify([make_alert()], T0)
    assert not d.ok and d.error is not None
    assert d.error.startswith(f"mail: SMTP 127.0.0.1:{port} starttls: SSLCertVerificationError")
    assert inbox.received == []


def test_a_missing_password_variable_is_named(
    starttls_server: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_USER", USER)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    [d] = mail_router(starttls_server[1], "starttls", None).notify([make_alert()], T0)
    assert (d.ok, d.error) == (False, "mail: the variable SMTP_PASSWORD (password_env) is not set in the environment")
