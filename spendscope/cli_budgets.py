"""CLI of the GCP budgets: `spendscope budgets list [--cached]` and `spendscope budgets sync [--apply]`.

Registered on the main group by spendscope/cli.py; thin calls into collectors/gcp_budgets. `sync` is a dry run
unless --apply: it prints the diff it would apply and writes nothing anywhere. With --apply it creates and
updates `spendscope:` budgets only, then records a fresh snapshot in `gcp_budgets` for the Budgets page.
API errors exit 4 with one line (SourceError); a missing or bad [gcp_budgets] section exits 2 (ConfigError).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from collectors.gcp_budgets.spec import amount_text, filter_text, thresholds_text

if TYPE_CHECKING:
    from google.cloud.billing.budgets_v1 import BudgetServiceClient

    from collectors.gcp_budgets.diff import Change
    from collectors.gcp_budgets.plan import Plan
    from collectors.gcp_budgets.spec import GcpBudget
    from spendscope.config import Settings

BRIEF = ["our_budget", "our_amount_usd", "gcp_budget", "gcp_amount", "gcp_currency", "match", "state"]


@click.group("budgets")
def budgets_group() -> None:
    """The billing account's GCP budgets beside our budget rules, and a sync from rules to GCP budgets."""


@budgets_group.command("list")
@click.option("--cached", is_flag=True, help="the last synced snapshot (gcp_budgets table) instead of the live API")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def budgets_list(ctx: click.Context, cached: bool, fmt: str) -> None:
    """GCP's budgets with ours beside them: matched by display name (spendscope:<budget>) or by scope."""
    from collectors.gcp_budgets import sync
    from collectors.gcp_budgets.diff import beside
    from spendscope.cli import _emit, _settings, _warehouse

    settings = _settings(ctx)
    account = sync.account_of(settings)
    wh = _warehouse(ctx)
    if cached:
        snap = sync.read_snapshot(wh, account)
        if snap.synced_at is None:
            raise click.UsageError("no snapshot yet: run `spendscope collect gcp-budgets` (or drop --cached)")
        existing = list(snap.budgets)
    else:
        existing = _live(settings)
    table = beside(sync.desired_plan(wh, settings), existing)
    _emit(table.select(BRIEF) if fmt == "table" else table, fmt)
    if fmt == "table":
        where = f"snapshot of {snap.synced_at:%Y-%m-%d %H:%M} UTC" if cached else "live"
        click.echo(f"billing account {account} ({where}): {len(existing)} GCP budget(s); --format json for scopes")


@budgets_group.command("sync")
@click.option("--apply", "do_apply", is_flag=True, help="create and update the budgets (default: dry run)")
@click.pass_context
def budgets_sync(ctx: click.Context, do_apply: bool) -> None:
    """Make the account's `spendscope:` budgets match our month budget rules; a dry run unless --apply."""
    from collectors.gcp_budgets import fetch, sync
    from collectors.gcp_budgets.diff import diff
    from spendscope.cli import _settings, _warehouse

    settings = _settings(ctx)
    cfg = settings.gcp_budgets
    sync.account_of(settings)
    wh = _warehouse(ctx)
    planned = sync.desired_plan(wh, settings)
    client = fetch.make_client(cfg)
    existing = _live(settings, client)
    changes = diff(planned, existing)
    for line in render(planned, changes):
        click.echo(line)
    counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "unchanged", "conflict", "orphan")}
    summary = (f"{counts['create']} to create, {counts['update']} to update, {counts['unchanged']} unchanged, "
               f"{counts['conflict']} conflict(s), {len(planned.skipped)} not synced")  # fmt: skip
    if not do_apply:
        click.echo(f"dry run: {summary}; nothing was changed (--apply to apply)")
        return
    done = sync.apply(client, cfg.parent, changes, cfg.timeout_seconds)
    click.echo(f"applied: {sum(c.action == 'create' for c in done)} created, "
               f"{sum(c.action == 'update' for c in done)} updated")  # fmt: skip
    _snapshot(ctx, client)


def render(planned: Plan, changes: Sequence[Change]) -> list[str]:
    """The diff a sync applies, one block per budget: created with its fields, updated field by field."""
    out = []
    for c in changes:
        if c.action == "create" and c.desired is not None:
            s = c.desired.spec
            out.append(f"+ create {c.display_name}: {amount_text(s)}; {filter_text(s)}; "
                       f"thresholds {thresholds_text(s)}")  # fmt: skip
        elif c.action == "update" and c.existing is not None:
            out.append(f"~ update {c.display_name} ({c.existing.name}):")
            out += [f"    {f.field}: {f.old} → {f.new}" for f in c.fields]
        elif c.action == "unchanged":
            out.append(f"= unchanged {c.display_name}")
        elif c.action == "conflict":
            out.append(f"! conflict {c.display_name}: {c.reason}; not touched")
        elif c.action == "orphan" and c.existing is not None:
            out.append(f"? {c.display_name} ({c.existing.name}): {c.reason}")
        if c.desired is not None and c.action in ("create", "update"):
            out += [f"    note: {n}" for n in c.desired.notes]
    out += [f"- not synced {s.budget}: {s.reason}" for s in planned.skipped]
    return out


def _live(settings: Settings, client: BudgetServiceClient | None = None) -> list[GcpBudget]:
    """The account's budgets, listed now."""
    from collectors.gcp_budgets import fetch
    from collectors.gcp_budgets.parse import budget_from_proto

    cfg = settings.gcp_budgets
    found = fetch.list_budgets(client or fetch.make_client(cfg), cfg.parent, cfg.timeout_seconds)
    return [budget_from_proto(b) for b in found]


def _snapshot(ctx: click.Context, client: BudgetServiceClient) -> None:
    """Record the account's budgets as they now are (the Budgets page reads this snapshot)."""
    from collectors.base import RunContext
    from collectors.gcp_budgets.collector import GcpBudgetsCollector
    from spendscope import ingest
    from spendscope.cli import _settings, _warehouse

    settings = _settings(ctx)
    collector = GcpBudgetsCollector(settings.gcp_budgets, client=client)
    summary = ingest.run(collector, RunContext(settings=settings, warehouse=_warehouse(ctx)))
    click.echo(f"snapshot: {summary.total_rows} budget(s) recorded in gcp_budgets")


def register(cli: click.Group) -> None:
    cli.add_command(budgets_group)
