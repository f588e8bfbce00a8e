"""Embedded engine: a Delta Lake of Parquet tables (delta-rs) queried by DuckDB.

Why Delta and not DuckDB's own file: DuckDB allows one writer process and blocks readers of a
database file it writes, while the daemon, the CLI and the dashboard must all read while one writes.
Delta gives atomic appends and partition replaces through its log: readers see the last committed
version, a write killed half-way leaves only unreferenced files, and nothing ever takes a lock.
"""

from __future__ import annotations

import datetime
import errno
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from exporters.warehouse.delta_writer import replace_local
from exporters.warehouse.duck_reader import LakeReader
from exporters.warehouse.engine import Data, Key, Warehouse, as_batches, key_predicate, schema_of
from exporters.warehouse.lake_check import check_table, is_listed, set_aside
from exporters.warehouse.readonly import check_read_only
from exporters.warehouse.schema import TABLES
from exporters.warehouse.sqltext import bind, to_duckdb
from spendscope.errors import QueryError, StorageFullError, WriteConflictError

log = logging.getLogger(__name__)
T = TypeVar("T")

# Two processes replacing the same partition at once: Delta lets one commit and rejects the other,
# which then retries (re-reading its input) a few times with jitter.
_RETRIES = 6
_RETENTION_HOURS = 168
# Damaged files one query may set aside before it gives up (each costs a re-read of the snapshot).
_SET_ASIDE_PER_QUERY = 3


class DuckDbLake(Warehouse):
    """The embedded default: `<root>/<table>/` Delta tables partitioned by `_day`."""

    engine = "duckdb"

    def __init__(self, root: str | os.PathLike[str], reporting_tz: str = "America/Los_Angeles") -> None:
        self.root = str(root)
        self._local = "://" not in self.root
        self.reporting_tz = reporting_tz
        self._write_locks: dict[str, threading.Lock] = {name: threading.Lock() for name in TABLES}
        self._tables: dict[str, DeltaTable] = {}
        self._tables_lock = threading.Lock()
        self._reader = LakeReader(self._delta)

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
        except (OSError, DeltaError) as exc:
            raise _storage_full(table, exc) or exc from None

    def _replace_once(self, table: str, data: Data, keys: Sequence[Key]) -> int:
        schema = schema_of(table)
        path = self._path(table)
        spec = TABLES[table]
        partition = spec.partition
        with self._write_locks[table]:
            if "://" not in self.root:
                # Local lake: our own bounded-memory Parquet writer plus one Delta commit (delta_writer.py).
                batches = as_batches(data, schema, keep_dictionaries=True)  # the writer takes dictionaries as they are
                written = replace_local(path, schema, batches, keys, partition, plain_floats=spec.plain_floats)
            else:
                written = _replace_remote(path, schema, as_batches(data, schema), keys, partition)
        log.debug("wrote table:%s rows:%s keys:%s", table, written, len(keys))
        return written

    def replace_from_query(self, table: str, sql: str, params: Mapping[str, Any], keys: Sequence[Key]) -> int:
        text = to_duckdb(bind(sql, params))

        def once() -> int:
            with self._reader.session() as con:
                # Streamed from DuckDB into the Delta writer: the derived rows are never all in memory.
                return self._replace_once(table, con.execute(text).to_arrow_reader(100_000), keys)

        return _retrying(once, table)

    def replace_many_from_query(
        self, targets: Mapping[str, Sequence[Key]], sql: str, params: Mapping[str, Any]
    ) -> dict[str, int]:
        text = to_duckdb(bind(sql, params))

        def once() -> dict[str, int]:
            # A fresh session each attempt, so a retry after a conflicting commit recomputes from the new snapshot.
            with self._reader.session() as con:
                # One scan for every target: the derived rows go to a temporary table (DuckDB spills it past its
                # memory limit), then each target's rows stream from it into that table's Delta writer.
                con.execute(f"CREATE OR REPLACE TEMP TABLE _derived AS {text}")
                try:
                    return {
                        table: self._replace_once(
                            table,
                            con.execute("SELECT * FROM _derived WHERE _target = ?", [table]).to_arrow_reader(100_000),
                            keys,
                        )
                        for table, keys in targets.items()
                    }
                finally:
                    con.execute("DROP TABLE IF EXISTS _derived")

        # A retry rewrites the targets already written too: same keys, same rows, so nothing doubles.
        return _retrying(once, ", ".join(targets))

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

    def check_files(self, deep: bool = False) -> list[dict[str, Any]]:
        if not self._local:
            return []  # object stores keep their own checksums; a damaged object is the store's to restore
        records: list[dict[str, Any]] = []
        for name in TABLES:
            # Read every footer without the table's write lock (the 30 s writers must not wait for that), then
            # under it check the bad ones again and set aside those still listed and still bad.
            suspects = {b.path for b in check_table(self._path(name), name, deep)}
            if not suspects:
                continue
            with self._write_locks[name]:
                bad = check_table(self._path(name), name, deep, only=suspects)
                if bad:
                    records += set_aside(self.root, bad, datetime.datetime.now(datetime.UTC))
        return records

    def _set_aside_named(self, message: str) -> bool:
        """Set aside the lake file a failed query names, if it is unreadable; True when one was."""
        for path in re.findall(r"['\"](/[^'\"]+?\.parquet)['\"]", message):
            rel = os.path.relpath(path, self.root)
            table, _, file = rel.partition(os.sep)
            if not self._local or rel.startswith("..") or table not in TABLES:
                continue
            with self._write_locks[table]:
                try:
                    # Deep: a damaged data page fails queries while its footer reads fine; one file is cheap.
                    bad = check_table(self._path(table), table, deep=True, only={file})
                except OSError:  # the machine's trouble (EMFILE, EIO, …), not the file's: leave it, fail the query
                    return False
                if not bad:
                    if not is_listed(self._path(table), file):
                        return True  # another process set it aside meanwhile: reading again will work
                    continue
                try:
                    set_aside(self.root, bad, datetime.datetime.now(datetime.UTC))
                except (DeltaError, OSError) as exc:  # e.g. another process set the same file aside first
                    log.warning("lake file not set aside table:%s file:%s (%s)", table, file, exc)
                return True
        return False

    def maintain(self) -> int:
        """Compact the small files hourly ingests leave and vacuum unreferenced ones.

        Both are delta-rs operations that are safe while readers read (DESIGN §4); vacuum keeps a week of
        history so a reader holding an older snapshot, and time travel for audits, keep working. Unreadable
        files are set aside first: compaction would fail on them.
        """
        self.check_files()
        removed = 0
        for name in TABLES:
            dt = self._delta(name)
            if dt is None:
                continue
            with self._write_locks[name]:
                metrics = dt.optimize.compact()
                dt.vacuum(retention_hours=_RETENTION_HOURS, dry_run=False, enforce_retention_duration=True)
            removed += int(metrics.get("numFilesRemoved", 0))
            log.info("maintenance table:%s files_removed:%s", name, metrics.get("numFilesRemoved", 0))
        return removed

    def release_memory(self) -> None:
        # The reader's database keeps what its queries allocated (DuckDB's own allocator, the views' file lists)
        # until it is closed; the next query opens a fresh one (~80 ms). Replaying the daemon's jobs over an hour
        # of 1,536 GPUs' minutes, RSS between jobs moved 375-417 MB with the database kept, 363-374 MB with it
        # replaced after every job (BENCHMARKS.md, daemon soak).
        self._reader.close()

    def close(self) -> None:
        self._reader.close()

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        text = to_duckdb(bind(sql, params))
        for attempt in range(_SET_ASIDE_PER_QUERY + 1):
            try:
                with self._reader.session() as con:  # opening it points views at the files: it may fail too
                    return con.execute(text).fetch_arrow_table()
            except duckdb.Error as exc:
                # A damaged data file fails every query of its table: set it aside (kept, logged, repaired by the
                # next lake check) and answer from the rest, once.
                if attempt < _SET_ASIDE_PER_QUERY and self._set_aside_named(str(exc)):
                    continue
                raise _query_failed(exc) from None
        raise AssertionError("unreachable")

    def read_only_query(self, sql: str) -> pa.Table:
        """One SELECT that passed check_read_only AND DuckDB's own parser, run in a sealed session (duck_reader)."""
        check_read_only(sql)
        text = to_duckdb(sql)
        with self._reader.sealed_session() as con:
            try:
                statements = con.extract_statements(text)
                if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
                    raise QueryError("spendscope query is read-only: DuckDB does not read this as one SELECT")
                return con.execute(text).fetch_arrow_table()
            except duckdb.Error as exc:
                raise _query_failed(exc) from None


