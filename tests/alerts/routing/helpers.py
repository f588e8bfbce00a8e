"""Shared test helpers for routing: alert states (synthetic), a recording notifier, a loopback HTTP recorder."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from alerts.routing.base import Notifier
from alerts.routing.config import AlertmanagerNotifier, NotifierBase, WebhookNotifier
from spendscope.errors import SourceError
from spendscope.records import AlertState, Notification, Severity, State, fingerprint
from tests.common.tls import serve_tls

T0 = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def make_alert(
    alertname: str = "BudgetExceeded",
    rule: str = "fleet-daily",
    severity: Severity = Severity.critical,
    state: State = State.firing,
    labels: dict[str, str] | None = None,
    fired_at: dt.datetime | None = T0,
    **kw: Any,
) -> AlertState:
    """A synthetic AlertState as the engine keeps it (alertname, rule and severity labels added)."""
    all_labels = {"alertname": alertname, "rule": rule, "severity": severity.value, **(labels or {})}
    return AlertState(
        fingerprint=fingerprint(all_labels),
        rule=rule,
        labels=all_labels,
        annotations={"summary": f"{rule} is over budget", "description": "Spend today is 112% of the daily budget."},
        severity=severity,
        state=state,
        active_since=(fired_at or T0) - dt.timedelta(minutes=5),
        last_active=fired_at or T0,
        fired_at=None if state is State.pending else fired_at,
        value=1.12,
        **kw,
    )


class Recording(Notifier):
    """A notifier that records each batch it is given (or fails with SourceError when `fail` is set)."""

    def __init__(self, name: str, config: NotifierBase | None = None, fail: str | None = None) -> None:
        super().__init__(name, config or WebhookNotifier(type="webhook", url="http://127.0.0.1:9/unused"))
        self.batches: list[list[Notification]] = []
        self.fail = fail
        self.closed = False

    def send(self, notifications: Sequence[Notification]) -> None:
        self.batches.append(list(notifications))
        if self.fail:
            raise SourceError(f"{self.name}: {self.fail}")

    def close(self) -> None:
        self.closed = True

    @property
    def sent(self) -> list[Notification]:
        return [n for b in self.batches for n in b]


class RecordingAlertmanager(Recording):
    """A recording notifier with Alertmanager's stateless re-send semantics."""

    stateless: ClassVar[bool] = True
    takes_actions: ClassVar[bool] = False

    def __init__(self, name: str, **kw: Any) -> None:
        super().__init__(name, AlertmanagerNotifier(type="alertmanager", url="http://127.0.0.1:9"), **kw)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpRecorder:
    """A loopback HTTP server that records every request; `check(seen) -> status` decides each answer."""

    check: Callable[[Seen], int] = lambda seen: 200
    seen: list[Seen] = field(default_factory=list)
    tls: ssl.SSLContext | None = None  # serve HTTPS with this server context (tests/common/tls.py)
    _httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> HttpRecorder:
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                seen = Seen("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body, 0)
                seen.status = rec.check(seen)
                rec.seen.append(seen)
                self.send_response(seen.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            serve_tls(self._httpd, self.tls)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
