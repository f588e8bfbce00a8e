"""Stream record batches into hive-style day-partitioned Parquet files, in memory bounded by a budget.

Why not `write_deltalake` or `pyarrow.dataset.write_dataset`: both keep a growing buffer per open
partition (delta-rs the whole file, the dataset writer `min_rows_per_group` rows each), so unsorted
input spread over ~90 days peaks at gigabytes. Here each day keeps a small queue of compact row
slices; when all queues together pass `buffer_bytes`, the biggest are written out as row groups to
that day's open file. Memory is the budget plus one input batch, whatever the input size or order.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

BUFFER_BYTES = 256 << 20
ROW_GROUP_ROWS = 122_880  # DuckDB's own row-group size: one reader thread per row group
MAX_FILE_BYTES = 1 << 30  # Arrow bytes per file (~100-200 MB of Parquet) before rolling to a new one
MAX_OPEN_FILES = 256


@dataclass(frozen=True)
class WrittenFile:
    """One closed Parquet file: `path` relative to the table root, its day and row count, size in bytes."""

    path: str
    day: dt.date
    rows: int
    size: int


@dataclass
class _Day:
    """The open file of one day and the slices waiting to be written to it."""

    pending: list[pa.RecordBatch] = field(default_factory=list)
    pending_rows: int = 0
    pending_bytes: int = 0
    writer: pq.ParquetWriter | None = None
    path: str = ""
    file_rows: int = 0
    file_bytes: int = 0


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
        row_group_rows: int = ROW_GROUP_ROWS,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_open_files: int = MAX_OPEN_FILES,
    ) -> None:
        self.root = root
        self.partition = partition
        self._day_index = schema.get_field_index(partition)
        self._file_schema = schema.remove(self._day_index)
        self._buffer_bytes = buffer_bytes
        self._row_group_rows = row_group_rows
        self._max_file_bytes = max_file_bytes
        self._max_open_files = max_open_files
        self._prefix = uuid.uuid4().hex
        self._seq = 0
        self._days: OrderedDict[dt.date, _Day] = OrderedDict()  # least recently written first
        self._pending_bytes = 0
        self._done: list[WrittenFile] = []
        self._created: list[str] = []
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        """Queue `batch`'s rows by day, writing row groups out whenever the memory budget is reached."""
        if not batch.num_rows:
            return
        self.rows += batch.num_rows
        rest = batch.drop_columns([self.partition])
        days = batch.column(self._day_index).to_numpy(zero_copy_only=False).astype("datetime64[D]")
        if days[0] == days[-1] and (days == days[0]).all():  # sorted input: no copy at all
            self._queue(days[0].item(), rest)
        else:
            # One stable sort, then one `take` per day: each day's slice is a compact copy, so writing
            # out one day frees its memory (zero-copy slices would pin the whole batch until all are out).
            order = np.argsort(days, kind="stable")
            ordered = days[order]
            starts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
            for lo, hi in zip(np.r_[0, starts], np.r_[starts, len(order)], strict=True):
                self._queue(ordered[lo].item(), rest.take(pa.array(order[lo:hi])))
        if self._pending_bytes > self._buffer_bytes:
            # Write out the biggest queues until half the budget is free: big row groups, few calls.
            for day, state in sorted(self._days.items(), key=lambda kv: -kv[1].pending_bytes):
                if self._pending_bytes <= self._buffer_bytes // 2 or not state.pending:
                    break
                self._flush(day, state)

    def close(self) -> list[WrittenFile]:
        """Write out everything queued, close every file and return them all."""
        for day, state in list(self._days.items()):
            self._flush(day, state)
            self._close(day, state)
        self._days.clear()
        return self._done

    def abort(self) -> None:
        """Close and delete every file written so far (best effort: a crash leaves orphans vacuum removes)."""
        for state in self._days.values():
            if state.writer is not None:
                state.writer.close()
        self._days.clear()
        for path in self._created:
            try:
                os.remove(os.path.join(self.root, path))
            except OSError:
                pass
        self._created, self._done = [], []

    def _queue(self, day: dt.date, rows: pa.RecordBatch) -> None:
        state = self._days.pop(day, None) or _Day()
        self._days[day] = state  # (re)inserted last: most recently written
        state.pending.append(rows)
        size = rows.nbytes
        state.pending_rows += rows.num_rows
        state.pending_bytes += size
        self._pending_bytes += size
        if state.pending_rows >= self._row_group_rows:
            self._flush(day, state)

    def _flush(self, day: dt.date, state: _Day) -> None:
        if not state.pending:
            return
        if state.writer is None:
            self._open(day, state)
        assert state.writer is not None
        table = pa.Table.from_batches(state.pending, self._file_schema)
        state.writer.write_table(table, row_group_size=max(table.num_rows, 1))
        state.file_rows += state.pending_rows
        state.file_bytes += state.pending_bytes
        self._pending_bytes -= state.pending_bytes
        state.pending, state.pending_rows, state.pending_bytes = [], 0, 0
        if state.file_bytes >= self._max_file_bytes:
            self._close(day, state)

    def _open(self, day: dt.date, state: _Day) -> None:
        open_files = [(d, s) for d, s in self._days.items() if s.writer is not None]
        if len(open_files) >= self._max_open_files:
            # Many days at once (a backfill): close the least recently written file, its day reopens later.
            old_day, old = open_files[0]
            self._flush(old_day, old)
            self._close(old_day, old)
        self._seq += 1
        state.path = f"{self.partition}={day.isoformat()}/part-{self._prefix}-{self._seq:05d}.parquet"
        full = os.path.join(self.root, state.path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        self._created.append(state.path)
        state.writer = pq.ParquetWriter(full, self._file_schema, compression="snappy")

    def _close(self, day: dt.date, state: _Day) -> None:
        if state.writer is None:
            return
        state.writer.close()
        size = os.path.getsize(os.path.join(self.root, state.path))
        self._done.append(WrittenFile(state.path, day, state.file_rows, size))
        state.writer, state.file_rows, state.file_bytes = None, 0, 0
