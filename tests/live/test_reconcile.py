"""Reconciliation over a real lake: the estimate against the bill per platform and resource once billing covers an
hour, the per-platform correction factor learned from it (median, clamped, explained) and applied to new
estimates, and DBU rates / SKUs learned from Databricks billing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema.databricks import DATABRICKS_USAGE
from spendscope.config import Settings
from spendscope.config_live import LiveConfig
from spendscope.live import inputs
from spendscope.live.factors import factors, learn
from spendscope.live.job import backfill, run_once
from tests.live.conftest import HOUR, MIN, T0
from tests.live.seed import A3_OD, DBU_PRICES, cluster, gce, seed_inventory
from tests.live.test_estimate import every, only
from tests.live.test_spend_live import A3_GLOBAL, DAY0
from tests.seed import seed_costs


def errors(lake: DuckDbLake, level: str) -> list[dict[str, Any]]:
    sql = "SELECT * FROM estimate_errors WHERE level = @level ORDER BY hour, resource_id"
    return lake.query(sql, {"level": level}).to_pylist()


def with_live(settings: Settings, **live: Any) -> Settings:
    data = settings.model_dump(exclude={"source"})
    return Settings.model_validate({**data, "live": {**data["live"], **live}})


def bill(lake: DuckDbLake, hours: range, usd: float, orphan_usd: float = 0.0) -> None:
    rows = [
        {"BilledCost": usd, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine", "ResourceId": A3_GLOBAL,
         "ResourceName": "a3-train-01", "ChargePeriodStart": DAY0 + HOUR * h}
        for h in hours
    ]  # fmt: skip
    if orphan_usd:
        rows += [
            {"BilledCost": orphan_usd, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
             "ResourceId": "//compute.googleapis.com/projects/acme/zones/us-central1-a/instances/99",
             "ResourceName": "unlisted-vm", "ChargePeriodStart": DAY0 + HOUR * h}
            for h in hours
        ]  # fmt: skip
    seed_costs(lake, rows)


def test_complete_hours_are_compared_per_platform_and_per_resource(priced: DuckDbLake, settings: Settings) -> None:
    bill(priced, range(13), 90.0, orphan_usd=5.0)  # billing reaches 13:00 → complete until 07:00
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, DAY0, T0)])

    backfill(priced, settings, DAY0.date(), DAY0.date(), T0)

    platform = errors(priced, "platform")
    assert [r["hour"] for r in platform] == [DAY0 + HOUR * h for h in range(7)]
    first = platform[0]
    assert first["estimated_raw_usd"] == pytest.approx(A3_OD) and first["billed_usd"] == pytest.approx(95.0)
    assert first["ratio"] == pytest.approx(95.0 / A3_OD)
    assert first["error_usd"] == pytest.approx(A3_OD - 95.0)
    assert first["error_ratio"] == pytest.approx((A3_OD - 95.0) / 95.0)
    assert first["complete_until"] == DAY0 + 7 * HOUR
    resources = errors(priced, "resource")
    matched = [r for r in resources if r["matched"]]
    missed = [r for r in resources if not r["matched"]]
    assert {r["resource_id"] for r in matched} == {"id-a3-train-01"}  # by the global name's last segment
    assert all(r["billed_usd"] == pytest.approx(90.0) and r["price_source"] == "catalog" for r in matched)
    assert {(r["resource_name"], r["billed_usd"]) for r in missed} == {("unlisted-vm", 5.0)}
    assert len(matched) == len(missed) == 7


def test_hours_the_estimate_did_not_run_for_are_not_counted_as_misses(priced: DuckDbLake, settings: Settings) -> None:
    bill(priced, range(13), 90.0)
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, DAY0 + 3 * HOUR, T0)])  # job up from 03:00

    backfill(priced, settings, DAY0.date(), DAY0.date(), T0)

    assert [r["hour"] for r in errors(priced, "platform")] == [DAY0 + HOUR * h for h in range(3, 7)]


def test_the_factor_is_the_median_ratio_and_applies_to_new_estimates(priced: DuckDbLake, settings: Settings) -> None:
    bill(priced, range(13), 0.86 * A3_OD)
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, DAY0, T0 + 40 * MIN)])
    tuned = with_live(settings, correction_min_samples=5)
    backfill(priced, tuned, DAY0.date(), DAY0.date(), T0)

    learned = factors(priced, tuned.live, T0)
    run = run_once(priced, tuned, T0 + 30 * MIN)

    gce_factor = learned["gce"]
    assert gce_factor.value == pytest.approx(0.86) and gce_factor.samples == 7 and not gce_factor.clamped
    assert "gce: ×0.860 = median billed/estimated over 7 complete hours of the last 7 days" in gce_factor.explain()
    row = only(run.rows, hour=T0)
    assert row["correction"] == pytest.approx(0.86)
    assert row["usd"] == pytest.approx(0.86 * row["usd_raw"]) and row["usd_raw"] == pytest.approx(A3_OD / 2)
    stored = priced.query("SELECT correction FROM cost_estimates WHERE hour = @h", {"h": T0}).to_pylist()
    assert stored == [{"correction": pytest.approx(0.86)}]


def test_a_factor_is_clamped_and_waits_for_enough_hours() -> None:
    cfg = LiveConfig.model_validate({"correction_min_samples": 3})
    rows = [{"platform": "gke", "raw": 100.0, "billed": b} for b in (40.0, 50.0, 60.0)]
    rows += [{"platform": "gce", "raw": 100.0, "billed": 99.0}] * 2 + [{"platform": "gce", "raw": 0.5, "billed": 9.0}]

    got = learn(rows, cfg)

    assert got["gke"].value == 0.8 and got["gke"].median == pytest.approx(0.5) and got["gke"].clamped
    assert "clamped to [0.8, 1.25]" in got["gke"].explain()
    assert got["gce"].value == 1.0 and got["gce"].samples == 2  # the $0.50 hour teaches nothing
    assert "learning: 2 of 3 complete hours" in got["gce"].explain()


def usage(cid: str, hours: list[dt.datetime], dbus: float, sku: str) -> pa.Table:
    """databricks_usage rows (system.billing.usage shape, synthetic): `dbus` per hour for cluster `cid`."""
    rows = [
        {"record_id": f"{cid}-{h:%H}", "account_id": "acct", "workspace_id": "1", "sku_name": sku, "cloud": "GCP",
         "usage_start_time": h, "usage_end_time": h + HOUR, "usage_date": h.date(), "usage_unit": "DBU",
         "usage_quantity": dbus, "usage_metadata": {"cluster_id": cid}, "record_type": "ORIGINAL",
         "_day": h.date(), "_source": "test"}
        for h in hours
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=DATABRICKS_USAGE)


def test_dbu_rates_and_skus_are_learned_from_databricks_billing(priced: DuckDbLake, settings: Settings) -> None:
    plain = with_live(settings, dbu_per_hour={})
    times = every(5, DAY0, T0 + 30 * MIN)
    seed_inventory(priced, [cluster(t, "0921-abc", 2) for t in times] + [cluster(t, "0915-new", 1) for t in times])
    hours = [DAY0 + HOUR * h for h in range(10)]
    priced.replace("databricks_usage", usage("0921-abc", hours, 2 * 38.0, "PREMIUM_ALL_PURPOSE_COMPUTE"),
                   [{"_day": DAY0.date()}])  # fmt: skip
    backfill(priced, plain, DAY0.date(), DAY0.date(), T0)  # no DBU rate yet: the clusters are unpriced

    rates = inputs.learned_dbu_rates(priced, T0, 14)
    skus = inputs.observed_skus(priced, T0, 14)
    run = run_once(priced, plain, T0 + 30 * MIN)

    assert rates["a3-highgpu-8g"].dbu_per_hour == pytest.approx(38.0) and rates["a3-highgpu-8g"].samples == 10
    assert skus == {"0921-abc": "PREMIUM_ALL_PURPOSE_COMPUTE"}
    billed_sku = only(run.rows, resource_id="0921-abc", component="dbu", hour=T0)
    assert billed_sku["sku"] == "PREMIUM_ALL_PURPOSE_COMPUTE"  # billing's SKU beats the JobId tag's guess
    assert billed_sku["usd_per_hour"] == pytest.approx(2 * 38.0 * DBU_PRICES["PREMIUM_ALL_PURPOSE_COMPUTE"])
    assert "(2 node(s), learned)" in billed_sku["basis"]
    new = only(run.rows, resource_id="0915-new", component="dbu", hour=T0)
    assert new["sku"] == "PREMIUM_JOBS_COMPUTE" and new["usd_per_hour"] == pytest.approx(38.0 * 0.15)
