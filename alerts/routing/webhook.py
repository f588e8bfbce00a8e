"""Generic webhook: one JSON POST per batch, shaped like Alertmanager's webhook payload, optionally signed.

Body (UTF-8 JSON)::

    {"version": "1", "receiver": "<notifier>", "status": "firing" | "resolved", "externalURL": "...",
     "commonLabels": {...},
     "alerts": [{"status": "firing" | "resolved", "kind": "firing" | "repeat" | "resolved" | "action",
                 "labels": {...}, "annotations": {...}, "startsAt": "<RFC3339>", "endsAt": "<RFC3339>" | null,
                 "fingerprint": "...", "generatorURL": "...", "title": "...", "text": "...", "value": 1.5 | null}]}

`status` is "resolved" only when every alert of the batch is resolved.

Signature (when `secret_env` names a variable holding the secret)::

    X-Spendscope-Timestamp: <unix seconds when sent>
    X-Spendscope-Signature: sha256=<hex HMAC-SHA256(key=secret, msg=timestamp + "." + raw body bytes)>

(header names from `timestamp_header` / `signature_header`). A receiver recomputes the HMAC over the exact
bytes it received, compares in constant time, and rejects timestamps more than a few minutes from its clock:
the timestamp is inside the signed material, so a captured request cannot be replayed later with a new one.
`verify()` below does exactly that. An https URL's certificate is verified, against `ca_file` when set
(spendscope/tls.py): the signature proves who sent a request, TLS who received it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from alerts.routing.base import Notifier, safe_url
from alerts.routing.config import WebhookNotifier
from alerts.routing.format import alert_url, rfc3339
from spendscope.errors import SourceError
from spendscope.records import Notification, State
from spendscope.tls import tls_failure

log = logging.getLogger(__name__)
REPLAY_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, timestamp + "." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, body: bytes, timestamp: str, signature: str, now: float, tolerance: float = REPLAY_TOLERANCE_SECONDS
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is within `tolerance` seconds of `now`."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def payload(batch: Sequence[Notification], receiver: str, external_url: str) -> dict[str, Any]:
    """The JSON document of one batch (see the module docstring)."""
    alerts = []
    for n in batch:
        a = n.alert
        alerts.append(
            {
                "status": State.resolved.value if a.state is State.resolved else State.firing.value,
                "kind": n.kind.value,
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "startsAt": rfc3339(a.fired_at or a.active_since),
                "endsAt": rfc3339(a.resolved_at) if a.resolved_at else None,
                "fingerprint": a.fingerprint,
                "generatorURL": alert_url(external_url, a.fingerprint),
                "title": n.title,
                "text": n.text,
                "value": a.value,
            }
        )
    common = dict(batch[0].alert.labels) if batch else {}
    for n in batch[1:]:
        common = {k: v for k, v in common.items() if n.alert.labels.get(k) == v}
    resolved = bool(alerts) and all(item["status"] == "resolved" for item in alerts)
    return {
        "version": "1",
        "receiver": receiver,
        "status": "resolved" if resolved else "firing",
        "externalURL": external_url,
        "commonLabels": common,
        "alerts": alerts,
    }


class WebhookSender(Notifier):
    """POSTs each batch as JSON to `url` with the configured headers and, with a secret, the signature."""

    config: WebhookNotifier

    def __init__(
        self, name: str, config: WebhookNotifier, *args: Any, clock: Callable[[], float] = time.time, **kwargs: Any
    ) -> None:
        super().__init__(name, config, *args, **kwargs)
        self.clock = clock
        self._client: httpx.Client | None = None

    def send(self, notifications: Sequence[Notification]) -> None:
        """One POST for the batch; any non-2xx answer is a SourceError (the URL's path and query never shown)."""
        cfg = self.config
        secret = self.secret("secret_env", cfg.secret_env)
        body = json.dumps(payload(notifications, self.name, self.external_url), separators=(",", ":")).encode()
        headers = {**cfg.headers, "Content-Type": "application/json", "User-Agent": "spendscope"}
        if secret is not None:
            timestamp = str(int(self.clock()))
            headers[cfg.timestamp_header] = timestamp
            headers[cfg.signature_header] = sign(secret, timestamp, body)
        if self._client is None:
            self._client = httpx.Client(timeout=cfg.timeout_seconds, verify=self.tls_verify(self.config.ca_file))
        where = safe_url(cfg.url)
        try:
            resp = self._client.post(cfg.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SourceError(f"{self.name}: POST {where} failed: {tls_failure(exc) or type(exc).__name__}") from None
        if resp.status_code // 100 != 2:
            raise SourceError(f"{self.name}: POST {where}: HTTP {resp.status_code}")
        log.debug("notifier:%s alerts:%s", self.name, len(notifications))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
