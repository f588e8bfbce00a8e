"""SMTP mail: one message per batch, sent at once for `immediate_severities`; the rest wait for the daily digest.

`security` is `starttls` (plain connect, then STARTTLS, port 587), `ssl` (TLS from the first byte, port 465)
or `none`; certificates are verified (against `ca_file` when set). With `username_env` the client logs in
with that user and the password in `password_env`; both are read from the environment when sending.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from alerts.routing.base import Notifier
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


class EmailSender(Notifier):
    """Mails each batch to `to`; accepts only alerts of `immediate_severities`."""

    config: EmailNotifier

    def __init__(self, name: str, config: EmailNotifier, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, config, *args, **kwargs)

    def accepts(self, alert: AlertState) -> bool:
        """Immediate mail only for the configured severities (critical by default)."""
        return alert.severity in self.config.immediate_severities

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.ca_file)

    def send(self, notifications: Sequence[Notification]) -> None:
        """Send the batch as one message (SourceError naming the step that failed, never a credential)."""
        cfg = self.config
        user = self.secret("username_env", cfg.username_env)
        password = self.secret("password_env", cfg.password_env) if user is not None else None
        msg = build_message(notifications, cfg.sender, cfg.to, self.external_url)
        where = f"{cfg.host}:{cfg.port}"
        step = "connect"
        try:
            if cfg.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=self._tls()
                )
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
            with smtp:
                if cfg.security == "starttls":
                    step = "starttls"
                    smtp.starttls(context=self._tls())
                if user is not None:
                    step = "login"
                    smtp.login(user, password or "")
                step = "send"
                refused = smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            raise SourceError(f"{self.name}: SMTP {where} {step}: {exc.smtp_code} {text[:200]}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SourceError(f"{self.name}: SMTP {where} {step}: {type(exc).__name__}: {exc}"[:300]) from None
        if refused:
            log.warning("notifier:%s refused_recipients:%s", self.name, ",".join(sorted(refused)))
        log.debug("notifier:%s mail:%s alerts:%s", self.name, msg["Message-ID"], len(notifications))
