"""The Network page: its query functions on a seeded DuckDB lake (synthetic samples, tests/dashboards/
telemetry_seed.py, every figure hand-computed there), the page through AppTest, and `spendscope demo --days 7`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import widgets
from dashboards.queries import network as q
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.costs import CostFilter
from tests.dashboards.apptest import DEMO_WEEK, demo_week, open_page
from tests.dashboards.telemetry_seed import GKE_NODE, D, bigquery_fleet, same, seed_fleet, seed_network

A3, GKE, MYSTERY = "a3-train-01 / eth0", f"{GKE_NODE} / eth0", "mystery-01 / eth0"
GBIT = 8 / 1e9
# Bytes moved on D: 58 rated minutes for a3-train-01 (one is a counter reset), 59 for the others.
A3_RX, A3_TX = 1.25e9 * 60 * 58, 0.25e9 * 60 * 58
GKE_RX, GKE_TX = (21.875e9 * 29 + 5e9 * 30) * 60, 1e9 * 60 * 59
MYSTERY_RX, MYSTERY_TX = 1e6 * 60 * 59, 2e6 * 60 * 59
ALL = CostFilter()
approx = pytest.approx


@pytest.fixture
def seeded(lake: DuckDbLake) -> DuckDbLake:
    seed_fleet(lake, seed_network)
    return lake


def _traffic(wh: DuckDbLake, s: Settings, flt: CostFilter = ALL, **kw: Any) -> q.Traffic:
    return q.traffic(wh, s, D, D, flt, **kw)


def test_interfaces_carry_time_weighted_rates_bytes_and_saturation(seeded: DuckDbLake, settings: Settings) -> None:
    rows = {f"{r['host']} / {r['interface']}": r for r in _traffic(seeded, settings).interfaces.to_pylist()}
    assert list(rows) == [GKE, A3, MYSTERY]  # most bytes first
    a3 = rows[A3]
    assert a3["source"] == "node_exporter"  # the psutil series of the same interface is not added in
    assert (a3["rx_bytes"], a3["tx_bytes"]) == approx((A3_RX, A3_TX))
    assert (a3["rx_mean_gbps"], a3["tx_mean_gbps"], a3["speed_gbps"]) == approx((10.0, 2.0, 200.0))
    assert (a3["cluster"], a3["platform"], a3["team"]) == ("a3-train-01", "gce", "ml-research")
    gke = rows[GKE]
    assert gke["rx_mean_gbps"] == approx(GKE_RX / (59 * 60) * GBIT)
    assert gke["peak_gbps"] == approx(21.875e9 * GBIT)
    assert (gke["peak_saturation"], gke["saturated_share"]) == approx((0.875, 29 / 59))
    assert gke["mean_saturation"] == approx((0.875 * 29 + 0.2 * 30) / 59)
    assert (gke["errors"], gke["drops"]) == approx((300.0, 0.0))
    assert (gke["cluster"], gke["team"]) == ("ml-gke-prod/h100-ondemand", "ml-platform")
    assert (rows[MYSTERY]["platform"], rows[MYSTERY]["team"], rows[MYSTERY]["peak_saturation"]) == (
        "unknown", "(untagged)", None)  # fmt: skip


def test_totals_count_hosts_bytes_and_saturated_interfaces(seeded: DuckDbLake, settings: Settings) -> None:
    t = _traffic(seeded, settings).totals
    want = {"hosts": 3, "interfaces": 3, "rx_bytes": A3_RX + GKE_RX + MYSTERY_RX,
            "tx_bytes": A3_TX + GKE_TX + MYSTERY_TX, "peak_saturation": 0.875, "saturated_interfaces": 1}  # fmt: skip
    assert t == approx(want)


def test_throughput_keeps_the_top_series_and_sums_the_rest_as_other(seeded: DuckDbLake, settings: Settings) -> None:
    tr = _traffic(seeded, settings, max_series=1)
    assert tr.top_volume == (GKE,) and tr.bucket_hours == 1
    rows = q.throughput(seeded, settings, D, D, tr.kept_hosts, tr.top_volume).to_pylist()
    ten = dt.datetime(2026, 11, 18, 10)  # 18:00–19:00 UTC, one local hour: bytes ÷ 3600 s
    got = {r["series"]: (r["rx_gbps"], r["tx_gbps"]) for r in rows if r["bucket"] == ten}
    hour = 3600 / GBIT  # Gbit/s per byte moved in the hour
    assert got == {GKE: approx((GKE_RX / hour, GKE_TX / hour)),
                   q.OTHER: approx(((A3_RX + MYSTERY_RX) / hour, (A3_TX + MYSTERY_TX) / hour))}  # fmt: skip


def test_saturation_per_bucket_for_the_interfaces_with_the_highest_peaks(
    seeded: DuckDbLake, settings: Settings
) -> None:
    tr = _traffic(seeded, settings, max_rows=1)
    assert tr.top_saturated == (GKE,)
    (cell,) = q.saturation(seeded, settings, D, D, tr.top_saturated).to_pylist()
    assert (cell["series"], cell["bucket"]) == (GKE, dt.datetime(2026, 11, 18, 10))
    assert (cell["peak_saturation"], cell["mean_saturation"]) == approx((0.875, (0.875 * 29 + 0.2 * 30) / 59))
    assert _traffic(seeded, settings).top_saturated == (GKE, A3)  # an interface with no link speed has no saturation


def test_team_and_platform_filters_keep_only_matching_hosts(seeded: DuckDbLake, settings: Settings) -> None:
    assert _traffic(seeded, settings, CostFilter(platforms=("gke",))).kept_hosts == (GKE_NODE,)
    research = _traffic(seeded, settings, CostFilter(teams=("ml-research",)))
    assert research.kept_hosts == ("a3-train-01",) and research.totals["rx_bytes"] == approx(A3_RX)
    assert _traffic(seeded, settings, CostFilter(teams=("(untagged)",))).kept_hosts == ("mystery-01",)


def test_samples_outside_the_reporting_days_are_left_out(seeded: DuckDbLake, settings: Settings) -> None:
    # 18:00 UTC on D is 10:00 on D in Los Angeles: nothing on the day before or after.
    for day in (D - dt.timedelta(days=1), D + dt.timedelta(days=1)):
        assert q.traffic(seeded, settings, day, day).totals["interfaces"] == 0


@pytest.mark.integration
def test_the_same_figures_on_the_bigquery_engine(seeded: DuckDbLake, settings: Settings, tmp_path: Path) -> None:
    """A real `bqemulator` on loopback through the real google-cloud-bigquery client: the SQL is BigQuery's."""
    with bigquery_fleet(tmp_path, seed_network) as (bq, bq_s):
        got, want = q.traffic(bq, bq_s, D, D), _traffic(seeded, settings, max_series=1)
        assert got.totals == approx(want.totals)
        same(got.interfaces, want.interfaces)
        top = want.top_volume
        same(
            q.throughput(bq, bq_s, D, D, want.kept_hosts, top),
            q.throughput(seeded, settings, D, D, want.kept_hosts, top),
        )
        series = want.top_saturated
        same(q.saturation(bq, bq_s, D, D, series), q.saturation(seeded, settings, D, D, series))


