"""Datadog events (v1 `POST /api/v1/events`, formats.md §5.2) through the exporter's own client code.

The client, its host (`site` or the `api_url` override, §5.3), its TLS (`ca_file`), the API key check and the
retries are `exporters.datadog.client.DatadogExporter`'s: this notifier builds one from its own config and calls its
public `send_events`. One event per notification; `aggregation_key` = the fingerprint, so Datadog rolls an
alert's firing, repeats and resolution into one thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from alerts.routing.base import Notifier
from alerts.routing.config import DatadogNotifier
from spendscope.errors import ConfigError, SourceError
from spendscope.records import Notification, NotificationKind, Severity
from spendscope.secrets import read_secret

if TYPE_CHECKING:
    from exporters.datadog.client import DatadogExporter, Event

log = logging.getLogger(__name__)

ALERT_TYPES = {Severity.critical: "error", Severity.warning: "warning", Severity.info: "info"}
MAX_TITLE, MAX_TEXT = 100, 4000  # Datadog truncates longer event titles and texts
MAX_TAG = 200


def _tag(key: str, value: str) -> str:
    return f"{key}:{value}"[:MAX_TAG]


def to_event(n: Notification) -> Event:
    """The Datadog event of one notification: alert_type by severity (success when resolved), labels as tags."""
    from exporters.datadog.client import Event

    alert = n.alert
    kind = "success" if n.kind is NotificationKind.resolved else ALERT_TYPES[alert.severity]
    tags = [_tag(k, v) for k, v in sorted(alert.labels.items())]
    tags += [_tag("fingerprint", alert.fingerprint), _tag("notification", n.kind.value)]
    return Event(
        title=n.title[:MAX_TITLE],
        text=n.text[:MAX_TEXT],
        alert_type=kind,
        aggregation_key=alert.fingerprint,
        tags=tuple(tags),
        date_happened=int(n.at.timestamp()),
    )


class DatadogSender(Notifier):
    """One Datadog event per notification; the key from `api_key_env`, read when sending."""

    config: DatadogNotifier

    def __init__(self, name: str, config: DatadogNotifier, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, config, *args, **kwargs)
        self._exporter: DatadogExporter | None = None
        self._key: str | None = None

    def _client(self) -> DatadogExporter:
        # Imported here: the Datadog client costs a second to import and only matters once something is sent.
        from exporters.datadog.client import DatadogExporter
        from spendscope.config import Settings
        from spendscope.config_telemetry import DatadogExporterConfig, ExportersConfig

        try:
            key = read_secret(self.config.api_key_env, self.environ) or ""
        except ConfigError as exc:
            raise SourceError(f"{self.name}: {exc}") from None
        if self._exporter is None or key != self._key:
            self.close()
            cfg = self.config
            dd = DatadogExporterConfig(
                site=cfg.site, api_key_env=cfg.api_key_env, api_url=cfg.api_url, tags=cfg.tags, ca_file=cfg.ca_file
            )
            settings = Settings.model_construct(exporters=ExportersConfig(datadog=dd))
            try:
                # Few, short retries: the engine evaluates every minute and sends again next time anyway.
                self._exporter = DatadogExporter(
                    settings, _no_snapshot, environ=self.environ, max_retries=2, backoff_seconds=0.5
                )
            except ConfigError as exc:
                raise SourceError(f"{self.name}: {exc}".replace("exporters.datadog: ", "")) from None
            self._key = key
        return self._exporter

    def send(self, notifications: Sequence[Notification]) -> None:
        """POST one event per notification (SourceError at the first the API refuses)."""
        events = [to_event(n) for n in notifications]
        client = self._client()
        try:
            sent = client.send_events(events)
        except SourceError as exc:
            raise SourceError(f"{self.name}: {exc}") from None
        log.debug("notifier:%s events:%s", self.name, sent)

    def close(self) -> None:
        if self._exporter is not None:
            self._exporter.close()
            self._exporter = None


def _no_snapshot() -> Any:
    raise AssertionError("the alert notifier never pushes series")
