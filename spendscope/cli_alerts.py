"""CLI commands of the alert engine: `rules check`, `alerts evaluate|list|ack|history`, `silence add|list|expire`,
`actions list`. Registered on the main group by spendscope/cli.py; each is a thin call into alerts/.
"""

from __future__ import annotations

import datetime as dt
import getpass
import sys
import time
from typing import Any

import click
import pyarrow as pa

from spendscope.config_base import parse_duration

FORMATS = click.Choice(["table", "csv", "json"])


def _ctx_parts(ctx: click.Context) -> tuple[Any, Any]:
    from spendscope.cli import _settings, _warehouse

    return _settings(ctx), _warehouse(ctx)


def _emit(table: pa.Table, fmt: str) -> None:
    from spendscope.cli import _emit as emit

    emit(table, fmt)


def _author(author: str | None) -> str:
    if author:
        return author
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _duration(value: str) -> dt.timedelta:
    try:
        got = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    assert isinstance(got, dt.timedelta)
    return got


# -- rules --------------------------------------------------------------------------------------------------


@click.group("rules")
def rules_group() -> None:
    """Validate alert rule files."""


@rules_group.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.pass_context
def rules_check(ctx: click.Context, path: str | None) -> None:
    """Validate PATH (a YAML rule file), or every rule the config loads; exit 2 naming file, line and key."""
    from alerts.loader import load_rule_file, load_rules
    from spendscope.cli import _settings

    rules = load_rule_file(path) if path else load_rules(_settings(ctx))
    kinds: dict[str, int] = {}
    for r in rules:
        kinds[r.type] = kinds.get(r.type, 0) + 1  # type: ignore[attr-defined]
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no rules"
    click.echo(f"ok: {len(rules)} rule(s): {summary}")


# -- alerts -------------------------------------------------------------------------------------------------


@click.group("alerts")
def alerts_group() -> None:
    """Evaluate rules, list alerts, acknowledge them."""


@alerts_group.command("evaluate")
@click.option("--once", is_flag=True, help="evaluate once and exit (default: every alerts.interval_minutes)")
@click.option("--no-notify", is_flag=True, help="record alerts only: no notifications, no actions")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def alerts_evaluate(ctx: click.Context, once: bool, no_notify: bool, fmt: str) -> None:
    """Run every rule, record transitions, notify and run auto-shutdown (dry-run unless configured)."""
    from alerts.engine import AlertEngine
    from alerts.manage import alert_table

    settings, wh = _ctx_parts(ctx)
    engine = AlertEngine.from_settings(settings, wh, notify=not no_notify)
    try:
        while True:
            result = engine.evaluate()
            click.echo(
                f"evaluated {result.rules} rule(s) in {result.seconds:.2f}s: {result.findings} finding(s), "
                f"{len(result.events)} event(s), {len(result.firing)} firing, {len(result.actions)} action step(s)",
                err=True,
            )
            for name, error in sorted(result.rule_errors.items()):
                click.echo(f"rule {name} failed: {error}", err=True)
            if once:
                _emit(alert_table([a for a in result.alerts if str(a.state) != "resolved"]), fmt)
                sys.exit(1 if result.rule_errors else 0)
            time.sleep(settings.alerts.interval_minutes * 60)
    finally:
        engine.close()


@alerts_group.command("list")
@click.option("--state", type=click.Choice(["pending", "firing", "resolved", "all"]), default=None,
              help="only alerts in this state (default: pending and firing)")  # fmt: skip
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def alerts_list(ctx: click.Context, state: str | None, fmt: str) -> None:
    """Alerts as the engine last recorded them (id = the first 8 characters of the fingerprint)."""
    from alerts.manage import alert_table, list_alerts
    from alerts.store import AlertStore

    _, wh = _ctx_parts(ctx)
    _emit(alert_table(list_alerts(AlertStore(wh), state, dt.datetime.now(dt.UTC))), fmt)


