"""Parquet billing export files (`bq extract --destination_format PARQUET`), streamed in record batches.

Two passes, both streaming: a cheap first pass reads only the key columns (account, times, cost,
partition, export_time) to learn the (account, day) keys and their totals before anything is written;
the second reads every known column batch by batch and converts with Arrow casts only (struct and
list columns are cast whole, `list<element: …>` and `list<item: …>` alike; decimal NUMERIC → float;
timestamps of any unit, with or without a zone → microseconds UTC). Quarantined rows carry their
0-based row index in the file as `line`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from collectors.base import Quarantined
from collectors.common.files import parquet_file
from collectors.gcp_billing.columns import PARTITION_FIELDS, TABLE, check_required, resolve
from collectors.gcp_billing.normalize import normalize
from collectors.gcp_billing.summary import Summary, keys_of, merge, summarize
from spendscope.errors import InputError, MissingColumnsError

_BATCH_ROWS = 64 * 1024
_KEY_COLUMNS = {"billing_account_id", "cost", "usage_start_time", "usage_end_time", "export_time", *PARTITION_FIELDS}


@dataclass
class ParquetSource:
    """An opened Parquet export: its known columns, and the keys and totals of its valid rows."""

    path: str
    file: pq.ParquetFile
    columns: dict[str, str]  # file column → canonical name
    replace_by: str
    summary: Summary = field(default_factory=dict)

    def batches(self, allowed: set[tuple[str, dt.date]], quarantined: list[Quarantined]) -> Iterator[pa.RecordBatch]:
        """Stream the file's valid rows in the warehouse schema; bad rows go to `quarantined`."""
        offset = 0
        for raw in _read(self.path, self.file, list(self.columns)):
            norm = normalize(raw, self.path, self.replace_by)
            if norm.bad:
                quarantined += [Quarantined(TABLE, self.path, offset + i, r, _raw(raw, i)) for i, r in norm.bad]
            if not keys_of(norm.table) <= allowed:
                # The first pass saw other keys: the file changed under us. Failing here aborts the
                # whole write (Delta commits atomically), which beats replacing the wrong partitions.
                raise InputError(f"{self.path}: file changed while it was being ingested; run again")
            yield from norm.table.to_batches()
            offset += raw.num_rows


def _read(path: str, pf: pq.ParquetFile, columns: list[str], rows: int = _BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """`pf`'s batches; damaged pages (the footer read fine) are an InputError naming the file, not a traceback."""
    try:
        for batch in pf.iter_batches(batch_size=rows, columns=columns, use_threads=True):
            batch.validate(full=True)  # a damaged page can hold text that is not UTF-8: refused here, not later
            yield batch
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from None


def _raw(batch: pa.RecordBatch, i: int) -> str:
    row = batch.slice(i, 1)
    try:
        return json.dumps(row.to_pylist()[0], default=str)
    except (ValueError, OverflowError):  # a time Python cannot hold (year 0, 10000+): Arrow's own text
        return row.to_string(show_metadata=False, preview_cols=row.num_columns)


def open_parquet(path: str, replace_by: str) -> ParquetSource:
    """Open `path`, check its columns, and run the key pass (reads only the key columns)."""
    pf = parquet_file(path)
    columns = resolve(pf.schema_arrow.names)
    check_required(path, columns.values())
    if replace_by == "partition" and not set(columns.values()) & set(PARTITION_FIELDS):
        raise MissingColumnsError(path, ["_PARTITIONTIME"])
    src = ParquetSource(path, pf, columns, replace_by)
    key_cols = [name for name, canon in columns.items() if canon in _KEY_COLUMNS]
    for raw in _read(path, pf, key_cols, 4 * _BATCH_ROWS):
        merge(src.summary, summarize(normalize(raw, path, replace_by).table))
    return src
