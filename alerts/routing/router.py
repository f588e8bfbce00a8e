"""The router: which notifiers hear about an alert (label-matcher routes) and when (repeat, ack, resolve rules).

Routes are tried in order; the first whose `match` and `match_re` (anchored) all hold wins, unless it says
`continue`. A route without matchers matches everything; with no routes at all every notifier gets every
alert. Missing labels match as "", as in Alertmanager.

When, per notifier (`alert.notified[name]` is its last successful send, kept by the engine):

- firing: the first send is `firing`; then `repeat` once the repeat interval has passed since the last
  send, but not for acknowledged alerts; silenced alerts get nothing; pending alerts get nothing.
- resolved: one `resolved` send when `send_resolved`, the notifier heard of it while firing and has not
  been sent the resolution yet (its last send is before `resolved_at`).
- Alertmanager (`Notifier.stateless`) mirrors state instead: firing alerts are re-sent every repeat
  interval of its own (a route's longer interval would let Alertmanager time them out), acked or not, as
  `repeat` deliveries with record=False; a resolution is re-sent with endsAt for `resolve_resend_for`,
  only the first recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from alerts.routing import format as fmt
from alerts.routing.base import Delivery, Notifier
from alerts.routing.notifiers import build_notifiers
from alerts.silences import Matcher
from spendscope.errors import SourceError
from spendscope.records import AlertState, Notification, NotificationKind, State

if TYPE_CHECKING:
    from alerts.config import AlertsConfig
    from alerts.routing.config import RouteConfig
    from spendscope.config import Settings

log = logging.getLogger(__name__)
Batch = list[tuple[Notification, bool]]  # (notification, record)
MAX_PARALLEL = 8
# Evaluations start a little late or early (scheduler jitter); without slack a 1m re-send could slip to 2m.
SLACK = dt.timedelta(seconds=5)


def route_matchers(route: RouteConfig) -> list[Matcher]:
    """A route's `match` and `match_re` as (anchored) matchers."""
    return [Matcher(k, v) for k, v in route.match.items()] + [
        Matcher(k, v, is_regex=True) for k, v in route.match_re.items()
    ]


