"""Unreadable data files in the local lake: find them, set them aside, and leave a record of what to repair.

A Parquet file can be damaged after its commit (a disk error, a truncated restore, a stray edit); one such file
makes every query of its table fail. `check_table` finds them: missing, a footer that does not parse, a row
count other than the commit's, and with `deep` every column of every row group decoded. `set_aside` moves each
to `<lake>/_set_aside/<table>/<stamp>/<path>` (kept, never deleted: it may be salvageable), then commits
removes for them, so the table reads again at once, without them. In that order: a crash in between leaves a
file that is missing, which the next check sets aside the same way.

Each file set aside is a line of `<lake>/_set_aside/log.jsonl` with `repaired: false`; lake_repair.py
recomputes what depended on its days and marks it repaired (the next daemon run, or `spendscope lake check`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, TextIO

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.transaction import AddAction, RemoveAction

log = logging.getLogger(__name__)

SET_ASIDE_DIR = "_set_aside"
LOG_FILE = "log.jsonl"


@dataclass(frozen=True)
class BadFile:
    """One active file of a table's snapshot that cannot be read, and why."""

    table: str
    path: str  # relative to the table's folder, as in the Delta log
    day: dt.date | None
    rows: int | None  # what the commit recorded
    size: int
    reason: str


def check_file(full: str, rows: int | None, deep: bool = False) -> str | None:
    """Why the Parquet file at `full` cannot be read (None if it can): missing, bad footer, row count, pages."""
    if not os.path.exists(full):
        return "file missing"
    try:
        meta = pq.read_metadata(full)
        if rows is not None and meta.num_rows != rows:
            return f"holds {meta.num_rows} row(s), the commit recorded {rows}"
        if deep:
            pf = pq.ParquetFile(full)
            for i in range(pf.num_row_groups):
                pf.read_row_group(i)
    except (OSError, pa.ArrowException) as exc:  # what pyarrow raises on damaged files
        if getattr(exc, "errno", None) not in (None, errno.ENOENT):
            # Too many open files, EIO, EACCES, a stale NFS handle: the machine's trouble, not proof the file
            # is damaged. Setting it aside would take its rows out of the table; raise and let the caller fail.
            raise
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}"
    return None


def check_table(table_root: str, table: str, deep: bool = False, only: set[str] | None = None) -> list[BadFile]:
    """Every active file of the table at `table_root` that cannot be read (`only`: just these relative paths)."""
    actions = _active_files(table_root)
    if actions is None:
        return []
    days = actions.column("partition._day").to_pylist() if "partition._day" in actions.schema.names else None
    bad = []
    for i, (rel, size, rows) in enumerate(
        zip(*(actions.column(c).to_pylist() for c in ("path", "size_bytes", "num_records")), strict=True)
    ):
        if only is not None and rel not in only:
            continue
        reason = check_file(os.path.join(table_root, rel), rows, deep)
        if reason is not None:
            bad.append(BadFile(table, rel, days[i] if days else None, rows, size, reason))
    return bad


def is_listed(table_root: str, rel: str) -> bool:
    """Whether the table's current snapshot still lists the data file `rel`."""
    actions = _active_files(table_root)
    return actions is not None and rel in actions.column("path").to_pylist()


def _active_files(table_root: str) -> pa.Table | None:
    """The add actions (path, size, row count, partition) of the table's current snapshot; None: no table."""
    if not DeltaTable.is_deltatable(table_root):
        return None
    return pa.table(DeltaTable(table_root).get_add_actions(flatten=True))


def set_aside(lake_root: str, bad: list[BadFile], now: dt.datetime) -> list[dict[str, Any]]:
    """Move each bad file out of its table, commit removes for them, and log them; returns the log records."""
    records = []
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for table in sorted({b.table for b in bad}):
        files = [b for b in bad if b.table == table]
        table_root = os.path.join(lake_root, table)
        for b in files:
            source = os.path.join(table_root, b.path)
            moved = os.path.join(lake_root, SET_ASIDE_DIR, table, stamp, b.path)
            if os.path.exists(source):
                os.makedirs(os.path.dirname(moved), exist_ok=True)
                shutil.move(source, moved)
            else:
                moved = ""
            records.append({**asdict(b), "day": b.day.isoformat() if b.day else None, "moved_to": moved,
                            "set_aside_at": now.isoformat(), "repaired": False})  # fmt: skip
        try:
            _commit_removes(table_root, files)
        except Exception:
            # Not committed: the table still lists them, so they go back (a later check tries again).
            for r in records[-len(files) :]:
                if r["moved_to"] and os.path.exists(r["moved_to"]):
                    shutil.move(r["moved_to"], os.path.join(table_root, r["path"]))
            raise
        for b in files:
            log.error("lake file set aside table:%s file:%s reason:%s", table, b.path, b.reason)
    append_log(lake_root, records)
    return records


def _commit_removes(table_root: str, files: list[BadFile]) -> None:
    table = DeltaTable(table_root)
    at = int(time.time() * 1000)
    removes: list[AddAction | RemoveAction] = [
        RemoveAction(b.path, True, at, b.size, {"_day": b.day.isoformat()} if b.day else {}) for b in files
    ]
    schema = pa.schema(table.schema().to_arrow())
    partition_by = table.metadata().partition_columns
    table.create_write_transaction(removes, mode="append", schema=schema, partition_by=partition_by)


def read_log(lake_root: str) -> list[dict[str, Any]]:
    """Every file ever set aside, oldest first."""
    path = os.path.join(lake_root, SET_ASIDE_DIR, LOG_FILE)
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:  # a torn last line (a crash mid-append): not a record
                continue
    return out


def append_log(lake_root: str, records: list[dict[str, Any]]) -> None:
    if not records:
        return
    with _log_lock(lake_root), open(os.path.join(lake_root, SET_ASIDE_DIR, LOG_FILE), "a", encoding="utf-8") as f:
        _write_records(f, records)


def _write_records(f: TextIO, records: list[dict[str, Any]]) -> None:
    """One JSON object per line, on disk (fsync) before the caller goes on."""
    for r in records:
        f.write(json.dumps(r, sort_keys=True) + "\n")
    f.flush()
    os.fsync(f.fileno())


@contextlib.contextmanager
def _log_lock(lake_root: str) -> Iterator[None]:
    """One writer of the log at a time across processes (the daemon, the CLI and the dashboard all may)."""
    os.makedirs(os.path.join(lake_root, SET_ASIDE_DIR), exist_ok=True)
    fd = os.open(os.path.join(lake_root, SET_ASIDE_DIR, "log.lock"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def mark_repaired(lake_root: str, done: list[dict[str, Any]], now: dt.datetime) -> None:
    """Rewrite the log with `done` marked repaired (atomically: a temp file renamed over it)."""
    keys = {(r["table"], r["path"], r["set_aside_at"]) for r in done}
    with _log_lock(lake_root):  # a record appended meanwhile by another process is kept
        out = []
        for r in read_log(lake_root):
            if (r["table"], r["path"], r["set_aside_at"]) in keys:
                r = {**r, "repaired": True, "repaired_at": now.isoformat()}
            out.append(r)
        path = os.path.join(lake_root, SET_ASIDE_DIR, LOG_FILE)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            _write_records(f, out)
        os.replace(tmp, path)
