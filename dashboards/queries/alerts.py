"""Alert, silence and action-log queries for the pages, in the `fn(wh, settings, *args)` form `data.query` caches.

Thin: alerts come from `alerts.store.AlertStore` through `alerts.manage` (the functions `spendscope alerts list`
and `silence list` print) and actions from `alerts.actions.recent_actions` (`spendscope actions list`), so the
page and the CLI can never disagree. Date ranges are reporting days: midnight to midnight in the reporting zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from alerts import manage
from alerts.actions import recent_actions
from alerts.store import AlertStore
from exporters.warehouse.engine import Warehouse
from spendscope.config import Settings
from spendscope.records import State

ACTION_MODES = ("all", "dry-run", "real")
FIRING_SCHEMA = pa.schema(
    [
        ("fingerprint", pa.string()),
        ("name", pa.string()),
        ("severity", pa.string()),
        ("summary", pa.string()),
        ("since", pa.timestamp("us", tz="UTC")),
    ]
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _span(s: Settings, since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Reporting days since…until (inclusive) as [start, end) instants."""
    tz = ZoneInfo(s.reporting.timezone)
    start = dt.datetime.combine(since, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _before(table: pa.Table, column: str, end: dt.datetime) -> pa.Table:
    return table.filter(pc.less(table[column], pa.scalar(end, table.schema.field(column).type)))


def firing_now(wh: Warehouse, s: Settings) -> pa.Table:
    """Alerts firing now, most severe and oldest first (fingerprint, name, severity, summary, since)."""
    firing = [a for a in AlertStore(wh).current() if a.state == State.firing]
    firing.sort(key=lambda a: (-a.severity.rank, a.fired_at or a.active_since, a.alertname))
    rows = [
        {"fingerprint": a.fingerprint, "name": a.alertname, "severity": str(a.severity),
         "summary": a.annotations.get("summary", ""), "since": a.fired_at or a.active_since}
        for a in firing
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=FIRING_SCHEMA)


def active(wh: Warehouse, s: Settings) -> pa.Table:
    """Pending and firing alerts: `spendscope alerts list`'s table."""
    return manage.alert_table(manage.list_alerts(AlertStore(wh), None, _now()))


def resolved(wh: Warehouse, s: Settings, since: dt.date, until: dt.date) -> pa.Table:
    """Alerts resolved within the reporting days since…until, with when (`alerts list`'s columns + resolved_at)."""
    start, end = _span(s, since, until)
    alerts = [
        a
        for a in manage.list_alerts(AlertStore(wh), "resolved", _now(), resolved_since=start)
        if a.resolved_at is not None and a.resolved_at < end
    ]
    table = manage.alert_table(alerts)
    when = {a.fingerprint[:8]: a.resolved_at for a in alerts}
    at = pa.array([when[i] for i in table["id"].to_pylist()], pa.timestamp("us", tz="UTC"))
    return table.append_column("resolved_at", at)


def history(wh: Warehouse, s: Settings, since: dt.date, until: dt.date) -> pa.Table:
    """Every alert event (transitions, notifications, acks, silences) in the range, newest first."""
    start, end = _span(s, since, until)
    return _before(AlertStore(wh).history(start), "at", end)


def one_alert(wh: Warehouse, s: Settings, fingerprint: str, days: int = 30) -> pa.Table:
    """Every event of the alert whose fingerprint starts with `fingerprint` in the last `days` days, newest first
    (what a notification's link `…/alerts?fingerprint=<fp>` opens)."""
    return AlertStore(wh).history(_now() - dt.timedelta(days=days), fingerprint)


def silences(wh: Warehouse, s: Settings, show_all: bool = False) -> pa.Table:
    """`spendscope silence list`'s table, plus `mutes`: the ids of pending/firing alerts an active silence matches."""
    now = _now()
    store = AlertStore(wh)
    listed = manage.listed_silences(store, now, show_all)
    alerts = manage.list_alerts(store, None, now) if listed else []
    mutes = [
        ", ".join(sorted(a.fingerprint[:8] for a in alerts if x.active(now) and x.matches(a.labels))) for x in listed
    ]
    return manage.silence_table(listed, now).append_column("mutes", pa.array(mutes, pa.string()))


def actions(wh: Warehouse, s: Settings, since: dt.date, until: dt.date, mode: str = "all") -> pa.Table:
    """Auto-shutdown steps in the range, newest first (`spendscope actions list`); mode all | dry-run | real."""
    if mode not in ACTION_MODES:
        raise ValueError(f"mode {mode!r}: expected one of {', '.join(ACTION_MODES)}")
    start, end = _span(s, since, until)
    table = _before(recent_actions(wh, start), "at", end)
    if mode == "all":
        return table
    return table.filter(pc.equal(table["dry_run"], mode == "dry-run"))


def action_summary(wh: Warehouse, s: Settings, since: dt.date, until: dt.date) -> dict[str, float]:
    """Steps in the range: dry-run and real, real stops executed and failed, and the $/hour those stops save."""
    rows = actions(wh, s, since, until).select(["step", "dry_run", "saving_usd_per_hour"]).to_pylist()
    stops = [r for r in rows if not r["dry_run"] and r["step"] == "executed"]
    return {
        "dry_run": sum(1 for r in rows if r["dry_run"]),
        "real": sum(1 for r in rows if not r["dry_run"]),
        "planned": sum(1 for r in rows if r["dry_run"] and r["step"] == "planned"),
        "executed": len(stops),
        "failed": sum(1 for r in rows if not r["dry_run"] and r["step"] == "failed"),
        "saving_usd_per_hour": sum(r["saving_usd_per_hour"] or 0.0 for r in stops),
    }
