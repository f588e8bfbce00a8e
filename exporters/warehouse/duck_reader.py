"""The read side of the embedded engine: one in-process DuckDB database over the lake's committed snapshots.

Each table is a view over exactly the Parquet files of its current Delta snapshot, re-pointed only when the
table's version moves; the FOCUS views and macros are created once. Every query runs on its own cursor, so
the daemon's threads, the CLI and the dashboard never share a connection's state, and a reader never
sees a write that has not committed. SQL a person typed (`spendscope query`) runs in a `sealed_session`
instead: a database of its own that may read the snapshot's Parquet files and touch no other file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from exporters.warehouse.schema import TABLES
from exporters.warehouse.sqltext import DUCKDB_MACROS, DUCKDB_SHIMS, to_duckdb
from exporters.warehouse.views import view_definitions

log = logging.getLogger(__name__)

SPILL_DIR = os.path.join(tempfile.gettempdir(), "spendscope-duckdb")
# DuckDB would otherwise take up to 80% of RAM for its buffer pool; it spills past this instead.
MEMORY_LIMIT = os.environ.get("SPENDSCOPE_DUCKDB_MEMORY_LIMIT", "1GB")
ALLOCATOR_FLUSH = os.environ.get("SPENDSCOPE_DUCKDB_ALLOCATOR_FLUSH", "16MB")
# One long-lived database keeps growing outside its buffer pool when its views are re-pointed at new file
# lists and queried all day (the daemon: a commit every 30 s) — bench/daemon_soak.py measured +25 MB per
# gpu-rollup, to 443 MB in 30 minutes; a database replaced often stays flat. So the reader retires its
# database after this many queries and opens a fresh one (about 80 ms); a retired one is closed when the
# last query still running on it ends. The daemon also retires it after every job (DuckDbLake.release_memory).
RECYCLE_AFTER = int(os.environ.get("SPENDSCOPE_DUCKDB_RECYCLE_AFTER", "50"))


class LakeReader:
    """Owns the DuckDB database; `session()` gives a cursor whose tables match the latest commits."""

    def __init__(self, snapshot: Callable[[str], DeltaTable | None]) -> None:
        self._snapshot = snapshot
        self._db: duckdb.DuckDBPyConnection | None = None
        self._versions: dict[str, int | None] = {}
        self._served = 0  # queries the current database has served
        self._users: dict[int, int] = {}  # id(database) → queries running on it
        self._retired: dict[int, duckdb.DuckDBPyConnection] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor whose tables match the latest commits, closed (and its database released) on exit."""
        with self._lock:
            if self._db is not None and self._served >= RECYCLE_AFTER:
                self._retire(self._db)
            if self._db is None:
                self._db, self._served = self._open(), 0
                self._versions.clear()
            db = self._db
            for name, spec in TABLES.items():
                self._refresh(db, name, spec.schema)
            self._served += 1
            self._users[id(db)] = self._users.get(id(db), 0) + 1
            cursor = db.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                self._users[id(db)] -= 1
                if not self._users[id(db)]:
                    del self._users[id(db)]
                    retired = self._retired.pop(id(db), None)
                    if retired is not None:
                        retired.close()

    @contextlib.contextmanager
    def sealed_session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on a fresh database of its own that can read the latest snapshot's Parquet files and no other
        file: COPY … TO, ATTACH, INSTALL or read_csv('/etc/…') fail with a permission error. Closed on exit."""
        db = self._open()
        try:
            allowed: list[str] = []
            for name in TABLES:
                allowed += _point(db, name, self._snapshot(name))
            listed = ", ".join(_quoted(f) for f in allowed)
            db.execute(f"SET allowed_paths = [{listed}]")  # read by the views; DuckDB's spill files stay allowed
            db.execute("SET enable_external_access = false")  # cannot be turned back on in this database
            db.execute("SET lock_configuration = true")
            cursor = db.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        finally:
            db.close()

    def _retire(self, db: duckdb.DuckDBPyConnection) -> None:
        """Stop handing out `db`; close it now if no query runs on it, else when the last one ends."""
        self._db = None
        if self._users.get(id(db)):
            self._retired[id(db)] = db
        else:
            db.close()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._retire(self._db)
                self._versions.clear()

    @staticmethod
    def _open() -> duckdb.DuckDBPyConnection:
        db = duckdb.connect(":memory:")
        for setting in (
            "SET GLOBAL TimeZone = 'UTC'",  # BigQuery semantics: DATE(ts) is the UTC date
            f"SET GLOBAL temp_directory = {_quoted(SPILL_DIR)}",  # not ./.tmp in whatever folder we run from
            f"SET GLOBAL memory_limit = {_quoted(MEMORY_LIMIT)}",
            "SET GLOBAL preserve_insertion_order = false",  # big scans may stream out of order; we ORDER BY
            # DuckDB's allocator keeps what a query freed for reuse until a query peaks above this (128 MiB by
            # default), so a daemon reading the last hour of telemetry every minute held ~50 MB more at every
            # window size it reached (bench/daemon_soak.py). Flushing after any query past 16 MiB keeps it flat.
            f"SET GLOBAL allocator_flush_threshold = {_quoted(ALLOCATOR_FLUSH)}",
        ):
            db.execute(setting)
        for macro in (*DUCKDB_MACROS, *DUCKDB_SHIMS):
            db.execute(macro)
        for name, spec in TABLES.items():
            # Real (empty) tables, not registered Arrow relations: those are local to one connection.
            db.register("_arrow", spec.schema.empty_table())
            db.execute(f"CREATE TABLE _empty_{name} AS SELECT * FROM _arrow")
            db.unregister("_arrow")
            db.execute(f"CREATE VIEW {name} AS SELECT * FROM _empty_{name}")
        for name, sql in _duckdb_views().items():
            db.execute(f"CREATE VIEW {name} AS {sql}")
        return db

    def _refresh(self, db: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
        dt = self._snapshot(name)
        version = None if dt is None else dt.version()
        if name in self._versions and self._versions[name] == version:
            return
        _point(db, name, dt)
        self._versions[name] = version


def _quoted(text: str) -> str:
    """A DuckDB string literal (paths and settings come from the lake and the environment, not from SQL)."""
    return "'" + text.replace("'", "''") + "'"


def _point(db: duckdb.DuckDBPyConnection, name: str, dt: DeltaTable | None) -> list[str]:
    """Point view `name` at snapshot `dt` (None: the empty table); returns the local files the view reads."""
    files = [] if dt is None else dt.file_uris()
    local = bool(files) and all(f.startswith("/") for f in files)
    if not files:
        body = f"SELECT * FROM _empty_{name}"
    elif local:
        # DuckDB's own Parquet reader over exactly the snapshot's files: multi-threaded with projection
        # and partition pruning, several times faster than scanning through an Arrow dataset.
        listed = ", ".join(_quoted(f) for f in files)
        body = f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, hive_types = {{'_day': DATE}})"
    else:  # object stores: deltalake resolves the files; a table of the snapshot, read once per version
        db.register("_arrow", dt.to_pyarrow_dataset())  # type: ignore[union-attr]
        db.execute(f"CREATE OR REPLACE TABLE _remote_{name} AS SELECT * FROM _arrow")
        db.unregister("_arrow")
        body = f"SELECT * FROM _remote_{name}"
    db.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
    return files if local else []


_VIEWS: dict[str, str] = {}


def _duckdb_views() -> dict[str, str]:
    if not _VIEWS:
        _VIEWS.update({name: to_duckdb(sql) for name, sql in view_definitions().items()})
    return _VIEWS
