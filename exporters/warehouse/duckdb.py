"""Embedded engine: a Delta Lake of Parquet tables (delta-rs) queried by DuckDB.

Why Delta and not DuckDB's own file: DuckDB allows one writer process and blocks readers of a
database file it writes, while the daemon, the CLI and the dashboard must all read while one writes.
Delta gives atomic appends and partition replaces through its log: readers see the last committed
version, a write killed half-way leaves only unreferenced files, and nothing ever takes a lock.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from exporters.warehouse.engine import Data, Key, Warehouse, as_batches, key_predicate, schema_of
from exporters.warehouse.schema import TABLES
from exporters.warehouse.sqltext import DUCKDB_MACROS, bind, to_duckdb
from exporters.warehouse.views import view_definitions
from spendscope.errors import QueryError, WriteConflictError

log = logging.getLogger(__name__)

# Two processes replacing the same partition at once: Delta lets one commit and rejects the other,
# which then retries (re-reading its input) a few times with jitter.
_RETRIES = 6
_SPILL_DIR = os.path.join(tempfile.gettempdir(), "spendscope-duckdb")


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
        if isinstance(data, pa.Table):  # re-readable: retry on a concurrent commit
            return _retrying(lambda: self._replace_once(table, data, keys), table)
        try:
            return self._replace_once(table, data, keys)
        except CommitFailedError as exc:
            raise WriteConflictError(
                f"{table}: another process replaced the same partitions at the same time; run again ({exc})"
            ) from None

    def _replace_once(self, table: str, data: Data, keys: Sequence[Key]) -> int:
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
        text = to_duckdb(bind(sql, params))

        def once() -> int:
            con = self._connect()
            try:
                # Streamed from DuckDB into the Delta writer: the derived rows are never all in memory.
                return self._replace_once(table, con.execute(text).fetch_record_batch(100_000), keys)
            finally:
                con.close()

        return _retrying(once, table)

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
        """A fresh in-memory DuckDB over each table's committed snapshot, plus the shared views."""
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")  # BigQuery semantics: DATE(ts) is the UTC date
        # Spill to the system temp dir (not ./.tmp), and let big scans stream out of order (we ORDER BY).
        con.execute(f"SET temp_directory = '{_SPILL_DIR}'")
        con.execute("SET preserve_insertion_order = false")
        for macro in DUCKDB_MACROS:
            con.execute(macro)
        for name, spec in TABLES.items():
            self._register(con, name, spec.schema)
        for name, sql in _duckdb_views().items():
            con.execute(f"CREATE VIEW {name} AS {sql}")
        return con

    def _register(self, con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
        dt = self._delta(name)
        files = [] if dt is None else dt.file_uris()
        if not files:
            con.register(name, schema.empty_table())
        elif all(f.startswith("/") for f in files):
            # DuckDB's own Parquet reader over exactly the snapshot's files: multi-threaded with projection
            # and partition pruning, several times faster than scanning through an Arrow dataset.
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
                f"hive_types = {{'_day': DATE}}, union_by_name = true)"
            )
        else:  # object stores: let deltalake resolve the files
            con.register(name, dt.to_pyarrow_dataset())  # type: ignore[union-attr]

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        text = to_duckdb(bind(sql, params))
        con = self._connect()
        try:
            return con.execute(text).fetch_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {str(exc).splitlines()[0]}") from None
        finally:
            con.close()


def _retrying(write: Callable[[], int], table: str) -> int:
    for attempt in range(_RETRIES):
        try:
            return write()
        except CommitFailedError as exc:
            if attempt == _RETRIES - 1:
                raise WriteConflictError(f"{table}: concurrent writers kept conflicting; run again ({exc})") from None
            log.info("write-conflict table:%s attempt:%s", table, attempt + 1)
            time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))
    raise AssertionError("unreachable")


@functools.lru_cache(maxsize=1)
def _duckdb_views() -> dict[str, str]:
    return {name: to_duckdb(sql) for name, sql in view_definitions().items()}
