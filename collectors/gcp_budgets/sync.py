"""The flow behind `spendscope budgets` and the Budgets page's GCP section: our rules and data → a plan; the last
snapshot or a live listing → GCP's budgets; the diff; and, only when asked, the creates and updates.

A plan needs each grouped rule's groups, which come from the data (BudgetRule.views over this month, the same
groups the alerts judge, with the cost sources that have spend in each) plus the groups its `amounts` name, and
the service IDs seen in the billing export (for `service` scopes) beside the known ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alerts.context import EvalContext
from alerts.loader import load_rules
from alerts.rules.budget import BudgetRule
from collectors.gcp_budgets import fetch
from collectors.gcp_budgets.collector import SOURCE
from collectors.gcp_budgets.diff import Change
from collectors.gcp_budgets.parse import TABLE, from_rows, to_proto
from collectors.gcp_budgets.plan import Group, Plan, PlanInputs, plan
from collectors.gcp_budgets.spec import GcpBudget
from spendscope.errors import ConfigError, SourceError, SpendscopeError

if TYPE_CHECKING:
    from google.cloud.billing.budgets_v1 import BudgetServiceClient

    from exporters.warehouse.engine import Warehouse
    from spendscope.config import Settings

log = logging.getLogger(__name__)
SERVICE_DAYS = 62  # how far back the billing export is read for service IDs (bounded: BigQuery bills the scan)


def account_of(settings: Settings) -> str:
    """The configured billing account ID; ConfigError naming the key when it is not set."""
    account = settings.gcp_budgets.billing_account
    if not account:
        raise ConfigError(
            'gcp_budgets.billing_account is not set: add [gcp_budgets] billing_account = "XXXXXX-XXXXXX-XXXXXX" '
            "to spendscope.toml (docs/gcp-budgets.md)"
        )
    return account


def budget_rules(settings: Settings) -> list[BudgetRule]:
    """The enabled budget rules of the configured rule files and inline rules."""
    return [r for r in load_rules(settings) if isinstance(r, BudgetRule) and r.enabled]


def service_ids(wh: Warehouse, today: dt.date) -> dict[str, str]:
    """Service description → `services/<id>` as the billing export names them (empty when it has none)."""
    sql = (
        "SELECT service.description AS name, MAX(service.id) AS id FROM gcp_billing_export "
        "WHERE _day >= @since AND service.id IS NOT NULL AND service.description IS NOT NULL GROUP BY 1"
    )
    try:
        table = wh.query(sql, {"since": today - dt.timedelta(days=SERVICE_DAYS)})
    except SpendscopeError as exc:
        log.warning("gcp-budgets service ids unavailable error:%s", exc)
        return {}
    return {r["name"]: f"services/{r['id']}" for r in table.to_pylist()}


def plan_inputs(
    wh: Warehouse, settings: Settings, rules: Sequence[BudgetRule], now: dt.datetime | None = None
) -> PlanInputs:
    """The account, reporting zone, service IDs and every month rule's groups (with their sources) this month."""
    ctx = EvalContext(wh, settings, dt.datetime.now(dt.UTC) if now is None else now)
    groups: dict[str, list[Group]] = {}
    for rule in rules:
        if rule.period == "month" and rule.enabled:
            views = rule.views(ctx)
            groups[rule.name] = [
                Group(tuple(v.status.labels[d] for d in rule.group_by), tuple(sorted(v.sources))) for v in views
            ]
    return PlanInputs(account_of(settings), settings.reporting.timezone, service_ids(wh, ctx.today), groups)


def desired_plan(wh: Warehouse, settings: Settings, now: dt.datetime | None = None) -> Plan:
    """The GCP budgets our rules map to now (and the budgets that map to none, with why)."""
    rules = budget_rules(settings)
    return plan(rules, plan_inputs(wh, settings, rules, now))


@dataclass(frozen=True)
class Snapshot:
    """The account's budgets as of its last sync (`synced_at` None: never synced)."""

    synced_at: dt.datetime | None
    budgets: tuple[GcpBudget, ...] = ()


def read_snapshot(wh: Warehouse, account: str) -> Snapshot:
    """The latest synced snapshot of `account` from `gcp_budgets` (the sync recorded in ingest_state)."""
    state = wh.query(
        "SELECT watermark, `rows` FROM ingest_state WHERE source = @source AND `partition` = @account "
        "ORDER BY ingested_at DESC LIMIT 1",
        {"source": SOURCE, "account": account},
    ).to_pylist()
    if not state:
        return Snapshot(None)
    synced_at = state[0]["watermark"]
    if not state[0]["rows"]:
        return Snapshot(synced_at)
    rows = wh.query(
        f"SELECT * FROM {TABLE} WHERE billing_account = @account AND synced_at = @at",
        {"account": account, "at": synced_at},
    )
    return Snapshot(synced_at, tuple(from_rows(rows.to_pylist())))


def apply(client: BudgetServiceClient, parent: str, changes: Sequence[Change], timeout: float) -> list[Change]:
    """Create and update what `changes` say, in order; stops at the first API error (SourceError says how far)."""
    todo = [c for c in changes if c.action in ("create", "update")]
    done: list[Change] = []
    for c in todo:
        assert c.desired is not None
        try:
            if c.action == "create":
                fetch.create_budget(client, parent, to_proto(c.desired.spec, display_name=c.display_name), timeout)
            else:
                assert c.existing is not None
                body = to_proto(c.desired.spec, name=c.existing.name, etag=c.existing.etag, fields=c.mask)
                fetch.update_budget(client, body, c.mask, timeout)
        except SourceError as exc:
            raise SourceError(f"{exc} (applied {len(done)} of {len(todo)} change(s) before it)") from None
        done.append(c)
    return done
