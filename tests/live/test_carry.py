"""Billed spend the inventory does not list (serverless endpoints, cluster fees) is carried into the estimate from
its own billing: by the same hour a week before, else the same hour of the last complete day, else its mean."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from exporters.warehouse import derive
from exporters.warehouse.duckdb import DuckDbLake
from exporters.warehouse.schema.databricks import DATABRICKS_LIST_PRICES, DATABRICKS_USAGE
from exporters.warehouse.schema.live import ESTIMATE_ERRORS
from spendscope.config import Settings
from spendscope.live.carry import carried_from, carried_rows, load_carried, unlisted
from spendscope.live.job import backfill, run_once
from tests.live.conftest import HOUR, MIN, T0
from tests.live.seed import A3_OD, gce, seed_inventory
from tests.live.test_estimate import every, only
from tests.live.test_spend_live import A3_GLOBAL
from tests.seed import seed_costs

CUT = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def row(hour: dt.datetime, usd: float, rid: str = "endpoint-1") -> dict[str, object]:
    return {"hour": hour, "platform": "databricks", "resource_id": rid, "resource_name": "llm-chat",
            "provider": "Databricks", "service": "Model Serving", "team": "inference", "project": "ws",
            "billed_usd": usd}  # fmt: skip


def test_an_established_resource_repeats_its_week_and_a_young_one_its_last_day_or_mean() -> None:
    weekly = [row(CUT - HOUR * h, float(h % 24)) for h in range(1, 8 * 24)]  # billed for 8 days
    daily = [row(CUT - HOUR * h, 10.0 + h % 24, "warehouse") for h in range(1, 30)]  # since 29 hours
    new = [row(CUT - HOUR * h, 4.0, "fresh") for h in (1, 3)]  # first billed 3 hours before the cut
    gone = [row(CUT - DAY_AND_HOUR, 9.0, "stopped")]

    got = {c.resource_id: c for c in carried_from(weekly + daily + new + gone, {"databricks": CUT})}

    assert set(got) == {"endpoint-1", "warehouse", "fresh"}  # "stopped": nothing in the last complete day
    at = CUT + 5 * HOUR
    assert got["endpoint-1"].rate(at) == (float((7 * 24 - 5) % 24), "billed Fri 17:00 UTC a week before")
    rate, how = got["warehouse"].rate(at)
    assert rate == 10.0 + 19 and "on its last complete day" in how  # 17:00 the day before: 19 hours before the cut
    assert got["fresh"].rate(at) == (8.0 / 3, "its mean over 3 complete hour(s) since it was first billed")


DAY_AND_HOUR = dt.timedelta(days=1, hours=1)


def test_carried_rows_cover_the_hour_so_far_and_project_its_end() -> None:
    (c,) = carried_from([row(CUT - HOUR * h, 6.0) for h in range(1, 25)], {"databricks": CUT})

    rows = carried_rows([c], [CUT + 2 * HOUR], CUT + 2 * HOUR + 15 * MIN, {"databricks": 0.9}, CUT)

    (r,) = rows
    assert r["component"] == "carried" and r["price_source"] == "billing-observed"
    assert r["usd_raw"] == pytest.approx(1.5) and r["usd"] == pytest.approx(1.35)
    assert r["projected_usd"] == pytest.approx(5.4) and r["running"]
    assert (r["provider"], r["service"], r["team"]) == ("Databricks", "Model Serving", "inference")
    assert "carried at $6.00/h" in r["basis"] and "not in the inventory" in r["basis"]


def test_a_serverless_endpoint_is_found_missing_then_carried_and_stays_unmatched(
    priced: DuckDbLake, settings: Settings
) -> None:
    day0 = T0.replace(hour=0) - dt.timedelta(days=1)
    billing = []
    for h in range(24 + 13):  # billing through today 13:00
        start = day0 + HOUR * h
        billing.append({"BilledCost": 90.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
                        "ResourceId": A3_GLOBAL, "ResourceName": "a3-train-01", "Tags": '{"team": "ml"}',
                        "ChargePeriodStart": start})  # fmt: skip
        billing.append({"BilledCost": 3.0, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine",
                        "ResourceId": "serverless-1", "ResourceName": "endpoint", "Tags": '{"team": "inference"}',
                        "ChargePeriodStart": start})  # fmt: skip
    seed_costs(priced, billing)
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, day0, T0 + 30 * MIN)])
    # Yesterday: estimated and reconciled (the endpoint billed, unmatched); today: carried, reconciled to 07:00.
    backfill(priced, settings, day0.date(), T0.date(), T0 + 30 * MIN)

    run = run_once(priced, settings, T0 + 30 * MIN)

    carried = only(run.rows, component="carried", hour=T0)
    assert carried["resource_id"] == "serverless-1" and carried["team"] == "inference"
    assert carried["usd_raw"] == pytest.approx(1.5)  # 13:00–13:30 at yesterday's $3 for 13:00
    assert carried["projected_usd"] == pytest.approx(3.0 * carried["correction"])  # the platform's factor applies
    assert run.running_usd_per_hour == pytest.approx((A3_OD + 3.0) * carried["correction"])
    missed = priced.query(
        "SELECT DISTINCT matched, estimated_raw_usd > 0 AS carried FROM estimate_errors "
        "WHERE resource_id = 'serverless-1' AND hour >= @today",
        {"today": T0.replace(hour=0)},
    ).to_pylist()
    assert missed == [{"matched": False, "carried": True}]  # reconciled today: still unmatched, now carried


def _dbu_usage(rid: str, key: str, hours: list[dt.datetime], dbus: float) -> list[dict[str, object]]:
    """databricks_usage rows (system.billing.usage shape, synthetic): `dbus` per hour for the resource `rid`."""
    return [
        {"record_id": f"{rid}-{h:%d%H}", "account_id": "acct", "workspace_id": "1",
         "sku_name": "PREMIUM_SERVERLESS_REAL_TIME_INFERENCE", "cloud": "GCP", "usage_start_time": h,
         "usage_end_time": h + HOUR, "usage_date": h.date(), "usage_unit": "DBU", "usage_quantity": dbus,
         "usage_metadata": {key: rid}, "record_type": "ORIGINAL", "_day": h.date(), "_source": "test"}
        for h in hours
    ]  # fmt: skip


def _seed_databricks_billing(lake: DuckDbLake) -> None:
    """A serving endpoint and a cluster billed in DBUs for the day before CUT, at $0.10/DBU (synthetic rows)."""
    hours = [CUT - HOUR * h for h in range(1, 25)]
    rows = _dbu_usage("ep-1", "endpoint_id", hours, 30.0) + _dbu_usage("0921-abc", "cluster_id", hours, 5.0)
    price = {"default": 0.1, "promotional": {"default": 0.1}, "effective_list": {"default": 0.1}}
    lake.replace("databricks_list_prices", pa.Table.from_pylist([
        {"price_start_time": CUT - 30 * DAY_AND_HOUR, "account_id": "acct", "cloud": "GCP", "currency_code": "USD",
         "usage_unit": "DBU", "sku_name": "PREMIUM_SERVERLESS_REAL_TIME_INFERENCE", "pricing": price,
         "_day": (CUT - 30 * DAY_AND_HOUR).date(), "_source": "test"}], schema=DATABRICKS_LIST_PRICES), [])  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=DATABRICKS_USAGE)
    lake.replace("databricks_usage", table, [{"_day": d} for d in sorted({h.date() for h in hours})])
    for day in sorted({h.date() for h in hours}):
        derive.refresh(lake, "databricks_usage", [day], "UTC")


def test_before_its_first_reconciliation_databricks_is_seeded_from_its_dbu_billing(lake: DuckDbLake) -> None:
    _seed_databricks_billing(lake)

    carried = {c.resource_id: c for c in load_carried(lake, {"databricks": CUT})}

    assert set(carried) == {"ep-1", "0921-abc"} and all(c.seeded for c in carried.values())
    assert carried["ep-1"].rate(CUT + HOUR)[0] == pytest.approx(3.0)  # 30 DBU × $0.10, its last complete day
    # The cluster is an inventory item the estimate prices: only the endpoint stays carried, listed or not.
    snaps = [{"platform": "databricks", "resource_id": "0921-abc", "kind": "cluster"},
             {"platform": "databricks", "resource_id": "ep-1", "kind": "serving_endpoint"}]  # fmt: skip
    assert [c.resource_id for c in unlisted(list(carried.values()), snaps)] == ["ep-1"]


def test_once_reconciliation_has_judged_the_whole_last_day_the_carry_comes_from_it_alone(lake: DuckDbLake) -> None:
    _seed_databricks_billing(lake)

    def judge(hours: range) -> None:
        rows = [{"hour": CUT - h * HOUR, "platform": "databricks", "level": "platform", "estimated_usd": 1.0,
                 "billed_usd": 1.0, "_day": (CUT - h * HOUR).date(), "_source": "test"} for h in hours]  # fmt: skip
        lake.append("estimate_errors", pa.Table.from_pylist(rows, schema=ESTIMATE_ERRORS))

    judge(range(1, 4))  # three hours judged: the rest of the day is unknown, so billing still seeds the carry
    assert {c.resource_id for c in load_carried(lake, {"databricks": CUT})} == {"ep-1", "0921-abc"}
    judge(range(4, 25))  # the whole day judged, nothing unmatched recorded: nothing to carry
    assert load_carried(lake, {"databricks": CUT}) == []
