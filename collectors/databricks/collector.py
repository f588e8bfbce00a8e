"""The Databricks cost collector: system.billing.usage + list_prices, live or from exported files.

Live (`spendscope collect databricks`): SQL statements on a SQL warehouse through the Statement
Execution API. Files (`--from-file`): CSV / JSON / NDJSON / Parquet exports of either table, or the
account console's legacy billable-usage CSV. Both write the same rows:
- `databricks_usage` batches replace whole days, keyed by `_day` (= usage_date) alone. The usage
  table is the account's whole truth for a day whatever carried it, so the last ingest of a day wins
  and the same usage from an API pull and a file can never be counted twice. All files of one run go
  in one batch, so two files covering parts of the same day do not replace each other.
- `databricks_list_prices` loads are merged by price period (see prices.py); `cfg.sku_prices` are
  stored as `_source = 'config'` fallback rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from collectors import registry
from collectors.base import Batch, Collector, Item, Quarantined, RunContext
from collectors.common.state import last_watermark
from collectors.databricks import parse_files, prices, pull, rows
from collectors.databricks.cells import CellError
from collectors.databricks.legacy_csv import legacy_record
from collectors.databricks.parse_results import records, result_table
from collectors.databricks.statement_api import StatementRunner
from spendscope.config import DatabricksConfig, secret
from spendscope.errors import ConfigError, SourceError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from spendscope.config import Settings

log = logging.getLogger(__name__)
KEY = "collectors.databricks"


@registry.register("databricks")
class DatabricksCollector(Collector):
    """Databricks DBU usage and list prices into databricks_usage / databricks_list_prices."""

    name = "databricks"
    section = "databricks"

    def __init__(
        self,
        cfg: DatabricksConfig,
        workspace_client: WorkspaceClient | None = None,
        *,
        window_days: int = 7,
        poll_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cfg = cfg
        self._client = workspace_client
        self.window_days = window_days
        self.poll_seconds = poll_seconds
        self.sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> DatabricksCollector:
        """Build from `[collectors.databricks]`; the SDK client is created on first use."""
        return cls(settings.collectors.databricks)

    # -- live pull ---------------------------------------------------------------------------------

    def client(self) -> WorkspaceClient:
        """The injected WorkspaceClient, or one built from host + the token in `token_env` (PAT auth)."""
        if self._client is None:
            host = self._host()
            token = secret(self.cfg.token_env)
            if token is None:
                raise ConfigError(f"{KEY}.token_env: environment variable {self.cfg.token_env} is not set")
            from databricks.sdk import WorkspaceClient

            try:
                self._client = WorkspaceClient(host=host, token=token, auth_type="pat")
            except ValueError as exc:
                raise ConfigError(f"{KEY}: cannot configure the Databricks client: {exc}") from None
        return self._client

    def _host(self) -> str:
        if self.cfg.host:
            return self.cfg.host
        if self._client is not None and self._client.config.host:
            return str(self._client.config.host)
        raise ConfigError(f"{KEY}.host is not set (the workspace URL, e.g. https://1234.5.gcp.databricks.com)")

    def collect(self, ctx: RunContext) -> Iterator[Item]:
        """Pull list_prices whole and usage from the watermark; nothing is yielded before both first reads."""
        if not self.cfg.warehouse_id:
            raise ConfigError(f"{KEY}.warehouse_id is not set (the SQL warehouse that runs the statements)")
        host = self._host()
        source = pull.source_name(host)
        runner = StatementRunner(
            self.client(), self.cfg.warehouse_id, self.cfg.wait_timeout_seconds, self.poll_seconds, self.sleep
        )
        today = ctx.now().date()
        last = pull.last_pulled_day(ctx.warehouse, source)
        since = pull.start_day(last, today, self.cfg.trailing_days, self.cfg.initial_days)
        log.info("databricks pull source:%s since:%s last:%s", source, since, last)

        res = runner.run(pull.PRICES_SQL)
        where = f"{source} statement {res.statement_id}"
        price_table, price_bad = result_table("list_prices", res.columns, res.rows, source, where)
        _check_truncated(res.truncated, where)
        # Held back until the first usage window has succeeded: a failing pull writes nothing at all.
        pending: list[Item] = [*price_bad, *self._price_batches(ctx, [price_table])]
        late = self._late_days(runner, ctx, source, since) if last is not None else []
        plan = [(d, d + dt.timedelta(days=1)) for d in late] + list(pull.windows(since, today, self.window_days))
        for start, until in plan:
            params = {
                "since": (start.isoformat(), "DATE"),
                "until": (until.isoformat() if until else None, "DATE"),
            }
            res = runner.run(pull.USAGE_SQL, params)
            where = f"{source} statement {res.statement_id}"
            table, bad = result_table("usage", res.columns, res.rows, source, where)
            _check_truncated(res.truncated, where)
            days = sorted(set(pull.window_days(start, until, today)) | pull.days_in(table))
            yield from pending
            pending = []
            yield from bad
            yield Batch(
                "databricks_usage",
                table,
                keys=[{"_day": d} for d in days],
                state=pull.state_rows(table, source),
            )

    def _late_days(self, runner: StatementRunner, ctx: RunContext, source: str, since: dt.date) -> list[dt.date]:
        """Days before `since` that got rows ingested since the last watermark (late corrections)."""
        mark = last_watermark(ctx.warehouse, source)
        if mark is None:
            return []
        res = runner.run(
            pull.LATE_DAYS_SQL, {"mark": (mark.date().isoformat(), "DATE"), "since": (since.isoformat(), "DATE")}
        )
        days = []
        for _, rec, _ in records(res.columns, res.rows):
            if isinstance(rec, dict) and isinstance(rec.get("usage_date"), dt.date):
                days.append(rec["usage_date"])
        log.info("databricks late days source:%s mark:%s days:%s", source, mark, len(days))
        return sorted(set(days))

    # -- files -------------------------------------------------------------------------------------

    def collect_files(self, ctx: RunContext, paths: Sequence[str]) -> Iterator[Item]:
        """Ingest exports; every file's columns are checked before anything is yielded."""
        exports = [parse_files.open_export(p) for p in parse_files.export_files(paths)]
        kinds = [parse_files.detect(e) for e in exports]
        usage: list[pa.Table] = []
        price_tables: list[pa.Table] = []
        bad: list[Quarantined] = []
        for export, kind in zip(exports, kinds, strict=True):
            table_name = "databricks_list_prices" if kind == "list_prices" else "databricks_usage"
            bad.extend(Quarantined(table_name, export.path, ln, why, raw) for ln, why, raw in export.errors)
            if kind is None:
                continue
            source = f"file:{Path(export.path).name}"
            records = export.records
            if kind == "legacy":
                records = self._legacy(export, bad)
            table, more = rows.build("list_prices" if kind == "list_prices" else "usage", records, source,
                                     export.path)  # fmt: skip
            bad.extend(more)
            (price_tables if kind == "list_prices" else usage).append(table)
        yield from bad
        yield from self._price_batches(ctx, price_tables)
        if usage:
            table = pa.concat_tables(usage)
            days = sorted(pull.days_in(table))
            if days:
                yield Batch("databricks_usage", table, keys=[{"_day": d} for d in days])

    def _legacy(self, export: parse_files.Export, bad: list[Quarantined]) -> list[tuple[int | None, Any]]:
        out: list[tuple[int | None, Any]] = []
        for line, rec in export.records:
            try:
                out.append((line, legacy_record(rec, self.cfg.cloud)))
            except CellError as exc:
                bad.append(Quarantined("databricks_usage", export.path, line, str(exc), rows.raw_text(rec)))
        return out

    # -- prices ------------------------------------------------------------------------------------

    def _price_batches(self, ctx: RunContext, loaded: list[pa.Table]) -> list[Batch]:
        """The list_prices upsert (if it changes anything) and the config fallback rows (if changed)."""
        out: list[Batch] = []
        stored, stored_config = prices.stored_prices(ctx.warehouse)
        if loaded:
            merged = prices.merge(stored, pa.concat_tables(loaded))
            if merged is not None:
                table, keys = merged
                out.append(Batch("databricks_list_prices", table, keys=keys))
        wanted = prices.config_prices(self.cfg.sku_prices)
        if prices.config_changed(stored_config, wanted):
            out.append(Batch("databricks_list_prices", wanted, keys=[{"_source": prices.CONFIG_SOURCE}]))
        return out


def _check_truncated(truncated: bool, where: str) -> None:
    # A truncated result would replace whole days with part of their rows: refuse it.
    if truncated:
        raise SourceError(f"databricks: {where}: result was truncated; nothing from it is written")
