"""SMTP mail: one message per batch, sent at once for `immediate_severities`; the rest wait for the daily digest.

`security` is `starttls` (plain connect, then STARTTLS, port 587), `ssl` (TLS from the first byte, port 465)
or `none`; certificates are verified (against `ca_file` when set). With `username_env` the client logs in
with that user and the password in `password_env`; both are read from the environment when sending.
`send_mail` is those steps for any message: the notifier and the daily cost email (dashboards/report) share it.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

from alerts.routing.base import Notifier, configured_secret
from alerts.routing.config import EmailNotifier
from alerts.routing.format import alert_url, ordered, subject
from spendscope.errors import SourceError
from spendscope.records import AlertState, Notification

log = logging.getLogger(__name__)


def build_message(batch: Sequence[Notification], sender: str, to: Sequence[str], external_url: str) -> EmailMessage:
    """A plain-text message (with an HTML alternative) listing every notification of the batch."""
    items = ordered(batch)
    msg = EmailMessage()
    msg["Subject"] = subject(batch)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    plain = "\n\n".join(f"{n.title}\n{'-' * min(len(n.title), 72)}\n{n.text}" for n in items)
    msg.set_content(plain + f"\n\n-- \nspendscope alerts: {external_url}\n")
    blocks = []
    for n in items:
        link = html.escape(alert_url(external_url, n.alert.fingerprint), quote=True)
        body = html.escape(n.text).replace("\n", "<br>\n")
        blocks.append(f'<h3><a href="{link}">{html.escape(n.title)}</a></h3>\n<p>{body}</p>')
    msg.add_alternative("<html><body>\n" + "\n".join(blocks) + "\n</body></html>\n", subtype="html")
    return msg


class SmtpServer(Protocol):
    """What `send_mail` needs of a config: the notifier's `EmailNotifier` and the report's `[report.smtp]` both fit."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def security(self) -> str: ...
    @property
    def username_env(self) -> str | None: ...
    @property
    def password_env(self) -> str | None: ...
    @property
    def ca_file(self) -> str | None: ...
    @property
    def timeout_seconds(self) -> float: ...


def smtp_credentials(server: SmtpServer, label: str, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(user, password) from the variables the config names; (None, None) without `username_env`."""
    # A user name is read the same way but is not a secret: it is not redacted from messages.
    user = configured_secret(label, "username_env", server.username_env, environ, remember=False)
    password = configured_secret(label, "password_env", server.password_env, environ) if user is not None else None
    return user, password


def send_mail(
    msg: EmailMessage, server: SmtpServer, label: str, credentials: tuple[str | None, str | None] = (None, None)
) -> dict[str, Any]:
    """Connect (SSL or plain), STARTTLS, log in, send `msg` to its To/Cc; returns the refused recipients.

    Raises SourceError naming `label`, the server and the step that failed, never a credential.
    """
    user, password = credentials
    where = f"{server.host}:{server.port}"
    step = "connect"
    tls = ssl.create_default_context(cafile=server.ca_file) if server.security != "none" else None
    try:
        if server.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout_seconds, context=tls)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout_seconds)
        with smtp:
            if server.security == "starttls":
                step = "starttls"
                smtp.starttls(context=tls)
            if user is not None:
                step = "login"
                smtp.login(user, password or "")
            step = "send"
            refused: dict[str, Any] = smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise SourceError(f"{label}: SMTP {where} {step}: {exc.smtp_code} {text[:200]}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SourceError(f"{label}: SMTP {where} {step}: {type(exc).__name__}: {exc}"[:300]) from None
    if refused:
        log.warning("mail:%s refused_recipients:%s", label, ",".join(sorted(refused)))
    return refused


class EmailSender(Notifier):
    """Mails each batch to `to`; accepts only alerts of `immediate_severities`."""

    config: EmailNotifier

    def __init__(self, name: str, config: EmailNotifier, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, config, *args, **kwargs)

    def accepts(self, alert: AlertState) -> bool:
        """Immediate mail only for the configured severities (critical by default)."""
        return alert.severity in self.config.immediate_severities

    def send(self, notifications: Sequence[Notification]) -> None:
        """Send the batch as one message (SourceError naming the step that failed, never a credential)."""
        cfg = self.config
        credentials = smtp_credentials(cfg, self.name, self.environ)
        msg = build_message(notifications, cfg.sender, cfg.to, self.external_url)
        send_mail(msg, cfg, self.name, credentials)
        log.debug("notifier:%s mail:%s alerts:%s", self.name, msg["Message-ID"], len(notifications))
