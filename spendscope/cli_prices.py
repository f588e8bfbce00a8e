"""CLI of the price book: `spendscope prices sync [--dry-run]` and `spendscope prices list [--sku …] [--format …]`.

Registered on the main group by spendscope/cli.py; thin calls into collectors/prices. An unreachable Catalog
API exits 4 (SourceError), a bad `[prices]` section or an unknown service id exits 2 (ConfigError).
"""

from __future__ import annotations

import click

from spendscope.clock import system_clock


@click.group("prices")
def prices_group() -> None:
    """Unit prices: sync them from the Cloud Billing Catalog and Databricks list prices, or list them."""


@prices_group.command("sync")
@click.option("--dry-run", is_flag=True, help="fetch and compare, print what would change, write nothing")
@click.pass_context
def prices_sync(ctx: click.Context, dry_run: bool) -> None:
    """Fetch the fleet's Catalog SKUs and DBU rates; a changed price closes its old row and adds a new one."""
    from collectors.prices.fetch import CatalogFetcher
    from collectors.prices.sync import sync_prices
    from spendscope.cli import _settings, _warehouse

    cfg = _settings(ctx).prices
    fetcher = CatalogFetcher.from_config(cfg) if cfg.services else None
    result = sync_prices(_warehouse(ctx), cfg, fetcher, system_clock(), dry_run=dry_run)
    for service, n in result.skus_read.items():
        click.echo(f"catalog services/{service}: {n} SKU(s) read")
    click.echo(f"prices observed: {result.catalog_rows} catalog, {result.dbu_rows} DBU")
    closed = {(r["sku_id"], r["region"], r["usage_type"]): r for r in result.closed}
    for row in result.added:
        old = closed.get((row["sku_id"], row["region"], row["usage_type"]))
        if old is not None:
            click.echo(
                f"changed {row['sku_id']} {row['region']} {row['usage_type']} ({row['description']}): "
                f"{old['usd_per_unit']:.6g} → {row['usd_per_unit']:.6g} USD/{row['unit']}"
            )
    verb = "would add" if dry_run else "added"
    click.echo(
        f"{verb} {len(result.added)}, {'would close' if dry_run else 'closed'} {len(result.closed)}, "
        f"unchanged {result.unchanged}" + (" (dry run: nothing written)" if dry_run else "")
    )


@prices_group.command("list")
@click.option("--sku", "skus", multiple=True, help="a sku id, Databricks sku_name or item such as H100 (repeatable)")
@click.option("--history", is_flag=True, help="every version, not only the current prices")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def prices_list(ctx: click.Context, skus: tuple[str, ...], history: bool, fmt: str) -> None:
    """The stored prices (current ones unless --history), USD per unit after discounts."""
    from spendscope.cli import _emit, _warehouse
    from spendscope.pricing.book import list_prices

    _emit(list_prices(_warehouse(ctx), skus, history), fmt)


def register(cli: click.Group) -> None:
    cli.add_command(prices_group)