@alerts_group.command("ack")
@click.argument("alert_id")
@click.option("--comment", default=None, help="why (shown in notifications and the dashboard)")
@click.option("--author", default=None, help="who acknowledges (default: the login name)")
@click.pass_context
def alerts_ack(ctx: click.Context, alert_id: str, comment: str | None, author: str | None) -> None:
    """Acknowledge an alert: no repeat notifications, and no auto-shutdown of its resource."""
    from alerts.engine import ack
    from alerts.store import AlertStore

    _, wh = _ctx_parts(ctx)
    alert = ack(AlertStore(wh), alert_id, _author(author), comment, dt.datetime.now(dt.UTC))
    click.echo(f"acked {alert.fingerprint[:8]} {alert.alertname} ({alert.rule}) as {alert.acked_by}")


@alerts_group.command("history")
@click.option("--since", "since", default="24h", show_default=True, help="how far back, e.g. 2h, 7d")
@click.option("--id", "alert_id", default=None, help="one alert's fingerprint")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def alerts_history(ctx: click.Context, since: str, alert_id: str | None, fmt: str) -> None:
    """Every alert event (transitions, notifications, acks, silences) since a time."""
    from alerts.store import AlertStore

    _, wh = _ctx_parts(ctx)
    start = dt.datetime.now(dt.UTC) - _duration(since)
    _emit(AlertStore(wh).history(start, alert_id), fmt)


# -- silences -----------------------------------------------------------------------------------------------


@click.group("silence")
def silence_group() -> None:
    """Mute notifications of alerts matching label matchers for a while."""


@silence_group.command("add")
@click.option("--match", "matchers", multiple=True, required=True, help="name=value, name!=value, name=~regex")
@click.option("--for", "duration", default="2h", show_default=True, help="how long, e.g. 30m, 2h, 1d")
@click.option("--comment", required=True, help="why")
@click.option("--author", default=None, help="who (default: the login name)")
@click.pass_context
def silence_add(ctx: click.Context, matchers: tuple[str, ...], duration: str, comment: str, author: str | None) -> None:
    """Add a silence; prints its id."""
    from alerts.manage import add_silence
    from alerts.store import AlertStore

    _, wh = _ctx_parts(ctx)
    s = add_silence(AlertStore(wh), matchers, now=dt.datetime.now(dt.UTC), duration=_duration(duration),
                    author=_author(author), comment=comment)  # fmt: skip
    click.echo(f"silence {s.id} until {s.ends_at.isoformat(timespec='minutes')}: {', '.join(map(str, s.matchers))}")


@silence_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="include expired silences")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def silence_list(ctx: click.Context, show_all: bool, fmt: str) -> None:
    """Active (and pending) silences."""
    from alerts.manage import listed_silences, silence_table
    from alerts.store import AlertStore

    _, wh = _ctx_parts(ctx)
    now = dt.datetime.now(dt.UTC)
    _emit(silence_table(listed_silences(AlertStore(wh), now, show_all), now), fmt)


@silence_group.command("expire")
@click.argument("silence_id")
@click.pass_context
def silence_expire(ctx: click.Context, silence_id: str) -> None:
    """End a silence now."""
    from alerts.manage import expire_silence
    from alerts.store import AlertStore

    _, wh = _ctx_parts(ctx)
    expired = expire_silence(AlertStore(wh), silence_id, dt.datetime.now(dt.UTC))
    click.echo(f"expired silence {expired.id}")


# -- actions ------------------------------------------------------------------------------------------------


@click.group("actions")
def actions_group() -> None:
    """The auto-shutdown log: every planned, skipped and executed step."""


@actions_group.command("list")
@click.option("--since", "since", default="7d", show_default=True, help="how far back, e.g. 24h, 30d")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def actions_list(ctx: click.Context, since: str, fmt: str) -> None:
    """Action steps, newest first, with the evidence and the estimated $/hour saved."""
    from alerts.actions import recent_actions

    _, wh = _ctx_parts(ctx)
    _emit(recent_actions(wh, dt.datetime.now(dt.UTC) - _duration(since)), fmt)


def register(cli: click.Group) -> None:
    for group in (rules_group, alerts_group, silence_group, actions_group):
        cli.add_command(group)
