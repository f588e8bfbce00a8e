"""Live estimate: what runs now at what run-rate, and how the estimate has matched the bill (docs/live.md).

Layout only: the figures come from dashboards/queries/live.py through the cached `data.query`.
"""

from __future__ import annotations

import datetime as dt

import altair as alt
import streamlit as st

from dashboards import data, widgets
from dashboards.filters import window
from dashboards.queries import live as q

USD = st.column_config.NumberColumn(format="dollar")
RATIO = st.column_config.NumberColumn(format="percent")

st.title("Live estimate")
if not widgets.empty_state():
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    snap = data.query(q.live_now, now)
    if snap.hour is None:
        st.info("No live estimate yet: it needs the inventory collector and the daemon's live job "
                "(`spendscope live estimate` runs it once). See docs/live.md.")  # fmt: skip
    else:
        assert snap.until is not None
        stale = now - snap.until > dt.timedelta(minutes=30)
        st.caption(f"Estimated from the inventory up to {snap.until:%Y-%m-%d %H:%M} UTC"
                   + (" — the live job has not run lately: this is not now." if stale else "."))  # fmt: skip
        a, b, c, d = st.columns(4)
        a.metric("Running now", f"{widgets.money(snap.usd_per_hour)}/h", help="run-rate of what is running, corrected")
        b.metric(f"{snap.hour:%H}:00 UTC so far", widgets.money(snap.usd_so_far))
        c.metric("Hour projected", widgets.money(snap.projected_usd), help="the hour to its end at the run-rate")
        d.metric("Resources running", f"{snap.running:,}", help=f"{snap.unpriced} unpriced")
        widgets.table(snap.by_platform.to_pandas(), "By platform", "live-platforms",
                      column_config={"usd_per_hour": USD, "usd_so_far": USD, "projected_usd": USD})  # fmt: skip
        top = data.query(q.hour_estimate, snap.hour).to_pandas().head(25)
        widgets.table(top, "Costliest resources this hour", "live-resources",
                      column_config={"usd_per_hour": USD, "usd": USD, "projected_usd": USD})  # fmt: skip
        for f in data.query(q.live_factors, now):
            st.caption(f"Correction {f.explain()}")

    since, until = window()
    totals = data.query(q.estimate_vs_billed, since, until)
    st.header("Estimate vs bill")
    if widgets.window_intro(totals.num_rows, "reconciled estimates", since, until,
                            "; UTC days, the hours the billing covers completely."):  # fmt: skip
        widgets.table(totals.to_pandas(), "Per platform", "live-totals",
                      column_config={"estimated_usd": USD, "billed_usd": USD, "error_ratio": RATIO,
                                     "worst_day_error_ratio": RATIO})  # fmt: skip
        daily = data.query(q.daily_errors, since, until).to_pandas()
        long = daily.melt(id_vars=["day", "platform"], value_vars=["estimated_usd", "billed_usd"], var_name="what")
        bars = (
            alt.Chart(long)
            .mark_bar()
            .encode(
                x=alt.X("day:T", title="day (UTC)"),
                xOffset="what:N",
                y=alt.Y("value:Q", title="USD"),
                color=alt.Color("what:N", title=None),
                column=alt.Column("platform:N", title=None),
                tooltip=["day:T", "platform:N", "what:N", alt.Tooltip("value:Q", format=",.2f")],
            )
        )
        widgets.chart(bars, daily, "Estimated vs billed per day", "live-daily")
        errors = (
            alt.Chart(daily)
            .mark_line(point=True)
            .encode(
                x=alt.X("day:T", title="day (UTC)"),
                y=alt.Y("error_ratio:Q", title="error (estimated − billed) ÷ billed", axis=alt.Axis(format="%")),
                color="platform:N",
                tooltip=["day:T", "platform:N", alt.Tooltip("error_ratio:Q", format=".1%")],
            )
        )
        widgets.chart(errors, daily, "Error of the estimate", "live-error")
        missed = data.query(q.missed_resources, since, until).to_pandas()
        if len(missed):
            widgets.table(missed, "Billed, not in the inventory (carried from billing)", "live-missed",
                          column_config={"billed_usd": USD})  # fmt: skip
