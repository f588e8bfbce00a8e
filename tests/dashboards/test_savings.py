"""Savings page: auto-shutdown savings, idle waste, spot share and spend vs plan — query functions against a real
DuckDB lake, the page through Streamlit's AppTest (figures equal the query layer's), and the page over the demo.

All rows are synthetic, in the warehouse's own schemas: action_log and alert_events rows shaped as the action
engine and the alert engine write them, inventory and gpu_minutes rows (tests/alerts/telemetry_rows.py),
cost_daily rows (tests/alerts/cost_rows.py). Reporting days are America/Los_Angeles (the default).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from dashboards import widgets
from dashboards.queries import savings as q
from dashboards.queries import savings_plan as plan
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings, load
from spendscope.costs import CostFilter
from tests.alerts.cost_rows import daily, la, put
from tests.alerts.telemetry_rows import gpu_minutes, inventory_row
from tests.dashboards.apptest import open_page, reporting_today

H = dt.timedelta(hours=1)
NOW = la(2026, 11, 20, 12)
GCE, GKE = "4519532173512345678", "projects/acme-ml-prod/locations/us-central1/clusters/ml/nodePools/h100"


def step(at: dt.datetime, step: str, platform: str, rid: str, rate: float | None, **kw: Any) -> dict[str, Any]:
    """One action_log row as alerts/actions/engine.py writes it."""
    action = {"gce": "gce-stop", "gke": "gke-resize-zero", "databricks": "databricks-terminate"}[platform]
    return {"at": at, "run_id": "r1", "fingerprint": kw.pop("fingerprint", f"fp-{rid}"), "action": action,
            "platform": platform, "resource_id": rid, "resource_name": kw.pop("name", rid[-8:]),
            "project": kw.pop("project", "acme-ml-prod"), "location": "us-central1-a", "step": step,
            "dry_run": step == "planned", "reason": "", "saving_usd_per_hour": rate,
            "_day": at.astimezone(dt.UTC).date(), "_source": "alerts.actions", **kw}  # fmt: skip


def seen(platform: str, rid: str, at: dt.datetime, state: str, nodes: int = 1) -> dict[str, Any]:
    kind = {"gce": "instance", "gke": "node_pool", "databricks": "cluster"}[platform]
    return inventory_row(platform, kind, rid, rid[-8:], [], observed_at=at, state=state, nodes=nodes)


def resolved(fingerprint: str, at: dt.datetime) -> dict[str, Any]:
    """The alert engine's `resolved` event for an idle alert."""
    return {"at": at, "seq": 0, "fingerprint": fingerprint, "rule": "gpu-idle", "alertname": "GpuIdle",
            "event": "resolved", "state": "resolved", "resolved_at": at, "_day": at.astimezone(dt.UTC).date(),
            "_source": "alerts"}  # fmt: skip


def test_realized_savings_count_executed_stops_while_inventory_shows_them_off(
    settings: Settings, lake: DuckDbLake
) -> None:
    gce_at, gke_at, plan_at = la(2026, 11, 18, 10), la(2026, 11, 18, 12), la(2026, 11, 18, 9)
    put(lake, "action_log", [
        step(gce_at - H, "marked", "gce", GCE, 20.0), step(gce_at - H, "warned", "gce", GCE, 20.0),
        step(gce_at, "executed", "gce", GCE, 20.0),
        step(gke_at, "executed", "gke", GKE, 30.0),
        step(plan_at, "planned", "databricks", "0915-101532-h100rsch", 50.0, fingerprint="fp-dbx"),
        step(plan_at, "skipped", "gce", "999", 70.0), step(plan_at, "failed", "gce", "998", 70.0),
    ])  # fmt: skip
    put(lake, "inventory", [
        seen("gce", GCE, gce_at + H / 6, "TERMINATED"), seen("gce", GCE, gce_at + 5 * H, "TERMINATED"),
        seen("gce", GCE, gce_at + 6 * H, "RUNNING"), seen("gce", GCE, gce_at + 7 * H, "TERMINATED"),
        # A node pool resized to zero stays RUNNING with no nodes: off until it has nodes again.
        seen("gke", GKE, gke_at + H, "RUNNING", nodes=0), seen("gke", GKE, gke_at + 3 * H, "RUNNING", nodes=0),
        seen("gke", GKE, gke_at + 4 * H, "RUNNING", nodes=2),
    ])  # fmt: skip
    put(lake, "alert_events", [resolved("fp-dbx", plan_at + 2 * H)])
    day = dt.date(2026, 11, 18)
    got = q.savings(lake, settings, day, day, now=NOW)
    assert got.realized_usd == pytest.approx(5 * 20.0 + 3 * 30.0)
    assert got.realized_hours == pytest.approx(8.0)
    assert got.would_have_saved_usd == pytest.approx(2 * 50.0)  # shown, never added to realized
    assert (got.stops, got.plans) == (2, 1)
    rows = {r["resource_id"]: r for r in got.actions.to_pylist()}
    assert set(rows) == {GCE, GKE, "0915-101532-h100rsch"}
    assert rows[GCE]["off_until"] == gce_at + 5 * H and rows[GCE]["kind"] == q.REALIZED
    assert rows[GCE]["ended_by"].startswith("running again at")
    assert rows[GKE]["hours"] == pytest.approx(3.0) and rows[GKE]["saved_usd"] == pytest.approx(90.0)
    assert rows["0915-101532-h100rsch"]["kind"] == q.WOULD and rows["0915-101532-h100rsch"]["ended_by"] == (
        "idle alert resolved"
    )
    by_kind = {(r["day"], r["kind"]): r["saved_usd"] for r in got.daily.to_pylist()}
    assert by_kind == {(day, q.REALIZED): pytest.approx(190.0), (day, q.WOULD): pytest.approx(100.0)}


