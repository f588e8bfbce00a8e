"""The GPU efficiency page: its query functions on a seeded DuckDB lake (synthetic fleet, tests/dashboards/
telemetry_seed.py, every figure hand-computed there), the page through AppTest, and `spendscope demo --days 7`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import widgets
from dashboards.queries import gpu as q
from dashboards.queries.fleet import bucket_hours
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import economics
from spendscope.config import Settings
from spendscope.costs import CostFilter
from tests.dashboards.apptest import DEMO_WEEK, demo_week, open_page
from tests.dashboards.telemetry_seed import DBX_HOST, START, TZ, D, bigquery_fleet, same, seed_fleet, seed_gpu
from tests.telemetry.helpers import minute_rows, write_minutes

POOL = "ml-gke-prod/h100-ondemand"
approx = pytest.approx


@pytest.fixture
def seeded(lake: DuckDbLake) -> DuckDbLake:
    seed_fleet(lake, seed_gpu)
    return lake


ALL = CostFilter()


def _eff(wh: DuckDbLake, s: Settings, flt: CostFilter = ALL, **kw: Any) -> q.Efficiency:
    return q.efficiency(wh, s, D, D, flt, **kw)


def _by(table: pa.Table, key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in table.to_pylist()}


def test_busy_and_idle_gpu_hours_per_cluster_as_the_inventory_groups_hosts(
    seeded: DuckDbLake, settings: Settings
) -> None:
    got = _by(_eff(seeded, settings).clusters, "cluster")
    assert set(got) == {"a3-train-01", POOL, "llm-finetune", "a3-mig-01", "mystery-01"}
    want = {"a3-train-01": (8.0, 6.0, 2.0), POOL: (8.0, 2.0, 6.0), "llm-finetune": (8.0, 0.0, 8.0),
            "a3-mig-01": (0.5, 0.5, 0.0), "mystery-01": (0.5, 0.5, 0.0)}  # fmt: skip
    for name, (measured, busy, idle) in want.items():
        row = got[name]
        assert (row["measured_gpu_hours"], row["busy_gpu_hours"], row["idle_gpu_hours"]) == approx(
            (measured, busy, idle)
        )
    assert got["a3-train-01"]["utilization"] == approx(0.5625)  # 45 minutes at 0.75 of 60 measured
    assert got["a3-mig-01"]["gpus"] == approx(3 / 7)  # a 3g.40gb instance is 3/7 of its GPU
    assert (got[POOL]["platform"], got[POOL]["kind"], got[POOL]["team"]) == ("gke", "node_pool", "ml-platform")
    assert (got["mystery-01"]["platform"], got["mystery-01"]["team"]) == ("unknown", "(untagged)")


def test_totals_and_teams_add_up_their_clusters(seeded: DuckDbLake, settings: Settings) -> None:
    eff = _eff(seeded, settings)
    want = {"hosts": 5, "gpus": 25 + 3 / 7, "measured_gpu_hours": 25.0, "busy_gpu_hours": 9.0, "idle_gpu_hours": 16.0,
            "busy_ratio": 9 / 25, "idle_cost_usd": 20 + 30 + 64}  # fmt: skip
    assert eff.totals == approx(want)
    teams = _by(eff.teams, "team")
    research = {"team": "ml-research", "clusters": 2, "gpus": 16.0, "measured_gpu_hours": 16.0, "busy_gpu_hours": 6.0,
                "idle_gpu_hours": 10.0, "busy_ratio": 6 / 16, "idle_cost_usd": 20 + 64}  # fmt: skip
    assert teams["ml-research"] == approx(research)
    assert teams["ml-platform"]["idle_cost_usd"] == approx(30.0)
    assert teams["(untagged)"]["idle_cost_usd"] is None  # no inventory price for a host the inventory does not know


def test_top_idle_clusters_rank_by_estimated_idle_dollars_with_their_price(
    seeded: DuckDbLake, settings: Settings
) -> None:
    top = _eff(seeded, settings).top_idle.to_pylist()
    assert [r["cluster"] for r in top] == ["llm-finetune", POOL, "a3-train-01"]  # the fully busy ones are not idle
    assert [r["price_usd_per_hour"] for r in top] == [64.0, 40.0, 80.0]
    assert [r["idle_usd_per_hour"] for r in top] == approx([64.0, 30.0, 20.0])  # $/h × idle share
    assert [r["idle_cost_usd"] for r in top] == approx([64.0, 30.0, 20.0])  # idle GPU-h × $/h ÷ 8 GPUs
    assert [r["cluster"] for r in _eff(seeded, settings, top=1).top_idle.to_pylist()] == ["llm-finetune"]


def test_window_figures_match_unit_economics_telemetry(seeded: DuckDbLake, settings: Settings) -> None:
    hosts = _eff(seeded, settings).hosts.to_pylist()
    for row in economics.unit_economics(seeded, D, D, TZ).to_pylist():
        mine = [h for h in hosts if h["platform"] == row["platform"]]
        measured = sum(h["measured_gpu_hours"] for h in mine)
        assert measured == approx(row["telemetry_gpu_hours"]), row["platform"]
        assert sum(h["busy_gpu_hours"] for h in mine) / measured == approx(row["busy_ratio"]), row["platform"]


def test_team_and_platform_filters_keep_only_matching_hosts(seeded: DuckDbLake, settings: Settings) -> None:
    research = _eff(seeded, settings, CostFilter(teams=("ml-research",)))
    assert set(research.kept_hosts) == {"a3-train-01", DBX_HOST}
    assert research.totals["measured_gpu_hours"] == approx(16.0)
    assert [r["cluster"] for r in _eff(seeded, settings, CostFilter(platforms=("gke",))).clusters.to_pylist()] == [POOL]
    both = _eff(seeded, settings, CostFilter(teams=("ml-research",), platforms=("databricks",)))
    assert both.kept_hosts == (DBX_HOST,)
    assert _eff(seeded, settings, CostFilter(teams=("(untagged)",))).kept_hosts == ("mystery-01",)


def test_reporting_days_follow_the_configured_time_zone(lake: DuckDbLake, settings: Settings) -> None:
    # 07:30–08:30 UTC on D+1 is 23:30 on D to 00:30 on D+1 in Los Angeles: half an hour on each reporting day.
    write_minutes(lake, minute_rows("late-01", 1, START + dt.timedelta(hours=13, minutes=30), 60, True))
    for day in (D, D + dt.timedelta(days=1)):
        assert q.efficiency(lake, settings, day, day).totals["measured_gpu_hours"] == approx(0.5)
    assert q.efficiency(lake, settings, D, D + dt.timedelta(days=1)).totals["measured_gpu_hours"] == approx(1.0)


def test_heatmap_keeps_the_hosts_with_most_gpu_hours_in_local_hour_buckets(
    seeded: DuckDbLake, settings: Settings
) -> None:
    eff = _eff(seeded, settings, max_hosts=2)
    assert eff.bucket_hours == 1
    assert eff.heat_hosts == (DBX_HOST, "a3-train-01")  # three hosts tie at 8 GPU-hours: by name
    assert eff.totals["hosts"] == 5 and len(eff.kept_hosts) == 5  # the rest are counted, not shown
    cells = q.heatmap(seeded, settings, D, D, eff.heat_hosts).to_pylist()
    assert {c["host"] for c in cells} == set(eff.heat_hosts)
    a3 = {c["bucket"]: c for c in cells if c["host"] == "a3-train-01"}
    ten = dt.datetime(2026, 11, 18, 10)  # 18:00 UTC in Los Angeles
    assert a3[ten]["gpu_hours"] == approx(8.0)
    assert (a3[ten]["busy_ratio"], a3[ten]["utilization"]) == approx((0.75, 0.5625))
    month = q.efficiency(seeded, settings, D - dt.timedelta(days=30), D)
    six = {c["bucket"] for c in q.heatmap(seeded, settings, D - dt.timedelta(days=30), D, month.heat_hosts).to_pylist()}
    assert month.bucket_hours == 6 and six == {dt.datetime(2026, 11, 18, 6)}  # 10:00–11:10 local in 06:00–12:00


def test_bucket_length_grows_with_the_window() -> None:
    lengths = [bucket_hours(D - dt.timedelta(days=n - 1), D) for n in (1, 7, 8, 14, 31, 60, 365)]
    assert lengths == [1, 1, 2, 2, 6, 12, 24]


def test_health_lists_hosts_with_xid_errors_first_with_temperature_and_power(
    seeded: DuckDbLake, settings: Settings
) -> None:
    health = _eff(seeded, settings).health.to_pylist()
    first = health[0]
    assert (first["host"], first["xid_minutes"], first["xids"]) == ("a3-train-01", 3, "48, 79")
    assert first["last_xid"] == START + dt.timedelta(minutes=5)
    assert (first["temp_max_celsius"], first["power_mean_watts"], first["power_max_watts"]) == approx(
        (83.0, 400.0, 500.0)
    )
    assert all(r["xid_minutes"] == 0 for r in health[1:])
    trend = q.health_trend(seeded, settings, D, D, _eff(seeded, settings).kept_hosts).to_pylist()
    ten = next(r for r in trend if r["bucket"] == dt.datetime(2026, 11, 18, 10))
    assert (ten["temp_max_celsius"], ten["power_mean_watts"], ten["xid_gpu_minutes"]) == approx((83.0, 400.0, 3))


def test_idle_now_lists_clusters_whose_gpus_were_all_idle(seeded: DuckDbLake, settings: Settings) -> None:
    now = START + dt.timedelta(hours=1)  # the last 30 minutes: Databricks and the GKE pool idle, a3-train-01 not
    idle = q.idle_now(seeded, settings, now).to_pylist()
    assert [(r["cluster"], r["team"], r["idle_cost_usd_per_hour"]) for r in idle] == [
        ("llm-finetune", "ml-research", 64.0), (POOL, "ml-platform", 40.0)]  # fmt: skip
    platform = q.idle_now(seeded, settings, now, CostFilter(teams=("ml-platform",)))
    assert platform.column("cluster").to_pylist() == [POOL]


def test_an_empty_window_has_no_hosts(seeded: DuckDbLake, settings: Settings) -> None:
    eff = q.efficiency(seeded, settings, D - dt.timedelta(days=9), D - dt.timedelta(days=8))
    assert eff.totals["hosts"] == 0 and eff.clusters.num_rows == 0 and eff.heat_hosts == ()
    assert q.heatmap(seeded, settings, D, D, ()).num_rows == 0


@pytest.mark.integration
def test_the_same_figures_on_the_bigquery_engine(seeded: DuckDbLake, settings: Settings, tmp_path: Path) -> None:
    """A real `bqemulator` on loopback through the real google-cloud-bigquery client: the SQL is BigQuery's."""
    with bigquery_fleet(tmp_path, seed_gpu) as (bq, bq_s):
        got, want = q.efficiency(bq, bq_s, D, D), _eff(seeded, settings)
        for name in ("hosts", "clusters", "teams", "top_idle", "health"):
            same(getattr(got, name), getattr(want, name))
        same(q.heatmap(bq, bq_s, D, D, want.heat_hosts), q.heatmap(seeded, settings, D, D, want.heat_hosts))
        same(q.health_trend(bq, bq_s, D, D, want.kept_hosts), q.health_trend(seeded, settings, D, D, want.kept_hosts))
        now = START + dt.timedelta(hours=1)
        same(q.idle_now(bq, bq_s, now), q.idle_now(seeded, settings, now))


