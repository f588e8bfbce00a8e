"""Router semantics with recording notifiers: routes, repeat intervals, acks, silences, resolutions, failures.

Alerts are synthetic AlertStates; `engine_applies` does what the engine does with deliveries (an ok delivery
sets alert.notified[notifier] = now), so the sequences below are the ones the daemon would see.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from alerts.config import AlertsConfig
from alerts.routing import Delivery, Router, build_notifiers
from alerts.routing.alertmanager import AlertmanagerSender
from alerts.routing.datadog import DatadogSender
from alerts.routing.email import EmailSender
from alerts.routing.webhook import WebhookSender
from spendscope.config import Settings
from spendscope.records import AlertState, Notification, NotificationKind, Severity, State
from tests.alerts.routing.helpers import T0, Recording, RecordingAlertmanager, make_alert
from tests.common.servers import free_port

MIN, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)
NOTIFIERS: dict[str, Any] = {
    "am": {"type": "alertmanager", "url": "http://127.0.0.1:9093"},
    "mail": {"type": "email", "host": "127.0.0.1", "to": ["ops@example.com"], "repeat_interval": "12h"},
    "dd": {"type": "datadog"},
    "hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook", "repeat_interval": "2h"},
}


def config(routes: list[dict[str, Any]] | None = None, **notifiers: dict[str, Any]) -> AlertsConfig:
    return AlertsConfig.model_validate({"notifiers": notifiers or NOTIFIERS, "routes": routes or []})


def recording_router(cfg: AlertsConfig, fail: dict[str, str] | None = None) -> tuple[Router, dict[str, Recording]]:
    fakes: dict[str, Recording] = {}
    for name, nc in cfg.notifiers.items():
        fakes[name] = (
            RecordingAlertmanager(name, fail=(fail or {}).get(name))
            if nc.type == "alertmanager"
            else Recording(name, nc, fail=(fail or {}).get(name))
        )
    return Router(cfg, fakes), fakes


def engine_applies(deliveries: Sequence[Delivery], alerts: Sequence[AlertState], now: dt.datetime) -> None:
    by_fp = {a.fingerprint: a for a in alerts}
    for d in deliveries:
        if d.ok:
            by_fp[d.fingerprint].notified[d.notifier] = now


def kinds(deliveries: Sequence[Delivery]) -> dict[str, tuple[NotificationKind, bool]]:
    return {d.notifier: (d.kind, d.record) for d in deliveries}


# routes -----------------------------------------------------------------------------------------------------


def test_no_routes_sends_every_alert_to_every_notifier_with_its_own_interval() -> None:
    router, _ = recording_router(config())
    assert router.targets({"alertname": "X"}) == [
        ("am", MIN),
        ("mail", 12 * HOUR),
        ("dd", 4 * HOUR),
        ("hook", 2 * HOUR),
    ]


def test_first_matching_route_wins_and_match_needs_every_label() -> None:
    routes = [
        {"match": {"team": "ml", "severity": "critical"}, "notifiers": ["mail"]},
        {"match": {"team": "ml"}, "notifiers": ["hook"]},
        {"match": {}, "notifiers": ["dd"]},  # no matchers: the catch-all
    ]
    router, _ = recording_router(config(routes))
    assert [n for n, _ in router.targets({"team": "ml", "severity": "critical"})] == ["mail"]
    assert [n for n, _ in router.targets({"team": "ml", "severity": "warning"})] == ["hook"]
    assert [n for n, _ in router.targets({"team": "data"})] == ["dd"]


def test_match_re_is_anchored_and_a_missing_label_matches_as_empty() -> None:
    routes = [
        {"match_re": {"cluster": "train"}, "notifiers": ["mail"]},
        {"match_re": {"cluster": "train.*", "severity": "warn|crit"}, "notifiers": ["hook"]},
        {"match": {"team": ""}, "notifiers": ["dd"]},
    ]
    router, _ = recording_router(config(routes))
    assert [n for n, _ in router.targets({"cluster": "train"})] == ["mail"]
    # "train" must match the whole value, as in Alertmanager: "training" falls through to the next route.
    assert [n for n, _ in router.targets({"cluster": "training", "severity": "crit"})] == ["hook"]
    # "warn|crit" is anchored as a whole: "critical" does not match it.
    assert [n for n, _ in router.targets({"cluster": "training", "severity": "critical"})] == ["dd"]
    assert router.targets({"cluster": "x", "team": "ml"}) == []


def test_continue_also_tries_later_routes_and_a_notifier_is_listed_once() -> None:
    routes = [
        {"match": {"team": "ml"}, "notifiers": ["mail"], "continue": True, "repeat_interval": "30m"},
        {"match_re": {"team": "m.*"}, "notifiers": ["hook", "mail"]},
        {"match": {}, "notifiers": ["dd"]},
    ]
    router, _ = recording_router(config(routes))
    # mail keeps the first route's interval; the second route does not continue, so dd is not reached.
    assert router.targets({"team": "ml"}) == [("mail", 30 * MIN), ("hook", 2 * HOUR)]
    assert router.targets({"team": "mx"}) == [("hook", 2 * HOUR), ("mail", 12 * HOUR)]


def test_a_route_interval_does_not_stretch_alertmanager_resends() -> None:
    router, _ = recording_router(config([{"match": {}, "notifiers": ["am", "hook"], "repeat_interval": "6h"}]))
    assert router.targets({}) == [("am", MIN), ("hook", 6 * HOUR)]


# when ---------------------------------------------------------------------------------------------------------


def test_firing_then_repeat_after_the_interval_only() -> None:
    router, fakes = recording_router(config([{"match": {}, "notifiers": ["hook"]}]))
    alert = make_alert()
    out = router.notify([alert], T0)
    assert kinds(out) == {"hook": (NotificationKind.firing, True)}
    engine_applies(out, [alert], T0)
    assert router.notify([alert], T0 + HOUR) == []
    out = router.notify([alert], T0 + 2 * HOUR)
    assert kinds(out) == {"hook": (NotificationKind.repeat, True)}
    assert [n.kind for n in fakes["hook"].sent] == [NotificationKind.firing, NotificationKind.repeat]
    assert fakes["hook"].sent[1].title.endswith("(still firing)")


def test_acked_alerts_repeat_only_to_alertmanager() -> None:
    router, _ = recording_router(config())
    alert = make_alert()
    engine_applies(router.notify([alert], T0), [alert], T0)
    alert.acked_by, alert.acked_at = "ana", T0 + MIN
    out = router.notify([alert], T0 + 24 * HOUR)
    assert kinds(out) == {"am": (NotificationKind.repeat, False)}


def test_silenced_and_pending_alerts_send_nothing_anywhere() -> None:
    router, fakes = recording_router(config())
    silenced = make_alert(silenced_by="5f1c-silence")
    pending = make_alert(rule="other", state=State.pending)
    assert router.notify([silenced, pending], T0) == []
    assert all(f.batches == [] for f in fakes.values())


def test_resolution_goes_once_to_notifiers_that_heard_of_the_alert() -> None:
    router, _ = recording_router(config([{"match": {}, "notifiers": ["hook", "dd", "mail"]}]))
    alert = make_alert()
    engine_applies(router.notify([alert], T0), [alert], T0)
    del alert.notified["mail"]  # as if mail had failed every time while it fired
    alert.state, alert.resolved_at = State.resolved, T0 + HOUR
    out = router.notify([alert], T0 + HOUR)
    assert kinds(out) == {"hook": (NotificationKind.resolved, True), "dd": (NotificationKind.resolved, True)}
    engine_applies(out, [alert], T0 + HOUR)
    assert router.notify([alert], T0 + HOUR + MIN) == []


def test_a_failed_resolution_is_tried_again_and_send_resolved_false_sends_none() -> None:
    cfg = config(
        [{"match": {}, "notifiers": ["hook", "quiet"]}],
        hook=NOTIFIERS["hook"],
        quiet={**NOTIFIERS["hook"], "send_resolved": False},
    )
    router, fakes = recording_router(cfg)
    alert = make_alert()
    engine_applies(router.notify([alert], T0), [alert], T0)
    alert.state, alert.resolved_at = State.resolved, T0 + HOUR
    fakes["hook"].fail = "HTTP 503"
    out = router.notify([alert], T0 + HOUR)
    assert [(d.notifier, d.ok, d.error) for d in out] == [("hook", False, "hook: HTTP 503")]
    engine_applies(out, [alert], T0 + HOUR)
    fakes["hook"].fail = None
    assert kinds(router.notify([alert], T0 + HOUR + MIN)) == {"hook": (NotificationKind.resolved, True)}


def test_alertmanager_gets_every_resend_unrecorded_and_the_resolution_for_a_while() -> None:
    router, fakes = recording_router(config([{"match": {}, "notifiers": ["am"]}]))
    alert = make_alert()
    now = T0
    out = router.notify([alert], now)
    assert kinds(out) == {"am": (NotificationKind.firing, True)}
    for step in (MIN, MIN - dt.timedelta(seconds=2), MIN):  # an evaluation that starts a bit early still re-sends
        engine_applies(out, [alert], now)
        now += step
        out = router.notify([alert], now)
        assert kinds(out) == {"am": (NotificationKind.repeat, False)}
    engine_applies(out, [alert], now)
    alert.state, alert.resolved_at = State.resolved, now + MIN
    seen = []
    for minute in range(1, 9):
        now = alert.resolved_at + (minute - 1) * MIN
        out = router.notify([alert], now)
        engine_applies(out, [alert], now)
        seen.append(kinds(out).get("am"))
    resolved = (NotificationKind.resolved, True)
    again = (NotificationKind.resolved, False)
    # resolve_resend_for defaults to 5m: sends at +0 (recorded) … +5m, then nothing.
    assert seen == [resolved, again, again, again, again, again, None, None]
    assert all(n.alert.resolved_at == alert.resolved_at for n in fakes["am"].sent[-6:])


def test_an_alert_that_fires_again_is_a_new_firing_notification() -> None:
    router, _ = recording_router(config([{"match": {}, "notifiers": ["hook"]}]))
    alert = make_alert(fired_at=T0 + 3 * HOUR)
    alert.notified["hook"] = T0  # from its previous firing, before this one started
    assert kinds(router.notify([alert], T0 + 3 * HOUR)) == {"hook": (NotificationKind.firing, True)}


def test_one_batch_per_notifier_with_every_due_alert() -> None:
    router, fakes = recording_router(config([{"match": {}, "notifiers": ["hook", "am"]}]))
    alerts = [make_alert(labels={"cluster": c}) for c in ("a", "b", "c")]
    out = router.notify(alerts, T0)
    assert len(out) == 6
    assert [len(b) for b in fakes["hook"].batches] == [3]
    assert [len(b) for b in fakes["am"].batches] == [3]
    assert {n.alert.fingerprint for n in fakes["hook"].sent} == {a.fingerprint for a in alerts}


def test_a_failing_notifier_does_not_stop_the_others_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    router, fakes = recording_router(config(), fail={"dd": "POST /api/v1/events failed: HTTP 503 Service Unavailable"})
    alert = make_alert()
    with caplog.at_level(logging.INFO, logger="alerts.routing.router"):
        for minute in range(3):
            out = router.notify([alert], T0 + minute * MIN)
            engine_applies(out, [alert], T0 + minute * MIN)
        failed = [d for d in out if not d.ok]
        assert [(d.notifier, d.kind) for d in failed] == [("dd", NotificationKind.firing)]
        assert failed[0].error == "dd: POST /api/v1/events failed: HTTP 503 Service Unavailable"
        assert set(alert.notified) == {"am", "mail", "hook"}
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "notifier:dd failed" in warnings[0].getMessage()
        fakes["dd"].fail = None
        out = router.notify([alert], T0 + 3 * MIN)
        assert [(d.notifier, d.ok) for d in out if d.notifier == "dd"] == [("dd", True)]
        assert any("notifier:dd recovered" in r.getMessage() for r in caplog.records)


def test_an_unexpected_notifier_exception_becomes_a_failed_delivery() -> None:
    class Broken(Recording):
        def send(self, notifications: Sequence[Notification]) -> None:
            raise KeyError("labels")

    cfg = config([{"match": {}, "notifiers": ["hook", "dd"]}])
    ok = Recording("dd", cfg.notifiers["dd"])
    out = Router(cfg, {"hook": Broken("hook", cfg.notifiers["hook"]), "dd": ok}).notify([make_alert()], T0)
    assert sorted((d.notifier, d.ok, d.error) for d in out) == [
        ("dd", True, None),
        ("hook", False, "hook: KeyError: 'labels'"),
    ]
    assert len(ok.sent) == 1


def test_email_takes_only_immediate_severities_and_failures_are_deliveries() -> None:
    port = free_port()  # nothing listens there: the connection is refused at once
    cfg = config([{"match": {}, "notifiers": ["mail"]}], mail={**NOTIFIERS["mail"], "port": port, "security": "none"})
    router = Router(cfg)
    assert isinstance(router.notifiers["mail"], EmailSender)
    assert router.notify([make_alert(severity=Severity.warning)], T0) == []
    [d] = router.notify([make_alert(severity=Severity.critical)], T0)
    assert (d.notifier, d.ok, d.kind) == ("mail", False, NotificationKind.firing)
    assert d.error is not None and d.error.startswith(f"mail: SMTP 127.0.0.1:{port} connect: ConnectionRefusedError")


def test_actions_follow_routes_always_and_skip_alertmanager() -> None:
    router, fakes = recording_router(config([{"match": {"team": "ml"}, "notifiers": ["am", "hook"]}]))
    alert = make_alert(labels={"team": "ml"}, silenced_by="s1", acked_by="ana")
    alert.notified["hook"] = T0
    warn = Notification(NotificationKind.action, alert, "Stopping cluster training in 30m", "…", T0)
    other = Notification(NotificationKind.action, make_alert(labels={"team": "data"}), "x", "y", T0)
    out = router.notify_actions([warn, other], T0 + MIN)
    assert [(d.notifier, d.kind, d.ok, d.record) for d in out] == [("hook", NotificationKind.action, True, True)]
    assert fakes["hook"].sent == [warn] and fakes["am"].batches == []


def test_build_notifiers_and_from_settings_read_no_secret_until_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DD_API_KEY", raising=False)
    cfg = config()
    built = build_notifiers(cfg)
    assert {n: type(x) for n, x in built.items()} == {
        "am": AlertmanagerSender,
        "mail": EmailSender,
        "dd": DatadogSender,
        "hook": WebhookSender,
    }
    assert all(x.name == n and x.config is cfg.notifiers[n] for n, x in built.items())
    settings = Settings.model_validate({"alerts": {"notifiers": NOTIFIERS, "external_url": "https://cost.example"}})
    router = Router.from_settings(settings)
    assert router.notifiers["hook"].external_url == "https://cost.example"
    [d] = Router(config([{"match": {}, "notifiers": ["dd"]}])).notify([make_alert()], T0)
    assert not d.ok and d.error == "dd: the API key variable DD_API_KEY (api_key_env) is not set in the environment"
    router.close()


def test_close_closes_every_notifier() -> None:
    router, fakes = recording_router(config())
    router.close()
    assert all(f.closed for f in fakes.values())


def test_notifications_carry_titles_and_texts() -> None:
    router, fakes = recording_router(config([{"match": {}, "notifiers": ["hook"]}]))
    alert = dataclasses.replace(make_alert(labels={"team": "ml"}), notified={})
    router.notify([alert], T0)
    [n] = fakes["hook"].sent
    assert n.title == "[CRITICAL] BudgetExceeded fleet-daily team=ml"
    assert n.at == T0 and "fleet-daily is over budget" in n.text
    assert f"http://localhost:8501/alerts?fingerprint={alert.fingerprint}" in n.text
