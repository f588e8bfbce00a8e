"""parse.py (pure): listed Budget protos → GcpBudget with the API's defaults explicit; specs → the Budget a sync sends.

The protos are the fixture's documented JSON parsed by protobuf's json_format into budgets_v1.Budget — what the REST
transport does with a response body.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from google.cloud.billing import budgets_v1
from google.protobuf import json_format

from collectors.gcp_budgets.parse import budget_from_proto, from_rows, money, to_proto, to_table
from collectors.gcp_budgets.spec import CURRENT, FORECASTED, LAST_PERIOD, BudgetSpec, GcpBudget, Threshold
from tests.gcp_budgets.budget_api import ACCOUNT, fixture_budgets


def proto(doc: dict[str, Any]) -> Any:
    return budgets_v1.Budget.wrap(json_format.Parse(json.dumps(doc), budgets_v1.Budget.pb(budgets_v1.Budget())))


def parsed() -> dict[str, GcpBudget]:
    return {b.display_name: b for b in (budget_from_proto(proto(d)) for d in fixture_budgets())}


def test_a_managed_budget_reads_with_its_filter_amount_thresholds_and_etag() -> None:
    b = parsed()["spendscope:team-monthly/ml-research"]
    assert b.managed and b.etag == "6f1d3c0a9b8e7d21"
    assert b.name == f"billingAccounts/{ACCOUNT}/budgets/8b1f0a52-6c1e-4f0e-9a33-0c1d2e3f4a5b"
    assert b.spec == BudgetSpec(amount=15000.0, currency="USD", calendar_period="MONTH",
                                labels=(("team", ("ml-research",)),), credit_types_treatment="INCLUDE_ALL_CREDITS",
                                thresholds=(Threshold(CURRENT, 0.7), Threshold(CURRENT, 0.9)))  # fmt: skip


def test_defaults_become_explicit_and_custom_periods_and_nanos_are_kept() -> None:
    got = parsed()
    platform = got["ML platform (finance)"].spec  # no creditTypesTreatment, no spendBasis
    assert (platform.credit_types_treatment, platform.thresholds) == ("INCLUDE_ALL_CREDITS", (Threshold(CURRENT, 0.9),))
    fy = got["GPU project FY26"].spec
    assert (fy.calendar_period, fy.custom_start, fy.custom_end) == (None, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert fy.amount == 250000.5 and fy.services == ("services/6F81-5844-456A",)
    finance = got["Finance: whole account"]
    assert not finance.managed
    assert (finance.spec.amount_type, finance.spec.amount, finance.spec.calendar_period) == (
        LAST_PERIOD,
        None,
        "QUARTER",
    )
    assert Threshold(FORECASTED, 1.0) in finance.spec.thresholds
    no_period = budget_from_proto(proto({"name": "billingAccounts/x/budgets/y", "displayName": "d"}))
    assert no_period.spec.calendar_period == "MONTH"  # the Budget API's default period


def test_other_filters_are_kept_so_a_diff_sees_them() -> None:
    doc = {"name": "n", "displayName": "d", "budgetFilter": {"resourceAncestors": ["folders/123"],
           "subaccounts": ["billingAccounts/AAAAAA-BBBBBB-CCCCCC"]}}  # fmt: skip
    assert budget_from_proto(proto(doc)).spec.other_filters == (
        "resource_ancestors=folders/123", "subaccounts=billingAccounts/AAAAAA-BBBBBB-CCCCCC")  # fmt: skip


@pytest.mark.parametrize(("amount", "units", "nanos"), [(1234.56, 1234, 560000000), (30000.0, 30000, 0),
                                                        (0.999999999999, 1, 0)])  # fmt: skip
def test_money_is_units_and_nanos(amount: float, units: int, nanos: int) -> None:
    m = money(amount, "USD")
    assert (m.units, m.nanos, m.currency_code) == (units, nanos, "USD")


def test_a_spec_round_trips_through_the_budget_a_create_sends() -> None:
    spec = BudgetSpec(amount=20000.25, currency="USD", projects=("projects/p",), labels=(("team", ("t",)),),
                      services=("services/6F81-5844-456A",),
                      thresholds=(Threshold(CURRENT, 0.7), Threshold(FORECASTED, 0.9)))  # fmt: skip
    sent = to_proto(spec, display_name="spendscope:x")
    back = budget_from_proto(sent)
    assert back.spec == spec and back.display_name == "spendscope:x"


def test_an_update_sends_only_the_fields_it_names() -> None:
    spec = BudgetSpec(amount=5.0, currency="USD", thresholds=(Threshold(CURRENT, 1.0),))
    body = json.loads(json_format.MessageToJson(budgets_v1.Budget.pb(to_proto(spec, name="n", etag="e",
                                                                              fields=["amount"]))))  # fmt: skip
    assert body == {"name": "n", "etag": "e", "amount": {"specifiedAmount": {"currencyCode": "USD", "units": "5"}}}


def test_rows_round_trip_in_the_table_schema() -> None:
    budgets = sorted(parsed().values(), key=lambda b: (b.display_name, b.name))
    at = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    table = to_table(budgets, ACCOUNT, at)
    assert table.column("_day").to_pylist() == [dt.date(2026, 11, 20)] * len(budgets)
    assert from_rows(table.to_pylist()) == budgets
