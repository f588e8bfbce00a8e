"""The alert engine's state machine over a real Delta lake: pending → firing → resolved, `for`,
`keep_firing_for`, dedup, silences, acks, rule errors, and state rebuilt after a restart from alert_events.

The rule here is a synthetic test double whose findings the test sets (the engine is what is under test);
the rules themselves are tested in their own modules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import pytest

from alerts.context import EvalContext
from alerts.engine import AlertEngine, AmbiguousAlertError, EvaluatorBusyError, ack
from alerts.rules.base import RuleBase
from alerts.silences import new_silence
from alerts.store import AlertStore, event_row
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.records import AlertState, Finding, Notification, Severity, State

T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


class Scripted(RuleBase):
    """A rule whose active findings the test sets between evaluations (synthetic)."""

    default_alertname: ClassVar[str] = "Scripted"
    type: Literal["scripted"] = "scripted"
    script: ClassVar[dict[str, list[Finding]]] = {}

    def evaluate(self, ctx: EvalContext) -> list[Finding]:
        got = self.script.get(self.name)
        if got is None:
            raise RuntimeError("warehouse unreachable")
        return got


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, minutes: int = 1) -> None:
        self.now += dt.timedelta(minutes=minutes)


class RecordingRouter:
    """Records what the engine asks to send; every delivery succeeds (the router has its own tests)."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[str, str]]] = []

    def notify(self, alerts: Sequence[AlertState], now: dt.datetime) -> list[Any]:
        from alerts.routing.base import Delivery
        from spendscope.records import NotificationKind

        out = []
        for a in alerts:
            if a.state == State.firing and "pager" not in a.notified and not a.silenced_by:
                out.append(Delivery("pager", a.fingerprint, NotificationKind.firing, ok=True))
        self.calls.append([(d.fingerprint, str(d.kind)) for d in out])
        return out

    def notify_actions(self, notifications: Sequence[Notification], now: dt.datetime) -> list[Any]:
        return []

    def close(self) -> None:
        pass


def finding(**labels: str) -> Finding:
    return Finding(labels=labels, annotations={"summary": f"test {labels}"}, value=1.0)


@pytest.fixture
def clock() -> Clock:
    Scripted.script = {}
    return Clock()


def engine(settings: Settings, lake: DuckDbLake, clock: Clock, *rules: RuleBase, router: Any = None) -> AlertEngine:
    return AlertEngine(settings, lake, list(rules), router=router, clock=clock)


def events(lake: DuckDbLake) -> list[tuple[str, str]]:
    rows = lake.query("SELECT event, state FROM alert_events ORDER BY `at`, seq").to_pylist()
    return [(r["event"], r["state"]) for r in rows]


def test_pending_then_firing_after_for_then_resolved(settings: Settings, lake: DuckDbLake, clock: Clock) -> None:
    rule = Scripted(name="r1", **{"for": "5m"})
    eng = engine(settings, lake, clock, rule)
    Scripted.script["r1"] = [finding(host="a")]
    first = eng.evaluate()
    assert [a.state for a in first.alerts] == [State.pending]
    clock.tick(4)
    assert eng.evaluate().alerts[0].state == State.pending
    clock.tick(1)
    fired = eng.evaluate().alerts[0]
    assert fired.state == State.firing and fired.fired_at == clock.now
    assert fired.labels == {"host": "a", "alertname": "Scripted", "rule": "r1", "severity": "warning"}
    Scripted.script["r1"] = []
    clock.tick()
    gone = eng.evaluate().alerts[0]
    assert gone.state == State.resolved and gone.resolved_at == clock.now
    assert events(lake) == [("pending", "pending"), ("firing", "firing"), ("resolved", "resolved")]


def test_pending_that_clears_goes_inactive_without_firing(settings: Settings, lake: DuckDbLake, clock: Clock) -> None:
    eng = engine(settings, lake, clock, Scripted(name="r1", **{"for": "10m"}))
    Scripted.script["r1"] = [finding(host="a")]
    eng.evaluate()
    clock.tick(3)
    Scripted.script["r1"] = []
    eng.evaluate()
    assert events(lake) == [("pending", "pending"), ("inactive", "resolved")]


