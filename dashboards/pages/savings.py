"""Savings: realized auto-shutdown savings and dry-run "would have saved", idle GPU waste still open, spot share
against the plan's targets, and spend against the plan's baseline → target over time."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import data, widgets
from dashboards.filters import current, window
from dashboards.queries import savings as q
from dashboards.queries import savings_plan as plan

REALIZED_HELP = (
    "Executed (not dry-run) auto-shutdown stops × the hours inventory confirmed the resource stayed off, at the "
    f"stop's logged $/hour saved; at most {q.CREDIT_CAP.days} days per stop. Platform and project filters apply."
)
WOULD_HELP = "Dry-run plans × the hours their idle alert stayed open: never counted as realized."

st.title("Savings")
if not widgets.empty_state():
    since, until = window()
    flt = current()
    sv = data.query(q.savings, since, until, flt)
    waste = data.query(q.idle_waste, since, until, flt)
    a, b, c, d = st.columns(4)
    a.metric("Realized savings", widgets.money(sv.realized_usd), help=REALIZED_HELP)
    b.metric("Would have saved (dry-run)", widgets.money(sv.would_have_saved_usd), help=WOULD_HELP)
    c.metric("Idle GPU waste", widgets.money(waste.idle_cost_usd), help="Idle GPU-hours × the item's $ per GPU-hour")
    d.metric(
        "Idle now",
        f"{widgets.money(waste.open_usd_per_hour)}/h",
        help=f"GPUs idle for the last {q.IDLE_NOW_MINUTES} minutes",
    )
    st.caption(
        f"{sv.stops} stop(s) credited {sv.realized_hours:,.1f} h off and {sv.plans} dry-run plan(s) between "
        f"{since} and {until}; {waste.idle_gpu_hours:,.1f} idle GPU-hours; {waste.open_clusters} cluster(s) idle now."
    )

    daily = sv.daily.to_pandas()
    if daily.empty:
        st.info(f"No auto-shutdown stop or dry-run plan saved anything between {since} and {until}.")
    else:
        widgets.bars(
            daily, "Auto-shutdown savings per day", "savings-daily",
            x=alt.X("day:T", title="day"),
            y=alt.Y("saved_usd:Q", title="USD"),
            color=alt.Color("kind:N", title=None),
            xOffset="kind:N",
            tooltip=["day:T", "kind:N", alt.Tooltip("saved_usd:Q", format=",.2f"),
                     alt.Tooltip("hours:Q", format=",.1f")],
        )  # fmt: skip
    if sv.actions.num_rows:
        widgets.table(sv.actions.to_pandas(), "Stops and dry-run plans", "savings-actions")

    idle = waste.by_cluster.to_pandas()
    if idle.empty:
        st.info(f"No GPU telemetry between {since} and {until}.")
    else:
        widgets.bars(
            idle, "Idle GPU waste by cluster", "idle-waste",
            x=alt.X("idle_cost_usd:Q", title="idle USD"),
            y=alt.Y("cluster:N", sort="-x", title=None),
            color=alt.Color("platform:N"),
            tooltip=["cluster:N", "platform:N", alt.Tooltip("idle_gpu_hours:Q", format=",.1f"),
                     alt.Tooltip("idle_cost_usd:Q", format=",.2f"), alt.Tooltip("idle_ratio:Q", format=".0%")],
        )  # fmt: skip

    spot = data.query(plan.spot_share, since, until, flt).to_pandas()
    st.subheader("Spot share of GPU-hours vs target")
    cols = st.columns(len(spot))
    for col, row in zip(cols, spot.itertuples(), strict=True):
        gap = None if pd.isna(row.gap) else f"{100 * row.gap:+.0f} pts vs target"
        col.metric(f"Spot share, {row.side}", widgets.pct(row.spot_share), delta=gap,
                   help=f"target {widgets.pct(row.target)} (settings.plan.spot_share_targets)")  # fmt: skip
    weekly = data.query(plan.spot_share_weekly, since, until, flt).to_pandas()
    if not weekly.empty:
        line = alt.Chart(weekly).mark_line(point=True).encode(
            x=alt.X("week:T"), y=alt.Y("spot_share:Q", axis=alt.Axis(format="%"), title="spot share"),
            color="side:N", tooltip=["week:T", "side:N", alt.Tooltip("spot_share:Q", format=".0%")],
        )  # fmt: skip
        target = alt.Chart(spot).mark_rule(strokeDash=[4, 4]).encode(y="target:Q", color="side:N")
        widgets.chart(line + target, weekly, "Spot share per week (dashed: target)", "spot-weekly")

    progress = data.query(plan.plan_progress, since, until).to_pandas()
    if not progress.empty:
        folded = alt.Chart(progress).transform_fold(
            ["savings_usd_per_month", "target_savings_usd_per_month"], as_=["series", "usd"]
        )
        lines = folded.mark_line(point=True).encode(
            x=alt.X("week:T"), y=alt.Y("usd:Q", title="USD per month"), color="series:N",
            strokeDash=alt.condition(alt.datum.series == "savings_usd_per_month", alt.value([1, 0]), alt.value([4, 4])),
            tooltip=["week:T", "series:N", alt.Tooltip("usd:Q", format=",.0f")],
        )  # fmt: skip
        widgets.chart(lines, progress, "Savings vs target per week (fleet-wide)", "plan-progress")
        st.caption(
            "Savings: the plan's all-GCP baseline − the week's spend (complete days) as a monthly rate; target: "
            "baseline − the hybrid target (settings.plan). The plan is fleet-wide, so the value filters do not apply."
        )
