"""At-scale engine: the same tables in a BigQuery dataset, day-partitioned on `_day`, loaded with load jobs.

A replace loads the rows as Parquet into a private staging table, then swaps them in with ONE `MERGE`
(delete the keyed partitions, insert the staged rows): a single DML statement, so readers see the old
rows or the new ones, never both or neither. A derived refresh merges straight from its SELECT.
When the GCP billing export already lives in BigQuery, `gcp_billing_export` is a VIEW over it (read in
place, never copied). Our SQL names tables unqualified: every job runs with the dataset as default. Values
are the job's typed query parameters (bq_params.py), never text in the SQL; names from config (project,
dataset, export table) are validated identifiers (config.py) and backquoted.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from google.api_core import exceptions as gexc
from google.cloud import bigquery

from exporters.warehouse.bq_functions import (
    create_statements,
    emulator_rewrite,
    emulator_statements,
    qualify_calls,
    qualify_tables,
)
from exporters.warehouse.bq_params import with_parameters, zone_names
from exporters.warehouse.bq_schema import column_definitions, export_select, missing_columns, sql_type
from exporters.warehouse.engine import Data, Key, Warehouse, as_batches, fold_keys, schema_of
from exporters.warehouse.readonly import check_read_only
from exporters.warehouse.schema import TABLES
from exporters.warehouse.sqltext import literal
from exporters.warehouse.views import view_definitions
from spendscope.errors import ConfigError, MissingColumnsError, QueryError, SourceError

if TYPE_CHECKING:
    from spendscope.config import Settings

log = logging.getLogger(__name__)


def make_client(project: str | None, api_endpoint: str | None = None, location: str | None = None) -> Any:
    """A google.cloud.bigquery.Client; with `api_endpoint` (an emulator) anonymous credentials are used."""
    try:
        if api_endpoint:
            from google.auth.credentials import AnonymousCredentials

            return bigquery.Client(
                project=project,
                location=location,
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": api_endpoint},
            )
        return bigquery.Client(project=project, location=location)
    except Exception as exc:  # google.auth raises several unrelated types for missing credentials
        raise SourceError(f"cannot create a BigQuery client: {exc}") from None


def bq_predicate(keys: Sequence[Key], alias: str = "") -> str:
    """SQL matching any of `keys` with BigQuery literals and quoted names (`partition` is a reserved word)."""
    prefix = f"{alias}." if alias else ""
    terms = []
    for rest, days in fold_keys(keys):
        parts = [f"{prefix}`{k}` = {literal(v)}" if v is not None else f"{prefix}`{k}` IS NULL" for k, v in rest]
        if days:
            parts.append(f"{prefix}`_day` IN (" + ", ".join(f"DATE '{str(d)[:10]}'" for d in days) + ")")
        terms.append("(" + " AND ".join(parts or ["TRUE"]) + ")")
    return " OR ".join(terms) if terms else "FALSE"


_REQUEST_PREFIX = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE) \S+: ")


def _error_text(exc: Exception) -> str:
    """BigQuery's own message, without the HTTP request the client prefixes it with."""
    message = str(getattr(exc, "message", None) or exc).splitlines()[0]
    return _REQUEST_PREFIX.sub("", message)