def test_keep_firing_for_bridges_a_short_gap(settings: Settings, lake: DuckDbLake, clock: Clock) -> None:
    eng = engine(settings, lake, clock, Scripted(name="r1", keep_firing_for="10m"))
    Scripted.script["r1"] = [finding(host="a")]
    eng.evaluate()
    Scripted.script["r1"] = []
    for _ in range(9):
        clock.tick()
        assert eng.evaluate().alerts[0].state == State.firing
    clock.tick()
    assert eng.evaluate().alerts[0].state == State.resolved
    assert events(lake) == [("firing", "firing"), ("resolved", "resolved")]


def test_identical_label_sets_are_one_alert_and_severity_is_a_label(
    settings: Settings, lake: DuckDbLake, clock: Clock
) -> None:
    eng = engine(settings, lake, clock, Scripted(name="r1", labels={"team": "ml"}))
    Scripted.script["r1"] = [finding(host="a"), finding(host="a"),
                             Finding(labels={"host": "a"}, severity=Severity.critical)]  # fmt: skip
    result = eng.evaluate()
    assert result.findings == 3
    assert sorted(a.labels["severity"] for a in result.alerts) == ["critical", "warning"]
    assert all(a.labels["team"] == "ml" for a in result.alerts)
    assert len({a.fingerprint for a in result.alerts}) == 2


def test_a_failing_rule_keeps_its_alerts_and_others_still_run(
    settings: Settings, lake: DuckDbLake, clock: Clock
) -> None:
    eng = engine(settings, lake, clock, Scripted(name="flaky"), Scripted(name="fine"))
    Scripted.script.update({"flaky": [finding(host="a")], "fine": [finding(host="b")]})
    eng.evaluate()
    del Scripted.script["flaky"]  # now raises
    clock.tick()
    result = eng.evaluate()
    assert "flaky" in result.rule_errors and "unreachable" in result.rule_errors["flaky"]
    assert {a.rule: a.state for a in result.alerts} == {"flaky": State.firing, "fine": State.firing}


def test_restart_rebuilds_state_and_does_not_renotify(settings: Settings, lake: DuckDbLake, clock: Clock) -> None:
    router = RecordingRouter()
    rule = Scripted(name="r1", **{"for": "2m"})
    Scripted.script["r1"] = [finding(host="a")]
    eng = engine(settings, lake, clock, rule, router=router)
    eng.evaluate()
    clock.tick(2)
    fired = eng.evaluate()
    assert router.calls[-1] == [(fired.alerts[0].fingerprint, "firing")]
    # A new process: nothing in memory, everything from alert_events.
    eng.close()
    clock.tick()
    again = engine(settings, lake, clock, rule, router=RecordingRouter())
    state = again.evaluate().alerts[0]
    assert state.state == State.firing and state.fired_at == T0 + 2 * MIN and state.active_since == T0
    assert "pager" in state.notified
    assert again.router.calls == [[]]  # type: ignore[union-attr]
    assert [e for e, _ in events(lake)].count("firing") == 1
    again.close()


def test_silence_mutes_matching_alerts_and_is_recorded(settings: Settings, lake: DuckDbLake, clock: Clock) -> None:
    router = RecordingRouter()
    eng = engine(settings, lake, clock, Scripted(name="r1"), router=router)
    store = AlertStore(lake)
    store.add_silence(new_silence(["host=a"], now=T0, duration=dt.timedelta(hours=1), author="kim", comment="maint"))
    Scripted.script["r1"] = [finding(host="a"), finding(host="b")]
    result = eng.evaluate()
    by_host = {a.labels["host"]: a for a in result.alerts}
    assert by_host["a"].silenced_by and by_host["b"].silenced_by is None
    assert router.calls[-1] == [(by_host["b"].fingerprint, "firing")]
    clock.tick(61)
    result = eng.evaluate()
    assert all(a.silenced_by is None for a in result.alerts)
    kinds = lake.query("SELECT event FROM alert_events WHERE fingerprint = @f ORDER BY `at`, seq",
                       {"f": by_host["a"].fingerprint}).column("event").to_pylist()  # fmt: skip
    assert kinds == ["firing", "silenced", "unsilenced", "notified"]