class Router:
    """Sends alerts and action messages to the notifiers their labels route to; never raises for a notifier."""

    def __init__(self, cfg: AlertsConfig, notifiers: Mapping[str, Notifier] | None = None) -> None:
        self.cfg = cfg
        self.notifiers: dict[str, Notifier] = dict(notifiers) if notifiers is not None else build_notifiers(cfg)
        self._routes = [(route_matchers(r), r) for r in cfg.routes]
        self._failing: dict[str, str] = {}  # notifier → kind of its current failure (logged once)
        # Told each batch a notifier accepted, as soon as it did (the engine journals them: alerts/journal.py).
        self.on_sent: Callable[[list[Delivery]], None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Router:
        """The router of `[alerts]` with notifiers built from its config."""
        return cls(settings.alerts)

    def _interval(self, name: str, override: dt.timedelta | None) -> dt.timedelta:
        notifier = self.notifiers.get(name)
        own = notifier.config.repeat_interval if notifier else self.cfg.notifiers[name].repeat_interval
        return own if override is None or (notifier is not None and notifier.stateless) else override

    def targets(self, labels: Mapping[str, str]) -> list[tuple[str, dt.timedelta]]:
        """Notifier names for `labels` with the repeat interval that applies to each, in route order."""
        if not self._routes:
            return [(name, self._interval(name, None)) for name in self.notifiers]
        out: dict[str, dt.timedelta] = {}
        for matchers, route in self._routes:
            if all(m.matches(labels) for m in matchers):
                for name in route.notifiers:
                    out.setdefault(name, self._interval(name, route.repeat_interval))
                if not route.continue_:
                    break
        return list(out.items())

    def _due(
        self, notifier: Notifier, alert: AlertState, interval: dt.timedelta, now: dt.datetime
    ) -> tuple[NotificationKind, bool] | None:
        """(kind, record) when `alert` is due at `notifier` now, else None."""
        last = alert.notified.get(notifier.name)
        if alert.state is State.firing:
            # A send before fired_at belongs to an earlier firing of the same fingerprint.
            fresh = last is None or (alert.fired_at is not None and last < alert.fired_at)
            if fresh:
                return NotificationKind.firing, True
            assert last is not None
            if now - last + SLACK < interval:
                return None
            if notifier.stateless:
                return NotificationKind.repeat, False
            return None if alert.acked_by else (NotificationKind.repeat, True)
        if alert.state is State.resolved and last is not None and alert.resolved_at is not None:
            first = last < alert.resolved_at
            if notifier.stateless:
                resend_for = getattr(notifier.config, "resolve_resend_for", dt.timedelta(minutes=5))
                return (NotificationKind.resolved, first) if now - alert.resolved_at <= resend_for else None
            if notifier.config.send_resolved and first:
                return NotificationKind.resolved, True
        return None

    def notify(self, alerts: Sequence[AlertState], now: dt.datetime) -> list[Delivery]:
        """Send what is due of `alerts` (one batch per notifier) and say how each send went."""
        batches: dict[str, Batch] = {}
        for alert in alerts:
            if alert.state is State.pending or alert.silenced_by is not None:
                continue
            for name, interval in self.targets(alert.labels):
                notifier = self.notifiers.get(name)
                if notifier is None or not notifier.accepts(alert):
                    continue
                due = self._due(notifier, alert, interval, now)
                if due is not None:
                    kind, record = due
                    text = fmt.text(alert, kind, self.cfg.external_url)
                    batches.setdefault(name, []).append(
                        (Notification(kind, alert, fmt.title(alert, kind), text, now), record)
                    )
        return self._deliver(batches)

    def notify_actions(self, notifications: Sequence[Notification], now: dt.datetime) -> list[Delivery]:
        """Send auto-shutdown warnings/results where their alert's labels route, always (no repeat logic)."""
        batches: dict[str, Batch] = {}
        for n in notifications:
            for name, _ in self.targets(n.alert.labels):
                notifier = self.notifiers.get(name)
                # Actions are messages for people: the email severity filter does not hold them back.
                if notifier is not None and notifier.takes_actions:
                    batches.setdefault(name, []).append((n, True))
        return self._deliver(batches)

    def _send(self, name: str, batch: Batch) -> tuple[str, str | None, list[Delivery]]:
        error: str | None = None
        try:
            self.notifiers[name].send([n for n, _ in batch])
        except SourceError as exc:
            error = str(exc)
        except Exception as exc:  # a notifier bug must not stop the others
            error = f"{name}: {type(exc).__name__}: {exc}"[:300]
        out = [Delivery(name, n.alert.fingerprint, n.kind, error is None, error, rec) for n, rec in batch]
        if error is None and self.on_sent is not None:
            self.on_sent(out)  # journaled at once, before the other notifiers answer (alerts/journal.py)
        return name, error, out

    def _deliver(self, batches: Mapping[str, Batch]) -> list[Delivery]:
        if len(batches) > 1:
            # One slow or dead server (an SMTP timeout) must not hold up the others.
            with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(batches))) as pool:
                results = list(pool.map(lambda item: self._send(*item), batches.items()))
        else:
            results = [self._send(name, batch) for name, batch in batches.items()]
        out: list[Delivery] = []
        for name, error, deliveries in results:
            self._note(name, error, len(deliveries))
            out += deliveries
        return out

    def _note(self, name: str, error: str | None, count: int) -> None:
        """Log a notifier's failure once per kind of failure (digits aside), and its recovery."""
        if error is None:
            if self._failing.pop(name, None) is not None:
                log.info("notifier:%s recovered sent:%s", name, count)
            else:
                log.debug("notifier:%s sent:%s", name, count)
            return
        kind = re.sub(r"\d+", "#", error)
        if self._failing.get(name) != kind:
            log.warning("notifier:%s failed notifications:%s error:%s", name, count, error)
            self._failing[name] = kind

    def close(self) -> None:
        """Close every notifier's connections."""
        for name, notifier in self.notifiers.items():
            try:
                notifier.close()
            except Exception as exc:  # closing is best effort
                log.debug("notifier:%s close_error:%s", name, type(exc).__name__)
