"""Email through a real SMTP server (aiosmtpd) on loopback: STARTTLS + AUTH, implicit TLS (SSL) + AUTH.

The server's certificate is self-signed, generated here with `cryptography`; the notifier trusts it through
`ca_file` and verifies the hostname, and a test without `ca_file` shows that an untrusted certificate is refused.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from alerts.config import AlertsConfig
from alerts.routing import Router
from spendscope.records import NotificationKind, Severity
from tests.alerts.routing.helpers import T0, make_alert
from tests.common.servers import free_port

pytestmark = pytest.mark.integration
USER, PASSWORD = "spendscope", "s3cret-pw"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1 (its own CA, so a client can trust it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    crt = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("smtp_tls")
    (d / "cert.pem").write_bytes(crt.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return d / "cert.pem", d / "key.pem"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None
    tls_version: str | None


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps each accepted message with the session's login and TLS version."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        ssl_object = server.transport.get_extra_info("ssl_object")
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        login = session.auth_data.login.decode() if session.authenticated else None
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), msg, login, ssl_object and ssl_object.version())
        )
        return "250 Message accepted for delivery"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def server_tls(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    return ctx


@pytest.fixture
def starttls_server(cert: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    ctl = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=server_tls(cert), require_starttls=True,
        authenticator=authenticator, auth_require_tls=True,
    )  # fmt: skip
    ctl.start()
    yield inbox, port
    ctl.stop()


@pytest.fixture
def ssl_server(cert: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    # Implicit TLS: aiosmtpd's "require TLS for AUTH" only knows STARTTLS, so it is off; TLS is checked below.
    ctl = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=server_tls(cert), authenticator=authenticator,
        auth_require_tls=False,
    )  # fmt: skip
    ctl.start()
    yield inbox, port
    ctl.stop()


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


@pytest.fixture
def smtp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_USER", USER)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)


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
