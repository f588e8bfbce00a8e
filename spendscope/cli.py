"""The `spendscope` command line. Every command is a thin call into a module that tests cover.

Errors a user can act on (bad config, bad input, unreachable source) print one clear message and
exit non-zero; only an unexpected bug shows a traceback, and only with --debug.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import click

from spendscope import config as config_mod
from spendscope import logs
from spendscope.errors import ConfigError, QueryError, SpendscopeError
from spendscope.memory import use_pool
from spendscope.secrets import redact

log = logging.getLogger("spendscope.cli")
INTERNAL_ERROR = 70


class Group(click.Group):
    """Turns SpendscopeError into `error: …` and an exit code instead of a traceback."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A byte that is not UTF-8 in argv arrives as a lone surrogate, which no table, query or file can hold.
        for arg in args:
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                message = f"{arg!r} is not valid UTF-8 text (check the terminal's encoding)"
                raise click.UsageError(message, ctx) from None
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpendscopeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            detail = redact(f"{type(exc).__name__}: {exc}")  # a library's message may quote what it was given
            click.echo(f"internal error: {detail}\n(re-run with --debug for details)", err=True)
            sys.exit(INTERNAL_ERROR)


def _settings(ctx: click.Context) -> config_mod.Settings:
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        obj["settings"] = config_mod.load(obj.get("config"))
    settings: config_mod.Settings = obj["settings"]
    return settings


def _warehouse(ctx: click.Context) -> Any:
    from exporters.warehouse import open_warehouse

    obj = ctx.ensure_object(dict)
    if "warehouse" not in obj:
        obj["warehouse"] = open_warehouse(_settings(ctx))
    return obj["warehouse"]


def _day(value: str | None, tz: str = "UTC") -> dt.date | None:
    """A --since/--until/--end value; relative ones (today, yesterday, -Nd) count reporting days in `tz`."""
    from spendscope.clock import parse_day

    if value is None:
        return None
    try:
        return parse_day(value, tz)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD, today, yesterday, -Nd)") from None


@click.group(cls=Group)
@click.option(
    "--config",
    "config_path",
    envvar="SPENDSCOPE_CONFIG",
    type=click.Path(dir_okay=False),
    help="spendscope.toml (default: $SPENDSCOPE_CONFIG, ./spendscope.toml, embedded defaults)",
)
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], case_sensitive=False),
    help="DEBUG, INFO, WARNING (default INFO)",
)
@click.option("--debug", is_flag=True, help="show tracebacks of internal errors")
@click.version_option(package_name="spendscope")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_level: str | None, debug: bool) -> None:
    """GPU and cloud cost observability: GCP billing, Databricks DBUs, FOCUS files."""
    logs.setup(log_level or ("DEBUG" if debug else None))
    ctx.ensure_object(dict).update(config=config_path, debug=debug)


# -- ingest -----------------------------------------------------------------------------------------


@cli.command()
@click.argument("name")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--from-file",
    "from_file",
    is_flag=True,
    help="ingest the exported files given as PATH... instead of the live source",
)
@click.option(
    "--replace-by",
    type=click.Choice(["auto", "partition", "usage-day"]),
    default="auto",
    show_default=True,
    help="GCP files: the day unit a file replaces",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="URL",
    help="scrape collectors (dcgm, network, prometheus, workload): this endpoint instead of the config's (repeatable)",
)
@click.pass_context
def collect(
    ctx: click.Context, name: str, paths: tuple[str, ...], from_file: bool, replace_by: str, targets: tuple[str, ...]
) -> None:
    """Run one collector now, or ingest saved files: --from-file PATH...

    NAME: gcp-billing, databricks, focus, dcgm, prometheus, nvml, nvidia-smi, network, inventory, workload,
    gcp-budgets.
    """
    if paths and not from_file:
        raise click.UsageError("file paths need --from-file (spendscope collect NAME --from-file PATH...)")
    if from_file and not paths:
        raise click.UsageError("--from-file needs at least one PATH")
    from collectors import load_all
    from collectors.base import RunContext
    from spendscope import ingest

    registry = load_all()
    try:
        cls = registry.get(name)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="NAME") from None
    settings = _settings(ctx)
    collector = cls.from_settings(settings)
    run_ctx = RunContext(
        settings=settings, warehouse=_warehouse(ctx), options={"replace_by": replace_by, "targets": list(targets)}
    )
    summary = ingest.run(collector, run_ctx, list(paths) or None)
    for line in summary.lines():
        click.echo(line)
    if summary.quarantined and not summary.total_rows:
        # A scheduled job must be able to tell that nothing usable came in.
        click.echo(f"error: no row could be ingested; {len(summary.quarantined)} quarantined", err=True)
        sys.exit(3)


