"""The demo's telemetry lines up with its billing: hosts join to inventory, idle stretches are idle, the spike is
busy, GPU-hours match cost_daily, workloads carry a degradation episode, and the rows are deterministic.

One 10-day demo (module fixture, reporting days in UTC so cost_daily's days are the telemetry's days) serves
most tests. All data is synthetic (spendscope.demo); the dcgm-exporter text is written to the real format.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from collectors.gpu.dcgm_text import parse_scrape
from collectors.inventory.hosts import resolve
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.config_telemetry import TelemetryConfig
from spendscope.demo import DemoResult, run_demo
from spendscope.demo.plan import make_plan
from spendscope.demo.telemetry_gpu import gpu_minutes
from spendscope.demo.telemetry_hosts import degradation, segments, telemetry_days
from spendscope.demo.telemetry_inventory import inventory
from spendscope.demo.telemetry_net import net_samples
from spendscope.demo.telemetry_workload import workload_metrics

END = dt.date(2026, 11, 21)
CLOCK = fixed_clock(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC))
Demo = tuple[DemoResult, DuckDbLake]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("demo_telemetry")
    settings = Settings.model_validate(
        {"home": str(root / "home"), "warehouse": {"path": str(root / "lake")}, "reporting": {"timezone": "UTC"}}
    )
    lake = DuckDbLake(settings.warehouse.path)
    return run_demo(settings, days=10, seed=7, end=END, warehouse=lake, clock=CLOCK), lake


def _rows(lake: DuckDbLake, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return lake.query(sql, params).to_pylist()


def test_telemetry_covers_last_days_spike_and_idle_days(demo: Demo) -> None:
    result, lake = demo
    assert result.telemetry is not None and result.spike is not None
    days = set(result.telemetry.days)
    assert {END - dt.timedelta(days=k) for k in range(7)} <= days
    assert result.spike.day in days
    assert all(s.start.date() in days for s in result.idle) and result.idle
    got = {r["d"] for r in _rows(lake, "SELECT DISTINCT _day AS d FROM gpu_minutes")}
    assert got == days


def test_every_gpu_host_maps_to_an_inventory_row_of_its_day(demo: Demo) -> None:
    _, lake = demo
    inv = _rows(lake, "SELECT * FROM inventory")
    pairs = _rows(lake, "SELECT DISTINCT _day AS d, host FROM gpu_minutes")
    assert len({p["host"] for p in pairs}) >= 25
    for p in pairs:
        same_day = [r for r in inv if r["_day"] == p["d"]]
        item = resolve(same_day, p["host"])
        assert item is not None and p["host"] in item["hosts"], p  # named exactly, not only by a pattern
        assert item["gpu_count"] > 0 and item["price_usd_per_hour"] > 0 and item["price_source"] == "config"
    # The latest-snapshot join (collectors/inventory/hosts.py) also finds every host, through the patterns.
    latest = {}
    for r in sorted(inv, key=lambda r: r["observed_at"]):
        latest[(r["platform"], r["resource_id"])] = r
    assert all(resolve(latest.values(), p["host"]) is not None for p in pairs)


def test_idle_stretch_minutes_are_not_busy_while_training_is(demo: Demo) -> None:
    result, lake = demo
    (stretch,) = [s for s in result.idle if s.key == "a3-train-02"]
    got = _rows(
        lake,
        """SELECT COUNT(*) AS n, COUNTIF(busy) AS busy, MAX(gr_engine_active_ratio) AS gr, MIN(fb_used_bytes) AS fb
           FROM gpu_minutes WHERE host = 'a3-train-02' AND minute >= @a AND minute < @b""",
        {"a": stretch.start, "b": stretch.end},
    )[0]
    minutes = int((stretch.end - stretch.start).total_seconds() // 60)
    assert got["n"] == minutes * 8  # every billed minute of every GPU is there
    assert got["busy"] == 0 and got["gr"] < 0.05
    assert got["fb"] > 10 * 2**30  # the forgotten notebook still holds memory
    plan = make_plan(END, 10, 7)
    training = [r for r in plan.runs if r.key == "gke-h100-ondemand" and r.seconds > 3600]
    run = training[-1]
    busy = _rows(
        lake,
        """SELECT COUNT(*) AS n, COUNTIF(busy) AS busy FROM gpu_minutes
           WHERE STARTS_WITH(host, 'gke-ml-gke-prod-h100-ondemand-') AND minute >= @a AND minute < @b""",
        {"a": run.start + dt.timedelta(minutes=5), "b": run.end - dt.timedelta(minutes=1)},
    )[0]
    assert busy["n"] > 0 and busy["busy"] == busy["n"]


def test_spike_shows_as_busy_gpus_on_added_nodes(demo: Demo) -> None:
    result, lake = demo
    spike = result.spike
    assert spike is not None
    hour = spike.start + dt.timedelta(hours=1)
    got = _rows(
        lake,
        """SELECT COUNT(DISTINCT host) AS hosts, COUNT(DISTINCT IF(busy, gpu_uuid, NULL)) AS busy_gpus
           FROM gpu_minutes WHERE hour = @h AND STARTS_WITH(host, 'gke-ml-gke-prod-h100-spot-')""",
        {"h": hour},
    )[0]
    assert got["hosts"] == spike.nodes + 1 and got["busy_gpus"] == (spike.nodes + 1) * 8
    days = _rows(
        lake,
        """SELECT COUNT(DISTINCT host) AS hosts FROM gpu_minutes
           WHERE STARTS_WITH(host, 'gke-ml-gke-prod-h100-spot-') AND _day <> @d""",
        {"d": spike.day},
    )
    assert days[0]["hosts"] == 1  # the added nodes exist on the spike day only


def test_gpu_hours_match_billed_gpu_hours_per_platform(demo: Demo) -> None:
    """Minutes are emitted for exactly the billed seconds; a run's partial last minute counts as one."""
    result, lake = demo
    assert result.telemetry is not None
    tele = _rows(
        lake,
        """WITH inv AS (SELECT DISTINCT _day, platform, h FROM inventory, UNNEST(hosts) AS h)
           SELECT m._day AS d, i.platform, COUNT(*) / 60 AS hours
           FROM gpu_minutes AS m JOIN inv AS i ON i.h = m.host AND i._day = m._day GROUP BY ALL""",
    )
    bill = {
        (r["d"], r["platform"]): r["h"]
        for r in _rows(lake, "SELECT day AS d, platform, SUM(gpu_hours) AS h FROM cost_daily GROUP BY ALL")
    }
    segs = segments(make_plan(END, 10, 7), set(result.telemetry.days))
    runs: dict[tuple[dt.date, str], int] = {}
    for s in segs:
        runs[(s.start.date(), s.platform)] = runs.get((s.start.date(), s.platform), 0) + s.gpus
    assert len(tele) >= 20
    for r in tele:
        billed = bill[(r["d"], r["platform"])]
        # at most one extra minute per GPU and run; under 1.5% off
        assert 0 <= r["hours"] - billed <= runs[(r["d"], r["platform"])] / 60 + 1e-9, r
        assert r["hours"] == pytest.approx(billed, rel=0.015), r


