"""The GCP vs Databricks page: its query functions on a seeded DuckDB lake, the page through AppTest, the demo.

Synthetic data. Billing is tests/telemetry/seed_economics.py (GCP export rows and Databricks usage, through the
real focus_costs views and the cost_daily rollup); telemetry and workload rows are written here. Day D, all
between 18:00 and 21:00 UTC (10:00–13:00 Pacific):
  gce  a3-train-01 (workload=training) 16 GPU-h $167.20, busy 1/2 of the minutes; D+1 8 GPU-h $83.60, no telemetry;
       plus a c4a VM $5 and a disk $2 (not GPU). gke  an H100 node 8 GPU-h $45 (busy 1/4), cluster fee $0.10.
  databricks  llm-finetune (workload=training) VM $60 + 38 DBU × $0.15 = $65.70 for 8 GPU-h (busy 9/10);
       a serverless SQL warehouse 10 DBU × $0.70 = $7 (not GPU).
  training_throughput  gce: 2 runs (two hosts, then a second run after a 65-minute gap), 1000; gke D+1: 1 run,
       1000; databricks: MLflow runs r1, r2 (5 minutes apart) at 960, r3 (embeddings, D+1) at 5.
  inference_latency_seconds  chat p95: gke 0.2, databricks 0.23; a gke-only p50 at 0.1.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from collectors.workload.rows import row, to_table
from dashboards import widgets
from dashboards.queries import migration as q
from dashboards.queries import migration_score as sc
from exporters.warehouse import derive
from exporters.warehouse.duckdb import DuckDbLake
from spendscope import config
from spendscope.config import Settings
from spendscope.config_plan import PlanConfig
from spendscope.costs import CostFilter
from tests.dashboards.apptest import open_page, reporting_today, write_config
from tests.seed import seed_costs
from tests.telemetry.helpers import minute_rows, write_minutes
from tests.telemetry.seed_economics import DBX_HOST, GKE_NODE, TZ, D, seed_billing, seed_inventory

D1 = D + dt.timedelta(days=1)
approx = pytest.approx
PLAN = {"baseline_monthly_usd": 8000.0, "target_monthly_usd": 5600.0}
GCP_USD, DBX_USD = 167.2 + 83.6 + 5 + 2 + 45 + 0.1, 65.7 + 7.0  # over D..D+1
GCP_BUSY, GCP_GPU_USD = 24 * 0.5 + 8 * 0.25, 250.8 + 45.0  # busy share per platform applied to its billed hours


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def _series(start: dt.datetime, n: int, metric: str, value: float, platform: str, workload: str = "llm-pretrain",
            run_id: str | None = None, **labels: str) -> list[dict[str, Any]]:  # fmt: skip
    """`n` points 5 minutes apart, as the workload collector writes them."""
    unit = "seconds" if metric == sc.LATENCY else "samples_per_second"
    return [row(start + dt.timedelta(minutes=5 * i), workload, metric, value, unit=unit, platform=platform, team="ml",
                run_id=run_id, source="mlflow" if run_id else "prometheus", labels=labels, provenance="test")
            for i in range(n)]  # fmt: skip


def workload_rows() -> list[dict[str, Any]]:
    tp = sc.THROUGHPUT
    return [
        *_series(_at(D, 18), 12, tp, 1000.0, "gce", host="a3-train-01"),
        *_series(_at(D, 18), 12, tp, 1000.0, "gce", host="a3-train-02"),  # the same run's second node
        *_series(_at(D, 20), 6, tp, 1000.0, "gce", host="a3-train-01"),  # 65 minutes after: a new run
        *_series(_at(D1, 18), 6, tp, 1000.0, "gke"),
        *_series(_at(D, 18), 6, tp, 960.0, "databricks", run_id="r1"),
        *_series(_at(D, 18, 35), 6, tp, 960.0, "databricks", run_id="r2"),
        *_series(_at(D1, 18), 6, tp, 5.0, "databricks", workload="embeddings", run_id="r3"),
        *_series(_at(D, 18), 6, sc.LATENCY, 0.2, "gke", workload="chat", quantile="0.95"),
        *_series(_at(D, 18), 6, sc.LATENCY, 0.23, "databricks", workload="chat", quantile="0.95"),
        *_series(_at(D, 18), 6, sc.LATENCY, 0.1, "gke", workload="chat", quantile="0.5"),
    ]


def seed(wh: DuckDbLake) -> None:
    seed_billing(wh)
    seed_inventory(wh, _at(D, 17))
    start = _at(D, 18)
    later = start + dt.timedelta(minutes=30)
    write_minutes(wh, [*minute_rows("a3-train-01", 8, start, 30, True),
                       *minute_rows("a3-train-01", 8, later, 30, False),
                       *minute_rows(GKE_NODE, 8, start, 15, True),
                       *minute_rows(GKE_NODE, 8, start + dt.timedelta(minutes=15), 45, False),
                       *minute_rows(DBX_HOST, 8, start, 54, True),
                       *minute_rows(DBX_HOST, 8, start + dt.timedelta(minutes=54), 6, False)])  # fmt: skip
    derive.rebuild_all(wh, TZ)
    wh.append("workload_metrics", to_table(workload_rows()))


def with_plan(settings: Settings, **plan: Any) -> Settings:
    return settings.model_copy(update={"plan": PlanConfig(**{**PLAN, **plan})})


@pytest.fixture
def seeded(lake: DuckDbLake) -> DuckDbLake:
    seed(lake)
    return lake


def test_monthly_run_rate_is_the_last_30_days_of_spend_per_side(lake: DuckDbLake, settings: Settings) -> None:
    end = dt.date(2026, 11, 10)
    rows = []
    for back in range(40):
        ts = _at(end - dt.timedelta(days=back), 20)
        rows += [{"BilledCost": 100.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
                  "ChargePeriodStart": ts},
                 {"BilledCost": 50.0, "ProviderName": "Databricks", "ServiceName": "Jobs", "ChargePeriodStart": ts},
                 {"BilledCost": 10.0, "ProviderName": "AWS", "ServiceName": "EC2",
                  "ChargePeriodStart": ts}]  # fmt: skip
    seed_costs(lake, rows)
    m = q.monthly_cost(lake, settings, end + dt.timedelta(days=3))  # billing ends on `end`: the span ends there
    assert (m.start, m.end, m.covered_days) == (end - dt.timedelta(days=29), end, 30)
    assert (m.gcp_usd, m.databricks_usd, m.other_usd) == (approx(3000.0), approx(1500.0), approx(300.0))
    assert m.run_rate_usd == approx(4500.0)  # other providers are outside the plan
    assert m.cost_ratio == approx(4500.0 / settings.plan.baseline_monthly_usd)
    assert m.planned_saving_usd == settings.plan.baseline_monthly_usd - settings.plan.target_monthly_usd
    only_dbx = q.monthly_cost(lake, settings, end, CostFilter(providers=("Databricks",)))
    assert (only_dbx.gcp_usd, only_dbx.databricks_usd, only_dbx.covered_days) == (0.0, approx(1500.0), 30)


def test_run_rate_scales_when_the_data_reaches_back_fewer_than_30_days(lake: DuckDbLake, settings: Settings) -> None:
    end = dt.date(2026, 11, 10)
    seed_costs(lake, [{"BilledCost": 100.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
                       "ChargePeriodStart": _at(end - dt.timedelta(days=b), 20)} for b in range(10)])  # fmt: skip
    m = q.monthly_cost(lake, settings, end)
    assert m.covered_days == 10 and m.run_rate_usd == approx(1000.0 * 30 / 10)


def test_split_by_spend_and_gpu_hours_against_the_plan_share(seeded: DuckDbLake, settings: Settings) -> None:
    v = q.view(seeded, settings, D, D1)
    split = {r["side"]: r for r in v.split.to_pylist()}
    assert split["gcp"]["cost_usd"] == approx(GCP_USD) and split["databricks"]["cost_usd"] == approx(DBX_USD)
    assert split["databricks"]["cost_share"] == approx(DBX_USD / (GCP_USD + DBX_USD))
    assert (split["gcp"]["gpu_hours"], split["databricks"]["gpu_hours"]) == (approx(32.0), approx(8.0))
    assert split["databricks"]["gpu_hours_share"] == approx(8 / 40)
    assert split["databricks"]["target_share"] == settings.plan.target_databricks_share
    share = {(r["day"], r["measure"]): r["databricks_share"] for r in v.daily_share.to_pylist()}
    assert share[(D, "GPU-hours")] == approx(8 / 32) and share[(D1, "GPU-hours")] == 0.0


def test_unit_costs_per_platform_and_gcp_as_one(seeded: DuckDbLake, settings: Settings) -> None:
    units, _ = q.unit_costs(seeded, settings, D, D1)
    got = {r["platform"]: r for r in units.to_pylist()}
    assert got["gce"]["cost_per_gpu_hour_usd"] == approx(250.8 / 24)
    assert got["gce"]["cost_per_busy_gpu_hour_usd"] == approx(250.8 / 12)  # busy 1/2 applied to all 24 billed hours
    assert got["gcp"]["busy_gpu_hours"] == approx(GCP_BUSY) and got["gcp"]["gpu_cost_usd"] == approx(GCP_GPU_USD)
    assert got["gcp"]["cost_per_busy_gpu_hour_usd"] == approx(GCP_GPU_USD / GCP_BUSY)
    assert got["databricks"]["cost_per_busy_gpu_hour_usd"] == approx(65.7 / 7.2)


def test_training_runs_are_run_ids_or_gap_separated_stretches(seeded: DuckDbLake, settings: Settings) -> None:
    assert sc.training_runs(seeded, settings, D, D1) == {"gce": 2, "gke": 1, "databricks": 3}
    assert sc.training_runs(seeded, settings, D1, D1) == {"gke": 1, "databricks": 1}  # a run counts on its first day


def test_scorecard_values_and_verdicts(seeded: DuckDbLake, settings: Settings) -> None:
    card = {s.metric: s for s in q.view(seeded, with_plan(settings), D, D1).scorecard}
    expected = {
        "Training throughput": (960 / 1000, "pass"),  # embeddings runs only on Databricks: not compared
        "Inference latency": (0.23 / 0.2, "fail"),  # p95 against p95; the p50 has no Databricks side
        "Cost efficiency": ((7.2 / 65.7) / (GCP_BUSY / GCP_GPU_USD), "pass"),
        "Resource utilization": (0.9, "pass"),
        "Total cost": ((GCP_USD + DBX_USD) * 15 / PLAN["baseline_monthly_usd"], "fail"),  # 2 days of data × 15
        "Cost per training run": ((65.7 / 3) / (250.8 / 3), "pass"),
    }
    assert list(card) == list(expected)
    for metric, (value, status) in expected.items():
        assert (card[metric].actual, card[metric].status) == (approx(value), status), metric


def test_a_configured_baseline_window_moves_only_the_gcp_side(seeded: DuckDbLake, settings: Settings) -> None:
    before = D - dt.timedelta(days=10)
    seeded.append("workload_metrics", to_table(_series(_at(before, 18), 6, sc.THROUGHPUT, 800.0, "gce")))
    v = q.view(seeded, with_plan(settings, baseline_since=before, baseline_until=before), D, D1)
    card = {s.metric: s for s in v.scorecard}
    assert v.baseline == (before, before)
    assert card["Training throughput"].actual == approx(960 / 800)
    assert (card["Cost efficiency"].status, card["Cost efficiency"].detail) == ("no data", "no GCP GPU cost billed")
    runs = {r["side"]: r for r in v.runs.to_pylist()}
    assert (runs["gcp"]["runs"], runs["databricks"]["runs"]) == (1, 3)
    assert card["Cost per training run"].status == "no data"
    assert "gcp baseline" in v.units.column("platform").to_pylist()


def test_an_empty_warehouse_gives_no_data_rows_never_a_pass(lake: DuckDbLake, settings: Settings) -> None:
    v = q.view(lake, settings, D, D1)
    assert v.monthly.run_rate_usd is None
    assert [s.status for s in v.scorecard] == ["no data"] * 6
    assert all(s.actual is None and s.detail for s in v.scorecard)


def test_baseline_window_needs_both_ends() -> None:
    with pytest.raises(ValueError, match="both"):
        PlanConfig(baseline_since=D)
    with pytest.raises(ValueError, match="after"):
        PlanConfig(baseline_since=D1, baseline_until=D)


def test_page_shows_the_query_layers_figures(app_config: Path) -> None:
    plan = "[plan]\nbaseline_monthly_usd = 8000.0\ntarget_monthly_usd = 5600.0\n"
    settings = config.load(str(write_config(app_config.parent, plan)))
    lake = DuckDbLake(settings.warehouse.path)
    seed(lake)
    want = q.view(lake, settings, D, D1)
    at = open_page("migration", D, D1)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Monthly cost now"] == widgets.money(want.monthly.run_rate_usd)
    assert metrics["Plan: all-GCP baseline"] == "$8,000" and metrics["Plan: hybrid target"] == "$5,600"
    assert metrics["Saved vs baseline"].startswith(widgets.money(want.monthly.saving_usd))
    card = next(df.value for df in at.dataframe if "status" in df.value.columns)
    assert card.drop(columns="status").to_dict("records") == [
        {k: v for k, v in dataclasses.asdict(s).items() if k != "status"} for s in want.scorecard
    ]
    assert [text.endswith(s.status) for text, s in zip(card["status"], want.scorecard, strict=True)] == [True] * 6
    units = next(df.value for df in at.dataframe if "cost_per_busy_gpu_hour_usd" in df.value.columns)
    assert units["cost_per_busy_gpu_hour_usd"].tolist() == approx(
        want.units.column("cost_per_busy_gpu_hour_usd").to_pylist()
    )


def test_page_renders_every_scorecard_row_on_demo_data(demo_app: Path) -> None:
    today = reporting_today()
    at = open_page("migration", today - dt.timedelta(days=30), today)
    card = next(df.value for df in at.dataframe if "status" in df.value.columns)
    assert card["metric"].tolist() == ["Training throughput", "Inference latency", "Cost efficiency",
                                       "Resource utilization", "Total cost", "Cost per training run"]  # fmt: skip
    settings = config.load(str(demo_app))
    want = q.view(DuckDbLake(settings.warehouse.path), settings, today - dt.timedelta(days=30), today)
    shown = [None if pd.isna(x) else x for x in card["actual"]]
    assert shown == approx([s.actual for s in want.scorecard])  # a "no data" row shows no value
    assert {m.label: m.value for m in at.metric}["Monthly cost now"] == widgets.money(want.monthly.run_rate_usd)
