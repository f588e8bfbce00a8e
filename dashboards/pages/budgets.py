"""Budgets & credits: the month's outlook, every budget rule's status and burn-down (actual, forecast, budget),
and each prepaid credit by bucket with its projected exhaustion — the numbers the alert rules judge by."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import data, widgets
from dashboards.filters import current
from dashboards.queries import budgets as q
from spendscope.errors import ConfigError

# Solid blue: what was spent; dashed orange: the projection; dotted red: the limit.
BUDGET_SERIES, CREDIT_SERIES = ["actual", "forecast", "budget"], ["used", "projected", "amount"]


def burn_down(lines: pd.DataFrame, title: str, key: str, series: list[str]) -> None:
    """Cumulative lines per series, one small chart per budget or bucket, with the numbers below."""
    chart = (
        alt.Chart(lines)
        .mark_line(point=True)
        .encode(
            x=alt.X("day:T", title=None),
            y=alt.Y("usd:Q", title="USD"),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=series, range=["#1f77b4", "#ff7f0e", "#d62728"]),
                legend=alt.Legend(orient="top", title=None),
            ),
            strokeDash=alt.StrokeDash(
                "series:N", scale=alt.Scale(domain=series, range=[[1, 0], [6, 3], [2, 2]]), legend=None
            ),
            tooltip=["name:N", "day:T", "series:N", alt.Tooltip("usd:Q", format=",.2f")],
        )
        .properties(width=210, height=160)
        .facet(facet=alt.Facet("name:N", title=None), columns=3)
        .resolve_scale(y="independent")
    )
    widgets.chart(chart, lines, title, key)


st.title("Budgets & credits")
if not widgets.empty_state():
    try:
        outlook = data.query(q.month_outlook, data.today(), current())
        statuses = data.query(q.budget_statuses).to_pandas()
        credits = data.query(q.credit_status).to_pandas()
    except ConfigError as exc:
        st.error(f"The alert rules cannot be loaded: {exc}")
        st.stop()
    a, b, c = st.columns(3)
    a.metric("Month to date", widgets.money(outlook["mtd_usd"]), help=f"{outlook['period_start']} … today")
    b.metric("Month-end forecast", widgets.money(outlook["forecast_usd"]), help=outlook["forecast_note"])
    c.metric("Monthly budget", widgets.money(outlook["budget_usd"]), help=outlook["budget_source"])
    st.caption(
        f"Budget: {outlook['budget_source']}; forecast {widgets.pct(outlook['forecast_ratio'])} of it "
        f"({outlook['forecast_method']}). The rules below have their own scopes: only this outlook follows the "
        "sidebar's filters, and no chart here follows its date range (each budget's period is its own)."
    )

    if statuses.empty:
        st.info("No budget rules are configured (alerts.rule_files, [[alerts.rules]]).")
    else:
        widgets.table(statuses, "Budgets, as the alert rules judge them", "budgets")
        for rule in statuses.loc[statuses["period"] != "day", "rule"].unique():
            lines = data.query(q.budget_burn_down, rule).to_pandas()
            burn_down(lines, f"Burn-down: {rule}", f"burn-{rule}", BUDGET_SERIES)
        days = statuses[statuses["period"] == "day"]
        if not days.empty:
            bars = alt.Chart(days).transform_fold(["used_ratio", "forecast_ratio"], as_=["series", "share"])
            bars = bars.mark_bar().encode(
                x=alt.X("share:Q", title="share of the budget", axis=alt.Axis(format="%")),
                y=alt.Y("budget:N", title=None, axis=alt.Axis(labelLimit=300)), color="series:N", yOffset="series:N",
                tooltip=["budget:N", "series:N", alt.Tooltip("share:Q", format=".1%")],
            )  # fmt: skip
            full = alt.Chart(days).mark_rule(color="red").encode(x=alt.datum(1.0))
            widgets.chart(bars + full, days, "Day budgets: actual and forecast share (red: 100%)", "day-budgets")

    for credit in credits["credit"].unique():
        rows = credits[credits["credit"] == credit]
        first = rows.iloc[0]
        st.header(f"Credit: {credit}")
        st.caption(f"{first['state']}; {first['start']} … {first['expires'] or 'no expiry'}")
        for col, row in zip(st.columns(len(rows)), rows.itertuples(), strict=True):
            runs_out = "no projected exhaustion" if pd.isna(row.exhausts_on) else f"runs out {row.exhausts_on}"
            col.metric(f"{row.bucket}: used of {widgets.money(row.amount_usd)}", widgets.money(row.used_usd),
                       delta=runs_out, delta_color="off", delta_arrow="off",
                       help=f"{widgets.pct(row.used_ratio)} used, {widgets.money(row.remaining_usd)} left, "
                            f"burning {widgets.money(row.daily_burn_usd)}/day")  # fmt: skip
        widgets.table(rows, f"{credit} by bucket", f"credit-{credit}")
        lines = data.query(q.credit_burn_down, credit).to_pandas()
        if not lines.empty:
            burn_down(lines, f"Burn-down: {credit}", f"credit-burn-{credit}", CREDIT_SERIES)

# -- GCP budgets: the billing account's budgets beside ours (the last gcp_budgets snapshot; never the live API) --
from dashboards.queries import budgets_gcp as qg  # noqa: E402 - this section's own queries, kept with it

st.header("GCP budgets")
gcp = data.query(qg.gcp_budgets_status)
if not gcp["configured"]:
    st.caption('Not configured: set `[gcp_budgets] billing_account = "XXXXXX-XXXXXX-XXXXXX"` in spendscope.toml, '
               "then run `spendscope collect gcp-budgets` (docs/gcp-budgets.md).")  # fmt: skip
elif gcp["synced_at"] is None:
    st.caption(f"Billing account {gcp['billing_account']}: no snapshot yet. Run `spendscope collect gcp-budgets`, "
               "or set `enabled = true` under [gcp_budgets] for the daemon to sync it.")  # fmt: skip
else:
    st.caption(f"Billing account {gcp['billing_account']} as of {gcp['synced_at']:%Y-%m-%d %H:%M} UTC: "
               f"{gcp['budgets']} GCP budget(s), matched to ours by display name (spendscope:<budget>) or scope. "
               "`spendscope budgets sync` shows what a sync would change.")  # fmt: skip
    widgets.table(data.query(qg.gcp_budgets_beside_ours).to_pandas(), "Ours beside GCP's", "gcp-budgets")
