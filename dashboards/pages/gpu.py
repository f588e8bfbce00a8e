"""GPU efficiency: utilization heatmap (host × time), busy vs idle GPU-hours by cluster and team, the top idle
clusters with their $/h, clusters idle right now, and health (XID errors, temperature, power).

Layout only: the figures come from dashboards/queries/gpu.py through the cached `data.query`.
"""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import data, widgets
from dashboards.filters import current, window
from dashboards.queries import gpu as q
from spendscope.economics import busy_threshold_note

BUSY, IDLE = "#2e7d32", "#c62828"
HOURS = st.column_config.NumberColumn(format="%.1f")
RATIO = st.column_config.NumberColumn(format="percent")
USD = st.column_config.NumberColumn(format="dollar")
COLUMNS = {"measured_gpu_hours": HOURS, "busy_gpu_hours": HOURS, "idle_gpu_hours": HOURS, "gpus": HOURS,
           "busy_ratio": RATIO, "utilization": RATIO, "price_usd_per_hour": USD, "idle_usd_per_hour": USD,
           "idle_cost_usd": USD, "idle_cost_usd_per_hour": USD}  # fmt: skip


def busy_idle(df: pd.DataFrame, dim: str, title: str, key: str) -> None:
    """Horizontal bars of busy and idle GPU-hours per `dim`."""
    bars = (
        alt.Chart(df)
        .transform_calculate(busy="datum.busy_gpu_hours", idle="datum.idle_gpu_hours")
        .transform_fold(["busy", "idle"], as_=["state", "gpu_hours"])
        .mark_bar()
        .encode(
            y=alt.Y(f"{dim}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=widgets.LABEL)),
            x=alt.X("gpu_hours:Q", stack=True, title="GPU-hours"),
            color=alt.Color("state:N", scale=alt.Scale(domain=["busy", "idle"], range=[BUSY, IDLE])),
            tooltip=[f"{dim}:N", "state:N", alt.Tooltip("gpu_hours:Q", format=",.1f")],
        )
    )
    widgets.chart(bars, df, title, key)


def line(df: pd.DataFrame, field: str, title: str, key: str, days: int) -> None:
    """One fleet-wide series per time bucket."""
    points = alt.Chart(df).mark_line(point=True)
    widgets.chart(points.encode(x=widgets.time_axis(days), y=f"{field}:Q", tooltip=["bucket:T", f"{field}:Q"]),
                  df, title, key)  # fmt: skip


st.title("GPU efficiency")
since, until = window()
days = (until - since).days + 1
flt = current()
eff = data.query(q.efficiency, since, until, flt)
t = eff.totals
note = (f"; {busy_threshold_note(data.settings().telemetry)}. Team and platform filters apply; clusters and teams "
        "come from the inventory, as in `spendscope gpu-costs` and the idle alerts.")  # fmt: skip
if widgets.window_intro(t["hosts"], "GPU telemetry", since, until, note):
    a, b, c, d, e = st.columns(5)
    a.metric("GPUs", f"{t['gpus']:,.0f}", help=f"on {t['hosts']} hosts; a MIG instance counts its share")
    b.metric("GPU-hours measured", f"{t['measured_gpu_hours']:,.0f}")
    c.metric("Busy share", widgets.pct(t["busy_ratio"], 1))
    d.metric("Idle GPU-hours", f"{t['idle_gpu_hours']:,.0f}")
    e.metric("Est. idle $", widgets.money(t["idle_cost_usd"]), help="idle GPU-hours × the inventory's $ per GPU-hour")

    heat = data.query(q.heatmap, since, until, eff.heat_hosts).to_pandas()
    widgets.bucket_heatmap(
        heat, "host", eff.heat_hosts, eff.bucket_hours, days,
        alt.Color("utilization:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis"), title="utilization"),
        [alt.Tooltip("utilization:Q", format=".0%"), alt.Tooltip("busy_ratio:Q", format=".0%"),
         alt.Tooltip("gpu_hours:Q", format=",.1f")],
        "Utilization by host", "gpu-heatmap",
    )  # fmt: skip
    st.caption(f"{len(eff.heat_hosts)} of {t['hosts']} hosts (those with the most GPU-hours), {eff.bucket_hours}-hour "
               "buckets; utilization is graphics-engine activity, else GPU utilization.")  # fmt: skip

    left, right = st.columns(2)
    with left:
        busy_idle(eff.clusters.to_pandas(), "cluster", "Busy vs idle GPU-hours by cluster", "gpu-by-cluster")
    with right:
        busy_idle(eff.teams.to_pandas(), "team", "Busy vs idle GPU-hours by team", "gpu-by-team")

    widgets.table(eff.top_idle.to_pandas(), "Top idle clusters", "gpu-top-idle", column_config=COLUMNS)
    st.caption("$/h is the inventory's price of the whole cluster; idle $/h is its idle share; est. idle $ is the "
               "window's idle GPU-hours at its $ per GPU-hour.")  # fmt: skip

    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    idle = data.query(q.idle_now, now, flt).to_pandas()
    if idle.empty:
        st.subheader("Idle now")
        st.caption("No cluster with GPU telemetry in the last 30 minutes had all its GPUs idle.")
    else:
        widgets.table(idle, "Idle now", "gpu-idle-now", column_config=COLUMNS)
        st.caption("Every GPU idle for the last 30 minutes (the idle rule's default window).")

    st.header("Health")
    widgets.table(eff.health.to_pandas(), "XID errors, temperature and power by host", "gpu-health",
                  column_config={"power_mean_watts": HOURS, "power_max_watts": HOURS, "gpus": HOURS})  # fmt: skip
    st.caption(f"{eff.health.num_rows} of {t['hosts']} hosts, those with XID errors first, then the hottest.")
    trend = data.query(q.health_trend, since, until, eff.kept_hosts).to_pandas()
    left, right = st.columns(2)
    with left:
        line(trend, "temp_max_celsius", "Max GPU temperature (°C)", "gpu-temperature", days)
    with right:
        line(trend, "power_mean_watts", "Mean power per GPU (W)", "gpu-power", days)
