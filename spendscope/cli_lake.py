"""CLI of the lake's upkeep: `spendscope lake check [--deep]`. Registered on the main group by spendscope/cli.py."""

from __future__ import annotations

import click


@click.group("lake")
def lake_group() -> None:
    """The local lake's data files: check them, set unreadable ones aside, repair what they fed."""


@lake_group.command("check")
@click.option("--deep", is_flag=True, help="decode every column of every file (slow); default: footers and counts")
@click.pass_context
def lake_check(ctx: click.Context, deep: bool) -> None:
    """Set aside unreadable data files (kept under <lake>/_set_aside/) and repair what depended on their days.

    Exits 1 when this run found unreadable files (after setting them aside and repairing), 0 when none.
    """
    from spendscope.cli import _settings, _warehouse
    from spendscope.lake_upkeep import check_and_repair

    settings = _settings(ctx)
    result = check_and_repair(_warehouse(ctx), settings, deep=deep)
    for line in result.lines():
        click.echo(line)
    if result.set_aside:
        ctx.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(lake_group)