def test_rollup_of_the_raw_hours_reproduces_the_generated_minutes(demo: Demo) -> None:
    result, lake = demo
    assert result.telemetry is not None
    settings_cfg = TelemetryConfig()
    plan = make_plan(END, 10, 7)
    days = set(result.telemetry.days)
    generated = gpu_minutes(segments(plan, days), 7, settings_cfg, degradation(plan, days))
    hours = [r["h"] for r in _rows(lake, "SELECT DISTINCT TIMESTAMP_TRUNC(ts, HOUR) AS h FROM gpu_samples")]
    assert hours
    cols = "minute, host, gpu_index, samples, gpu_util_ratio, gr_engine_active_ratio, power_watts, busy, fb_total_bytes"
    stored = lake.query(f"SELECT {cols} FROM gpu_minutes WHERE hour IN UNNEST(@h) ORDER BY host, gpu_index, minute",
                        {"h": hours})  # fmt: skip
    want = generated.filter(pa.compute.is_in(generated["hour"], pa.array(hours, generated["hour"].type)))
    want = want.sort_by([("host", "ascending"), ("gpu_index", "ascending"), ("minute", "ascending")])
    assert stored.num_rows == want.num_rows > 0
    for c in cols.split(", "):
        assert stored[c].to_pylist() == want[c].to_pylist(), c


def test_last_dcgm_scrapes_are_real_dcgm_text_ingested_as_samples(demo: Demo) -> None:
    result, lake = demo
    assert result.telemetry is not None
    files = result.telemetry.dcgm_files
    assert files and all(f.parent == result.out_dir / "telemetry" / "dcgm" for f in files)
    text = files[0].read_text()
    assert text.startswith("# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).\n")
    assert f'Hostname="{files[0].stem}"' in text and 'modelName="NVIDIA H100 80GB HBM3"' in text
    rows, stats = parse_scrape(text, None)
    assert stats.skipped == 0 and len(rows) in (1, 8)
    got = _rows(
        lake,
        """SELECT host, COUNT(*) AS n, MAX(sm_clock_hz) AS clock FROM gpu_samples
           WHERE target = CONCAT('http://', host, ':9400/metrics') AND sm_clock_hz IS NOT NULL GROUP BY host""",
    )
    assert {r["host"] for r in got} == {f.stem for f in files}
    assert all(r["clock"] >= 345e6 for r in got)