@cli.command()
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 400))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--end", default=None, help="last day of data (default: yesterday)")
@click.option(
    "--telemetry-days",
    default=7,
    show_default=True,
    type=click.IntRange(0, 400),
    help="days of per-minute GPU/network/workload telemetry (plus the spike and idle days); 0: none",
)
@click.option(
    "--live-days",
    default=21,
    show_default=True,
    type=click.IntRange(0, 400),
    help="days of live estimates (priced from the inventory, reconciled with the billing); 0: none",
)
@click.pass_context
def demo(ctx: click.Context, days: int, seed: int, end: str | None, telemetry_days: int, live_days: int) -> None:
    """Write a deterministic sample dataset in the real upstream formats (billing and telemetry) and ingest it."""
    from spendscope.demo import run_demo

    result = run_demo(
        _settings(ctx), days=days, seed=seed, end=_day(end), warehouse=_warehouse(ctx), telemetry_days=telemetry_days,
        live_days=live_days,
    )  # fmt: skip
    click.echo(str(result))


# -- read -------------------------------------------------------------------------------------------


def _emit(table: Any, fmt: str) -> None:
    from spendscope.output import WRITERS

    WRITERS[fmt](table, sys.stdout)


@cli.command()
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def query(ctx: click.Context, sql: str, fmt: str) -> None:
    """Run one read-only BigQuery Standard SQL query against the warehouse ('-' reads it from stdin)."""
    text = sys.stdin.read() if sql == "-" else sql
    if not text.strip():
        raise QueryError("empty query")
    _emit(_warehouse(ctx).read_only_query(text), fmt)


@cli.command()
@click.option(
    "--by",
    "by",
    multiple=True,
    default=("provider",),
    show_default=True,
    help="provider, platform, service, category, team, env, workload, project, account, sku, gpu, "
    "day, month (repeatable)",
)
@click.option("--since", default=None, help="first reporting day (YYYY-MM-DD, yesterday, -30d)")
@click.option("--until", default=None, help="last reporting day, inclusive")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def costs(ctx: click.Context, by: tuple[str, ...], since: str | None, until: str | None, fmt: str) -> None:
    """Cost summary (the cost_daily rollup of focus_costs), billed USD, by reporting day in the configured zone."""
    from spendscope import costs as costs_mod

    bad = [b for b in by if b not in costs_mod.DIMENSIONS]
    if bad:
        raise click.BadParameter(f"{', '.join(bad)}; valid: {', '.join(costs_mod.DIMENSIONS)}", param_hint="--by")
    settings = _settings(ctx)
    tz = settings.reporting.timezone
    table = costs_mod.summary(_warehouse(ctx), list(by), _day(since, tz), _day(until, tz), tz)
    _emit(table, fmt)
    if fmt == "table" and table.num_rows:
        totals: dict[str, float] = {}
        for row in table.select(["currency", "billed_cost"]).to_pylist():
            totals[row["currency"]] = totals.get(row["currency"], 0.0) + (row["billed_cost"] or 0.0)
        unpriced = sum(v or 0 for v in table.column("unpriced").to_pylist())
        click.echo("total billed: " + ", ".join(f"{v:,.2f} {c}" for c, v in sorted(totals.items())))
        if unpriced:
            click.echo(
                f"{unpriced} unpriced charge(s): no list price for their SKU; set collectors.databricks.sku_prices"
            )


