"""The live GCP billing export in BigQuery, pulled incrementally by day partition (formats.md §1.5).

Koku's method: scan the trailing window of partitions for `max(export_time)`, compare with the
watermarks in `ingest_state`, and take every new or moved partition WHOLE, so late rows (credits, taxes,
corrections) replace the partition instead of adding to it. On the DuckDB engine the partition's rows are
pulled and replace `_day = partition`; on the BigQuery engine nothing is copied: `gcp_billing_export` is a
view over the export and the runner only records the watermark and re-derives focus_costs for the day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from google.api_core import exceptions as gexc
from google.cloud import bigquery

from collectors.base import Batch, Quarantined, RunContext
from exporters.warehouse.bigquery import make_client
from exporters.warehouse.bq_schema import export_select, missing_columns, partition_day
from exporters.warehouse.schema import TABLES, conform
from spendscope.bq_names import quoted_table
from spendscope.errors import ConfigError, MissingColumnsError, SourceError

if TYPE_CHECKING:
    from spendscope.config import GcpBillingConfig

log = logging.getLogger(__name__)

TABLE = "gcp_billing_export"
_PAGE_ROWS = 50_000


def _retry(deadline_s: float) -> Any:
    """The client's default retry, bounded so an unreachable endpoint fails in `deadline_s`."""
    return bigquery.DEFAULT_RETRY.with_timeout(deadline_s)


def _failure(export_table: str, exc: Exception) -> SourceError:
    message = str(getattr(exc, "message", None) or exc).splitlines()[0]
    return SourceError(f"gcp billing export {export_table}: {message}")


def _storage_client(cfg: GcpBillingConfig) -> object | None:
    """A BigQuery Storage Read client for fast partition pulls; None against an emulator or when unavailable."""
    if cfg.api_endpoint:
        return None  # the emulator's Storage Read API cannot read query results
    try:
        from google.cloud import bigquery_storage

        return bigquery_storage.BigQueryReadClient()
    except Exception as exc:  # missing package or credentials: REST pages still work, only slower
        log.info("gcp-billing storage-api:unavailable reason:%s", exc)
        return None


def stored_watermarks(ctx: RunContext, source: str) -> dict[str, Any]:
    """partition (day ISO) → the watermark recorded for it by earlier runs of `source`."""
    found = ctx.warehouse.query(
        "SELECT `partition`, MAX(watermark) AS watermark FROM ingest_state WHERE source = @source GROUP BY `partition`",
        {"source": source},
    )
    return dict(zip(found.column("partition").to_pylist(), found.column("watermark").to_pylist(), strict=True))


def _scan(client: Any, table: bigquery.Table, start: dt.date, retry: Any) -> list[dict[str, Any]]:
    """One row per partition since `start`: its day, max(export_time), reach, row count and cost."""
    part = partition_day(table)
    sql = (
        f"SELECT {part} AS d, MAX(export_time) AS w, MAX(usage_end_time) AS u, COUNT(*) AS n, "
        f"SUM(CAST(cost AS FLOAT64)) AS c\nFROM {quoted_table(table.project, table.dataset_id, table.table_id)}\n"
        f"WHERE {part} >= DATE '{start.isoformat()}'\nGROUP BY d ORDER BY d"
    )
    job = client.query(sql, retry=retry, job_retry=retry)
    return [dict(row.items()) for row in job.result(retry=retry)]


def _pull(
    client: Any, table: bigquery.Table, day: dt.date, source: str, storage: Any, retry: Any, export_table: str
) -> Iterator[pa.RecordBatch]:
    """Every row of one partition, conformed to our schema (NUMERIC as FLOAT64), streamed by page."""
    schema = TABLES[TABLE].schema
    sql = export_select(table, schema, source) + f"\nWHERE {partition_day(table)} = DATE '{day.isoformat()}'"
    try:
        rows = client.query(sql, retry=retry, job_retry=retry).result(page_size=_PAGE_ROWS, retry=retry)
        for batch in rows.to_arrow_iterable(bqstorage_client=storage):
            if batch.num_rows:
                yield from conform(batch, schema).to_batches()
    except (gexc.GoogleAPIError, OSError, ValueError) as exc:
        raise _failure(export_table, exc) from None


def collect_from_bigquery(
    ctx: RunContext,
    cfg: GcpBillingConfig,
    client: object | None = None,
    *,
    bqstorage_client: object | None = None,
    retry_deadline_s: float = 120.0,
) -> Iterator[Batch | Quarantined]:
    """Yield one whole-partition Batch per new or moved export partition in the scan window."""
    export_table = cfg.export_table
    if not export_table:
        raise ConfigError("collectors.gcp_billing.export_table is not set (project.dataset.table)")
    retry = _retry(retry_deadline_s)
    bq: Any = client if client is not None else make_client(cfg.project, cfg.api_endpoint)
    source, row_source = f"gcp_billing:{export_table}", f"bq:{export_table}"
    try:
        table = bq.get_table(export_table, retry=retry)
    except gexc.NotFound:
        raise SourceError(f"gcp billing export table {export_table} not found") from None
    except (gexc.GoogleAPIError, OSError, ValueError) as exc:
        raise _failure(export_table, exc) from None
    missing = missing_columns(TABLES[TABLE].required, table.schema)
    if missing:
        raise MissingColumnsError(row_source, missing)

    stored = stored_watermarks(ctx, source)
    today = ctx.now().astimezone(dt.UTC).date()
    start = today - dt.timedelta(days=cfg.trailing_days if stored else cfg.initial_days)
    try:
        partitions = _scan(bq, table, start, retry)
    except (gexc.GoogleAPIError, OSError, ValueError) as exc:
        raise _failure(export_table, exc) from None
    moved = [
        p
        for p in partitions
        if p["d"] is not None and (p["d"].isoformat() not in stored or stored[p["d"].isoformat()] != p["w"])
    ]
    log.info(
        "gcp-billing scan table:%s since:%s partitions:%s moved:%s", export_table, start, len(partitions), len(moved)
    )

    in_place = ctx.warehouse.engine == "bigquery"
    # With an injected client the caller injects the Storage Read client too; else we make both.
    own_clients = client is None and bqstorage_client is None and moved and not in_place
    storage = _storage_client(cfg) if own_clients else bqstorage_client
    if in_place and moved:
        ensure_view = getattr(ctx.warehouse, "ensure_export_view", None)
        if ensure_view is not None:
            ensure_view(export_table)  # picks up columns the export gained since last time
    for p in moved:
        day: dt.date = p["d"]
        state = {
            "source": source, "partition": day.isoformat(), "watermark": p["w"], "max_usage_end": p["u"],
            "rows": int(p["n"]), "cost": float(p["c"] or 0.0), "_source": row_source,
        }  # fmt: skip
        key = {"_day": day, "_source": row_source}
        if in_place:
            yield Batch(TABLE, data=[], keys=[key], state=[state], in_place=True)
        else:
            data = _pull(bq, table, day, row_source, storage, retry, export_table)
            yield Batch(TABLE, data=data, keys=[key], state=[state])