def test_savings_fall_on_the_reporting_days_of_the_off_hours(settings: Settings, lake: DuckDbLake) -> None:
    at = la(2026, 11, 17, 22)  # off 22:00 → 03:00 Los Angeles: 2 h on the 17th, 3 h on the 18th
    put(lake, "action_log", [step(at, "executed", "gce", GCE, 10.0)])
    put(lake, "inventory", [seen("gce", GCE, at + 5 * H, "TERMINATED"), seen("gce", GCE, at + 6 * H, "RUNNING")])
    one = q.savings(lake, settings, dt.date(2026, 11, 18), dt.date(2026, 11, 18), now=NOW)
    assert one.realized_usd == pytest.approx(30.0)
    (row,) = one.actions.to_pylist()
    assert row["hours"] == pytest.approx(5.0) and row["window_hours"] == pytest.approx(3.0)
    both = q.savings(lake, settings, dt.date(2026, 11, 17), dt.date(2026, 11, 18), now=NOW)
    assert [(r["day"].day, r["saved_usd"]) for r in both.daily.to_pylist()] == [(17, 20.0), (18, 30.0)]


def test_unconfirmed_stops_earn_nothing_and_long_ones_stop_at_the_cap(settings: Settings, lake: DuckDbLake) -> None:
    long_at, lone_at, again_at = la(2026, 11, 1, 0), la(2026, 11, 3, 0), la(2026, 11, 4, 0)
    put(lake, "action_log", [
        step(long_at, "executed", "gce", "1", 1.0),
        step(lone_at, "executed", "gce", "2", 5.0),  # no inventory observation since: 0 h
        step(again_at, "executed", "databricks", "3", 2.0), step(again_at + 4 * H, "executed", "databricks", "3", 2.0),
    ])  # fmt: skip
    put(lake, "inventory", [seen("gce", "1", long_at + dt.timedelta(days=d), "TERMINATED") for d in range(1, 12)]
        + [seen("databricks", "3", again_at + 10 * H, "TERMINATED")])  # fmt: skip
    got = q.savings(lake, settings, dt.date(2026, 11, 1), dt.date(2026, 11, 12), now=la(2026, 11, 12, 12))
    rows = {(r["resource_id"], r["at"]): r for r in got.actions.to_pylist()}
    assert rows["1", long_at]["hours"] == pytest.approx(q.CREDIT_CAP / H)
    assert "cut at credit cap" in rows["1", long_at]["ended_by"]
    assert rows["2", lone_at]["hours"] == 0.0 and rows["2", lone_at]["saved_usd"] == 0.0
    assert rows["2", lone_at]["ended_by"] == "no inventory observation since the stop"
    # A second stop of the same resource ends the first one's credit: no hour is credited twice.
    assert rows["3", again_at]["hours"] == pytest.approx(4.0) and "next stop" in rows["3", again_at]["ended_by"]
    assert rows["3", again_at + 4 * H]["hours"] == pytest.approx(6.0)
    assert got.realized_usd == pytest.approx(168 * 1.0 + 0 + 10 * 2.0)


