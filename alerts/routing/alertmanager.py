"""Alertmanager API v2: one `POST /api/v2/alerts` with the batch as a `postableAlerts` array (formats.md §4.1).

Alertmanager keeps the state: firing alerts are posted without `endsAt` (it then holds them for its
`resolve_timeout`) and re-posted every evaluation while they fire; a resolution is the same label set with
`endsAt` = the time it resolved, re-posted for `resolve_resend_for` as Alertmanager's docs ask. Silences,
grouping and repeats of its receivers are Alertmanager's own. An https URL's certificate is verified, against
`ca_file` when set (spendscope/tls.py); a failed verification is a SourceError saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import httpx

from alerts.routing.base import Notifier, safe_url
from alerts.routing.config import AlertmanagerNotifier
from alerts.routing.format import alert_url, rfc3339, summary
from spendscope.errors import SourceError
from spendscope.records import AlertState, Notification
from spendscope.tls import tls_failure

log = logging.getLogger(__name__)


def postable_alert(alert: AlertState, external_url: str, description: str | None = None) -> dict[str, Any]:
    """The `postableAlert` of one alert: all labels (alertname present), string annotations, startsAt, endsAt."""
    labels = {str(k): str(v) for k, v in alert.labels.items()}
    labels.setdefault("alertname", alert.alertname)
    annotations = {str(k): str(v) for k, v in alert.annotations.items()}
    annotations["summary"] = summary(alert)
    if "description" not in annotations and description:
        annotations["description"] = description
    if alert.value is not None:
        annotations.setdefault("value", f"{alert.value:g}")
    body: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": rfc3339(alert.fired_at or alert.active_since),
        "generatorURL": alert_url(external_url, alert.fingerprint),
    }
    if alert.resolved_at is not None:
        body["endsAt"] = rfc3339(alert.resolved_at)
    return body


class AlertmanagerSender(Notifier):
    """Posts alerts to an Alertmanager; `stateless`: the router re-sends firing alerts and recent resolutions."""

    stateless: ClassVar[bool] = True
    takes_actions: ClassVar[bool] = False
    config: AlertmanagerNotifier

    def __init__(self, name: str, config: AlertmanagerNotifier, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, config, *args, **kwargs)
        self.endpoint = f"{config.url.rstrip('/')}/api/v2/alerts"
        self._client: httpx.Client | None = None

    def send(self, notifications: Sequence[Notification]) -> None:
        """POST every alert of the batch in one request (200 with an empty body on success)."""
        body = [postable_alert(n.alert, self.external_url, n.text) for n in notifications]
        if self._client is None:
            verify = self.tls_verify(self.config.ca_file)
            self._client = httpx.Client(
                timeout=self.config.timeout_seconds, headers={"User-Agent": "spendscope"}, verify=verify
            )
        where = safe_url(self.endpoint)
        try:
            resp = self._client.post(self.endpoint, json=body)
        except httpx.HTTPError as exc:
            why = tls_failure(exc) or type(exc).__name__
            raise SourceError(f"{self.name}: POST {where}/api/v2/alerts failed: {why}") from None
        if resp.status_code // 100 != 2:
            # Alertmanager's 400 body says which alert or field it rejected; keep it short.
            raise SourceError(
                f"{self.name}: POST {where}/api/v2/alerts: HTTP {resp.status_code} {resp.text.strip()[:200]}"
            )
        log.debug("notifier:%s alerts:%s", self.name, len(body))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
