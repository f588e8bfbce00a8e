"""From our month budget rules to the GCP budgets they map to (pure): one `spendscope:<rule>[/<group>]` budget each.

A rule's scope and its group's values become the budget filter: project → `projects/<id>`; team, env or workload
→ a label (the API takes one label with one value); platform gce → the Compute Engine service, gke → Kubernetes
Engine; service → its `services/<id>`; provider Google Cloud and the configured account → the whole account.
Period month → calendar MONTH (GCP months begin at midnight US Pacific); thresholds → CURRENT_SPEND rules and,
with `forecast`, the same ratios as FORECASTED_SPEND rules; billed/effective cost → INCLUDE_ALL_CREDITS (both
are cost + credits, focus_gcp.sql). What cannot map is listed as skipped with its reason, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from alerts.rules.budget import BudgetRule
from alerts.rules.costdata import NULL_AS, scope_values
from collectors.gcp_budgets.spec import (
    CURRENT,
    DISPLAY_NAME_MAX,
    FORECASTED,
    KNOWN_SERVICES,
    MANAGED_PREFIX,
    BudgetSpec,
    Threshold,
)

GCP_SOURCE = "gcp_billing_export"  # the x_SourceTable of GCP billing rows
GCP_PROVIDER = "Google Cloud"
PACIFIC = "America/Los_Angeles"
LABEL_DIMS = ("team", "env", "workload")
PLATFORM_SERVICES = {"gce": "Compute Engine", "gke": "Kubernetes Engine"}
# Why a platform budget only approximates our platform split (x_Platform in focus_gcp.sql is label-based).
PLATFORM_NOTES = {
    "gce": "approximate: GCP's Compute Engine service also bills GKE nodes and Databricks VMs, "
    "which our gce platform leaves out",
    "gke": "approximate: GCP bills GKE nodes under Compute Engine; a Kubernetes Engine budget sees only "
    "GKE's own fees (cluster management, Autopilot), not the nodes our gke platform counts",
}


@dataclass(frozen=True)
class Group:
    """One group of a rule (its values, in group_by order) and the cost sources with spend in it this month."""

    key: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Desired:
    """A GCP budget one of our budgets maps to."""

    display_name: str
    rule: str
    budget: str  # our budget: <rule> or <rule>/<group>
    spec: BudgetSpec
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """One of our budgets (or a whole rule) that maps to no GCP budget, and why."""

    rule: str
    budget: str
    period: str
    amount_usd: float | None
    reason: str


@dataclass(frozen=True)
class Plan:
    desired: tuple[Desired, ...] = ()
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True)
class PlanInputs:
    """What a plan needs beside the rules: the account, known service IDs, the reporting zone, each rule's groups."""

    billing_account: str
    timezone: str = PACIFIC
    service_ids: Mapping[str, str] = field(default_factory=dict)  # description → services/… (beside KNOWN_SERVICES)
    groups: Mapping[str, Sequence[Group]] = field(default_factory=dict)  # rule name → its groups (from the data)


def plan(rules: Sequence[BudgetRule], inputs: PlanInputs) -> Plan:
    """The GCP budget of every enabled budget rule's budget (group), or the reason it has none."""
    desired: list[Desired] = []
    skipped: list[Skipped] = []
    for rule in rules:
        if not rule.enabled:
            continue
        whole = _rule_reason(rule)
        if whole is not None:
            skipped.append(Skipped(rule.name, rule.name, rule.period, rule.amount_usd, whole))
            continue
        for group in _groups(rule, inputs):
            out = _budget(rule, group, inputs)
            if isinstance(out, Desired):
                desired.append(out)
            else:
                skipped.append(out)
    return Plan(tuple(desired), tuple(skipped))


def _rule_reason(rule: BudgetRule) -> str | None:
    if rule.period != "month":
        return f"period {rule.period}: only month budgets map to a GCP budget (calendar month)"
    if rule.cost == "list":
        return "cost list: GCP budgets track cost with or without credits, not list prices"
    return None


def _groups(rule: BudgetRule, inputs: PlanInputs) -> list[Group]:
    """The rule's groups seen in the data plus those its `amounts` name; the one group of an ungrouped rule."""
    seen = list(inputs.groups.get(rule.name, ()))
    if not rule.group_by:
        return seen[:1] or [Group()]
    keys = {g.key for g in seen}
    seen += [Group(k) for k in (tuple(a.split("/")) for a in rule.amounts) if k not in keys]
    with_amount = [g for g in seen if rule.amount_usd is not None or "/".join(g.key) in rule.amounts]
    return sorted(with_amount, key=lambda g: g.key)


