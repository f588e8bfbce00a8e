"""The alert engine: rules → findings → inactive / pending / firing / resolved, silences, acks, routing, actions.

Per evaluation (`evaluate`): every enabled rule runs over one EvalContext (a rule that raises is reported
and its alerts keep their state — an evaluation error never resolves an alert); each finding's labels
(rule labels, finding labels, alertname, rule, severity) give its fingerprint; identical fingerprints are
deduplicated. A new finding is pending until it has held for the rule's `for` (zero: firing at once); a
firing alert whose finding is gone stays firing for `keep_firing_for`, then resolves; a pending one that
clears goes inactive. Every transition, ack, silence change and notification is an alert_events row
(alerts/store.py), so a restart loses no state. Then the router notifies and the action engine (auto-
shutdown) runs on the alerts of idle rules that opted in with `shutdown: true`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from alerts.context import EvalContext
from alerts.journal import DeliveryJournal
from alerts.rules import RuleBase
from alerts.rules.base import NotJudged
from alerts.silences import Silence, matching
from alerts.store import AlertStore, apply_note, event_row
from spendscope.clock import Clock, system_clock
from spendscope.errors import SpendscopeError
from spendscope.records import AlertState, Finding, Notification, Severity, State, fingerprint

if TYPE_CHECKING:
    from exporters.warehouse.engine import Warehouse
    from spendscope.config import Settings
    from spendscope.scheduler import JobHealth

log = logging.getLogger(__name__)
JOURNAL_FILE = "notify-journal.jsonl"

# Resolved alerts stay in memory this long (Alertmanager re-sends of resolutions, action cancellations).
RESOLVED_KEEP = dt.timedelta(hours=1)


class RouterLike(Protocol):
    def notify(self, alerts: Sequence[AlertState], now: dt.datetime) -> Sequence[Any]: ...
    def notify_actions(self, notifications: Sequence[Notification], now: dt.datetime) -> Sequence[Any]: ...
    def close(self) -> None: ...


class ActionsLike(Protocol):
    def run(self, ctx: EvalContext, candidates: Sequence[AlertState]) -> Any: ...


@dataclass
class EvalResult:
    """What one evaluation did."""

    at: dt.datetime
    rules: int = 0
    findings: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    rule_errors: dict[str, str] = field(default_factory=dict)
    unjudged: set[str] = field(default_factory=set)  # rules that raised NotJudged: their alerts keep state
    undecided: set[str] = field(default_factory=set)  # fingerprints of undecided findings: they keep state
    deliveries: list[Any] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    alerts: list[AlertState] = field(default_factory=list)

    @property
    def firing(self) -> list[AlertState]:
        return [a for a in self.alerts if a.state == State.firing]


class AmbiguousAlertError(SpendscopeError):
    """An alert id prefix matched none or several alerts."""


class EvaluatorBusyError(SpendscopeError):
    """Another process evaluates alerts over the same home folder (two would notify and act twice)."""


class AlertEngine:
    """Holds the alerts' state between evaluations (rebuilt from alert_events on the first one)."""

    def __init__(
        self,
        settings: Settings,
        wh: Warehouse,
        rules: Sequence[RuleBase],
        *,
        router: RouterLike | None = None,
        actions: ActionsLike | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.wh = wh
        self.store = AlertStore(wh)
        self.rules = {r.name: r for r in rules}
        self.router = router
        self.actions = actions
        self.clock = clock
        self.states: dict[str, AlertState] | None = None
        self._last_eval: dt.datetime | None = None
        self._errors_logged: dict[str, str] = {}
        self._lock_fd: int | None = None
        self.journal = DeliveryJournal(Path(settings.home) / JOURNAL_FILE)
        self._sending: tuple[dt.datetime, int] | None = None  # the evaluation's time and next seq, while it sends
        if router is not None and hasattr(router, "on_sent"):
            router.on_sent = self._journal_sent

    @classmethod
    def from_settings(
        cls, settings: Settings, wh: Warehouse, clock: Clock = system_clock, notify: bool = True
    ) -> AlertEngine:
        """Rules from the config; the router and action engine from `[alerts]` (none with notify=False)."""
        from alerts.loader import load_rules

        rules = load_rules(settings)
        router = actions = None
        if notify:
            from alerts.actions import ActionEngine
            from alerts.routing import Router

            router = Router.from_settings(settings)
            if any(getattr(r, "shutdown", False) for r in rules):
                actions = ActionEngine.from_settings(settings, wh)
        return cls(settings, wh, rules, router=router, actions=actions, clock=clock)

    def close(self) -> None:
        if self.router is not None:
            self.router.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def _hold_lock(self) -> None:
        """Be the only evaluator of this home folder for the engine's lifetime (released by `close`).

        Two evaluators (the daemon and `alerts evaluate`, or two daemons) would each notify, count the blast
        radius and act on their own. A file lock covers one machine; across machines (CronJobs over
        BigQuery), run evaluation in one place only.
        """
        if self._lock_fd is not None:
            return
        path = Path(self.settings.home) / "alerts.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise EvaluatorBusyError(
                f"another process evaluates alerts over {self.settings.home} (holding {path}; a running "
                "`spendscope run`?): evaluate in one place only"
            ) from None
        self._lock_fd = fd

    # evaluation ------------------------------------------------------------------------------------------

    def evaluate(self, health: Mapping[str, JobHealth] | None = None) -> EvalResult:
        started = time.monotonic()
        self._hold_lock()
        now = self.clock()
        result = EvalResult(at=now)
        states = self._load(now)
        ctx = EvalContext(wh=self.wh, settings=self.settings, now=now, health=health)
        active = self._run_rules(ctx, result)
        events: list[tuple[AlertState, str, dict[str, Any]]] = []
        self._transition(active, states, now, result, events)
        self._apply_silences(states, self.store.silences(), now, events)
        rows = [event_row(a, kind, now, seq, **extra) for seq, (a, kind, extra) in enumerate(events)]
        self.store.append(rows)
        result.events = rows
        result.alerts = list(states.values())
        if self.router is not None:
            self._notify(result, now, len(rows))
        if self.actions is not None:
            self._act(ctx, result, now)
        for fp in [
            fp
            for fp, a in states.items()
            if a.state == State.resolved and a.resolved_at and now - a.resolved_at > RESOLVED_KEEP
        ]:
            del states[fp]
        self._last_eval = now
        result.seconds = time.monotonic() - started
        log.info("alerts:evaluated rules:%s findings:%s events:%s firing:%s errors:%s seconds:%.2f", result.rules,
                 result.findings, len(rows), len(result.firing), len(result.rule_errors), result.seconds)  # fmt: skip
        return result

    def _load(self, now: dt.datetime) -> dict[str, AlertState]:
        if self.states is None:
            self._replay_journal()
            self.states = {a.fingerprint: a for a in self.store.current(resolved_since=now - RESOLVED_KEEP)}
            for state in self.states.values():
                # Rows are written on transitions only, so when the condition last held is unknown: count it as
                # just before now, so a restart never shortens keep_firing_for (it may lengthen it by one
                # restart) — but not *at* now, which means "active in this evaluation" (the action engine
                # acts only on that).
                if state.state != State.resolved:
                    state.last_active = max(state.last_active, now - dt.timedelta(microseconds=1))
        elif self._last_eval is not None:
            # Acks the CLI wrote since the last evaluation (a silence is read fresh every time anyway).
            for note in self.store.notes_since(self._last_eval - dt.timedelta(seconds=1)):
                alert = self.states.get(note["fingerprint"])
                if alert is not None and alert.acked_at != note["at"]:
                    apply_note(alert, note)
        return self.states

    def _run_rules(self, ctx: EvalContext, result: EvalResult) -> dict[str, tuple[RuleBase, Finding, dict[str, str]]]:
        active: dict[str, tuple[RuleBase, Finding, dict[str, str]]] = {}
        for rule in self.rules.values():
            if not rule.enabled:
                continue
            result.rules += 1
            try:
                findings = rule.evaluate(ctx)
            except NotJudged:
                result.unjudged.add(rule.name)
                continue
            except Exception as exc:  # one broken rule must not stop the others; its alerts keep their state
                error = f"{type(exc).__name__}: {exc}"
                result.rule_errors[rule.name] = error
                if self._errors_logged.get(rule.name) != error:
                    log.error("alerts:rule-failed rule:%s error:%s", rule.name, error,
                              exc_info=not isinstance(exc, SpendscopeError))  # fmt: skip
                    self._errors_logged[rule.name] = error
                continue
            self._errors_logged.pop(rule.name, None)
            for f in findings:
                severity = Severity(f.severity or rule.severity)
                labels = {**rule.labels, **{k: str(v) for k, v in f.labels.items()},
                          "alertname": rule.alert_name, "rule": rule.name, "severity": str(severity)}  # fmt: skip
                fp = fingerprint(labels)
                if f.undecided:
                    result.undecided.add(fp)
                    continue
                result.findings += 1
                active.setdefault(fp, (rule, f, labels))  # identical label sets: one alert
        return active

    def _transition(
        self,
        active: Mapping[str, tuple[RuleBase, Finding, dict[str, str]]],
        states: dict[str, AlertState],
        now: dt.datetime,
        result: EvalResult,
        events: list[tuple[AlertState, str, dict[str, Any]]],
    ) -> None:
        for fp, (rule, f, labels) in active.items():
            alert = states.get(fp)
            annotations = {**rule.annotations, **{k: str(v) for k, v in f.annotations.items()}}
            if alert is None or alert.state == State.resolved:
                alert = AlertState(fp, rule.name, labels, annotations, Severity(labels["severity"]), State.pending,
                                   active_since=now, last_active=now, value=f.value, evidence=dict(f.evidence),
                                   resource=f.resource)  # fmt: skip
                states[fp] = alert
                if rule.for_ > dt.timedelta(0):
                    events.append((alert, "pending", {}))
            else:
                alert.last_active, alert.value, alert.annotations = now, f.value, annotations
                alert.evidence, alert.resource = dict(f.evidence), f.resource or alert.resource
            if alert.state == State.pending and now - alert.active_since >= rule.for_:
                alert.state, alert.fired_at = State.firing, now
                events.append((alert, "firing", {}))
        for fp, alert in states.items():
            kept = alert.rule in result.rule_errors or alert.rule in result.unjudged or fp in result.undecided
            if fp in active or alert.state == State.resolved or kept:
                continue
            current = self.rules.get(alert.rule)
            keep = current.keep_firing_for if current is not None else dt.timedelta(0)
            if alert.state == State.firing and current is not None and now - alert.last_active < keep:
                continue
            was = alert.state
            alert.state, alert.resolved_at = State.resolved, now
            # A silence mutes a firing alert; its end is news to whoever heard it fire before the silence.
            alert.silenced_by = None
            reason = "rule removed from config" if current is None else None
            events.append((alert, "resolved" if was == State.firing else "inactive", {"comment": reason}))

    def _apply_silences(
        self,
        states: Mapping[str, AlertState],
        silences: Sequence[Silence],
        now: dt.datetime,
        events: list[tuple[AlertState, str, dict[str, Any]]],
    ) -> None:
        for alert in states.values():
            if alert.state == State.resolved:
                continue
            hit = matching(silences, alert.labels, now)
            sid = hit.id if hit else None
            if sid != alert.silenced_by:
                alert.silenced_by = sid
                kind = "silenced" if sid else "unsilenced"
                events.append((alert, kind, {"silence_id": sid, "comment": hit.comment if hit else None}))

    def _notify(self, result: EvalResult, now: dt.datetime, seq: int) -> None:
        assert self.router is not None
        states = self.states or {}
        try:
            self._replay_journal()  # rows an earlier evaluation of this process failed to commit, if any
        except Exception as exc:  # e.g. the disk is full: send anyway, the journal keeps them for the next try
            log.error("alerts:journal replay failed (kept for the next evaluation): %s", exc)
        self._sending = (now, seq + 1000)  # journal rows sort after this evaluation's own rows
        try:
            deliveries = list(self.router.notify(result.alerts, now))
        finally:
            self._sending = None
        result.deliveries = deliveries
        self._record_deliveries(deliveries, states, now, seq)
        self.journal.clear()  # committed: nothing left to replay

    def _journal_sent(self, deliveries: list[Any]) -> None:
        """The router's `on_sent`: the rows a batch's deliveries will be recorded as, journaled at once."""
        if self._sending is None:
            return  # action messages (notify_actions): recorded in action_log, not alert_events
        now, seq = self._sending
        states = self.states or {}
        rows = [event_row(states[d.fingerprint], "notified", now, seq, notifier=d.notifier, comment=str(d.kind))
                for d in deliveries if d.record and d.fingerprint in states]  # fmt: skip
        try:
            self.journal.record(rows)
        except OSError as exc:  # best effort: the deliveries are still recorded in alert_events after the batch
            log.error("alerts:journal write failed: %s", exc)

    def _replay_journal(self) -> None:
        """Commit the notifications a crashed evaluation sent but did not record (those not committed already)."""
        rows = self.journal.pending()
        if not rows:
            return
        done = {
            (r["fingerprint"], r["notifier"], r["at"])
            for r in self.wh.query(
                "SELECT fingerprint, notifier, `at` FROM alert_events WHERE event = 'notified' AND `at` IN UNNEST(@at)",
                {"at": sorted({r["at"] for r in rows})},
            ).to_pylist()
        }
        missing = [r for r in rows if (r["fingerprint"], r["notifier"], r["at"]) not in done]
        self.store.append(missing)
        self.journal.clear()
        log.warning("alerts:journal replayed notifications:%s (sent before a crash, not yet recorded)", len(missing))

    def _record_deliveries(self, deliveries: Sequence[Any], states: Mapping[str, AlertState], now: dt.datetime,
                           seq: int) -> None:  # fmt: skip
        rows = []
        for d in deliveries:
            alert = states.get(d.fingerprint)
            if alert is None or not d.ok:
                continue
            alert.notified[d.notifier] = now
            if d.record:
                seq += 1
                rows.append(event_row(alert, "notified", now, seq, notifier=d.notifier, comment=str(d.kind)))
        self.store.append(rows)

    def _act(self, ctx: EvalContext, result: EvalResult, now: dt.datetime) -> None:
        assert self.actions is not None
        # Alerts of a rule that failed this cycle keep their state but are not evidence: no candidates (an
        # open mark on one is cancelled by the action engine).
        opted = {name for name, r in self.rules.items() if getattr(r, "shutdown", False)}
        opted -= set(result.rule_errors) | result.unjudged
        candidates = [a for a in result.alerts if a.rule in opted and a.resource is not None]
        run = self.actions.run(ctx, candidates)
        result.actions = list(run.records)
        if self.router is not None and run.notifications:
            result.deliveries += list(self.router.notify_actions(run.notifications, now))

    # acks --------------------------------------------------------------------------------------------------

    def ack(self, alert_id: str, author: str, comment: str | None = None) -> AlertState:
        """Acknowledge a pending or firing alert by fingerprint (or a unique prefix of ≥ 4 characters)."""
        return ack(self.store, alert_id, author, comment, self.clock())


