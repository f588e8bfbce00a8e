"""`collect focus --from-file`: provider flavours, replace semantics, quarantine, missing columns.

Fixtures are SYNTHETIC files written to each provider's documented FOCUS layout (see
tests/fixtures/focus/README.md); the ingest runs through the real runner into a real Delta lake.
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from collectors.base import RunContext
from collectors.focus.collector import FocusCollector
from spendscope.errors import MissingColumnsError
from spendscope.ingest import run
from tests.focus.helpers import FLAVOURS, FOCUS, as_decimal, costs_daily, expected_daily


def ingest(ctx: RunContext, *paths: Path | str):
    return run(FocusCollector(), ctx, [str(p) for p in paths])


@pytest.mark.parametrize("name", FLAVOURS)
def test_each_flavour_daily_totals_equal_sum_of_billed_cost(ctx: RunContext, name: str) -> None:
    summary = ingest(ctx, FOCUS / name)
    assert not summary.quarantined
    assert costs_daily(ctx.warehouse) == as_decimal(expected_daily(FOCUS / name))


def test_gzip_csv_gives_same_totals_as_plain(ctx: RunContext, tmp_path: Path) -> None:
    gz = tmp_path / "aws_focus_1_0.csv.gz"
    gz.write_bytes(gzip.compress((FOCUS / "aws_focus_1_0.csv").read_bytes()))
    ingest(ctx, gz)
    assert costs_daily(ctx.warehouse) == as_decimal(expected_daily(FOCUS / "aws_focus_1_0.csv"))


def test_x_team_and_other_x_columns_come_from_tags(ctx: RunContext) -> None:
    ingest(ctx, FOCUS / "aws_focus_1_0.csv", FOCUS / "gcp_focus_bigquery.csv")
    rows = ctx.warehouse.query(
        "SELECT ResourceName, ServiceName, x_Team, x_Env, x_Workload, x_Platform, x_GpuModel, x_IsSpot FROM focus_costs"
    ).to_pylist()
    trainer = next(r for r in rows if r["ResourceName"] == "trainer-0")
    assert (trainer["x_Team"], trainer["x_Env"], trainer["x_Workload"]) == ("ml", "prod", "llm-train")
    spot = next(r for r in rows if r["x_Team"] == "research")
    assert spot["x_IsSpot"] is True
    a3 = next(r for r in rows if r["ResourceName"] == "a3-0")
    assert (a3["x_Team"], a3["x_Platform"], a3["x_GpuModel"]) == ("ml", "gce", "H100")
    gke = next(r for r in rows if r["ServiceName"] == "Kubernetes Engine")
    assert (gke["x_Team"], gke["x_Platform"], gke["x_GpuModel"]) == ("platform", "gke", None)
    eks = next(r for r in rows if r["ServiceName"] == "Amazon Elastic Kubernetes Service")
    assert (eks["x_Team"], eks["x_Platform"]) == (None, "other")  # EKS is not GKE


def test_nested_and_braceless_tags_are_stringified(ctx: RunContext) -> None:
    ingest(ctx, FOCUS / "azure_focus_1_0r2.csv", FOCUS / "oci_focus_1_0.csv")
    tags = {r["ResourceName"] or r["ChargeDescription"]: r for r in ctx.warehouse.query(
        "SELECT ResourceName, ChargeDescription, Tags, x_Team FROM focus_costs").to_pylist()}  # fmt: skip
    assert (
        tags["nd-h100-0"]["Tags"] == '{"team":"ml","cost-center":"{\\"id\\":42,\\"name\\":\\"ai\\"}","retain":"true"}'
    )
    assert tags["bm-gpu-h100-0"]["Tags"] == (
        '{"orcl-cloud.free-tier-retained":"true","Oracle-Tags":"{\\"CreatedBy\\":\\"alice\\"}","team":"ml"}'
    )
    assert tags["Standard SSD Managed Disks - E10 LRS"]["x_Team"] == "platform"  # Azure tags without braces
    assert tags["Object Storage - Storage"]["Tags"] is None  # OCI "null"


def test_azure_costs_stay_in_billing_currency_not_usd_extension(ctx: RunContext) -> None:
    ingest(ctx, FOCUS / "azure_focus_1_0r2.csv")
    row = ctx.warehouse.query(
        "SELECT BilledCost, BillingCurrency FROM focus_costs WHERE ResourceName = 'nd-h100-0'"
    ).to_pylist()[0]
    assert row == {"BilledCost": 94.3872, "BillingCurrency": "EUR"}


def test_same_file_twice_gives_same_totals(ctx: RunContext) -> None:
    ingest(ctx, FOCUS / "aws_focus_1_0.csv")
    first = costs_daily(ctx.warehouse)
    ingest(ctx, FOCUS / "aws_focus_1_0.csv")
    assert costs_daily(ctx.warehouse) == first
    n = ctx.warehouse.query("SELECT COUNT(*) AS n FROM focus_import").to_pylist()[0]["n"]
    assert n == 5


def test_redelivered_file_with_same_name_replaces_its_rows(ctx: RunContext, tmp_path: Path) -> None:
    old, new = tmp_path / "old" / "export.csv", tmp_path / "new" / "export.csv"
    old.parent.mkdir()
    new.parent.mkdir()
    shutil.copy(FOCUS / "aws_focus_1_0.csv", old)
    # The re-delivery corrects the p5 hour and adds a day.
    text = (FOCUS / "aws_focus_1_0.csv").read_text().replace("98.32", "90.00")
    last = text.strip().splitlines()[-1].replace("2025-01-01T00:00:00.000Z,Usage", "2025-01-03T00:00:00.000Z,Usage")
    new.write_text(text + last.replace("2025-01-01T00:00:00.000Z", "2025-01-03T00:00:00.000Z") + "\n")
    ingest(ctx, old)
    ingest(ctx, new)
    got = costs_daily(ctx.warehouse)
    assert got[dt.date(2025, 1, 1)] == Decimal("91.273")  # 90.00 + 0.023 + 1.25 tax, old rows gone
    assert got[dt.date(2025, 1, 3)] == Decimal("1.25")


def test_different_files_covering_same_days_both_stay(ctx: RunContext, tmp_path: Path) -> None:
    part2 = tmp_path / "aws_focus_1_0-part2.csv"
    shutil.copy(FOCUS / "aws_focus_1_0.csv", part2)
    ingest(ctx, FOCUS / "aws_focus_1_0.csv")
    ingest(ctx, part2)
    once = expected_daily(FOCUS / "aws_focus_1_0.csv")
    assert costs_daily(ctx.warehouse) == as_decimal({d: 2 * v for d, v in once.items()})


def test_files_sharing_a_name_in_one_run_are_all_kept(ctx: RunContext, tmp_path: Path) -> None:
    a, b = tmp_path / "acct-a" / "focus-00001.csv", tmp_path / "acct-b" / "focus-00001.csv"
    for p in (a, b):
        p.parent.mkdir()
        shutil.copy(FOCUS / "aws_focus_1_0.csv", p)
    summary = ingest(ctx, a, b)
    assert summary.rows == {"focus_import": 10}
    once = expected_daily(FOCUS / "aws_focus_1_0.csv")
    assert costs_daily(ctx.warehouse) == as_decimal({d: 2 * v for d, v in once.items()})
    ingest(ctx, a, b)  # and again: still twice, not four times
    assert costs_daily(ctx.warehouse) == as_decimal({d: 2 * v for d, v in once.items()})


def test_bad_rows_are_quarantined_with_file_line_and_reason(ctx: RunContext) -> None:
    path = FOCUS / "bad_rows.csv"
    summary = ingest(ctx, path)
    got = [(q.file, q.line, q.reason) for q in summary.quarantined]
    assert got == [
        (str(path), 3, "ChargePeriodStart: cannot parse '2025-13-45T00:00:00Z'"),
        (str(path), 4, "BilledCost: cannot parse '12;50'"),
        (str(path), 5, "BilledCost is null (FOCUS: MUST NOT be null)"),
        (str(path), 6, "ChargePeriodEnd is before ChargePeriodStart"),
        (str(path), 7, "expected 7 fields, found 4"),
        (str(path), 10, "Tags: cannot parse '[1 2]'"),  # line 8-9 is one record over two lines
    ]
    stored = ctx.warehouse.query("SELECT table_name, file, line, reason, raw FROM quarantine ORDER BY line").to_pylist()
    assert [(r["table_name"], r["line"]) for r in stored] == [("focus_import", n) for n in (3, 4, 5, 6, 7, 10)]
    assert stored[1]["raw"] == "2025-01-11T00:00:00Z,2025-01-11T01:00:00Z,12;50,AWS,EC2,bad cost,"
    assert costs_daily(ctx.warehouse) == {dt.date(2025, 1, 11): Decimal("10.5"), dt.date(2025, 1, 12): Decimal("4")}


def test_missing_required_column_names_it_and_writes_nothing(ctx: RunContext, tmp_path: Path) -> None:
    broken = tmp_path / "no_cost.csv"
    broken.write_text("ChargePeriodStart,ChargePeriodEnd,ProviderName\n2025-01-01T00:00:00Z,2025-01-01T01:00:00Z,AWS\n")
    with pytest.raises(MissingColumnsError) as err:
        # The good file comes first: headers of every file are checked before anything is written.
        ingest(ctx, FOCUS / "aws_focus_1_0.csv", broken)
    assert err.value.missing == ["BilledCost"]
    assert "BilledCost" in str(err.value) and str(broken) in str(err.value)
    assert ctx.warehouse.table_version("focus_import") is None
    assert ctx.warehouse.table_version("cost_daily") is None


def test_extra_and_custom_columns_are_ignored(ctx: RunContext) -> None:
    ingest(ctx, FOCUS / "aws_focus_1_0.csv")
    cols = ctx.warehouse.query("SELECT * FROM focus_import LIMIT 0").column_names
    assert not {"x_UsageType", "x_ServiceCode", "x_Operation", "x_CostCategories", "x_Discounts"} & set(cols)
    assert [c for c in cols if c.startswith("x_")] == ["x_SourceFile"]
    assert costs_daily(ctx.warehouse) == as_decimal(expected_daily(FOCUS / "aws_focus_1_0.csv"))


@pytest.mark.parametrize("content", ["", "\ufeff", "BilledCost,ChargePeriodStart,ChargePeriodEnd\n"])
def test_empty_file_ingests_zero_rows(ctx: RunContext, tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content, encoding="utf-8")
    summary = ingest(ctx, path)
    assert summary.total_rows == 0 and not summary.quarantined


def test_focus_1_0_file_without_newer_columns_parses(ctx: RunContext) -> None:
    ingest(ctx, FOCUS / "aws_focus_1_0.csv")
    row = ctx.warehouse.query(
        "SELECT InvoiceId, SkuMeter, CapacityReservationId, BilledCost, ProviderName, RegionId FROM focus_import"
        " WHERE ResourceName = 'trainer-0'"
    ).to_pylist()[0]
    assert row == {"InvoiceId": None, "SkuMeter": None, "CapacityReservationId": None, "BilledCost": 98.32,
                   "ProviderName": "AWS", "RegionId": "us-east-1"}  # fmt: skip


def test_focus_1_3_provider_comes_from_service_provider_name(ctx: RunContext) -> None:
    ingest(ctx, FOCUS / "focus_1_3.csv")
    rows = ctx.warehouse.query("SELECT DISTINCT ProviderName, x_Platform FROM focus_costs").to_pylist()
    assert rows == [{"ProviderName": "Databricks", "x_Platform": "databricks"}]
    newer = ctx.warehouse.query(
        "SELECT InvoiceId, SkuPriceDetails, BillingAccountType, PricingCurrencyEffectiveCost FROM focus_import"
        " WHERE BilledCost = 12.5"
    ).to_pylist()
    assert newer == [{"InvoiceId": "INV-1", "SkuPriceDetails": '{"DBUTier":"premium"}',
                      "BillingAccountType": "Billing Account", "PricingCurrencyEffectiveCost": 12.5}]  # fmt: skip


def test_headers_match_case_insensitively(ctx: RunContext, tmp_path: Path) -> None:
    path = tmp_path / "lower.csv"
    path.write_text(
        "billedcost,CHARGEPERIODSTART,chargePeriodEnd,providername,TAGS\n"
        '1.5,2025-02-01T00:00:00+00:00,2025-02-01T01:00:00+00:00,AWS,"{""team"":""ml""}"\n'
    )
    ingest(ctx, path)
    rows = ctx.warehouse.query("SELECT BilledCost, ProviderName, x_Team FROM focus_costs").to_pylist()
    assert rows == [{"BilledCost": 1.5, "ProviderName": "AWS", "x_Team": "ml"}]
