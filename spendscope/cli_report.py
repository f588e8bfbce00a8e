"""CLI of the daily cost email: `spendscope report daily [--date D] [--send] [--out report.html]`.

Registered on the main group by spendscope/cli.py; a thin call into dashboards/report. Without --send and
--out it prints the plain-text version. A manual --send is not recorded as the daemon's send of the day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from spendscope.clock import local_day, system_clock
from spendscope.errors import ConfigError


@click.group("report")
def report_group() -> None:
    """The daily cost email: print it, write it as HTML, or send it."""


@report_group.command("daily")
@click.option("--date", "date", default=None, help="reporting day (YYYY-MM-DD, yesterday, -Nd; default: yesterday)")
@click.option("--send", is_flag=True, help="mail it to report.to through [report.smtp]")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False), help="write the HTML (chart inlined) here")
@click.pass_context
def report_daily(ctx: click.Context, date: str | None, send: bool, out: str | None) -> None:
    """The cost report of one reporting day: spend, movers, budgets, idle GPUs, alerts, credits, freshness."""
    from dashboards.report.data import build_report
    from dashboards.report.timing import yesterday
    from spendscope.cli import _settings, _warehouse

    settings = _settings(ctx)
    now = system_clock()
    latest = local_day(now, settings.reporting.timezone)
    day = _parse_day(date, settings.reporting.timezone) if date is not None else yesterday(settings, now)
    if day > latest:
        raise click.BadParameter(f"{day} has not begun yet in {settings.reporting.timezone}", param_hint="--date")
    if send and not settings.report.to:
        raise ConfigError('report.to is empty: list the recipients in [report] to = ["…"]')
    report = build_report(_warehouse(ctx), settings, day, now=now)
    if out is not None:
        from dashboards.report.chart import render_chart
        from dashboards.report.html import data_uri, render_html

        try:
            Path(out).write_text(render_html(report, data_uri(render_chart(report))), encoding="utf-8")
        except OSError as exc:
            raise click.FileError(out, hint=exc.strerror or str(exc)) from None
        click.echo(f"wrote the report on {day} to {out}")
    if send:
        from dashboards.report.mail import send_report

        send_report(report, settings.report)
        click.echo(
            f"sent the report on {day} to {len(settings.report.to)} recipient(s): {', '.join(settings.report.to)}"
        )
    if out is None and not send:
        from dashboards.report.text import render_text

        click.echo(render_text(report), nl=False)


def _parse_day(text: str, tz: str) -> dt.date:
    from spendscope.clock import parse_day

    try:
        return parse_day(text, tz)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date (YYYY-MM-DD, yesterday, -Nd)", param_hint="--date") from None


def register(cli: click.Group) -> None:
    cli.add_command(report_group)