def _expired(alert: AlertState, now: dt.datetime) -> bool:
    return alert.state == State.resolved and alert.resolved_at is not None and now - alert.resolved_at > RESOLVED_KEEP


def find_alert(alerts: Sequence[AlertState], alert_id: str) -> AlertState:
    """The alert whose fingerprint is `alert_id` or starts with it (≥ 4 characters, unique)."""
    alert_id = alert_id.strip().lower()
    if len(alert_id) < 4:
        raise AmbiguousAlertError(f"alert id {alert_id!r} is too short: give at least 4 characters of its id")
    hits = [a for a in alerts if a.fingerprint.startswith(alert_id)]
    if not hits:
        raise AmbiguousAlertError(f"no pending or firing alert has id {alert_id!r} (see `spendscope alerts list`)")
    if len(hits) > 1:
        raise AmbiguousAlertError(f"alert id {alert_id!r} matches {len(hits)} alerts; give more characters")
    return hits[0]


def ack(store: AlertStore, alert_id: str, author: str, comment: str | None, now: dt.datetime) -> AlertState:
    """Record an ack: no more repeat notifications, and no auto-shutdown of its resource."""
    alert = find_alert([a for a in store.current() if a.state != State.resolved], alert_id)
    alert.acked_by, alert.acked_at, alert.ack_comment = author, now, comment
    store.append([event_row(alert, "acked", now, 0, author=author, comment=comment, source="cli")])
    return alert
