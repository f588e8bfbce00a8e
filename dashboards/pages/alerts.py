"""Alerts & actions: alerts pending and firing now, silences, recently resolved alerts, the alert history and the
auto-shutdown log (dry-run and real). Ack and silence from the page when signed in as a writer
(`dashboards.auth`): the forms show when `can_write()`, and each write asks `auth.writer()` again at submit time;
the signed-in identity is the recorded author.

Reads are cached query functions (dashboards/queries/alerts.py); writes call the functions the CLI calls
(`alerts.engine.ack`, `alerts.manage.add_silence` / `expire_silence`), then drop the cached reads and rerun.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from alerts.engine import AmbiguousAlertError, ack
from alerts.manage import add_silence, expire_silence
from alerts.store import AlertStore
from dashboards import auth, data, widgets
from dashboards.filters import window
from dashboards.queries import alerts as q
from spendscope.config_base import parse_duration
from spendscope.errors import ConfigError

FLASH = "alerts-flash"
MODES = {"all": "All steps", "dry-run": "Dry-run", "real": "Real"}


def _done(message: str) -> None:
    """After a write: every cached read may be stale (the data version misses it while there are no costs)."""
    st.session_state[FLASH] = message
    st.cache_data.clear()
    st.rerun()


def _writer() -> str | None:
    """Who writes, asked again at the moment of the write (signed out or secret rotated since the page drew)."""
    who = auth.writer()
    if who is None:
        st.error("Not signed in as a writer any more (signed out, expired or the secret changed): nothing changed.")
    return who


def _required(**fields: str) -> bool:
    missing = [name for name, value in fields.items() if not value.strip()]
    if missing:
        st.error(f"Please fill in: {', '.join(missing)}.")
    return not missing


def _ack_form(active: pd.DataFrame, who: str) -> None:
    with st.form("ack-form"):
        st.markdown("**Acknowledge** — no more repeat notifications, and no auto-shutdown of its resource.")
        choices = {r["id"]: f"{r['id']} · {r['severity']} · {r['alertname']} · {r['summary'][:90]}"
                   for r in active.to_dict("records")}  # fmt: skip
        alert_id = st.selectbox("Alert", list(choices), format_func=lambda i: choices[i], key="ack-alert")
        comment = st.text_input("Comment (why)", key="ack-comment")
        st.caption(f"As {who}.")
        if st.form_submit_button("Acknowledge", key="ack-submit") and _required(comment=comment):
            if (author := _writer()) is None:
                return
            try:
                alert = ack(AlertStore(data.warehouse()), str(alert_id), author, comment.strip(),
                            dt.datetime.now(dt.UTC))  # fmt: skip
            except AmbiguousAlertError as exc:
                st.error(str(exc))
                return
            auth.audit("ack", author, f"alert:{alert.fingerprint}")
            _done(f"Acked {alert.fingerprint[:8]} {alert.alertname} as {alert.acked_by}.")


def _silence_form(who: str) -> None:
    with st.form("silence-form"):
        st.markdown("**Silence** — mute notifications (and auto-shutdown) of matching alerts for a while.")
        text = st.text_area("Matchers, one a line", key="silence-matchers",
                            placeholder="alertname=GpuIdle\ncluster=~a3-train-.*",
                            help="name=value, name!=value, name=~regex, name!~regex (as Alertmanager)")  # fmt: skip
        duration = st.text_input("For", value="2h", key="silence-for", help="e.g. 30m, 2h, 1d, 1h30m")
        comment = st.text_input("Comment (why)", key="silence-comment")
        st.caption(f"As {who}.")
        if st.form_submit_button("Add silence", key="silence-submit") and _required(matchers=text, comment=comment):
            if (author := _writer()) is None:
                return
            try:
                length = parse_duration(duration)
                assert isinstance(length, dt.timedelta)
                silence = add_silence(AlertStore(data.warehouse()), [m for m in text.splitlines() if m.strip()],
                                      now=dt.datetime.now(dt.UTC), duration=length, author=author,
                                      comment=comment.strip())  # fmt: skip
            except (ConfigError, ValueError) as exc:
                st.error(str(exc))
                return
            matchers = ", ".join(map(str, silence.matchers))
            auth.audit("silence", author, f"silence:{silence.id} until:{silence.ends_at.isoformat()}")
            _done(f"Silence {silence.id} until {silence.ends_at:%Y-%m-%d %H:%M} UTC: {matchers}.")


def _expire_form(listed: pd.DataFrame) -> None:
    with st.form("expire-form"):
        choices = {
            r["id"]: f"{r['id'][:8]} · {r['matchers']} · by {r['created_by']}" for r in listed.to_dict("records")
        }
        silence_id = st.selectbox("Expire a silence now", list(choices), format_func=lambda i: choices[i],
                                  key="expire-silence")  # fmt: skip
        if st.form_submit_button("Expire", key="expire-submit"):
            if (author := _writer()) is None:
                return
            try:
                expired = expire_silence(AlertStore(data.warehouse()), str(silence_id), dt.datetime.now(dt.UTC))
            except ConfigError as exc:
                st.error(str(exc))
                return
            auth.audit("expire-silence", author, f"silence:{expired.id}")  # the silences table has no expired_by
            _done(f"Expired silence {expired.id}.")


st.title("Alerts & actions")
st.caption(
    "Alerts as the engine last recorded them (the sidebar's provider/team filters do not apply; the date range "
    f"picks history and actions). Acks and silences reach the engine on its next evaluation (every "
    f"{data.settings().alerts.interval_minutes} min)."
)
if flash := st.session_state.pop(FLASH, None):
    st.success(flash)
since, until = window()
who = auth.writer()

active = data.query(q.active).to_pandas()
summary = data.query(q.action_summary, since, until)
listed = data.query(q.silences, False).to_pandas()
a, b, c, d, e = st.columns(5)
a.metric("Firing", int((active["state"] == "firing").sum()))
b.metric("Pending", int((active["state"] == "pending").sum()))
c.metric("Active silences", int(listed["active"].sum()))
d.metric("Action steps (dry-run)", int(summary["dry_run"]))
e.metric("Stopped by actions", int(summary["executed"]), help="real (not dry-run) executed steps in the range")

if linked := st.query_params.get("fingerprint"):  # a notification's link: that alert's story first
    events = data.query(q.one_alert, linked).to_pandas()
    if events.empty:
        st.warning(f"No event of alert {linked} in the last 30 days.")
    else:
        widgets.table(events, f"Alert {linked}: {events['alertname'].iloc[0]}", "alert-linked")
widgets.table(active, "Pending and firing", "alerts-active")
if active.empty:
    st.info("No alert is pending or firing.")
if who is None:
    st.caption(
        "Read-only: acks and silences are turned off for this dashboard."
        if auth.mode() == "readonly"
        else "Sign in (sidebar) as a writer to ack and silence."
    )
elif not active.empty:
    _ack_form(active, who)

show_all = st.toggle("Include expired silences", key="silences-all")
silences = data.query(q.silences, True).to_pandas() if show_all else listed
widgets.table(silences, "Silences", "silences")
if who is not None:
    left, right = st.columns(2)
    with left:
        _silence_form(who)
    with right:
        if not listed.empty:
            _expire_form(listed)

widgets.table(data.query(q.resolved, since, until).to_pandas(), f"Resolved {since} … {until}", "alerts-resolved")
widgets.table(data.query(q.history, since, until).to_pandas(), "Alert history", "alerts-history")

st.subheader("Auto-shutdown log")
mode = st.segmented_control("Steps", list(MODES), format_func=lambda m: MODES[m], default="all", key="actions-mode")
steps = data.query(q.actions, since, until, mode or "all").to_pandas()
st.caption(
    f"{int(summary['dry_run'])} dry-run step(s) ({int(summary['planned'])} would have acted) and "
    f"{int(summary['real'])} real step(s): {int(summary['executed'])} stopped, {int(summary['failed'])} failed, "
    f"{widgets.money(summary['saving_usd_per_hour'], 2)}/hour saved by the stops (estimated)."
)
widgets.table(steps, "Steps", "actions")
