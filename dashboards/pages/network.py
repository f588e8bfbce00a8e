"""Network: throughput and saturation by host and interface, from the network collector's samples.

Layout only: the figures come from dashboards/queries/network.py through the cached `data.query`.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import data, widgets
from dashboards.filters import current, window
from dashboards.queries import network as q

GBPS = st.column_config.NumberColumn(format="%.2f")
RATIO = st.column_config.NumberColumn(format="percent")
COLUMNS = {"speed_gbps": GBPS, "rx_mean_gbps": GBPS, "tx_mean_gbps": GBPS, "peak_gbps": GBPS,
           "mean_saturation": RATIO, "peak_saturation": RATIO, "saturated_share": RATIO}  # fmt: skip


def throughput(df: pd.DataFrame, hours: int, days: int) -> None:
    """Stacked receive + transmit Gbit/s per host / interface and time bucket, each block as wide as its bucket."""
    blocks = (
        alt.Chart(df)
        .transform_calculate(total_gbps="datum.rx_gbps + datum.tx_gbps", end=widgets.bucket_end(hours))
        .transform_stack(stack="total_gbps", groupby=["bucket"], as_=["y0", "y1"], sort=[alt.SortField("series")])
        .mark_rect()
        .encode(
            x=widgets.time_axis(days),
            x2="end:T",
            y=alt.Y("y0:Q", title="Gbit/s (rx + tx)"),
            y2="y1:Q",
            color=alt.Color("series:N", title="host / interface", scale=alt.Scale(scheme="tableau20")),
            tooltip=[
                "series:N",
                "bucket:T",
                alt.Tooltip("rx_gbps:Q", format=",.2f"),
                alt.Tooltip("tx_gbps:Q", format=",.2f"),
            ],
        )
    )
    widgets.chart(blocks, df, "Throughput by host and interface", "net-throughput")


st.title("Network")
since, until = window()
days = (until - since).days + 1
traffic = data.query(q.traffic, since, until, current())
t = traffic.totals
note = (f". Raw network samples are kept {data.settings().telemetry.raw_retention_days} days "
        "(telemetry.raw_retention_days). Team and platform filters apply.")  # fmt: skip
if widgets.window_intro(t["interfaces"], "network samples", since, until, note):
    a, b, c, d = st.columns(4)
    a.metric("Interfaces", f"{t['interfaces']:,}", help=f"on {t['hosts']} hosts")
    b.metric("Received", f"{t['rx_bytes'] / 1e12:,.1f} TB")
    c.metric("Sent", f"{t['tx_bytes'] / 1e12:,.1f} TB")
    d.metric("Peak saturation", widgets.pct(t["peak_saturation"]),
             help=f"{t['saturated_interfaces']} interface(s) reached {q.HOT:.0%} of link speed")  # fmt: skip

    flows = data.query(q.throughput, since, until, traffic.kept_hosts, traffic.top_volume).to_pandas()
    throughput(flows, traffic.bucket_hours, days)
    rest = t["interfaces"] - len(traffic.top_volume)
    others = f"; the other {rest} are `{q.OTHER}`" if rest else ""
    st.caption(f"The {len(traffic.top_volume)} interfaces that moved the most bytes{others}. Mean over each "
               f"{traffic.bucket_hours}-hour bucket, so the layers add up to the fleet's traffic.")  # fmt: skip

    sat = data.query(q.saturation, since, until, traffic.top_saturated).to_pandas()
    widgets.bucket_heatmap(
        sat, "series", traffic.top_saturated, traffic.bucket_hours, days,
        alt.Color("peak_saturation:Q", scale=alt.Scale(domain=[0, 1], scheme="orangered", clamp=True),
                  title="peak saturation"),
        [alt.Tooltip("peak_saturation:Q", format=".0%"), alt.Tooltip("mean_saturation:Q", format=".0%")],
        "Saturation by host and interface", "net-saturation",
    )  # fmt: skip
    st.caption(f"{len(traffic.top_saturated)} of {t['interfaces']} interfaces (the highest peaks); saturation is "
               "max(rx, tx) ÷ link speed.")  # fmt: skip

    widgets.table(traffic.interfaces.to_pandas(), "Interfaces", "net-interfaces", column_config=COLUMNS)
    st.caption(f"Saturated share: time at ≥ {q.HOT:.0%} of link speed. Bytes, errors and drops are totals over "
               "the window; rates are time-weighted means.")  # fmt: skip
