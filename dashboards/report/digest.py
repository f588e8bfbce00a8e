"""The report's alert section: alerts firing when the report is made, and those that fired since the previous one.

The email notifier mails only its `immediate_severities` (critical by default) when an alert fires and
leaves the rest for this daily digest (alerts/routing/email.py), so the report lists every alert that
fired in its window, resolved since or not, and every alert still firing; each line says whether an email
notifier already mailed it at once. States are read from alert_events as they stood at the window's end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from alerts.routing import Router
from alerts.routing.format import alert_url, summary
from alerts.store import ANNOTATING, apply_note, state_from_row
from dashboards.report.model import AlertLine
from exporters.warehouse.engine import Warehouse
from spendscope.config import Settings
from spendscope.records import AlertState, State

# The latest transition of each alert at the window's end: its state then.
_AT_END = """
SELECT * FROM alert_events
WHERE event NOT IN UNNEST(@notes) AND `at` <= @until
QUALIFY ROW_NUMBER() OVER (PARTITION BY fingerprint ORDER BY `at` DESC, seq DESC) = 1
"""
# The latest firing/resolved transition inside the window: an episode that fired in it even if a new one began.
_IN_WINDOW = """
SELECT * FROM alert_events
WHERE _day >= @day AND `at` > @since AND `at` <= @until AND event IN ('firing', 'resolved')
QUALIFY ROW_NUMBER() OVER (PARTITION BY fingerprint ORDER BY `at` DESC, seq DESC) = 1
"""
_NOTES = """
SELECT fingerprint, event, `at`, seq, notifier, author, comment, silence_id FROM alert_events
WHERE event IN UNNEST(@notes) AND fingerprint IN UNNEST(@fps) AND `at` <= @until ORDER BY `at`, seq
"""
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
_STANDARD = frozenset({"alertname", "rule", "severity"})


def alert_states(wh: Warehouse, since: dt.datetime, until: dt.datetime) -> list[AlertState]:
    """Alerts firing at `until`, and those that fired in (since, until] (their latest episode there)."""
    at_end = {r["fingerprint"]: r for r in wh.query(_AT_END, {"notes": list(ANNOTATING), "until": until}).to_pylist()}
    params = {"day": since.astimezone(dt.UTC).date(), "since": since, "until": until}
    in_window = {r["fingerprint"]: r for r in wh.query(_IN_WINDOW, params).to_pylist()}
    chosen: dict[str, Mapping[str, Any]] = {}
    for fp, row in at_end.items():
        if row["state"] == "firing":
            chosen[fp] = row
    for fp, row in in_window.items():
        if fp not in chosen and row["fired_at"] is not None:
            chosen[fp] = row
    states = {fp: state_from_row(r) for fp, r in chosen.items()}
    if states:
        notes = wh.query(_NOTES, {"notes": list(ANNOTATING), "fps": sorted(states), "until": until}).to_pylist()
        for n in notes:
            apply_note(states[n["fingerprint"]], n)
    return list(states.values())


def _mailed_at_once(router: Router, settings: Settings, alert: AlertState) -> bool:
    """Whether an email notifier the alert routes to takes it immediately (critical, by default)."""
    for name, _ in router.targets(alert.labels):
        notifier = router.notifiers.get(name)
        if notifier is not None and settings.alerts.notifiers[name].type == "email" and notifier.accepts(alert):
            return True
    return False


def alert_lines(wh: Warehouse, settings: Settings, since: dt.datetime, until: dt.datetime) -> tuple[AlertLine, ...]:
    """The report's alerts: most severe first, firing before resolved, then by name."""
    states = alert_states(wh, since, until)
    router = Router(settings.alerts)  # builds notifier objects only: nothing is contacted, no secret read
    try:
        lines = [
            AlertLine(
                fingerprint=a.fingerprint,
                alertname=a.alertname,
                rule=a.rule,
                severity=str(a.severity),
                state=str(a.state),
                summary=summary(a),
                identity=", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()) if k not in _STANDARD),
                fired_at=a.fired_at,
                resolved_at=a.resolved_at if a.state is State.resolved else None,
                acked_by=a.acked_by,
                silenced=a.silenced_by is not None and a.state is State.firing,
                mailed_at_once=_mailed_at_once(router, settings, a),
                link=alert_url(settings.alerts.external_url, a.fingerprint),
            )
            for a in states
        ]
    finally:
        router.close()
    lines.sort(key=lambda x: (_SEVERITY_ORDER.get(x.severity, 3), x.state != "firing", x.alertname, x.identity))
    return tuple(lines)
