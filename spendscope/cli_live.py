"""CLI of the live estimate: `spendscope live estimate [--at T] [--since DAY]`, `live show`, `live errors`.

Registered on the main group by spendscope/cli.py; thin calls into spendscope/live and dashboards/queries/live.
"""

from __future__ import annotations

import datetime as dt

import click


def _at(value: str | None) -> dt.datetime:
    """--at: an ISO time (UTC when it names no zone), default now."""
    if value is None:
        from spendscope.clock import system_clock

        return system_clock()
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time (e.g. 2026-11-20T13:05 or 2026-11-20T13:05Z)") from None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _money(x: float | None) -> str:
    return "—" if x is None else f"${x:,.2f}"


@click.group("live")
def live_group() -> None:
    """The live spend estimate: what runs now, priced, hours before the bill shows it."""


@live_group.command("estimate")
@click.option("--at", "at_text", default=None, help="as of this time (ISO, UTC by default); default now")
@click.option("--since", default=None, help="also backfill whole UTC days from this day (YYYY-MM-DD) to --at's")
@click.pass_context
def live_estimate(ctx: click.Context, at_text: str | None, since: str | None) -> None:
    """Estimate the previous and current hour from the inventory, refresh spend_live and reconcile."""
    from spendscope.cli import _settings, _warehouse
    from spendscope.live.job import backfill, run_once

    settings, wh, at = _settings(ctx), _warehouse(ctx), _at(at_text)
    if since is not None:
        try:
            first = dt.date.fromisoformat(since)
        except ValueError:
            raise click.BadParameter(f"{since!r} is not a day (YYYY-MM-DD)", param_hint="--since") from None
        n = backfill(wh, settings, first, at.date(), at)
        click.echo(f"backfilled {first} … {at.date()}: {n} estimate row(s)")
    run = run_once(wh, settings, at)
    start = run.hours[0]
    click.echo(f"estimated {start:%Y-%m-%d %H:%M}–{at:%H:%M} UTC: {len(run.rows)} row(s)")
    by_platform: dict[str, list[float]] = {}
    for r in run.rows:
        if r["hour"] != run.hours[-1]:
            continue
        p = by_platform.setdefault(str(r["platform"]), [0.0, 0.0, 0.0])
        if r["running"] and r["usd_per_hour"] is not None:
            p[0] += float(r["usd_per_hour"]) * float(r["correction"])
        p[1] += float(r["usd"] or 0.0)
        p[2] += float(r["projected_usd"] or 0.0)
    for platform, (rate, so_far, projected) in sorted(by_platform.items()):
        click.echo(
            f"  {platform:<11} now {_money(rate)}/h, this hour so far {_money(so_far)}, projected {_money(projected)}"
        )
    click.echo(f"running now: {_money(run.running_usd_per_hour)}/h (corrected)")
    if run.unpriced:
        click.echo(f"unpriced ({len(run.unpriced)}): {', '.join(run.unpriced[:10])} — see `spendscope live show`")
    for c in run.cuts:
        since_text = "every hour estimated" if not c.sources else f"billed before {c.complete_until:%Y-%m-%d %H:%M} UTC"
        click.echo(f"spend_live {c.platform}: {since_text}, estimated after ({', '.join(c.sources) or 'no billing'})")


@live_group.command("show")
@click.option("--at", "at_text", default=None, help="the hour holding this time (default now)")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def live_show(ctx: click.Context, at_text: str | None, fmt: str) -> None:
    """The stored estimate of one hour, by resource: run-rate, spend so far, projection, price source, basis."""
    from dashboards.queries.live import hour_estimate, live_factors
    from spendscope.cli import _emit, _settings, _warehouse

    settings, wh, at = _settings(ctx), _warehouse(ctx), _at(at_text)
    table = hour_estimate(wh, settings, at)
    _emit(table, fmt)
    if fmt == "table":
        if not table.num_rows:
            click.echo("no estimate for that hour: is the inventory collector running? (`spendscope live estimate`)")
        for f in live_factors(wh, settings, at):
            click.echo(f"correction {f}")


@live_group.command("errors")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 90), help="complete days to show")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def live_errors(ctx: click.Context, days: int, fmt: str) -> None:
    """Estimate against the bill per UTC day and platform, over hours the billing covers completely."""
    from dashboards.queries.live import daily_errors
    from spendscope.cli import _emit, _settings, _warehouse
    from spendscope.clock import system_clock

    now = system_clock().date()
    _emit(daily_errors(_warehouse(ctx), _settings(ctx), now - dt.timedelta(days=days), now), fmt)


def register(cli: click.Group) -> None:
    cli.add_command(live_group)
