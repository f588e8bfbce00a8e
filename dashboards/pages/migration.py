"""GCP vs Databricks: monthly cost against the migration plan, the workload split, $ per GPU-hour, the scorecard.

Layout only: every figure comes from dashboards.queries.migration.view (definitions in its module docstrings).
"""

from __future__ import annotations

from dataclasses import asdict

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import data, widgets
from dashboards.filters import current, window
from dashboards.queries import migration as q

STATUS = {"pass": "✅ pass", "fail": "❌ fail", "no data": "— no data"}
PERCENT = st.column_config.NumberColumn(format="percent")
MONEY = st.column_config.NumberColumn(format="dollar")

st.title("GCP vs Databricks")
if not widgets.empty_state():
    since, until = window()
    flt = current()
    v = data.query(q.view, since, until, flt)
    m = v.monthly
    plan = data.settings().plan

    if m.end is None:
        st.info(f"No cost data on or before {until}. " + widgets.EMPTY)
    else:
        covered = m.covered_days
        scaled = "" if covered == q.MONTH_DAYS else f", scaled ×30/{covered} (the data reaches back {covered} days)"
        st.caption(f"Monthly cost now: spend of the 30 reporting days {m.start} … {m.end} (the last complete day "
                   f"with cost data on or before the range's end){scaled}. GCP + Databricks only.")  # fmt: skip
    if flt.active:
        st.caption("The plan, the monthly cost and the scorecard are the whole fleet's; the spend split follows the "
                   "sidebar filters; GPU figures follow the date range only.")  # fmt: skip
    a, b, c, d = st.columns(4)
    a.metric("Monthly cost now", widgets.money(m.run_rate_usd))
    b.metric("Plan: all-GCP baseline", widgets.money(m.baseline_usd))
    c.metric("Plan: hybrid target", widgets.money(m.target_usd))
    planned = f"plan: {widgets.money(m.planned_saving_usd)} ({widgets.pct(m.planned_saving_ratio, 1)})"
    d.metric("Saved vs baseline", widgets.money(m.saving_usd), delta=f"{widgets.pct(m.saving_ratio, 1)}; {planned}",
             delta_color="off")  # fmt: skip

    bars = v.plan_bars.to_pandas()
    order = list(dict.fromkeys(bars["scenario"]))
    plan_chart = (
        alt.Chart(bars)
        .mark_bar()
        .encode(
            x=alt.X("scenario:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("usd:Q", title="USD per 30 days"),
            color=alt.Color("side:N"),
            tooltip=["scenario:N", "side:N", alt.Tooltip("usd:Q", format=",.0f")],
        )
    )
    widgets.chart(plan_chart, bars, "Monthly cost: plan vs now", "migration-plan")

    split = v.split.to_pandas()
    st.subheader("Workload split vs the plan")
    goal = widgets.pct(plan.target_databricks_share)
    st.caption(
        f"Databricks' share of GCP + Databricks by spend and by billed GPU-hours, {since} … {until}; plan {goal}"
    )
    measures = {"cost_share": "spend", "gpu_hours_share": "GPU-hours", "target_share": "plan"}
    shares = split[split["side"] != "other"].melt(id_vars="side", value_vars=list(measures), var_name="measure")
    shares["measure"] = shares["measure"].map(measures)
    split_chart = (
        alt.Chart(shares)
        .mark_bar()
        .encode(
            y=alt.Y("measure:N", title=None, sort=list(measures.values())),
            x=alt.X("value:Q", stack="normalize", title="share", axis=alt.Axis(format="%")),
            color=alt.Color("side:N"),
            tooltip=["measure:N", "side:N", alt.Tooltip("value:Q", format=".1%")],
        )
    )
    st.altair_chart(split_chart, width="stretch")
    widgets.numbers(split, "migration-split")

    share = v.daily_share.to_pandas()
    lines = (
        alt.Chart(share)
        .mark_line(point=True)
        .encode(
            x=alt.X("day:T"),
            y=alt.Y("databricks_share:Q", title="Databricks share", axis=alt.Axis(format="%")),
            color=alt.Color("measure:N"),
            tooltip=["day:T", "measure:N", alt.Tooltip("databricks_share:Q", format=".1%")],
        )
    )
    target = alt.Chart(pd.DataFrame({"target": [plan.target_databricks_share]})).mark_rule(strokeDash=[4, 4])
    widgets.chart(lines + target.encode(y="target:Q"), share, "Databricks share per day", "migration-daily-share")

    units = v.units.to_pandas()
    per_hour = units.melt(
        id_vars="platform", value_vars=["cost_per_gpu_hour_usd", "cost_per_busy_gpu_hour_usd"], var_name="measure"
    )
    unit_chart = (
        alt.Chart(per_hour)
        .mark_bar()
        .encode(
            x=alt.X("platform:N", title=None, sort=list(units["platform"])),
            xOffset="measure:N",
            y=alt.Y("value:Q", title="USD"),
            color=alt.Color("measure:N"),
            tooltip=["platform:N", "measure:N", alt.Tooltip("value:Q", format=",.2f")],
        )
    )
    widgets.chart(unit_chart, units, "$ per GPU-hour and per busy GPU-hour", "migration-unit-costs")

    base = "" if v.baseline == (since, until) else f" against the GCP baseline {v.baseline[0]} … {v.baseline[1]}"
    card = pd.DataFrame([asdict(s) for s in v.scorecard])
    card["status"] = card["status"].map(STATUS)
    widgets.table(card, f"Plan scorecard{base}", "migration-scorecard",
                  column_config={"goal": PERCENT, "actual": PERCENT})  # fmt: skip
    widgets.table(v.workloads.to_pandas(), "Throughput and latency per workload", "migration-workloads",
                  column_config={"ratio": PERCENT})  # fmt: skip
    widgets.table(v.runs.to_pandas(), "Training runs", "migration-runs",
                  column_config={"training_cost_usd": MONEY, "cost_per_run_usd": MONEY})  # fmt: skip