def test_platform_and_project_filters_apply_to_actions(settings: Settings, lake: DuckDbLake) -> None:
    at = la(2026, 11, 18, 1)
    put(lake, "action_log", [step(at, "executed", "gce", GCE, 10.0),
                             step(at, "executed", "gke", GKE, 30.0, project="acme-data-prod")])  # fmt: skip
    put(lake, "inventory", [seen("gce", GCE, at + H, "TERMINATED"), seen("gke", GKE, at + H, "RUNNING", nodes=0)])
    day = dt.date(2026, 11, 18)
    assert q.savings(lake, settings, day, day, CostFilter(platforms=("gke",)), now=NOW).realized_usd == 30.0
    assert q.savings(lake, settings, day, day, CostFilter(projects=("acme-ml-prod",)), now=NOW).realized_usd == 10.0


def test_idle_waste_by_cluster_priced_per_gpu_hour_and_open_now(settings: Settings, lake: DuckDbLake) -> None:
    start = la(2026, 11, 18, 10)
    put(lake, "inventory", [
        inventory_row("gce", "instance", GCE, "a3-train-01", ["a3-train-01"], observed_at=start, gpu_count=8,
                      price_usd_per_hour=80.0),
        inventory_row("databricks", "cluster", "0915-101532-h100rsch", "gpu-research", ["0915-101532-h100rsch-*"],
                      observed_at=start, gpu_count=2, price_usd_per_hour=20.0, labels={"team": "data-eng"}),
    ])  # fmt: skip
    put(lake, "gpu_minutes", gpu_minutes("a3-train-01", 8, start, 120, busy=False)
        + gpu_minutes("0915-101532-h100rsch-10-0-0-5", 2, start, 60, busy=lambda g, i: i >= 30)
        + gpu_minutes("mystery-host", 1, start, 60, busy=False))  # fmt: skip
    day = dt.date(2026, 11, 18)
    got = q.idle_waste(lake, settings, day, day, now=start + 121 * dt.timedelta(minutes=1))
    rows = {r["cluster"]: r for r in got.by_cluster.to_pylist()}
    assert rows["a3-train-01"]["idle_gpu_hours"] == pytest.approx(16.0)
    assert rows["a3-train-01"]["idle_cost_usd"] == pytest.approx(160.0)  # $80/h ÷ 8 GPUs × 16 idle GPU-hours
    assert rows["gpu-research"]["idle_gpu_hours"] == pytest.approx(1.0) and rows["gpu-research"]["idle_ratio"] == 0.5
    assert rows["gpu-research"]["idle_cost_usd"] == pytest.approx(10.0)
    assert rows["mystery-host"]["platform"] == "unknown" and rows["mystery-host"]["idle_cost_usd"] is None
    assert got.by_cluster.column("cluster")[0].as_py() == "a3-train-01"  # costliest first
    # Right now only the VM is still reporting, all idle: its whole $/h is open waste.
    assert rows["a3-train-01"]["idle_gpus_now"] == 8 and rows["a3-train-01"]["idle_usd_per_hour_now"] == 80.0
    assert (got.open_clusters, got.open_usd_per_hour) == (1, 80.0)
    assert got.idle_gpu_hours == pytest.approx(18.0) and got.idle_cost_usd == pytest.approx(170.0)
    only = q.idle_waste(lake, settings, day, day, CostFilter(platforms=("databricks",)), now=start)
    assert [r["cluster"] for r in only.by_cluster.to_pylist()] == ["gpu-research"]
    # The team filter uses the item's team label (as the GPU page); a host no inventory knows is "(untagged)".
    team = q.idle_waste(lake, settings, day, day, CostFilter(teams=("ml-research",)), now=start)
    assert [r["cluster"] for r in team.by_cluster.to_pylist()] == ["a3-train-01"]
    untagged = q.idle_waste(lake, settings, day, day, CostFilter(teams=("(untagged)",)), now=start)
    assert [r["cluster"] for r in untagged.by_cluster.to_pylist()] == ["mystery-host"]


def gpu_day(day: dt.date, platform: str, hours: float, spot: bool | None, **kw: Any) -> dict[str, Any]:
    return daily(day, hours * 3.0, la(2026, 11, 21), platform=platform, gpu_hours=hours, is_spot=spot, **kw)