class BigQueryWarehouse(Warehouse):
    """Our tables in one BigQuery dataset; the client is injected (tests pass one aimed at an emulator)."""

    engine = "bigquery"

    def __init__(
        self,
        client: Any,
        dataset: str,
        *,
        location: str | None = None,
        billing_export_table: str | None = None,
        bqstorage_client: Any = None,
        use_storage_api: bool = True,
        emulator: bool = False,
    ) -> None:
        self.client = client
        self.project = str(client.project)
        self.dataset = dataset
        self.dataset_ref = f"{self.project}.{dataset}"
        self.location = location
        self.billing_export_table = billing_export_table
        self._bqstorage = bqstorage_client
        self._use_storage = use_storage_api
        # Aimed at bqemulator (tests): route around its SQL rewrite bug (bq_functions.EMULATOR_FUNCTIONS).
        self.emulator = emulator
        self._ensured = False
        self._ensure_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> BigQueryWarehouse:
        """Build from `[warehouse.bigquery]`; the billing export is viewed in place when configured."""
        cfg = settings.warehouse.bigquery
        if cfg is None:
            raise ConfigError("warehouse.engine = 'bigquery' needs a [warehouse.bigquery] section with project")
        client = make_client(cfg.project, cfg.api_endpoint, cfg.location)
        # The Storage Read API is a separate gRPC service: only used against real BigQuery.
        return cls(
            client,
            cfg.dataset,
            location=cfg.location,
            billing_export_table=settings.collectors.gcp_billing.export_table,
            use_storage_api=cfg.api_endpoint is None,
            emulator=cfg.api_endpoint is not None,
        )

    # -- setup ------------------------------------------------------------------------------------

    def ref(self, table: str) -> str:
        """`project.dataset.table` of one of our tables."""
        return f"{self.dataset_ref}.{table}"

    def ensure(self) -> None:
        """Create the dataset, every table (partitioned on `_day`), our SQL functions and views, once."""
        with self._ensure_lock:
            if self._ensured:
                return
            try:
                ds = bigquery.Dataset(self.dataset_ref)
                if self.location:
                    ds.location = self.location
                self.client.create_dataset(ds, exists_ok=True)
                for name, spec in TABLES.items():
                    if name == "gcp_billing_export" and self.billing_export_table:
                        self.ensure_export_view(self.billing_export_table)
                    else:
                        self._ensure_table(name, spec.schema, spec.partition)
            except gexc.GoogleAPIError as exc:
                raise SourceError(f"BigQuery dataset {self.dataset_ref}: {_error_text(exc)}") from None
            extra = emulator_statements(self.dataset_ref) if self.emulator else []
            for statement in [*create_statements(self.dataset_ref), *extra]:
                self._run(statement)
            self._create_views()
            self._ensured = True

    def _ensure_table(self, name: str, schema: pa.Schema, partition: str) -> None:
        """Create the table if absent (DDL); add the columns a newer schema has (nullable, in place)."""
        ref = self.ref(name)
        try:
            existing = self.client.get_table(ref)
        except gexc.NotFound:
            self._run(f"CREATE TABLE IF NOT EXISTS `{ref}` ({column_definitions(schema)}) PARTITION BY `{partition}`")
            return
        if existing.table_type != "TABLE":
            return
        have = {f.name.lower() for f in existing.schema}
        added = [f for f in schema if f.name.lower() not in have]
        for f in added:
            self._run(f"ALTER TABLE `{ref}` ADD COLUMN IF NOT EXISTS `{f.name}` {sql_type(f.type)}")
        if added:
            log.info("bigquery schema-added table:%s columns:%s", name, [f.name for f in added])

    def _create_views(self) -> None:
        """The shared views (views.py): each raw table as FOCUS rows, and `focus_costs`, their union."""
        views = view_definitions()
        names = set(TABLES) | set(views)
        for name, sql in views.items():
            body = qualify_tables(self._prepare(sql), self.dataset_ref, names)
            self._run(f"CREATE OR REPLACE VIEW `{self.ref(name)}` AS\n{body}")

    def ensure_export_view(self, export_table: str) -> None:
        """(Re)create `gcp_billing_export` as a view over the billing export, conformed to our schema."""
        source = f"bq:{export_table}"
        try:
            src = self.client.get_table(export_table)
        except gexc.NotFound:
            raise SourceError(f"billing export table {export_table} not found") from None
        except (gexc.GoogleAPIError, OSError, ValueError) as exc:
            raise SourceError(f"billing export table {export_table}: {_error_text(exc)}") from None
        spec = TABLES["gcp_billing_export"]
        missing = missing_columns(spec.required, src.schema)
        if missing:
            raise MissingColumnsError(source, missing)
        view_ref = self.ref("gcp_billing_export")
        try:
            current = self.client.get_table(view_ref)
        except gexc.NotFound:
            current = None
        if current is not None and current.table_type == "TABLE":
            if current.num_rows:
                raise SourceError(
                    f"{view_ref} is a table holding {current.num_rows} copied row(s); drop it to read "
                    f"{export_table} in place"
                )
            self.client.delete_table(view_ref)
        self._run(f"CREATE OR REPLACE VIEW `{view_ref}` AS\n{export_select(src, spec.schema, source)}")

    # -- jobs -------------------------------------------------------------------------------------

    def _prepare(self, sql: str) -> str:
        """Our SQL with the per-engine functions pointed at the dataset's UDFs."""
        sql = qualify_calls(sql, self.dataset_ref)
        return emulator_rewrite(sql, self.dataset_ref) if self.emulator else sql

    def _run(self, sql: str, **config: Any) -> Any:
        """Run one statement to completion; any failure is a QueryError carrying BigQuery's message."""
        job_config = bigquery.QueryJobConfig(default_dataset=self.dataset_ref, **config)
        try:
            job = self.client.query(sql, job_config=job_config, location=self.location)
            job.result()
        except (gexc.GoogleAPIError, OSError, ValueError) as exc:
            raise QueryError(f"query failed: {_error_text(exc)}") from None
        return job

    def _parameters(self, sql: str, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        """Typed query parameters (bq_params.py); against the emulator, time-zone names stay literals."""
        return with_parameters(sql, params, zone_names(params) if self.emulator else ())

    def _to_arrow(self, rows: Any) -> pa.Table:
        return rows.to_arrow(
            bqstorage_client=self._bqstorage,
            create_bqstorage_client=self._use_storage and self._bqstorage is None,
        )

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        self.ensure()
        text, query_parameters = self._parameters(sql, params)
        job = self._run(self._prepare(text), query_parameters=query_parameters)
        try:
            return self._to_arrow(job.result())
        except (gexc.GoogleAPIError, OSError, ValueError) as exc:
            raise QueryError(f"query failed: {_error_text(exc)}") from None

    def read_only_query(self, sql: str) -> pa.Table:
        """One SELECT that passed check_read_only, and that BigQuery's dry run also calls a SELECT."""
        check_read_only(sql)
        self.ensure()
        text = self._prepare(sql)
        kind = getattr(self._run(text, dry_run=True, use_query_cache=False), "statement_type", None)
        if kind is not None and kind != "SELECT":  # the emulator may not say; real BigQuery always does
            raise QueryError(f"spendscope query is read-only: BigQuery reads this as a {kind} statement")
        try:
            return self._to_arrow(self._run(text).result())
        except (gexc.GoogleAPIError, OSError, ValueError) as exc:
            raise QueryError(f"query failed: {_error_text(exc)}") from None

    # -- writes -----------------------------------------------------------------------------------

    def _load(self, path: Path, dest: str, disposition: str) -> None:
        """Load a Parquet file into an existing table (created by DDL, so its schema is ours)."""
        parquet = bigquery.ParquetOptions()
        parquet.enable_list_inference = True  # Arrow lists load as REPEATED, not a list/element record
        job_config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition=disposition,
            create_disposition="CREATE_NEVER",
            parquet_options=parquet,
        )
        try:
            with path.open("rb") as fh:
                self.client.load_table_from_file(fh, dest, job_config=job_config, location=self.location).result()
        except (gexc.GoogleAPIError, OSError, ValueError) as exc:
            raise QueryError(f"load into {dest} failed: {_error_text(exc)}") from None

    def _merge(
        self, table: str, source_sql: str, keys: Sequence[Key], columns: Sequence[str], parameters: Sequence[Any] = ()
    ) -> Any:
        cols = ", ".join(f"`{c}`" for c in columns)
        values = ", ".join(f"S.`{c}`" for c in columns)
        return self._run(
            f"MERGE `{self.ref(table)}` T USING {source_sql} S ON FALSE\n"
            f"WHEN NOT MATCHED BY SOURCE AND ({bq_predicate(keys, 'T')}) THEN DELETE\n"
            f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})",
            query_parameters=list(parameters),
        )

    def replace(self, table: str, data: Data, keys: Sequence[Key]) -> int:
        schema = schema_of(table)
        self.ensure()
        with tempfile.TemporaryDirectory(prefix="spendscope-bq-") as tmp:
            path = Path(tmp) / f"{table}.parquet"
            written = _write_parquet(path, as_batches(data, schema), schema)
            if not keys:
                if written:
                    self._load(path, self.ref(table), "WRITE_APPEND")
            elif not written:
                self._run(f"DELETE FROM `{self.ref(table)}` WHERE {bq_predicate(keys)}")
            else:
                stage = self.ref(f"_stage_{table}_{uuid.uuid4().hex[:16]}")
                try:
                    # Expires on its own should this process die before dropping it.
                    self._run(
                        f"CREATE TABLE `{stage}` ({column_definitions(schema)}) OPTIONS (expiration_timestamp = "
                        "TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY))"
                    )
                    self._load(path, stage, "WRITE_APPEND")
                    self._merge(table, f"`{stage}`", keys, schema.names)
                finally:
                    self.client.delete_table(stage, not_found_ok=True)
        log.debug("wrote table:%s rows:%s keys:%s", table, written, len(keys))
        return written

    def replace_from_query(self, table: str, sql: str, params: Mapping[str, Any], keys: Sequence[Key]) -> int:
        schema = schema_of(table)
        self.ensure()
        bound, query_parameters = self._parameters(sql, params)
        text = self._prepare(bound)
        # Like the DuckDB engine's conform: our columns the query lacks are left NULL.
        dry = self._run(text, dry_run=True, use_query_cache=False, query_parameters=query_parameters)
        produced = {f.name.lower() for f in dry.schema or ()}
        columns = [n for n in schema.names if n.lower() in produced]
        if keys:
            job = self._merge(table, f"(\n{text}\n)", keys, columns, query_parameters)
        else:
            cols = ", ".join(f"`{c}`" for c in columns)
            job = self._run(
                f"INSERT INTO `{self.ref(table)}` ({cols})\nSELECT {cols} FROM (\n{text}\n)",
                query_parameters=query_parameters,
            )
        stats = getattr(job, "dml_stats", None)
        if stats is not None:
            return int(stats.inserted_row_count or 0)
        if not keys:
            return int(job.num_dml_affected_rows or 0)
        counted = self._to_arrow(
            self._run(f"SELECT COUNT(*) AS n FROM `{self.ref(table)}` WHERE {bq_predicate(keys)}").result()
        )
        return int(counted.column("n")[0].as_py())

    def table_version(self, table: str) -> int | None:
        try:
            meta = self.client.get_table(self.ref(table))
        except gexc.NotFound:
            return None
        modified = meta.modified
        return None if modified is None else int(modified.timestamp() * 1_000_000)

    def close(self) -> None:
        self.client.close()


def _write_parquet(path: Path, batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> int:
    """Stream batches into one Parquet file; returns the row count (0 writes no file)."""
    written = 0
    writer: pq.ParquetWriter | None = None
    try:
        for batch in batches:
            if writer is None:
                writer = pq.ParquetWriter(str(path), schema)
            writer.write_batch(batch)
            written += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return written