def test_net_samples_counters_and_rates_agree(demo: Demo) -> None:
    _, lake = demo
    rows = _rows(
        lake,
        """SELECT host, ts, rx_bytes_total AS total, rx_bytes_per_second AS rate, interval_seconds AS iv,
                  speed_bytes_per_second AS speed, saturation_ratio AS sat,
                  LAG(rx_bytes_total) OVER (PARTITION BY host ORDER BY ts) AS prev
           FROM net_samples ORDER BY host, ts""",
    )
    assert len(rows) > 1000
    checked = 0
    for r in rows:
        assert r["speed"] in (200e9 / 8, 24e9 / 8)
        if r["iv"] is not None:
            assert 0 <= r["sat"] < 1
            assert r["rate"] == pytest.approx((r["total"] - r["prev"]) / r["iv"])
            checked += 1
        else:  # a boot's first sample: no interval, so no rate
            assert r["rate"] is None and r["sat"] is None
    assert checked > 0.9 * len(rows)


def test_workload_metrics_on_both_platforms_with_a_degradation_episode(demo: Demo) -> None:
    result, lake = demo
    assert result.telemetry is not None
    ep = result.telemetry.degradation
    assert ep is not None and ep.end - ep.start >= dt.timedelta(hours=1)
    means = {
        (r["metric"], r["platform"] == "databricks"): r["v"]
        for r in _rows(
            lake,
            """SELECT metric, platform, AVG(value) AS v FROM workload_metrics
               WHERE NOT (platform = 'databricks' AND ts >= @a AND ts < @b) GROUP BY ALL""",
            {"a": ep.start, "b": ep.end},
        )
        if r["platform"] in ("gke", "databricks")
    }
    assert 0.96 <= means[("training_throughput", True)] / means[("training_throughput", False)] <= 1.0
    assert 1.03 <= means[("inference_latency_seconds", True)] / means[("inference_latency_seconds", False)] <= 1.07
    worst = _rows(
        lake,
        """SELECT MAX(value) AS v, COUNT(*) AS n FROM workload_metrics
           WHERE platform = 'databricks' AND metric = 'training_throughput' AND ts >= @a AND ts < @b""",
        {"a": ep.start, "b": ep.end},
    )[0]
    assert worst["n"] >= 12 and worst["v"] <= 0.85 * means[("training_throughput", False)]
    teams = {r["team"] for r in _rows(lake, "SELECT DISTINCT team FROM workload_metrics")}
    assert teams == {"ml-research", "ml-platform", "inference"}


def test_same_seed_gives_identical_rows() -> None:
    def build(seed: int) -> list[pa.Table]:
        plan = make_plan(END, 5, seed)
        days = telemetry_days(plan, 3)
        segs, ep = segments(plan, set(days)), degradation(plan, set(days))
        return [
            gpu_minutes(segs, seed, TelemetryConfig(), ep),
            net_samples(segs, seed),
            inventory(plan, days),
            workload_metrics(plan, ep),
        ]

    a, b, c = build(3), build(3), build(4)
    assert all(x.num_rows > 0 and x.equals(y) for x, y in zip(a, b, strict=True))
    assert not a[0].equals(c[0])


def test_rerunning_the_demo_replaces_its_telemetry(tmp_path: Path) -> None:
    settings = Settings.model_validate({"home": str(tmp_path / "home"), "warehouse": {"path": str(tmp_path / "lake")}})
    lake = DuckDbLake(settings.warehouse.path)
    kwargs: dict[str, Any] = {"days": 3, "seed": 11, "end": END, "warehouse": lake, "clock": CLOCK, "telemetry_days": 2}
    counts = []
    for _ in range(2):
        run_demo(settings, **kwargs)
        counts.append(
            [lake.query(f"SELECT COUNT(*) AS n FROM {t}").column("n")[0].as_py() for t in
             ("gpu_minutes", "gpu_samples", "net_samples", "inventory", "workload_metrics")]
        )  # fmt: skip
    assert counts[0] == counts[1] and all(counts[0])
