"""A real SMTP server (aiosmtpd) on loopback for the mail tests: STARTTLS + AUTH, or implicit TLS (SSL) + AUTH.

The server's certificate is self-signed, generated with `cryptography` (tests/common/tls.py); clients trust it
through their `ca_file` and verify the hostname. The fixtures (`cert`, `starttls_server`, `ssl_server`, `smtp_env`) are
imported by the conftest of each test folder that mails: the email notifier's and the daily report's.
"""

from __future__ import annotations

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

from tests.common.servers import free_port
from tests.common.tls import self_signed

USER, PASSWORD = "spendscope", "s3cret-pw"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1 (its own CA, so a client can trust it)."""
    return self_signed(tmp_path_factory.mktemp("smtp_tls"))


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


@pytest.fixture
def smtp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_USER", USER)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
