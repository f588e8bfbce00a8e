"""Budget and alert-engine metrics (exporters/prometheus/alerting.py) and the GPU memory total the memory alert
divides by, against the seeded warehouse of tests/exporters/conftest.py (synthetic rows in the real schemas)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from alerts.context import EvalContext
from alerts.rules.budget import BudgetRule, BudgetStatus
from alerts.store import event_row
from exporters.prometheus.alerting import budget_samples
from exporters.prometheus.snapshot import Snapshot, SnapshotBuilder
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.clock import fixed_clock
from spendscope.config import Settings
from spendscope.records import Severity, State
from tests.exporters.conftest import COSTS, H100, NOW, YESTERDAY_NOON, alert_state, gpu_row
from tests.seed import seed_costs

ML = ("ml-monthly", "month")


def values(snap: Snapshot, name: str) -> dict[tuple[str, ...], float]:
    fam = snap.family(name)
    return {} if fam is None else dict(fam.samples)


def with_rules(builder: SnapshotBuilder, rules: list[dict[str, Any]], rule_files: list[str] | None = None) -> None:
    alerts = builder.settings.alerts.model_copy(
        update={"rules": [BudgetRule.model_validate(r) for r in rules], "rule_files": rule_files or []}
    )
    builder.settings = builder.settings.model_copy(update={"alerts": alerts})


def test_budget_series_are_spend_so_far_against_the_amount(builder: SnapshotBuilder) -> None:
    snap = builder.build()
    # Team ml spent 40 earlier this month and 100 yesterday; its budget is 200.
    assert values(snap, "spendscope_budget_amount_usd") == {ML: 200.0}
    assert values(snap, "spendscope_budget_actual_usd") == {ML: pytest.approx(140.0)}
    assert values(snap, "spendscope_budget_used_ratio") == {ML: pytest.approx(0.7)}
    assert builder.errors["budgets"] == 0


def test_forecast_series_are_what_the_budget_rule_itself_forecasts(
    builder: SnapshotBuilder, settings: Settings
) -> None:
    snap = builder.build()
    (rule,) = settings.alerts.rules
    assert isinstance(rule, BudgetRule)
    (status,) = rule.status(EvalContext(wh=builder.warehouse, settings=settings, now=NOW))
    assert status.forecast_usd is not None and status.forecast_ratio is not None
    assert values(snap, "spendscope_budget_forecast_usd") == {ML: pytest.approx(status.forecast_usd)}
    assert values(snap, "spendscope_budget_forecast_ratio") == {ML: pytest.approx(status.forecast_usd / 200.0)}
    assert status.forecast_usd >= 140.0  # a projection to the end of the month is at least what is spent


def test_a_grouped_rule_gives_one_series_per_group_and_disabled_rules_none(builder: SnapshotBuilder) -> None:
    with_rules(
        builder,
        [
            {"name": "per-platform", "type": "budget", "period": "month", "group_by": ["platform"], "amount_usd": 100},
            {"name": "off", "type": "budget", "period": "day", "amount_usd": 1, "enabled": False},
        ],
    )
    used = values(builder.build(), "spendscope_budget_used_ratio")
    assert used == {
        ("per-platform/gce", "month"): pytest.approx(1.4),
        ("per-platform/databricks", "month"): pytest.approx(0.075),
    }


def test_no_budget_rules_no_budget_series(builder: SnapshotBuilder) -> None:
    with_rules(builder, [])
    snap = builder.build()
    assert snap.family("spendscope_budget_used_ratio") is None
    assert snap.family("spendscope_budget_amount_usd") is None
    assert builder.errors["budgets"] == 0


def test_new_billing_data_shows_next_snapshot_and_unchanged_inputs_reuse_the_result(
    builder: SnapshotBuilder, seeded: DuckDbLake
) -> None:
    builder.build()
    cached = builder.memo["budgets"]
    builder.build()
    assert builder.memo["budgets"] is cached  # same rules, day, cost_daily version and refresh window
    extra = {"BilledCost": 20.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
             "Tags": '{"team": "ml"}', "ChargePeriodStart": YESTERDAY_NOON}  # fmt: skip
    seed_costs(seeded, [*COSTS, extra])  # a billing ingest rewrites cost_daily
    snap = builder.build()
    assert values(snap, "spendscope_budget_actual_usd") == {ML: pytest.approx(160.0)}
    assert values(snap, "spendscope_budget_used_ratio") == {ML: pytest.approx(0.8)}


def test_an_invalid_rule_file_fails_only_the_budgets_part(builder: SnapshotBuilder, tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - name: x\n    type: budget\n    period: fortnight\n    amount_usd: 5\n")
    with_rules(builder, [], rule_files=[str(bad)])
    snap = builder.build()
    assert builder.errors["budgets"] == 1
    assert snap.family("spendscope_budget_used_ratio") is None
    assert snap.family("spendscope_cost_usd") is not None
    assert values(snap, "spendscope_exporter_snapshot_errors_total")[("budgets",)] == 1.0


def status(budget: str, used: float | None, forecast: float | None = None) -> BudgetStatus:
    return BudgetStatus(
        budget, "day", dt.date(2026, 11, 20), dt.date(2026, 11, 20), 100.0, 100.0 * (used or 0.0), used,
        None if forecast is None else 100.0 * forecast, forecast, None, {"budget": budget, "period": "day"},
    )  # fmt: skip


def test_a_repeated_budget_keeps_its_first_status_and_unknown_values_give_no_series() -> None:
    samples = budget_samples([status("a", 0.5), status("a", 0.9), status("b", None, math.nan), status("c", 0.1, 0.4)])
    assert samples["spendscope_budget_used_ratio"] == [(("a", "day"), 0.5), (("c", "day"), 0.1)]
    assert samples["spendscope_budget_forecast_ratio"] == [(("c", "day"), 0.4)]
    assert samples["spendscope_budget_amount_usd"] == [
        (("a", "day"), 100.0),
        (("b", "day"), 100.0),
        (("c", "day"), 100.0),
    ]


def test_alerts_firing_counts_each_alerts_latest_state_per_rule_and_severity(builder: SnapshotBuilder) -> None:
    # gpu-idle: a1 firing (its latest row is a notification, still firing), a2 resolved; ml-monthly: resolved.
    assert values(builder.build(), "spendscope_alerts_firing") == {
        ("gpu-idle", "warning"): 1.0,
        ("ml-monthly", "critical"): 0.0,
    }


def test_events_of_one_instant_are_ordered_by_seq_and_new_events_show_next_snapshot(
    builder: SnapshotBuilder, seeded: DuckDbLake
) -> None:
    builder.build()
    at = NOW - dt.timedelta(minutes=1)
    rows = [  # written out of order: seq, not row order, says which came last
        event_row(alert_state("gpu-idle", "a3", State.firing), "firing", at, 5),
        event_row(alert_state("gpu-idle", "a3", State.pending), "pending", at, 4),
        event_row(alert_state("spike", "s1", State.resolved, Severity.critical), "resolved", at, 7),
        event_row(alert_state("spike", "s1", State.firing, Severity.critical), "firing", at, 6),
    ]
    seeded.append("alert_events", pa.Table.from_pylist(rows))
    assert values(builder.build(), "spendscope_alerts_firing") == {
        ("gpu-idle", "warning"): 2.0,
        ("ml-monthly", "critical"): 0.0,
        ("spike", "critical"): 0.0,
    }


def test_a_lake_without_alert_events_has_no_alert_series(settings: Settings, lake: DuckDbLake) -> None:
    builder = SnapshotBuilder(settings, lake, clock=fixed_clock(NOW), collector_names=list)
    snap = builder.build()
    assert snap.family("spendscope_alerts_firing") is None
    assert builder.errors["alerts"] == 0


def test_gpu_memory_total_is_used_plus_free_plus_reserved(builder: SnapshotBuilder, seeded: DuckDbLake) -> None:
    ts = NOW - dt.timedelta(seconds=10)
    seeded.append(
        "gpu_samples",
        pa.Table.from_pylist(
            [
                gpu_row("smi-host", 0, ts, 0.5, fb_used_bytes=10e9, fb_free_bytes=30e9, fb_reserved_bytes=None),
                gpu_row("smi-host", 1, ts, 0.5, fb_used_bytes=10e9, fb_free_bytes=None),
            ]
        ),
    )
    total = values(builder.build(), "spendscope_gpu_memory_total_bytes")
    assert total[("a3-node-1", "0", H100, "gce", "a3-node-1")] == 80e9  # 40 used + 39.5 free + 0.5 reserved
    smi = {k[1]: v for k, v in total.items() if k[0] == "smi-host"}
    assert smi == {"0": 40e9}  # no reserved reported: used + free; no free reported: no total
