"""`spend_live`: billed hourly cost before each platform's complete-billing cut, the live estimate after it —
every row says which, and no hour of a platform is in both (a real lake; billing seeded as FOCUS rows)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from exporters.warehouse.duckdb import DuckDbLake
from spendscope.config import Settings
from spendscope.config_live import LiveConfig
from spendscope.live import complete
from spendscope.live.job import backfill, run_once
from tests.live.conftest import HOUR, MIN, T0
from tests.live.seed import A3_OD, cluster, gce, seed_inventory
from tests.live.test_estimate import every
from tests.seed import seed_costs

DAY0 = T0.replace(hour=0)
A3_GLOBAL = "//compute.googleapis.com/projects/acme/zones/us-central1-a/instances/id-a3-train-01"


def bill_gce(lake: DuckDbLake, hours: int, usd: float) -> None:
    """`hours` billed hours of a3-train-01 from midnight (one FOCUS row per hour, Compute Engine → gce)."""
    rows = [
        {"BilledCost": usd, "ProviderName": "Google Cloud", "ServiceName": "Compute Engine", "ResourceId": A3_GLOBAL,
         "ResourceName": "a3-train-01", "Tags": '{"team": "ml"}', "ChargePeriodStart": DAY0 + HOUR * h}
        for h in range(hours)
    ]  # fmt: skip
    seed_costs(lake, rows)


def live_rows(lake: DuckDbLake) -> list[dict[str, Any]]:
    return lake.query("SELECT * FROM spend_live ORDER BY hour, basis").to_pylist()


def test_hours_before_the_cut_are_billed_and_after_it_estimated(priced: DuckDbLake, settings: Settings) -> None:
    # Billing reaches 13:00 (hours 00..12); settle 6 h → complete until 07:00. The VM ran all day.
    bill_gce(priced, 13, 90.0)
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, DAY0, T0 + 30 * MIN)])
    backfill(priced, settings, DAY0.date(), DAY0.date(), T0 + 30 * MIN)

    rows = live_rows(priced)

    cut = DAY0 + 7 * HOUR
    assert complete.stored_cuts(priced) == {"gce": cut}
    billed = [r for r in rows if r["basis"] == "billed"]
    estimated = [r for r in rows if r["basis"] == "estimated"]
    assert [r["hour"] for r in billed] == [DAY0 + HOUR * h for h in range(7)]
    assert [r["hour"] for r in estimated] == [DAY0 + HOUR * h for h in range(7, 14)]
    assert all(r["usd"] == pytest.approx(90.0) and r["source"] == "focus_import" for r in billed)
    assert all(r["usd"] == pytest.approx(A3_OD) for r in estimated[:-1])
    assert estimated[-1]["usd"] == pytest.approx(A3_OD / 2) and estimated[-1]["projected_usd"] == pytest.approx(A3_OD)
    assert {(r["provider"], r["platform"], r["team"]) for r in rows} == {("Google Cloud", "gce", "ml")}
    total = sum(r["usd"] for r in rows)
    assert total == pytest.approx(7 * 90.0 + 6.5 * A3_OD)  # every dollar once: billed or estimated


def test_no_hour_of_a_platform_is_both_billed_and_estimated(priced: DuckDbLake, settings: Settings) -> None:
    bill_gce(priced, 20, 80.0)
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, DAY0, DAY0 + 23 * HOUR)])
    seed_inventory(priced, [cluster(t, "0921-abc", 2) for t in every(5, DAY0 + 10 * HOUR, DAY0 + 23 * HOUR)])
    backfill(priced, settings, DAY0.date(), DAY0.date(), DAY0 + 23 * HOUR + 30 * MIN)

    both = priced.query(
        "SELECT hour, platform FROM spend_live GROUP BY 1, 2 HAVING COUNT(DISTINCT basis) > 1"
    ).to_pylist()
    bases = priced.query("SELECT platform, basis, COUNT(*) AS n FROM spend_live GROUP BY 1, 2").to_pylist()

    assert both == []
    assert {(r["platform"], r["basis"]) for r in bases} == {
        ("gce", "billed"),
        ("gce", "estimated"),
        ("databricks", "estimated"),  # no Databricks billing: all estimated
    }
    cuts = complete.stored_cuts(priced)
    assert cuts == {"gce": DAY0 + 14 * HOUR, "databricks": complete.EPOCH}


def test_a_platform_is_cut_at_its_least_complete_source() -> None:
    cfg = LiveConfig.model_validate({"settle": "6h", "settle_by_source": {"databricks_usage": "2h"}})
    at = T0 + 3 * HOUR
    reach = [
        ("gcp_billing_export", "gce", T0),  # the export reaches 13:00 overall (the gce rows)
        ("gcp_billing_export", "databricks", T0 - 5 * HOUR),  # Databricks VMs: no rows lately, not less complete
        ("databricks_usage", "databricks", T0 + 2 * HOUR),
    ]

    by_source, cuts = complete.cuts_from(reach, ["gke"], cfg, at)

    assert by_source == {"gcp_billing_export": T0 - 6 * HOUR, "databricks_usage": T0}
    got = {c.platform: (c.complete_until, c.sources) for c in cuts}
    assert got == {
        "gce": (T0 - 6 * HOUR, ("gcp_billing_export",)),
        "databricks": (T0 - 6 * HOUR, ("databricks_usage", "gcp_billing_export")),
        "gke": (complete.EPOCH, ()),  # estimated, never billed
    }


def test_a_cut_never_passes_now_and_is_a_whole_hour() -> None:
    cfg = LiveConfig.model_validate({"settle": "90m"})
    future = T0 + 5 * HOUR  # a charge period ending after "now" (a back-dated evaluation)

    by_source, _ = complete.cuts_from([("focus_import", "gce", future)], [], cfg, T0 + 20 * MIN)

    assert by_source == {"focus_import": T0 - 2 * HOUR}  # floor(13:20 − 1.5 h = 11:50) = 11:00
    assert by_source["focus_import"].minute == 0


def test_spendscope_status_lists_the_cuts(priced: DuckDbLake, settings: Settings) -> None:
    bill_gce(priced, 13, 90.0)
    seed_inventory(priced, [gce(t, "a3-train-01") for t in every(5, T0, T0 + 20 * MIN)])
    run_once(priced, settings, T0 + 20 * MIN)

    state = priced.query("SELECT source, `partition`, watermark FROM ingest_state ORDER BY 1, 2").to_pylist()

    assert {(r["source"], r["partition"], r["watermark"]) for r in state} >= {
        ("spend_live", "gce", DAY0 + 7 * HOUR),
        ("billing_complete", "focus_import", DAY0 + 7 * HOUR),
    }


def test_before_the_live_job_has_run_spend_live_is_the_billed_cost(priced: DuckDbLake) -> None:
    bill_gce(priced, 3, 10.0)

    rows = live_rows(priced)

    assert [(r["basis"], r["usd"]) for r in rows] == [("billed", 10.0)] * 3
    assert dt.timedelta(hours=1) == rows[0]["data_until"] - rows[0]["hour"]
