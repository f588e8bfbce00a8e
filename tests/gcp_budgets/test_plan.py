"""plan.py (pure): our month budget rules → the GCP budgets they map to, and the ones that cannot map, with why."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from alerts.rules import Rule
from alerts.rules.budget import BudgetRule
from collectors.gcp_budgets.plan import PLATFORM_NOTES, Desired, Group, PlanInputs, plan
from collectors.gcp_budgets.spec import CURRENT, FORECASTED, KNOWN_SERVICES, BudgetSpec, Threshold

ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
CE, GKE = KNOWN_SERVICES["Compute Engine"], KNOWN_SERVICES["Kubernetes Engine"]
GCP, DBX = "gcp_billing_export", "databricks_usage"


def budget(**fields: Any) -> BudgetRule:
    rule = TypeAdapter(Rule).validate_python({"type": "budget", "period": "month", **fields})
    assert isinstance(rule, BudgetRule)
    return rule


def inputs(**kw: Any) -> PlanInputs:
    return PlanInputs(billing_account=ACCOUNT, **kw)


def one(rule: BudgetRule, **kw: Any) -> Desired:
    out = plan([rule], inputs(**kw))
    assert not out.skipped, out.skipped
    (d,) = out.desired
    return d


def reasons(rules: list[BudgetRule], **kw: Any) -> dict[str, str]:
    out = plan(rules, inputs(**kw))
    assert not out.desired, out.desired
    return {s.budget: s.reason for s in out.skipped}


def test_project_group_maps_to_its_project_with_thresholds_and_forecast_rules() -> None:
    rule = budget(name="project-monthly", group_by=["project"], amounts={"acme-ml-prod": 30000},
                  thresholds={"warning": 0.7, "critical": 0.9}, forecast=True)  # fmt: skip
    d = one(rule, groups={"project-monthly": [Group(("acme-ml-prod",), (GCP,))]})
    assert d.display_name == "spendscope:project-monthly/acme-ml-prod"
    assert (d.rule, d.budget) == ("project-monthly", "project-monthly/acme-ml-prod")
    assert d.spec == BudgetSpec(
        amount=30000.0, currency="USD", calendar_period="MONTH", projects=("projects/acme-ml-prod",),
        credit_types_treatment="INCLUDE_ALL_CREDITS",
        thresholds=(Threshold(CURRENT, 0.7), Threshold(CURRENT, 0.9), Threshold(FORECASTED, 0.7),
                    Threshold(FORECASTED, 0.9)),
    )  # fmt: skip
    assert d.notes == ()  # GCP-only spend, Pacific months: nothing approximate


def test_team_maps_to_one_label_and_the_groups_come_from_data_and_amounts() -> None:
    rule = budget(name="team-monthly", group_by=["team"], amount_usd=1000, amounts={"ml-research": 20000},
                  thresholds={"warning": 0.8})  # fmt: skip
    out = plan([rule], inputs(groups={"team-monthly": [Group(("inference",), (GCP,))]}))
    got = {d.budget: (d.spec.labels, d.spec.amount, d.spec.thresholds) for d in out.desired}
    assert got == {
        "team-monthly/inference": ((("team", ("inference",)),), 1000.0, (Threshold(CURRENT, 0.8),)),
        "team-monthly/ml-research": ((("team", ("ml-research",)),), 20000.0, (Threshold(CURRENT, 0.8),)),
    }


def test_platform_gce_and_gke_map_to_their_services_with_the_approximation_noted() -> None:
    gce = one(budget(name="gce", scope={"platform": "gce"}, amount_usd=20000))
    gke = one(budget(name="gke", scope={"platform": "gke"}, amount_usd=15000))
    assert (gce.spec.services, gke.spec.services) == ((CE,), (GKE,))
    assert PLATFORM_NOTES["gce"] in gce.notes and PLATFORM_NOTES["gke"] in gke.notes


def test_service_scope_uses_the_billing_exports_service_ids() -> None:
    rule = budget(name="bq", scope={"service": "BigQuery", "provider": "Google Cloud"}, amount_usd=500)
    assert one(rule, service_ids={"BigQuery": "services/24E6-581D-38E5"}).spec.services == ("services/24E6-581D-38E5",)
    assert reasons([rule]) == {"bq": "service BigQuery: no GCP service ID known (none in gcp_billing_export)"}


def test_the_configured_account_and_the_google_provider_mean_the_whole_account() -> None:
    d = one(budget(name="acct", scope={"account": ACCOUNT, "provider": "Google Cloud"}, amount_usd=90000))
    assert (d.spec.projects, d.spec.services, d.spec.labels) == ((), (), ())


def test_rules_that_cannot_map_are_skipped_with_the_reason() -> None:
    rules = [
        budget(name="daily", period="day", amount_usd=2000),
        budget(name="dbx", scope={"platform": "databricks"}, amount_usd=25000),
        budget(name="dbx-provider", scope={"provider": "Databricks"}, amount_usd=25000),
        budget(name="list", amount_usd=100, cost="list"),
        budget(name="two-teams", scope={"team": ["a", "b"]}, amount_usd=100),
        budget(name="two-labels", scope={"team": "a", "env": "prod"}, amount_usd=100),
        budget(name="untagged", scope={"team": "(untagged)"}, amount_usd=100),
        budget(name="gpu", scope={"gpu": "H100"}, amount_usd=100),
        budget(name="other-account", scope={"account": "FFFFFF-FFFFFF-FFFFFF"}, amount_usd=100),
        budget(name="x" * 50, amount_usd=100),
    ]
    got = reasons(rules)
    assert got == {
        "daily": "period day: only month budgets map to a GCP budget (calendar month)",
        "dbx": "platform databricks: not a GCP service (GCP budgets see GCP spend only)",
        "dbx-provider": "provider Databricks: only Google Cloud spend is billed to a GCP billing account",
        "list": "cost list: GCP budgets track cost with or without credits, not list prices",
        "two-teams": "team: a, b: a GCP budget filters on one label value",
        "two-labels": "labels env, team: a GCP budget filters on one label only",
        "untagged": "team (untagged): untagged spend has no label filter",
        "gpu": "gpu scope: a GCP budget cannot filter on gpu",
        "other-account": f"account FFFFFF-FFFFFF-FFFFFF: not the configured billing account {ACCOUNT}",
        "x" * 50: f"display name 'spendscope:{'x' * 50}' is over the API's 60 characters",
    }


def test_a_group_with_databricks_spend_only_is_skipped_and_mixed_spend_is_noted() -> None:
    rule = budget(name="p", group_by=["project"], amounts={"acme-ml-prod": 30000, "acme-databricks-ws": 20000})
    out = plan(
        [rule], inputs(groups={"p": [Group(("acme-databricks-ws",), (DBX,)), Group(("acme-ml-prod",), (DBX, GCP))]})
    )
    assert [s.budget for s in out.skipped] == ["p/acme-databricks-ws"]
    assert out.skipped[0].reason == "no GCP spend: this month's spend comes from databricks_usage"
    (d,) = out.desired
    assert d.notes == ("our budget also counts databricks_usage; the GCP budget sees this billing account only",)


def test_an_unscoped_rule_and_a_non_pacific_zone_are_noted() -> None:
    d = one(budget(name="fleet", amount_usd=60000), timezone="Europe/Berlin")
    assert d.notes == (
        "our budget counts every provider; the GCP budget sees this billing account only",
        "GCP months begin at midnight US Pacific; ours in Europe/Berlin",
    )


def test_disabled_rules_are_left_out() -> None:
    assert plan([budget(name="off", amount_usd=5, enabled=False)], inputs()).desired == ()
