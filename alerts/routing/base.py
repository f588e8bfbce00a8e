"""The notifier contract: `Notifier.send(batch)` raises SourceError on failure; the router turns it into `Delivery`s."""

from __future__ import annotations

import abc
import os
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from alerts.routing.config import NotifierBase
from spendscope.errors import ConfigError, SourceError
from spendscope.records import AlertState, Notification, NotificationKind
from spendscope.secrets import read_secret
from spendscope.tls import httpx_verify


@dataclass(frozen=True)
class Delivery:
    """The outcome of one notification to one notifier; the engine records `record=True` ones in alert_events."""

    notifier: str
    fingerprint: str
    kind: NotificationKind
    ok: bool
    error: str | None = None
    record: bool = True  # False for Alertmanager's stateless re-sends


class Notifier(abc.ABC):
    """One configured destination (`[alerts.notifiers.<name>]`); secrets are read from the environment at send time."""

    # Alertmanager keeps alert *state*: it needs every firing alert re-sent while it fires and the resolution
    # re-sent for a while, and it does its own grouping, repeats and silences.
    stateless: ClassVar[bool] = False
    # Auto-shutdown warnings/results are messages for people; a state mirror (Alertmanager) does not take them.
    takes_actions: ClassVar[bool] = True

    def __init__(
        self,
        name: str,
        config: NotifierBase,
        external_url: str = "http://localhost:8501",
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.name = name
        self.config = config
        self.external_url = external_url
        self.environ = environ

    def accepts(self, alert: AlertState) -> bool:
        """Whether this notifier is told about `alert` at all (email: only immediate severities)."""
        return True

    @abc.abstractmethod
    def send(self, notifications: Sequence[Notification]) -> None:
        """Deliver one batch; raise SourceError (no secrets in the message) when it did not go through."""

    def close(self) -> None:
        """Release connections (a no-op unless a notifier keeps a client)."""
        return None

    def tls_verify(self, ca_file: str | None) -> ssl.SSLContext | bool:
        """httpx's `verify=` for the notifier's `ca_file` (spendscope/tls.py); an unreadable bundle: SourceError."""
        try:
            return httpx_verify(ca_file, f"alerts.notifiers.{self.name}.ca_file")
        except ConfigError as exc:
            raise SourceError(str(exc)) from None

    def secret(self, field: str, env_name: str | None) -> str | None:
        """The value of the env var named by config field `field` (or its `_FILE`); None when none is configured."""
        return configured_secret(self.name, field, env_name, self.environ)


def configured_secret(
    label: str, field: str, env_name: str | None, environ: Mapping[str, str], *, remember: bool = True
) -> str | None:
    """$env_name (or its `_FILE`) for config field `field`; None when no variable is named; SourceError naming
    `label` when it is named but unset or unreadable. `remember=False` for values that are not secret (a user)."""
    if env_name is None:
        return None
    try:
        value = read_secret(env_name, environ, remember=remember)
    except ConfigError as exc:
        raise SourceError(f"{label}: {exc}") from None
    if not value:
        raise SourceError(f"{label}: the variable {env_name} ({field}) is not set in the environment")
    return value


def safe_url(url: str) -> str:
    """scheme://host[:port] of a URL: webhook paths and queries often carry tokens, so errors never show them."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"