# -- the page ------------------------------------------------------------------------------------------------------


def interfaces(at: AppTest) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if list(df.value.columns[:3]) == ["host", "interface", "cluster"])


def _metrics(t: dict[str, Any]) -> dict[str, str]:
    tb = {k: f"{t[k] / 1e12:,.1f} TB" for k in ("rx_bytes", "tx_bytes")}
    return {"Interfaces": f"{t['interfaces']:,}", "Received": tb["rx_bytes"], "Sent": tb["tx_bytes"],
            "Peak saturation": widgets.pct(t["peak_saturation"])}  # fmt: skip


def test_page_shows_the_query_layers_figures(app_config: Path, settings: Settings) -> None:
    lake = DuckDbLake(app_config.parent / "lake")
    seed_fleet(lake, seed_network, costs=True)
    at = open_page("network", D, D)
    tr = _traffic(lake, settings)
    assert {m.label: m.value for m in at.metric} == _metrics(tr.totals)
    pd.testing.assert_frame_equal(interfaces(at), tr.interfaces.to_pandas(), check_dtype=False)
    flows = next(df.value for df in at.dataframe if list(df.value.columns[:2]) == ["series", "bucket"])
    want = q.throughput(lake, settings, D, D, tr.kept_hosts, tr.top_volume).to_pandas()
    pd.testing.assert_frame_equal(flows, want, check_dtype=False)
    gke = open_page("network", D, D, platforms=["gke"])
    assert {m.label: m.value for m in gke.metric} == _metrics(
        _traffic(lake, settings, CostFilter(platforms=("gke",))).totals
    )
    assert interfaces(gke)["host"].tolist() == [GKE_NODE]


def test_page_says_so_when_the_window_has_no_samples(app_config: Path) -> None:
    seed_network(DuckDbLake(app_config.parent / "lake"))
    at = open_page("network", D - dt.timedelta(days=9), D - dt.timedelta(days=8))
    assert any("No network samples between" in i.value for i in at.info)


def test_demo_week_renders_with_the_idle_clusters_host(app_config: Path) -> None:
    idle = demo_week()
    at = open_page("network", *DEMO_WEEK)
    table = interfaces(at)
    shown = table[table["cluster"].isin(idle)]
    assert not shown.empty and (shown["rx_bytes"] > 0).all()
    assert [s.value for s in at.subheader][:2] == [
        "Throughput by host and interface",
        "Saturation by host and interface",
    ]