def _replace_remote(
    path: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch], keys: Sequence[Key], partition: str
) -> int:
    """Object stores: delta-rs writes (it buffers each open day's file in memory)."""
    written = 0

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal written
        for b in batches:
            written += b.num_rows
            yield b

    reader = pa.RecordBatchReader.from_batches(schema, counted())
    if keys and DeltaTable.is_deltatable(path):
        write_deltalake(path, reader, mode="overwrite", predicate=key_predicate(keys), partition_by=[partition])
    else:  # a new table, or a plain append: nothing to replace yet
        write_deltalake(path, reader, mode="append", partition_by=[partition])
    return written


def _retrying(write: Callable[[], T], table: str) -> T:
    for attempt in range(_RETRIES):
        try:
            return write()
        except CommitFailedError as exc:
            if attempt == _RETRIES - 1:
                raise WriteConflictError(f"{table}: concurrent writers kept conflicting; run again ({exc})") from None
            log.info("write-conflict table:%s attempt:%s", table, attempt + 1)
            time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))
        except (OSError, DeltaError) as exc:
            raise _storage_full(table, exc) or exc from None
    raise AssertionError("unreachable")


def _query_failed(exc: duckdb.Error) -> QueryError:
    return QueryError(f"query failed: {str(exc).splitlines()[0]}")


def _storage_full(table: str, exc: BaseException) -> StorageFullError | None:
    """A clear error for ENOSPC / EDQUOT, raised by Python, pyarrow (errno set) or delta-rs (only in its text)."""
    if getattr(exc, "errno", None) not in (errno.ENOSPC, errno.EDQUOT) and "No space left on device" not in str(exc):
        return None
    # The writer deleted what it had written and nothing was committed: readers keep the old snapshot.
    return StorageFullError(
        f"{table}: no space left on the lake's disk; nothing of this write was committed and the previous data is "
        "intact. Free space (spendscope's lake-maintenance vacuums old files) and run again"
    )
