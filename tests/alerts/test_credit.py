"""The `credit` rule: burn-down of a prepaid credit per bucket and in total, used ratio and exhaustion date.

Exact-arithmetic tests write synthetic Databricks cost_daily rows (tests/alerts/cost_rows.py) into a fresh lake
(reporting zone America/Los_Angeles); the demo test reads the session demo warehouse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from alerts.loader import parse_rules
from alerts.rules.credit import CreditRule
from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.errors import ConfigError
from spendscope.records import Severity
from tests.alerts.cost_rows import DBX, context, daily, la, put

COMPUTE = ["All-Purpose Compute", "Jobs Compute", "Databricks SQL", "Lakeflow Pipelines", "LAKEFLOW_CONNECT"]
TRIAL: dict[str, Any] = {
    "name": "trial",
    "type": "credit",
    "total_usd": 10000,
    "start": "2026-11-01",
    "expires": "2026-11-30",
    "scope": {"provider": "Databricks"},
    "buckets": {
        "compute": {"amount_usd": 6000, "scope": {"service": COMPUTE}},
        "storage": {"amount_usd": 2000, "scope": {"service": "DEFAULT_STORAGE"}},
        "mlops": {"amount_usd": 2000, "scope": {"category": "AI and Machine Learning"}},
    },
}


def rule(**kw: Any) -> CreditRule:
    return CreditRule.model_validate({**TRIAL, **kw})


def _days(n: int, compute: float, mlops: float, until: dt.datetime) -> list[dict[str, Any]]:
    """Nov 1..n: Jobs Compute and Model Serving spend per day (Databricks rows), data through `until`."""
    out = []
    for i in range(n):
        day = dt.date(2026, 11, 1 + i)
        out.append(daily(day, compute, until, source=DBX, service="Jobs Compute", category="Analytics"))
        out.append(daily(day, mlops, until, source=DBX, service="Model Serving", category="AI and Machine Learning"))
    return out


def test_burn_down_per_bucket_and_exhaustion_before_expiry(settings: Settings, lake: DuckDbLake) -> None:
    # 20 complete days at $250 compute + $50 mlops; day 21 is still arriving ($10 so far, not a slowdown).
    until = la(2026, 11, 21, 6)
    rows = _days(20, 250.0, 50.0, until)
    rows.append(daily(dt.date(2026, 11, 21), 10.0, until, source=DBX, service="Jobs Compute"))
    put(lake, "cost_daily", rows)
    ctx = context(settings, lake, la(2026, 11, 21, 12))
    burns = {b.bucket: b for b in rule().burns(ctx)}
    assert burns["compute"].used_usd == pytest.approx(5010.0) and burns["compute"].daily_burn_usd == 250.0
    assert burns["mlops"].used_usd == pytest.approx(1000.0) and burns["storage"].used_usd == 0.0
    assert burns["total"].used_usd == pytest.approx(6010.0) and burns["total"].burn_days == 7
    # Compute: $990 left at $250/day from the data horizon (Nov 21 06:00) → Nov 25 ~01:00, before Nov 30.
    assert burns["compute"].exhausts_at == until + dt.timedelta(days=990 / 250)
    found = {(f.labels["bucket"], f.labels["kind"]): f for f in rule().evaluate(ctx)}
    assert set(found) == {("compute", "used"), ("compute", "exhaustion"), ("total", "exhaustion")}
    used = found["compute", "used"]
    assert used.severity is Severity.warning and used.value == pytest.approx(5010 / 6000)
    assert dict(used.labels) == {"credit": "trial", "bucket": "compute", "provider": "Databricks", "kind": "used"}
    early = found["compute", "exhaustion"]
    assert "runs out around 2026-11-25" in early.annotations["summary"]
    assert "before it expires (end of 2026-11-30)" in early.annotations["summary"]
    assert early.evidence["daily_burn_usd"] == 250.0 and early.evidence["remaining_usd"] == 990.0
    # Total: $3,990 left at $300/day → 13.3 days after the 06:00 horizon, 13.05 after noon: Dec 4, after the
    # credit expires, but within warn_days (14).
    assert "runs out around 2026-12-04, in 13.1 day(s)" in found["total", "exhaustion"].annotations["summary"]
    assert found["total", "exhaustion"].evidence["unbucketed_usd"] == 0.0
    quiet = rule(warn_days=7)
    assert ("total", "exhaustion") not in {(f.labels["bucket"], f.labels["kind"]) for f in quiet.evaluate(ctx)}


def test_used_up_bucket_pages_critical_and_says_when(settings: Settings, lake: DuckDbLake) -> None:
    put(lake, "cost_daily", _days(10, 700.0, 0.0, la(2026, 11, 11)))
    ctx = context(settings, lake, la(2026, 11, 11, 12))
    found = {(f.labels["bucket"], f.labels["kind"]): f for f in rule().evaluate(ctx)}
    compute = found["compute", "used"]
    assert compute.severity is Severity.critical and compute.value == pytest.approx(7000 / 6000)
    assert ("compute", "exhaustion") not in found  # used up already: the used alert says it
    assert compute.evidence["projected_exhaustion"] == la(2026, 11, 10).isoformat()  # crossed $6,000 on Nov 9
    assert "used up on 2026-11-09" in compute.annotations["description"]
    assert found["total", "used"].severity is Severity.warning  # $7,000 of $10,000


def test_nothing_before_start_or_after_expiry(settings: Settings, lake: DuckDbLake) -> None:
    put(lake, "cost_daily", _days(10, 700.0, 0.0, la(2026, 11, 11)))
    assert rule(start="2026-11-12").evaluate(context(settings, lake, la(2026, 11, 11, 12))) == []
    assert rule(expires="2026-11-10").evaluate(context(settings, lake, la(2026, 11, 11, 12))) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"buckets": {"a": {"amount_usd": 20000}}}, "more than total_usd"),
        ({"scope": {"sku": "x"}}, "unknown scope dimension"),
        ({"buckets": {"a": {"amount_usd": 1, "scope": {"colour": "x"}}}}, "unknown bucket scope dimension"),
        ({"expires": "2026-10-01"}, "expires is before start"),
    ],
)
def test_invalid_credit_rules_are_config_errors(extra: dict[str, Any], message: str) -> None:
    import yaml

    with pytest.raises(ConfigError, match=message):
        parse_rules(yaml.safe_dump({"rules": [{**TRIAL, **extra}]}))


def test_demo_databricks_trial_burn_down(demo_ctx: Any, demo_lake: DuckDbLake) -> None:
    ctx = demo_ctx()
    trial = rule(expires="2026-12-31")
    burns = {b.bucket: b for b in trial.burns(ctx)}
    spend = {r["service"]: r["c"] for r in demo_lake.query(
        "SELECT service, SUM(billed_cost) AS c FROM cost_daily WHERE provider = 'Databricks' "
        "AND day >= DATE '2026-11-01' GROUP BY 1").to_pylist()}  # fmt: skip
    assert burns["compute"].used_usd == pytest.approx(sum(c for s, c in spend.items() if s in COMPUTE))
    assert burns["mlops"].used_usd == pytest.approx(spend["Model Serving"])
    assert burns["total"].used_usd == pytest.approx(sum(spend.values()))
    assert burns["storage"].used_usd == 0.0  # the demo has no serverless storage
    # The Databricks GCE VMs (platform databricks, provider Google Cloud) are not drawn from the credit.
    assert all(s != "Compute Engine" for s in spend)
    last7 = (
        demo_lake.query(
            "SELECT SUM(billed_cost) / 7 AS c FROM cost_daily WHERE provider = 'Databricks' "
            "AND day BETWEEN DATE '2026-11-15' AND DATE '2026-11-21'"
        )
        .column("c")[0]
        .as_py()
    )
    assert burns["total"].daily_burn_usd == pytest.approx(last7)