# -- the page ------------------------------------------------------------------------------------------------------


def frames(at: AppTest, *columns: str) -> list[pd.DataFrame]:
    """The page's tables whose columns start with `columns`, in page order."""
    return [df.value for df in at.dataframe if tuple(df.value.columns[: len(columns)]) == columns]


CLUSTER = ("cluster", "platform", "kind", "team")  # the by-cluster chart's numbers, then the top idle clusters


def _metrics(eff: q.Efficiency) -> dict[str, str]:
    t = eff.totals
    return {"GPUs": f"{t['gpus']:,.0f}", "GPU-hours measured": f"{t['measured_gpu_hours']:,.0f}",
            "Busy share": widgets.pct(t["busy_ratio"], 1), "Idle GPU-hours": f"{t['idle_gpu_hours']:,.0f}",
            "Est. idle $": widgets.money(t["idle_cost_usd"])}  # fmt: skip


def test_page_shows_the_query_layers_figures(app_config: Path, settings: Settings) -> None:
    lake = DuckDbLake(app_config.parent / "lake")
    seed_fleet(lake, seed_gpu, costs=True)
    at = open_page("gpu", D, D)
    eff = _eff(lake, settings)
    assert {m.label: m.value for m in at.metric} == _metrics(eff)
    by_cluster, top = frames(at, *CLUSTER)
    pd.testing.assert_frame_equal(by_cluster, eff.clusters.to_pandas(), check_dtype=False)
    pd.testing.assert_frame_equal(top, eff.top_idle.to_pandas(), check_dtype=False)
    (by_team,) = frames(at, "team", "clusters")
    pd.testing.assert_frame_equal(by_team, eff.teams.to_pandas(), check_dtype=False)
    (health,) = frames(at, "host", "cluster", "team", "gpus", "xid_minutes")
    assert health["host"].tolist() == eff.health.column("host").to_pylist()
    (heat,) = frames(at, "host", "bucket", "gpu_hours")
    cells = q.heatmap(lake, settings, D, D, eff.heat_hosts).to_pandas()
    pd.testing.assert_frame_equal(heat, cells, check_dtype=False)
    research = open_page("gpu", D, D, teams=["ml-research"])
    assert {m.label: m.value for m in research.metric} == _metrics(
        _eff(lake, settings, CostFilter(teams=("ml-research",)))
    )


def test_page_says_so_when_the_window_has_no_gpu_telemetry(app_config: Path) -> None:
    seed_gpu(DuckDbLake(app_config.parent / "lake"))
    at = open_page("gpu", D - dt.timedelta(days=9), D - dt.timedelta(days=8))
    assert any("No GPU telemetry between" in i.value for i in at.info)


def test_demo_week_renders_and_its_idle_stretch_tops_the_idle_clusters(app_config: Path) -> None:
    idle = demo_week()
    at = open_page("gpu", *DEMO_WEEK)
    _, top = frames(at, *CLUSTER)
    assert top["cluster"].iloc[0] in idle
    assert top["price_usd_per_hour"].iloc[0] > 0 and top["idle_usd_per_hour"].iloc[0] > 0
    assert "Utilization by host" in [s.value for s in at.subheader]
