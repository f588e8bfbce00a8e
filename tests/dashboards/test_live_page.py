"""The Live estimate page through Streamlit's AppTest: on the demo its figures equal the query layer's
(dashboards/queries/live.py); with billing but no estimate it says how to get one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from tests.dashboards.apptest import open_page, reporting_today
from tests.seed import seed_costs


def test_live_page_on_the_demo_equals_the_query_layer(demo_app: Path) -> None:
    from dashboards.queries import live as q
    from exporters.warehouse import open_warehouse
    from spendscope import config

    settings = config.load(str(demo_app))
    wh = open_warehouse(settings)
    today = reporting_today()
    since, until = today - dt.timedelta(days=20), today
    at = open_page("live", since, until)

    snap = q.live_now(wh, settings, dt.datetime.now(dt.UTC))
    assert snap.hour is not None and snap.projected_usd > 0
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Running now"] == f"${snap.usd_per_hour:,.0f}/h"
    assert metrics[f"{snap.hour:%H}:00 UTC so far"] == f"${snap.usd_so_far:,.0f}"
    assert metrics["Hour projected"] == f"${snap.projected_usd:,.0f}"
    assert metrics["Resources running"] == f"{snap.running:,}"
    subheaders = [s.value for s in at.subheader]
    assert subheaders[:2] == ["By platform", "Costliest resources this hour"]
    assert {"Per platform", "Estimated vs billed per day", "Error of the estimate"} <= set(subheaders)
    totals = q.estimate_vs_billed(wh, settings, since, until).to_pandas()
    shown = at.dataframe[subheaders.index("Per platform")].value
    assert list(shown["platform"]) == list(totals["platform"]) == ["databricks", "gce", "gke"]
    assert shown["estimated_usd"].tolist() == pytest.approx(totals["estimated_usd"].tolist())
    assert shown["billed_usd"].tolist() == pytest.approx(totals["billed_usd"].tolist())
    assert any(c.value.startswith("Correction databricks: ×") for c in at.caption)


def test_with_billing_but_no_estimate_the_page_says_how_to_get_one(app_config: Path) -> None:
    start = dt.datetime.combine(reporting_today() - dt.timedelta(days=1), dt.time(20), tzinfo=dt.UTC)
    rows = [{"BilledCost": 10.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
             "ChargePeriodStart": start}]  # fmt: skip
    seed_costs(DuckDbLake(app_config.parent / "lake"), rows)

    at = open_page("live")

    assert any(i.value.startswith("No live estimate yet") for i in at.info)
    assert any("No reconciled estimates between" in i.value for i in at.info)