def _budget(rule: BudgetRule, group: Group, inputs: PlanInputs) -> Desired | Skipped:
    name = "/".join((rule.name, *group.key))
    amount = rule.amounts.get("/".join(group.key), rule.amount_usd) if group.key else rule.amount_usd
    assert amount is not None  # _groups keeps only groups with an amount; an ungrouped rule has amount_usd

    def skip(reason: str) -> Skipped:
        return Skipped(rule.name, name, rule.period, amount, reason)

    dims = scope_values(rule.scope) | {d: [v] for d, v in zip(rule.group_by, group.key, strict=True)}
    mapped = _filter(dims, inputs)
    if isinstance(mapped, str):
        return skip(mapped)
    projects, services, labels, notes = mapped
    if group.sources and GCP_SOURCE not in group.sources:
        return skip(f"no GCP spend: this month's spend comes from {', '.join(group.sources)}")
    others = [s for s in group.sources if s != GCP_SOURCE]
    if others:
        notes.append(f"our budget also counts {', '.join(others)}; the GCP budget sees this billing account only")
    elif not group.sources and not (dims.keys() & {"project", "platform", "service", "provider", "account"}):
        notes.append("our budget counts every provider; the GCP budget sees this billing account only")
    if inputs.timezone != PACIFIC:
        notes.append(f"GCP months begin at midnight US Pacific; ours in {inputs.timezone}")
    display = MANAGED_PREFIX + name
    if len(display) > DISPLAY_NAME_MAX:
        return skip(f"display name {display!r} is over the API's {DISPLAY_NAME_MAX} characters")
    ratios = sorted(set(rule.thresholds.values()))
    thresholds = [Threshold(CURRENT, r) for r in ratios] + [Threshold(FORECASTED, r) for r in ratios if rule.forecast]
    spec = BudgetSpec(amount=float(amount), currency="USD", calendar_period="MONTH", projects=tuple(projects),
                      services=tuple(services), labels=labels, thresholds=tuple(thresholds))  # fmt: skip
    return Desired(display, rule.name, name, spec, tuple(notes))


Mapped = tuple[list[str], list[str], tuple[tuple[str, tuple[str, ...]], ...], list[str]]


def _filter(dims: dict[str, list[str]], inputs: PlanInputs) -> Mapped | str:
    """(projects, services, labels, notes) of a scope, or the reason it has no budget filter."""
    projects: list[str] = []
    services: set[str] | None = None  # None: no service restriction
    labels: dict[str, list[str]] = {}
    notes: list[str] = []
    known = {**KNOWN_SERVICES, **inputs.service_ids}
    for dim, values in sorted(dims.items()):
        if dim == "project":
            if NULL_AS["project"] in values:
                return f"project {NULL_AS['project']}: spend without a project has no project filter"
            projects = [f"projects/{v}" for v in values]
        elif dim in LABEL_DIMS:
            if NULL_AS[dim] in values:
                return f"{dim} {NULL_AS[dim]}: untagged spend has no label filter"
            if len(values) > 1:
                return f"{dim}: {', '.join(values)}: a GCP budget filters on one label value"
            labels[dim] = values
        elif dim == "platform":
            bad = [v for v in values if v not in PLATFORM_SERVICES]
            if bad:
                return f"platform {', '.join(bad)}: not a GCP service (GCP budgets see GCP spend only)"
            services = _meet(services, {PLATFORM_SERVICES[v] for v in values})
            notes += [PLATFORM_NOTES[v] for v in values]
        elif dim == "service":
            unknown = [v for v in values if v not in known]
            if unknown:
                return f"service {', '.join(unknown)}: no GCP service ID known (none in gcp_billing_export)"
            services = _meet(services, set(values))
        elif dim == "provider":
            if values != [GCP_PROVIDER]:
                return f"provider {', '.join(values)}: only {GCP_PROVIDER} spend is billed to a GCP billing account"
        elif dim == "account":
            if values != [inputs.billing_account]:
                return f"account {', '.join(values)}: not the configured billing account {inputs.billing_account}"
        else:
            return f"{dim} scope: a GCP budget cannot filter on {dim}"
    if len(labels) > 1:
        return f"labels {', '.join(sorted(labels))}: a GCP budget filters on one label only"
    if services is not None and not services:
        return "platform and service scopes share no GCP service"
    ids = sorted(known[s] for s in services or ())
    return projects, ids, tuple((k, tuple(v)) for k, v in labels.items()), notes


def _meet(current: set[str] | None, new: set[str]) -> set[str]:
    return set(new) if current is None else current & new