def test_ack_by_prefix_is_seen_by_a_running_engine(settings: Settings, lake: DuckDbLake, clock: Clock) -> None:
    eng = engine(settings, lake, clock, Scripted(name="r1"))
    Scripted.script["r1"] = [finding(host="a")]
    fp = eng.evaluate().alerts[0].fingerprint
    clock.tick()
    acked = ack(AlertStore(lake), fp[:6], "kim", "looking", clock.now)  # another process: the CLI
    assert acked.acked_by == "kim"
    clock.tick()
    state = eng.evaluate().alerts[0]
    assert state.acked_by == "kim" and state.ack_comment == "looking"
    with pytest.raises(AmbiguousAlertError):
        ack(AlertStore(lake), "zzzz", "kim", None, clock.now)
    with pytest.raises(AmbiguousAlertError):
        ack(AlertStore(lake), "ab", "kim", None, clock.now)


def test_refiring_after_resolution_is_a_new_episode(settings: Settings, lake: DuckDbLake, clock: Clock) -> None:
    router = RecordingRouter()
    eng = engine(settings, lake, clock, Scripted(name="r1"), router=router)
    Scripted.script["r1"] = [finding(host="a")]
    eng.evaluate()
    ack(AlertStore(lake), eng.evaluate().alerts[0].fingerprint, "kim", None, clock.now)
    clock.tick()
    Scripted.script["r1"] = []
    eng.evaluate()
    clock.tick()
    Scripted.script["r1"] = [finding(host="a")]
    fresh = eng.evaluate().alerts[0]
    assert fresh.state == State.firing and fresh.acked_by is None and fresh.active_since == clock.now
    assert router.calls[-1] == [(fresh.fingerprint, "firing")]
    # the store agrees: the old ack and notification belong to the old episode
    rebuilt = AlertStore(lake).current()[0]
    assert rebuilt.acked_by is None and rebuilt.active_since == clock.now


def test_a_second_evaluator_of_the_same_home_is_refused(settings: Settings, lake: DuckDbLake, clock: Clock) -> None:
    first = engine(settings, lake, clock, Scripted(name="r1"))
    Scripted.script["r1"] = []
    first.evaluate()
    second = engine(settings, lake, clock, Scripted(name="r1"))
    with pytest.raises(EvaluatorBusyError, match="evaluate in one place only"):
        second.evaluate()
    first.close()
    second.evaluate()  # the lock is free once the first engine is closed
    second.close()


def test_restart_keeps_keep_firing_for_and_ack_rows_never_decide_state(
    settings: Settings, lake: DuckDbLake, clock: Clock
) -> None:
    rule = Scripted(name="r1", keep_firing_for="30m")
    Scripted.script["r1"] = [finding(host="a")]
    eng = engine(settings, lake, clock, rule)
    fp = eng.evaluate().alerts[0].fingerprint
    clock.tick(120)  # held for two hours: no rows written meanwhile
    eng.evaluate()
    eng.close()
    Scripted.script["r1"] = []
    clock.tick()
    again = engine(settings, lake, clock, rule)
    assert again.evaluate().alerts[0].state == State.firing, "keep_firing_for counts from the restart at least"
    clock.tick(31)
    assert again.evaluate().alerts[0].state == State.resolved
    again.close()
    # A CLI ack written from a stale copy after the resolution does not bring the alert back.
    store = AlertStore(lake)
    stale = AlertState(fp, "r1", {"host": "a"}, {}, Severity.warning, State.firing, T0, T0, fired_at=T0)
    store.append([event_row(stale, "acked", clock.now + MIN, 0, author="kim")])
    assert [a.state for a in store.current(resolved_since=T0)] == [State.resolved]


def test_silenced_alert_that_resolves_is_no_longer_silenced(settings: Settings, lake: DuckDbLake, clock: Clock) -> None:
    eng = engine(settings, lake, clock, Scripted(name="r1"), router=RecordingRouter())
    Scripted.script["r1"] = [finding(host="a")]
    eng.evaluate()
    AlertStore(lake).add_silence(new_silence(["host=a"], now=clock.now, duration=dt.timedelta(hours=1),
                                             author="kim", comment="maint"))  # fmt: skip
    clock.tick()
    assert eng.evaluate().alerts[0].silenced_by is not None
    Scripted.script["r1"] = []
    clock.tick()
    gone = eng.evaluate().alerts[0]
    assert gone.state == State.resolved and gone.silenced_by is None
    assert AlertStore(lake).current(resolved_since=T0)[0].silenced_by is None
    eng.close()
