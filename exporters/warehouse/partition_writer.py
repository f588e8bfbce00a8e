"""Stream record batches into hive-style day-partitioned Parquet files, in memory bounded by a budget.

Why not `write_deltalake` or `pyarrow.dataset.write_dataset`: both keep a growing buffer per open
partition (delta-rs the whole file, the dataset writer `min_rows_per_group` rows each), so unsorted
input spread over ~90 days peaks at gigabytes. Here a thread pool sorts each incoming batch by day
(one `take`: a compact copy) while the caller produces the next; when the sorted queue reaches
`buffer_bytes`, the pool writes each day's rows of it as one row group to that day's open file, and
the queue is dropped. Memory is about the budget whatever the input size or order, and row groups get
about budget / (days × row size) rows: ~5,000 for 90 days of GCP export rows at the default budget.

String leaves that come as dictionaries (a Parquet export, read so) are written from them, one dictionary per
column across the queue (`_one_form`): the writer then hashes none of their strings, and the files read back as
the table's text columns all the same.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from exporters.warehouse.schema.types import decoded, has_dictionary
from spendscope.memory import release_unused

BUFFER_BYTES = 384 << 20
ROW_GROUP_ROWS = 122_880  # DuckDB's own row-group size: one reader thread per row group
MAX_FILE_BYTES = 1 << 30  # Arrow bytes per file (~100-200 MB of Parquet) before rolling to a new one
MAX_OPEN_FILES = 256
_ARROW_SCHEMA = "ARROW:schema"  # where pyarrow keeps the Arrow schema in a Parquet file's key/value metadata

# A queued batch sorted by day, each day's [start, end) rows in it, and its Arrow bytes per row.
_Sorted = tuple[pa.RecordBatch, dict[dt.date, tuple[int, int]], float]


@dataclass(frozen=True)
class WrittenFile:
    """One closed Parquet file: `path` relative to the table root, its day and row count, size in bytes."""

    path: str
    day: dt.date
    rows: int
    size: int


@dataclass
class _OpenFile:
    writer: pq.ParquetWriter
    path: str
    rows: int = 0
    nbytes: int = 0


class DayPartitionWriter:
    """Writes batches of `schema` under `root` as `<partition>=YYYY-MM-DD/part-<uuid>-<n>.parquet`.

    The partition column is not stored in the files: Delta (and hive readers) take it from the path.
    """

    def __init__(
        self,
        root: str,
        schema: pa.Schema,
        partition: str = "_day",
        *,
        buffer_bytes: int = BUFFER_BYTES,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_open_files: int = MAX_OPEN_FILES,
        plain_floats: bool = False,
    ) -> None:
        self.root = root
        self.partition = partition
        self._file_schema = schema.remove(schema.get_field_index(partition))
        self._buffer_bytes = buffer_bytes
        self._max_file_bytes = max_file_bytes
        self._max_open_files = max_open_files
        self._stats = _statistics(self._file_schema)
        self._schema_text = base64.b64encode(self._file_schema.serialize().to_pybytes())
        self._dictionary = _dictionary(self._file_schema, plain_floats)
        self._prefix = uuid.uuid4().hex
        self._seq = 0
        self._sorting: list[Future[_Sorted]] = []
        self._queued_bytes = 0
        self._open: dict[dt.date, _OpenFile] = {}
        self._done: list[WrittenFile] = []
        self._created: list[str] = []
        # Sorting and Parquet encoding release the GIL: in a pool they use every core (up to 4).
        self._workers = max(1, min(4, os.cpu_count() or 1))
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="parquet-writer")
        self._lock = threading.Lock()  # guards the file lists, which the pool's writers share
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        """Queue `batch` (sorted by day in the pool); hand the queue to the pool's writers when it is full."""
        if not batch.num_rows:
            return
        self.rows += batch.num_rows
        self._sorting.append(self._pool.submit(_sort_by_day, batch, self.partition))
        self._queued_bytes += batch.nbytes
        if self._queued_bytes >= self._buffer_bytes:
            self._hand_over()
            # The queue's batches were allocated on the pool's threads and are freed here; Arrow's allocators keep
            # such pages per thread until asked, which let a 5M-row ingest peak anywhere from 1.2 to 1.5 GB. Only
            # after a full buffer: small writes (most of them) would pay malloc_trim for nothing.
            release_unused()

    def close(self) -> list[WrittenFile]:
        """Write out everything queued, close every file and return them all."""
        try:
            self._hand_over()
        finally:
            self._pool.shutdown()
        for day in list(self._open):
            self._close(day)
        return self._done

    def abort(self) -> None:
        """Close and delete every file written so far (best effort: a crash leaves orphans vacuum removes)."""
        self._sorting = []
        self._pool.shutdown()  # waits for running tasks, so no writer is busy below
        for f in self._open.values():
            try:
                f.writer.close()
            except OSError:  # e.g. the disk is full: the file is deleted below anyway
                # pyarrow marks a writer closed only when close() succeeds, and would retry (and print the
                # same error as an "Exception ignored" traceback) when it is garbage-collected.
                f.writer.is_open = False
        self._open.clear()
        for path in self._created:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(self.root, path))
        self._created, self._done = [], []

    def _hand_over(self) -> None:
        if not self._sorting:
            return
        queue = _one_form([f.result() for f in self._sorting], self._file_schema)
        self._sorting, self._queued_bytes = [], 0
        rows: dict[dt.date, int] = {}
        for _, runs, _ in queue:
            for day, (lo, hi) in runs.items():
                rows[day] = rows.get(day, 0) + hi - lo
        if len(set(self._open) | set(rows)) > self._max_open_files:
            for day in [d for d in self._open if d not in rows]:  # a backfill over many days: free handles
                self._close(day)
        # Days split across the workers, biggest first onto the least loaded: one day, one thread.
        shares: list[list[dt.date]] = [[] for _ in range(self._workers)]
        loads = [0] * self._workers
        for day in sorted(rows, key=lambda d: -rows[d]):
            i = loads.index(min(loads))
            shares[i].append(day)
            loads[i] += rows[day]
        # Wait for them: letting the next queue fill meanwhile would double the memory and, measured on
        # 2 cores, gain nothing (the pool is already busy sorting what the caller reads).
        writing = [self._pool.submit(self._write_days, queue, days) for days in shares if days]
        wait(writing)
        for f in writing:
            f.result()  # raises a writer's error, once every writer has stopped

    def _write_days(self, queue: list[_Sorted], days: list[dt.date]) -> None:
        for day in days:
            parts, nbytes = [], 0.0
            for batch, runs, row_bytes in queue:
                if day in runs:
                    lo, hi = runs[day]
                    parts.append(batch.slice(lo, hi - lo))
                    nbytes += (hi - lo) * row_bytes  # Table.nbytes of many slices costs more than it is worth
            f = self._open.get(day)
            table = _day_table(parts, f.writer.schema if f is not None else None)
            f = f or self._new_file(day, table.schema)
            f.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            f.rows += table.num_rows
            f.nbytes += int(nbytes)
            if f.nbytes >= self._max_file_bytes or len(self._open) > self._max_open_files:
                self._close(day)

    def _new_file(self, day: dt.date, schema: pa.Schema) -> _OpenFile:
        """A file for `day`'s rows of `schema`: the table's own, or with dictionary-encoded string leaves."""
        with self._lock:
            self._seq += 1
            path = f"{self.partition}={day.isoformat()}/part-{self._prefix}-{self._seq:05d}.parquet"
            self._created.append(path)
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        encoded = any(has_dictionary(t) for t in schema.types)
        writer = pq.ParquetWriter(
            full,
            schema,
            compression="snappy",
            write_statistics=self._stats,
            use_dictionary=self._dictionary,
            # Parquet stores strings as strings either way; the Arrow schema a reader restores is the table's, as if
            # they had come as text (pyarrow would otherwise read these files back as dictionaries).
            store_schema=not encoded,
        )
        if encoded:
            writer.add_key_value_metadata({**(self._file_schema.metadata or {}), _ARROW_SCHEMA: self._schema_text})
        f = _OpenFile(writer, path)
        with self._lock:
            self._open[day] = f
        return f

    def _close(self, day: dt.date) -> None:
        with self._lock:
            f = self._open.pop(day)
        try:
            f.writer.close()
        except OSError:
            f.writer.is_open = False  # as in abort(): no second attempt (and traceback) at garbage collection
            raise
        size = os.path.getsize(os.path.join(self.root, f.path))
        with self._lock:
            self._done.append(WrittenFile(f.path, day, f.rows, size))


