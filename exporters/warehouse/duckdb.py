"""Embedded engine: a Delta Lake of Parquet tables (delta-rs) queried by DuckDB.

Why Delta and not DuckDB's own file: DuckDB allows one writer process and blocks readers of a
database file it writes, while the daemon, the CLI and the dashboard must all read while one writes.
Delta gives atomic appends and partition replaces through its log: readers see the last committed
version, a write killed half-way leaves only unreferenced files, and nothing ever takes a lock.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from exporters.warehouse.engine import Data, Key, Warehouse, as_batches, key_predicate, schema_of
from exporters.warehouse.schema import TABLES
from exporters.warehouse.sqltext import DUCKDB_MACROS, bind, to_duckdb
from spendscope.errors import QueryError

log = logging.getLogger(__name__)

# Files the writer aims for; large enough that a 90-day scan opens few files.
_TARGET_FILE_ROWS = 1_000_000


class DuckDbLake(Warehouse):
    """The embedded default: `<root>/<table>/` Delta tables partitioned by `_day`."""

    engine = "duckdb"

    def __init__(self, root: str | os.PathLike[str], reporting_tz: str = "America/Los_Angeles") -> None:
        self.root = str(root)
        self.reporting_tz = reporting_tz
        self._write_locks: dict[str, threading.Lock] = {name: threading.Lock() for name in TABLES}
        self._tables: dict[str, DeltaTable] = {}
        self._tables_lock = threading.Lock()

    # -- writes -----------------------------------------------------------------------------------

    def _path(self, table: str) -> str:
        schema_of(table)  # fail early on an unknown table name
        return self.root.rstrip("/") + "/" + table

    def replace(self, table: str, data: Data, keys: Sequence[Key]) -> int:
        schema = schema_of(table)
        path = self._path(table)
        written = 0

        def counted(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            nonlocal written
            for b in batches:
                written += b.num_rows
                yield b

        reader = pa.RecordBatchReader.from_batches(schema, counted(as_batches(data, schema)))
        if not self.root.startswith(("gs://", "s3://", "az://", "abfss://")):
            Path(path).mkdir(parents=True, exist_ok=True)
        with self._write_locks[table]:
            exists = DeltaTable.is_deltatable(path)
            if keys and exists:
                write_deltalake(
                    path,
                    reader,
                    mode="overwrite",
                    predicate=key_predicate(keys),
                    partition_by=[TABLES[table].partition],
                    target_file_size=None,
                )
            else:
                # A new table, or a plain append: nothing to replace yet.
                write_deltalake(path, reader, mode="append", partition_by=[TABLES[table].partition])
        log.debug("wrote table:%s rows:%s keys:%s", table, written, len(keys))
        return written

    def replace_from_query(self, table: str, sql: str, params: Mapping[str, Any], keys: Sequence[Key]) -> int:
        con = self._connect()
        try:
            reader = con.execute(to_duckdb(bind(sql, params))).fetch_record_batch(100_000)
            return self.replace(table, reader, keys)
        finally:
            con.close()

    # -- reads ------------------------------------------------------------------------------------

    def _delta(self, table: str) -> DeltaTable | None:
        """The table's latest committed snapshot, cached and refreshed incrementally."""
        path = self._path(table)
        with self._tables_lock:
            cached = self._tables.get(table)
            if cached is not None:
                cached.update_incremental()
                return cached
            try:
                dt = DeltaTable(path)
            except TableNotFoundError:
                return None
            self._tables[table] = dt
            return dt

    def table_version(self, table: str) -> int | None:
        dt = self._delta(table)
        return None if dt is None else dt.version()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory DuckDB with every table registered as an Arrow dataset of its snapshot."""
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")  # BigQuery semantics: DATE(ts) is the UTC date
        for macro in DUCKDB_MACROS:
            con.execute(macro)
        for name, spec in TABLES.items():
            dt = self._delta(name)
            if dt is None:
                con.register(name, spec.schema.empty_table())
            else:
                con.register(name, dt.to_pyarrow_dataset())
        return con

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        text = to_duckdb(bind(sql, params))
        con = self._connect()
        try:
            return con.execute(text).fetch_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {str(exc).splitlines()[0]}") from None
        finally:
            con.close()