@cli.command("gpu-costs")
@click.option("--since", default=None, help="first reporting day (default: 7 days before --until)")
@click.option("--until", default=None, help="last reporting day, inclusive (default: yesterday)")
@click.option("--by", "by", type=click.Choice(["platform", "day"]), default="platform", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def gpu_costs(ctx: click.Context, since: str | None, until: str | None, by: str, fmt: str) -> None:
    """GPU unit economics per platform: $ per GPU-hour, $ per busy GPU-hour, idle $ (docs/unit-economics.md)."""
    from spendscope import economics

    settings = _settings(ctx)
    tz = settings.reporting.timezone
    last = _day(until, tz) or _day("yesterday", tz)
    assert last is not None
    first = _day(since, tz) or last - dt.timedelta(days=6)
    if first > last:
        raise click.BadParameter(f"--since {first} is after --until {last}", param_hint="--since")
    daily = economics.unit_economics(_warehouse(ctx), first, last, settings.reporting.timezone)
    _emit(daily if by == "day" else economics.by_platform(daily), fmt)
    if fmt == "table":
        note = economics.busy_threshold_note(settings.telemetry)
        click.echo(f"{first} .. {last} ({settings.reporting.timezone}); {note}")


@cli.command()
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Recompute the cost_daily rollup from focus_costs (after changing reporting.timezone)."""
    from exporters.warehouse.derive import rebuild_all

    n = rebuild_all(_warehouse(ctx), _settings(ctx).reporting.timezone)
    click.echo(f"cost_daily: {n} rollup row(s) rebuilt")


@cli.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """How far each source's data reaches, and the last ingest of each partition."""
    from spendscope.costs import freshness

    wh = _warehouse(ctx)
    _emit(freshness(wh), "table")
    state = wh.query(
        "SELECT source, COUNT(*) AS partitions, MAX(watermark) AS watermark, "
        "MAX(ingested_at) AS last_ingest FROM ingest_state GROUP BY 1 ORDER BY 1"
    )
    if state.num_rows:
        _emit(state, "table")


@cli.group()
def focus() -> None:
    """FOCUS 1.2 export of the normalized costs."""


@focus.command("export")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, allow_dash=False))
@click.option("--since", default=None)
@click.option("--until", default=None)
@click.pass_context
def focus_export(ctx: click.Context, fmt: str, out: str, since: str | None, until: str | None) -> None:
    """Write FOCUS 1.2 columns (plus x_ extensions) to a Parquet or CSV file."""
    if out == "-":
        raise click.BadParameter(
            "give a file name; the export is written whole, not streamed to stdout", param_hint="--out"
        )
    from exporters.focus_export import export_focus

    tz = _settings(ctx).reporting.timezone
    n = export_focus(_warehouse(ctx), out, "csv" if fmt == "csv" else "parquet", _day(since, tz), _day(until, tz))
    click.echo(f"wrote {n} row(s) to {out}")


# -- config -----------------------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Validate the config file or print its JSON Schema."""


@config_group.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Validate the config (exit 2 with the key and line on error); list the secrets it names, never their values."""
    from spendscope.secrets import DASHBOARD_SECRET_ENV, secret_refs, secret_state

    settings = _settings(ctx)
    enabled = [n for n, c in settings.collectors if getattr(c, "enabled", False)]
    click.echo(
        f"ok: {settings.source or 'embedded defaults'}; engine={settings.warehouse.engine}; "
        f"collectors enabled: {', '.join(enabled) or 'none'}"
    )
    click.echo("secrets (environment variables or <NAME>_FILE; values never shown):")
    for ref in secret_refs(settings):
        off = "" if ref.enabled else " (its section is off)"
        click.echo(f"  {ref.key} = {ref.env_name}: {secret_state(ref.env_name)}{off}")
    click.echo(f"  dashboard sign-in = {DASHBOARD_SECRET_ENV}: {secret_state(DASHBOARD_SECRET_ENV)}")


@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of spendscope.toml."""
    click.echo(json.dumps(config_mod.Settings.model_json_schema(), indent=2))


# -- processes --------------------------------------------------------------------------------------


@cli.command()
@click.option("--once", is_flag=True, help="run every enabled job once, then exit")
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """The daemon: every enabled collector on its interval, then derived tables; stops on SIGTERM/SIGINT."""
    from spendscope.scheduler import Daemon

    if not once:
        use_pool("daemon")  # long-running: the allocator that gives memory back between jobs
    daemon = Daemon(_settings(ctx), _warehouse(ctx))
    if once:
        failed = daemon.run_all_once()
        sys.exit(1 if failed else 0)
    daemon.serve_forever()


@cli.command()
@click.option("--port", type=int, default=None, help="Streamlit port (default from config, 8501)")
@click.option("--no-demo", is_flag=True, help="do not load demo data into an empty warehouse")
@click.pass_context
def up(ctx: click.Context, port: int | None, no_demo: bool) -> None:
    """Daemon + the Streamlit app; loads demo data first when the warehouse is empty."""
    from spendscope.up import run_stack

    run_stack(_settings(ctx), _warehouse(ctx), port=port, demo=not no_demo)


def _register_command_groups() -> None:
    """Command groups kept in their own modules (they import cli, so they are added after it is defined)."""
    import importlib

    for module in ("cli_alerts", "cli_report", "cli_budgets", "cli_prices", "cli_live", "cli_health", "cli_lake"):
        importlib.import_module(f"spendscope.{module}").register(cli)


_register_command_groups()


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    use_pool("batch")  # `run`, the daemon, switches to its own (spendscope/memory.py)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="spendscope", standalone_mode=True)
    except ConfigError as exc:  # raised while click resolves options, before Group.invoke
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
