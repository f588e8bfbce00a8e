"""diff.py (pure): the scenario's plan against the fixture account — create / update (fields, from → to) /
unchanged / orphan / conflict — and the side-by-side view; budgets not named `spendscope:` are never changed."""

from __future__ import annotations

import dataclasses

from collectors.gcp_budgets.diff import FieldChange, beside, diff
from collectors.gcp_budgets.plan import Plan, PlanInputs, plan
from collectors.gcp_budgets.spec import BudgetSpec, GcpBudget
from tests.gcp_budgets.budget_api import ACCOUNT
from tests.gcp_budgets.scenario import NOT_OURS, PROJECT, RESEARCH, RETIRED, budget_rules
from tests.gcp_budgets.test_parse import parsed


def scenario() -> tuple[Plan, list[GcpBudget]]:
    return plan(budget_rules(), PlanInputs(billing_account=ACCOUNT)), list(parsed().values())


def test_the_scenario_diff_creates_updates_and_leaves_the_rest() -> None:
    planned, existing = scenario()
    got = [(c.action, c.display_name, c.existing.name if c.existing else None, c.mask) for c in diff(planned, existing)]
    assert got == [
        ("create", "spendscope:team-monthly/ml-platform", None, []),
        ("update", "spendscope:team-monthly/ml-research", RESEARCH, ["amount", "threshold_rules"]),
        ("unchanged", "spendscope:project-monthly/acme-ml-prod", PROJECT, []),
        ("create", "spendscope:gce-monthly", None, []),
        ("orphan", "spendscope:retired-rule", RETIRED, []),
    ]
    assert not NOT_OURS & {c.existing.name for c in diff(planned, existing) if c.existing}
    assert [s.budget for s in planned.skipped] == ["fleet-daily", "dbx-monthly"]


def test_an_update_says_each_field_from_what_to_what() -> None:
    planned, existing = scenario()
    (update,) = [c for c in diff(planned, existing) if c.action == "update"]
    assert update.fields == (
        FieldChange("amount", "15,000.00 USD", "20,000.00 USD"),
        FieldChange("threshold_rules", "70%, 90%", "70%, 90%, 70% forecast, 90% forecast"),
    )


def test_a_changed_filter_is_one_budget_filter_change() -> None:
    planned, existing = scenario()
    moved = [dataclasses.replace(b, spec=dataclasses.replace(b.spec, projects=("projects/other",)))
             if b.name == PROJECT else b for b in existing]  # fmt: skip
    (c,) = [c for c in diff(planned, moved) if c.display_name == "spendscope:project-monthly/acme-ml-prod"]
    assert c.fields == (FieldChange("budget_filter", "MONTH; projects: other; credits INCLUDE_ALL_CREDITS",
                                    "MONTH; projects: acme-ml-prod; credits INCLUDE_ALL_CREDITS"),)  # fmt: skip


def test_a_non_spendscope_budget_with_our_scope_or_name_is_never_a_target() -> None:
    planned, existing = scenario()
    research = next(b for b in existing if b.name == RESEARCH)
    lookalike = GcpBudget(f"billingAccounts/{ACCOUNT}/budgets/x", "team-monthly/ml-research", research.spec)
    changes = diff(planned, [*existing, lookalike])
    assert lookalike.name not in {c.existing.name for c in changes if c.existing}
    assert changes == diff(planned, existing)


def test_two_budgets_with_one_managed_name_are_a_conflict_left_alone() -> None:
    planned, existing = scenario()
    twin = next(b for b in existing if b.name == RESEARCH)
    twin = dataclasses.replace(twin, name=twin.name + "-twin")
    (c,) = [c for c in diff(planned, [*existing, twin]) if c.display_name == twin.display_name]
    assert (c.action, c.mask) == ("conflict", [])
    assert c.reason == f"2 budgets: {RESEARCH}, {RESEARCH}-twin"


def test_an_account_in_another_currency_gets_no_usd_budget() -> None:
    planned, _ = scenario()
    eur = GcpBudget(f"billingAccounts/{ACCOUNT}/budgets/e", "Euro", BudgetSpec(amount=10.0, currency="EUR"))
    actions = {c.display_name: (c.action, c.reason) for c in diff(planned, [eur])}
    assert actions["spendscope:gce-monthly"] == ("conflict", "the account's budgets are in EUR; our amounts are USD")


def test_beside_matches_by_display_name_then_scope_and_lists_the_rest() -> None:
    planned, existing = scenario()
    rows = {(r["our_budget"], r["gcp_budget"]): r for r in beside(planned, existing).to_pylist()}
    assert set(rows) == {
        ("team-monthly/ml-platform", "ML platform (finance)"),
        ("team-monthly/ml-research", "spendscope:team-monthly/ml-research"),
        ("project-monthly/acme-ml-prod", "spendscope:project-monthly/acme-ml-prod"),
        ("gce-monthly", None),
        (None, "spendscope:retired-rule"),
        ("fleet-daily", None),
        ("dbx-monthly", None),
        (None, "Finance: whole account"),
        (None, "GPU project FY26"),
    }
    assert {k: (r["match"], r["state"]) for k, r in rows.items()} == {
        ("team-monthly/ml-platform", "ML platform (finance)"): ("scope", "missing in GCP"),
        ("team-monthly/ml-research", "spendscope:team-monthly/ml-research"): ("display name",
                                                                             "differs: amount, threshold_rules"),
        ("project-monthly/acme-ml-prod", "spendscope:project-monthly/acme-ml-prod"): ("display name", "in sync"),
        ("gce-monthly", None): ("", "missing in GCP"),
        (None, "spendscope:retired-rule"): ("", "no rule maps to it"),
        ("fleet-daily", None): ("", "not synced"),
        ("dbx-monthly", None): ("", "not synced"),
        (None, "Finance: whole account"): ("", "GCP only"),
        (None, "GPU project FY26"): ("", "GCP only"),
    }  # fmt: skip
    fy = rows[None, "GPU project FY26"]
    assert (fy["gcp_amount"], fy["gcp_period"], fy["gcp_scope"], fy["gcp_thresholds"]) == (
        250000.5,
        "custom 2026-01-01 … 2026-12-31",
        "projects: acme-ml-prod; services: Compute Engine",
        "50%",
    )
    assert rows["fleet-daily", None]["notes"] == "period day: only month budgets map to a GCP budget (calendar month)"