def test_spot_share_per_side_against_the_plan_targets(settings: Settings, lake: DuckDbLake) -> None:
    d1, d2 = dt.date(2026, 11, 13), dt.date(2026, 11, 17)  # a Friday and the next week's Tuesday
    put(lake, "cost_daily", [
        gpu_day(d1, "gce", 100.0, False), gpu_day(d1, "gke", 100.0, True), gpu_day(d2, "gke", 200.0, True),
        gpu_day(d1, "databricks", 30.0, False), gpu_day(d2, "databricks", 70.0, True),
        daily(d1, 500.0, la(2026, 11, 21), platform="databricks"),  # DBUs: no GPU-hours
    ])  # fmt: skip
    got = {r["side"]: r for r in plan.spot_share(lake, settings, d1, d2).to_pylist()}
    assert list(got) == ["gcp", "databricks"]
    assert got["gcp"]["spot_share"] == pytest.approx(0.75) and got["gcp"]["target"] == 0.60
    assert got["gcp"]["gap"] == pytest.approx(0.15)
    assert got["databricks"]["gpu_hours"] == pytest.approx(100.0) and got["databricks"]["spot_share"] == 0.7
    weekly = {
        (r["week"], r["side"]): r["spot_share"] for r in plan.spot_share_weekly(lake, settings, d1, d2).to_pylist()
    }
    assert weekly == {(dt.date(2026, 11, 9), "gcp"): 0.5, (dt.date(2026, 11, 9), "databricks"): 0.0,
                      (dt.date(2026, 11, 16), "gcp"): 1.0, (dt.date(2026, 11, 16), "databricks"): 1.0}  # fmt: skip
    gce_only = plan.spot_share(lake, settings, d1, d2, CostFilter(platforms=("gce",))).to_pylist()
    assert [(r["side"], r["spot_share"]) for r in gce_only] == [("gcp", 0.0), ("databricks", None)]


def test_spend_vs_plan_uses_complete_days_as_a_monthly_rate(settings: Settings, lake: DuckDbLake) -> None:
    until = la(2026, 11, 11, 12)  # Nov 11 is still arriving: the last complete day is Nov 10
    put(lake, "cost_daily", [daily(dt.date(2026, 11, 2) + dt.timedelta(days=i), 1000.0, until) for i in range(10)])
    got = plan.plan_progress(lake, settings, dt.date(2026, 11, 2), dt.date(2026, 11, 15), now=NOW).to_pylist()
    assert [(r["week"], r["days"], r["spend_usd"]) for r in got] == [
        (dt.date(2026, 11, 2), 7, 7000.0), (dt.date(2026, 11, 9), 2, 2000.0)]  # fmt: skip
    rate = 1000.0 * 365.25 / 12
    for r in got:
        assert r["monthly_rate_usd"] == pytest.approx(rate)
        assert r["savings_usd_per_month"] == pytest.approx(62_500 - rate)
        assert r["progress_ratio"] == pytest.approx((62_500 - rate) / (62_500 - 41_500))


# -- the page -----------------------------------------------------------------------------------------------------


def test_savings_page_shows_the_query_layers_figures(app_config: Path) -> None:
    settings = load(str(app_config))
    lake = DuckDbLake(settings.warehouse.path)
    now = dt.datetime.now(dt.UTC)
    stop, planned = now - dt.timedelta(days=3), now - dt.timedelta(days=2)
    today = reporting_today()
    put(lake, "cost_daily", [gpu_day(today - dt.timedelta(days=2), "gke", 40.0, True),
                             gpu_day(today - dt.timedelta(days=2), "gce", 60.0, False)])  # fmt: skip
    put(lake, "action_log", [step(stop, "executed", "gce", GCE, 25.0),
                             step(planned, "planned", "gke", GKE, 12.5, fingerprint="fp-gke")])  # fmt: skip
    put(lake, "inventory", [seen("gce", GCE, stop + 7 * H, "TERMINATED"), seen("gce", GCE, stop + 8 * H, "RUNNING")])
    put(lake, "alert_events", [resolved("fp-gke", planned + 4 * H)])
    at = open_page("savings")
    since, until = today - dt.timedelta(days=30), today  # the sidebar's default window
    expected = q.savings(lake, settings, since, until)
    assert expected.realized_usd == pytest.approx(7 * 25.0) and expected.would_have_saved_usd == pytest.approx(50.0)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Realized savings"] == widgets.money(expected.realized_usd)
    assert metrics["Would have saved (dry-run)"] == widgets.money(expected.would_have_saved_usd)
    for row in plan.spot_share(lake, settings, since, until).to_pylist():
        assert metrics[f"Spot share, {row['side']}"] == widgets.pct(row["spot_share"])
    assert "Auto-shutdown savings per day" in [s.value for s in at.subheader]
    tables = [df.value for df in at.dataframe]
    assert any("ended_by" in t and set(t["kind"]) == {q.REALIZED, q.WOULD} for t in tables)


def test_savings_page_renders_over_the_demo(demo_app: Path) -> None:
    at = open_page("savings")
    labels = [m.label for m in at.metric]
    assert labels[:4] == ["Realized savings", "Would have saved (dry-run)", "Idle GPU waste", "Idle now"]
    assert {"Spot share, gcp", "Spot share, databricks"} <= set(labels)
    assert "Idle GPU waste by cluster" in [s.value for s in at.subheader]