def _one_form(queue: list[_Sorted], file_schema: pa.Schema) -> list[_Sorted]:
    """The queue's batches in one form, with one dictionary per column across them where they carry dictionaries.

    Batches may carry string leaves as dictionaries (a Parquet export, read so), each batch its own. Unified here,
    every day's rows of the queue hold the same dictionary per column, which the Parquet writer takes as that
    column chunk's dictionary instead of hashing every string. The writer writes a dictionary whole into every day's
    row group, so a leaf whose unified dictionary has more values than the queue has rows per day is made text
    (`_small_dictionaries`). Batches of different forms (text and dictionaries, from different files of one
    command) are all made text (`file_schema`).

    On the caller's thread, while the pool is idle: unify_dictionaries rewrites its input's child arrays in place,
    which slices of the same batch share; run per day on the pool's threads, beside each other and the writers, it
    corrupted the heap.
    """
    schema = queue[0][0].schema
    if any(not b.schema.equals(schema) for b, _, _ in queue):
        return [(b if b.schema.equals(file_schema) else b.cast(file_schema), runs, size) for b, runs, size in queue]
    if not any(has_dictionary(t) for t in schema.types):
        return queue
    batches = pa.Table.from_batches([b for b, _, _ in queue], schema).unify_dictionaries().to_batches()
    days = {day for _, runs, _ in queue for day in runs}
    target = _small_dictionaries(batches[0], sum(b.num_rows for b in batches) // max(1, len(days)))
    if not target.equals(schema):
        batches = [b.cast(target) for b in batches]
    return [(b, runs, size) for b, (_, runs, size) in zip(batches, queue, strict=True)]


def _small_dictionaries(batch: pa.RecordBatch, most: int) -> pa.Schema:
    """`batch`'s schema with every dictionary leaf of more than `most` values made text."""

    def bounded(arr: pa.Array) -> pa.DataType:
        t = arr.type
        if pa.types.is_dictionary(t):
            return decoded(t) if len(arr.dictionary) > most else t
        if pa.types.is_struct(t):
            return pa.struct([t.field(i).with_type(bounded(arr.field(i))) for i in range(t.num_fields)])
        if pa.types.is_list(t):
            return pa.list_(t.value_field.with_type(bounded(arr.values)))
        if pa.types.is_large_list(t):
            return pa.large_list(t.value_field.with_type(bounded(arr.values)))
        return t

    return pa.schema(
        [f.with_type(bounded(c)) for f, c in zip(batch.schema, batch.columns, strict=True)],
        metadata=batch.schema.metadata,
    )


def _day_table(parts: list[pa.RecordBatch], schema: pa.Schema | None) -> pa.Table:
    """One day's rows of a queue (all of one form, `_one_form`) as one table, cast to `schema`, the form of the file
    already open for the day, when that is another (cast leaves its input as it is: safe beside the other writers).
    """
    target = schema or parts[0].schema
    return pa.Table.from_batches([p if p.schema.equals(target) else p.cast(target) for p in parts], target)


def _sort_by_day(batch: pa.RecordBatch, partition: str) -> _Sorted:
    """`batch` without its day column, sorted by day (one `take`: a compact copy), each day's rows, bytes per row."""
    days = batch.column(partition).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    rest = batch.drop_columns([partition])
    if not (days[1:] >= days[:-1]).all():
        order = np.argsort(days, kind="stable")
        days, rest = days[order], rest.take(pa.array(order))
    starts = np.r_[0, np.flatnonzero(days[1:] != days[:-1]) + 1]
    ends = np.r_[starts[1:], len(days)]
    runs = {days[lo].item(): (int(lo), int(hi)) for lo, hi in zip(starts, ends, strict=True)}
    return rest, runs, rest.nbytes / max(1, rest.num_rows)


def _statistics(schema: pa.Schema) -> list[str]:
    """The columns to keep min/max statistics for: top-level scalar columns only.

    Struct and list leaves of unsorted rows prune no row group, and their statistics (string min/max above all)
    cost ~13 % of the writer's CPU on GCP export rows (bench/ingest.py).
    """
    return [f.name for f in schema if not pa.types.is_nested(f.type)]


def _dictionary(schema: pa.Schema, plain_floats: bool) -> bool | list[str]:
    """`use_dictionary` for the writer: every column, or (`plain_floats`) every leaf column but floating-point ones.

    Leaves are named by Parquet path (`usage.amount`, `credits.list.element.amount`): pyarrow matches nested
    columns by those. Costs of billing rows are nearly all distinct, so a dictionary only costs time; gpu_minutes'
    ratios repeat, so telemetry keeps them everywhere (TableSpec.plain_floats).
    """
    if not plain_floats:
        return True
    return [path for path, leaf in _leaves(schema) if not pa.types.is_floating(leaf)]


def _leaves(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    """(Parquet column path, type) of every leaf column; lists as `<name>.list.element` (pyarrow's default naming)."""
    out: list[tuple[str, pa.DataType]] = []

    def walk(path: str, t: pa.DataType) -> None:
        if pa.types.is_struct(t):
            for i in range(t.num_fields):
                walk(f"{path}.{t.field(i).name}", t.field(i).type)
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            walk(f"{path}.list.element", t.value_type)
        elif pa.types.is_map(t):
            walk(f"{path}.key_value.key", t.key_type)
            walk(f"{path}.key_value.value", t.item_type)
        else:
            out.append((path, t))

    for f in schema:
        walk(f.name, f.type)
    return out
