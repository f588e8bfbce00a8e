"""The warehouse API both engines implement, and `open_warehouse` which picks one from config.

Writes are whole-partition: `replace(table, data, keys)` atomically swaps every row matching any key
for `data`, so re-running an ingest never double-counts. Reads take BigQuery Standard SQL.
"""

from __future__ import annotations

import abc
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa

from exporters.warehouse.schema import TABLES, conform

if TYPE_CHECKING:
    from spendscope.config import Settings

# A partition key: column → value, all equal (AND); a replace takes several (OR).
Key = Mapping[str, Any]
Data: TypeAlias = pa.Table | pa.RecordBatchReader | Iterable[pa.RecordBatch]
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Warehouse(abc.ABC):
    """Tables in, SQL out. Implementations: DuckDbLake (embedded default) and BigQueryWarehouse."""

    engine: str

    @abc.abstractmethod
    def replace(self, table: str, data: Data, keys: Sequence[Key]) -> int:
        """Atomically replace the rows matching any of `keys` with `data`; returns rows written.

        Every row of `data` must itself match one of `keys`. With no keys, `data` is appended.
        """

    def append(self, table: str, data: Data) -> int:
        """Append rows (engine-state tables such as quarantine)."""
        return self.replace(table, data, [])

    @abc.abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run BigQuery Standard SQL over the warehouse tables and views; returns Arrow."""

    def read_only_query(self, sql: str) -> pa.Table:
        """Run SQL a person typed (`spendscope query`): one SELECT, refused with QueryError if it would write.

        Engines add their own guard (duckdb.py, bigquery.py); see readonly.py.
        """
        from exporters.warehouse.readonly import check_read_only

        check_read_only(sql)
        return self.query(sql)

    @abc.abstractmethod
    def replace_from_query(self, table: str, sql: str, params: Mapping[str, Any], keys: Sequence[Key]) -> int:
        """Replace the rows matching `keys` in `table` with the result of `sql` (a derived table refresh)."""

    def replace_many_from_query(
        self, targets: Mapping[str, Sequence[Key]], sql: str, params: Mapping[str, Any]
    ) -> dict[str, int]:
        """Refresh several derived tables from one query: each row goes to the table its `_target` column names.

        For each table of `targets`, the rows matching its keys are replaced by the query's rows for it; returns
        rows written per table. This default runs the query once per table (fine where the engine scans in
        place); DuckDbLake runs it once for all of them.
        """
        return {
            table: self.replace_from_query(
                table, f"SELECT * FROM (\n{sql}\n) WHERE _target = @_target", {**params, "_target": table}, keys
            )
            for table, keys in targets.items()
        }

    @abc.abstractmethod
    def table_version(self, table: str) -> int | None:
        """A number that changes whenever `table` is written (for cache invalidation); None if absent."""

    def maintain(self) -> int:
        """Periodic upkeep (compaction); returns files removed. Engines that manage storage do nothing."""
        return 0

    def check_files(self, deep: bool = False) -> list[dict[str, Any]]:
        """Set aside unreadable data files (lake_check.py); returns their records. Managed storage: nothing."""
        return []

    def release_memory(self) -> None:  # noqa: B027 - optional hook
        """Drop what is held for reads between uses (the daemon calls it after every job); the next read reopens."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def schema_of(table: str) -> pa.Schema:
    try:
        return TABLES[table].schema
    except KeyError:
        raise KeyError(f"unknown table {table!r}; valid: {', '.join(sorted(TABLES))}") from None


def as_batches(data: Data, schema: pa.Schema, *, keep_dictionaries: bool = False) -> Iterable[pa.RecordBatch]:
    """Stream `data` as record batches conformed to `schema` (never materializes a reader whole); `conform` says
    what `keep_dictionaries` keeps."""
    if isinstance(data, pa.Table):
        yield from conform(data, schema, keep_dictionaries=keep_dictionaries).to_batches(max_chunksize=256_000)
        return
    for batch in data:
        if batch.num_rows:
            yield from conform(batch, schema, keep_dictionaries=keep_dictionaries).to_batches()


def fold_keys(keys: Sequence[Key]) -> list[tuple[tuple[tuple[str, Any], ...], list[Any]]]:
    """Keys grouped by their non-`_day` columns: (sorted column/value pairs, distinct non-null days in order).

    Keys that differ only in `_day` fold into one term, so a predicate says `_day IN (...)` once; both
    engines' predicate renderers (key_predicate, bigquery.bq_predicate) build on this.
    """
    groups: dict[tuple[tuple[str, Any], ...], list[Any]] = {}
    for key in keys:
        bad = [k for k in key if not _COLUMN.fullmatch(k)]
        if bad:  # column names are written into the predicate; only plain identifiers ever are
            raise ValueError(f"not a column name in a partition key: {bad[0]!r}")
        rest = tuple(sorted((k, v) for k, v in key.items() if k != "_day"))
        groups.setdefault(rest, []).append(key.get("_day"))
    return [(rest, sorted({d for d in days if d is not None}, key=str)) for rest, days in groups.items()]


def key_predicate(keys: Sequence[Key]) -> str:
    """A SQL predicate (valid for delta-rs/DataFusion and DuckDB) matching any of `keys`."""
    terms = []
    for rest, days in fold_keys(keys):
        parts = [f"{k} = {_plain_literal(v)}" for k, v in rest]
        if days:
            parts.append("_day IN (" + ", ".join(_plain_literal(d) for d in days) + ")")
        terms.append("(" + " AND ".join(parts or ["TRUE"]) + ")")
    return " OR ".join(terms) if terms else "FALSE"


def _plain_literal(value: Any) -> str:
    """Literal for a partition predicate: dates and strings as quoted text, which both engines coerce."""
    if isinstance(value, dt.date | dt.datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if value is None:
        return "NULL"
    return str(value)


def open_warehouse(settings: Settings) -> Warehouse:
    """The engine named in `warehouse.engine`."""
    if settings.warehouse.engine == "bigquery":
        from exporters.warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse.from_settings(settings)
    from exporters.warehouse.duckdb import DuckDbLake

    return DuckDbLake(settings.warehouse.path, reporting_tz=settings.reporting.timezone)
