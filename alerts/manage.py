"""What people do with alerts, shared by the CLI and the dashboard: list alerts and silences, add and expire silences.

`spendscope alerts list`, `silence add|list|expire` and the "Alerts & actions" page call these same functions
(acks go through `alerts.engine.ack`), so the two can never show or write different things.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyarrow as pa

from alerts.silences import Silence, new_silence
from alerts.store import AlertStore
from spendscope.errors import ConfigError
from spendscope.records import AlertState, State

# How far back `alerts list --state resolved|all` looks for resolved alerts.
RESOLVED_LOOKBACK = dt.timedelta(days=7)
# Labels every alert has; the table shows them in their own columns, not in `labels`.
OWN_COLUMNS = ("alertname", "rule", "severity")

ALERT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("state", pa.string()),
        ("severity", pa.string()),
        ("alertname", pa.string()),
        ("rule", pa.string()),
        ("labels", pa.string()),
        ("since", pa.timestamp("us", tz="UTC")),
        ("summary", pa.string()),
        ("acked_by", pa.string()),
        ("silenced", pa.bool_()),
    ]
)

SILENCE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("matchers", pa.string()),
        ("starts_at", pa.timestamp("us", tz="UTC")),
        ("ends_at", pa.timestamp("us", tz="UTC")),
        ("expired_at", pa.timestamp("us", tz="UTC")),
        ("created_by", pa.string()),
        ("comment", pa.string()),
        ("active", pa.bool_()),
    ]
)


def list_alerts(
    store: AlertStore, state: str | None, now: dt.datetime, resolved_since: dt.datetime | None = None
) -> list[AlertState]:
    """Pending and firing alerts (state None), those of one state, or all; resolved ones since `resolved_since`."""
    since = (resolved_since or now - RESOLVED_LOOKBACK) if state in ("resolved", "all") else None
    alerts = store.current(resolved_since=since)
    if state is None:
        return [a for a in alerts if a.state != State.resolved]
    if state != "all":
        return [a for a in alerts if str(a.state) == state]
    return alerts


def alert_table(alerts: Sequence[AlertState]) -> pa.Table:
    """One row per alert, most severe first (id = the first 8 characters of the fingerprint)."""
    rows = [
        {
            "id": a.fingerprint[:8],
            "state": str(a.state),
            "severity": str(a.severity),
            "alertname": a.alertname,
            "rule": a.rule,
            "labels": ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()) if k not in OWN_COLUMNS),
            "since": a.fired_at or a.active_since,
            "summary": a.annotations.get("summary", ""),
            "acked_by": a.acked_by,
            "silenced": bool(a.silenced_by),
        }
        for a in sorted(alerts, key=lambda a: (-a.severity.rank, a.alertname, a.fingerprint))
    ]
    return pa.Table.from_pylist(rows, schema=ALERT_SCHEMA)


def listed_silences(store: AlertStore, now: dt.datetime, show_all: bool = False) -> list[Silence]:
    """Active and pending silences (not expired, not ended), or every silence with `show_all`."""
    return [s for s in store.silences() if show_all or (s.expired_at is None and s.ends_at > now)]


def silence_table(silences: Sequence[Silence], now: dt.datetime) -> pa.Table:
    """One row per silence, its matchers in Alertmanager's text form."""
    rows = [
        {"id": s.id, "matchers": ", ".join(map(str, s.matchers)), "starts_at": s.starts_at, "ends_at": s.ends_at,
         "expired_at": s.expired_at, "created_by": s.created_by, "comment": s.comment, "active": s.active(now)}
        for s in silences
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=SILENCE_SCHEMA)


def add_silence(
    store: AlertStore, matchers: Sequence[str], *, now: dt.datetime, duration: dt.timedelta, author: str, comment: str
) -> Silence:
    """Write a new silence from matcher texts (`name=value`, `!=`, `=~`, `!~`); ConfigError if malformed."""
    silence = new_silence(list(matchers), now=now, duration=duration, author=author, comment=comment)
    store.add_silence(silence)
    return silence


def expire_silence(store: AlertStore, silence_id: str, now: dt.datetime) -> Silence:
    """End the silence whose id is or starts with `silence_id` now; ConfigError unless exactly one matches."""
    hits = [s for s in store.silences() if s.id.startswith(silence_id.strip())]
    if len(hits) != 1:
        raise ConfigError(f"silence id {silence_id!r} matches {len(hits)} silences (see `spendscope silence list`)")
    return store.expire_silence(hits[0], now)
