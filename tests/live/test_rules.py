"""Budget, spike and credit rules with `source: live` read spend_live on a real lake: they fire on estimated spend
the bill does not show yet, and their alerts say "estimated"; the billed rules on the same data stay quiet."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.context import EvalContext
from alerts.rules.budget import BudgetRule
from alerts.rules.credit import CreditRule
from alerts.rules.spike import SpikeRule
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.live.job import backfill, run_once
from tests.live.conftest import HOUR, MIN, T0
from tests.live.seed import A3_OD, A3_SPOT, DBU_PRICES, cluster, gce, pool, seed_inventory
from tests.live.test_estimate import every
from tests.seed import seed_costs

DAY0 = T0.replace(hour=0)


def billed_history(lake: DuckDbLake, days: int = 7) -> None:
    """GKE ($100 an hour) and GCE ($20 an hour, team ml) billed every hour of the `days` days before today (UTC)."""
    rows = []
    for h in range(days * 24):
        start = DAY0 - dt.timedelta(days=days) + HOUR * h
        rows.append({"BilledCost": 100.0, "ProviderName": "Google Cloud", "ServiceName": "Kubernetes Engine",
                     "Tags": '{"team": "platform"}', "ChargePeriodStart": start})  # fmt: skip
        rows.append({"BilledCost": 20.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
                     "Tags": '{"team": "ml"}', "ChargePeriodStart": start})  # fmt: skip
    seed_costs(lake, rows, tz="UTC")


def spike(**extra: Any) -> SpikeRule:
    return SpikeRule.model_validate({"name": "spike", "type": "spike", "group_by": ["platform"], **extra})


@pytest.fixture
def utc(settings: Settings) -> Settings:
    data = settings.model_dump(exclude={"source"})
    return Settings.model_validate({**data, "reporting": {"timezone": "UTC"}})


def test_a_live_spike_rule_fires_on_the_hour_under_way_and_says_estimated(priced: DuckDbLake, utc: Settings) -> None:
    billed_history(priced)
    # The pool runs 1 node, then 15 from 13:00; the live job has priced it at 13:05.
    snaps = [pool(t, "h100-spot", 1 if t < T0 else 15) for t in every(5, T0 - HOUR, T0 + 5 * MIN)]
    seed_inventory(priced, snaps)
    now = T0 + 5 * MIN
    run_once(priced, utc, now)
    ctx = EvalContext(wh=priced, settings=utc, now=now)

    live = spike(source="live").evaluate(ctx)
    billed = spike().evaluate(ctx)

    assert billed == []  # the bill reaches yesterday: nothing to see yet
    assert len(live) == 1 and live[0].labels == {"platform": "gke"}
    f = live[0]
    projected = A3_SPOT * 15  # 13:00–13:05 at 15 nodes, the rest of the hour at the same rate
    assert f.evidence["spend_usd"] == pytest.approx(projected, abs=0.01)
    assert f.evidence["baseline_usd"] == [100.0] * 7 and f.evidence["hour"] == T0.isoformat()
    assert f.evidence["basis"] == "estimated" and f.evidence["estimated_usd"] == pytest.approx(projected, abs=0.01)
    assert f.annotations["summary"].startswith("Estimated spend spike (platform=gke)")
    assert "not yet billed" in f.annotations["description"]


def test_a_live_budget_counts_the_estimate_beyond_the_bill(priced: DuckDbLake, utc: Settings) -> None:
    billed_history(priced, days=2)
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, DAY0 - 6 * HOUR, T0 + 30 * MIN)])
    now = T0 + 30 * MIN
    backfill(priced, utc, (DAY0 - HOUR).date(), DAY0.date(), now)  # the live job's history since yesterday
    ctx = EvalContext(wh=priced, settings=utc, now=now)
    body = {"name": "ml-day", "type": "budget", "period": "day", "scope": {"team": "ml"}, "amount_usd": 1000,
            "thresholds": {"warning": 0.7}}  # fmt: skip

    live = BudgetRule.model_validate({**body, "source": "live"})
    billed = BudgetRule.model_validate(body)

    (status,) = live.status(ctx)
    assert status.actual_usd == pytest.approx(13.5 * A3_OD)  # today 00:00–13:30, all estimated
    assert status.start == DAY0.date()
    assert billed.evaluate(ctx) == []  # the bill reaches yesterday: $480 of $1,000
    (finding,) = [f for f in live.evaluate(ctx) if f.labels["kind"] == "actual"]
    assert finding.annotations["summary"].startswith("Estimated: Budget ml-day:")
    assert "estimated: $" in finding.annotations["summary"]
    assert finding.evidence["basis"] == "estimated"
    assert finding.evidence["estimated_usd"] == pytest.approx(13.5 * A3_OD, abs=0.01)


def test_a_live_credit_burns_on_estimated_dbus(priced: DuckDbLake, utc: Settings) -> None:
    seed_inventory(priced, [cluster(t, "0921-abc", 2) for t in every(5, DAY0, T0 + 30 * MIN)])
    now = T0 + 30 * MIN
    backfill(priced, utc, DAY0.date(), DAY0.date(), now)
    rule = CreditRule.model_validate({"name": "trial", "type": "credit", "total_usd": 100, "start": DAY0.date(),
                                      "scope": {"provider": "Databricks"}, "source": "live"})  # fmt: skip

    (total,) = rule.burns(EvalContext(wh=priced, settings=utc, now=now))
    findings = rule.evaluate(EvalContext(wh=priced, settings=utc, now=now))

    dbus = 2 * 38 * DBU_PRICES["PREMIUM_JOBS_COMPUTE"] * 13.5
    assert total.used_usd == pytest.approx(dbus) and total.estimated_usd == pytest.approx(dbus)
    used = [f for f in findings if f.labels["kind"] == "used"]
    assert used and used[0].annotations["summary"].startswith("Estimated: Credit trial/total")
    assert "live estimate, not yet billed" in used[0].annotations["description"]


def test_live_rules_scope_only_on_spend_live_dimensions() -> None:
    with pytest.raises(ValidationError, match=r"source: live.*env"):
        BudgetRule.model_validate({"name": "b", "type": "budget", "period": "day", "amount_usd": 1,
                                   "scope": {"env": "prod"}, "source": "live"})  # fmt: skip
    with pytest.raises(ValidationError, match=r"source: live.*category"):
        CreditRule.model_validate({"name": "c", "type": "credit", "total_usd": 1, "start": "2026-11-01",
                                   "source": "live", "buckets": {"x": {"amount_usd": 1,
                                                                       "scope": {"category": "Compute"}}}})  # fmt: skip
    assert BudgetRule.model_validate({"name": "b", "type": "budget", "period": "day", "amount_usd": 1,
                                      "scope": {"env": "prod"}}).source == "billed"  # fmt: skip
