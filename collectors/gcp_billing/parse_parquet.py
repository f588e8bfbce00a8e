"""Parquet billing export files (`bq extract --destination_format PARQUET`), streamed in record batches.

Two passes, both streaming: a cheap first pass reads only the key columns (account, times, cost,
partition, export_time) to learn the (account, day) keys and their totals before anything is written;
the second reads every known column batch by batch and converts with Arrow casts only (struct and
list columns are cast whole, `list<element: …>` and `list<item: …>` alike; decimal NUMERIC → float;
timestamps of any unit, with or without a zone → microseconds UTC). Quarantined rows carry their
0-based row index in the file as `line`.

The second pass reads string leaves as dictionaries (`dictionary_leaves`), one row group at a time (Arrow
reads nested dictionaries only so), when the row groups are big enough (DICTIONARY_MIN_ROWS). An export's
strings repeat (services, SKUs, projects, label keys): decoding, sorting and writing indices instead of every
string's bytes took the write of bench/ingest.py's 5M rows from 19-22 s to 10 s (the warehouse writes the
dictionaries as they come, partition_writer.py).
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
from collectors.gcp_billing.columns import (
    EXPORT_FIELDS,
    PARTITION_FIELDS,
    TABLE,
    TEXT_ONLY,
    check_required,
    resolve,
)
from collectors.gcp_billing.normalize import normalize
from collectors.gcp_billing.summary import Summary, keys_of, merge, summarize
from spendscope.errors import InputError, MissingColumnsError

_BATCH_ROWS = 64 * 1024
# Row groups this big on average (or bigger) are read with dictionaries. Smaller ones would make as many small
# batches, each with dictionaries of its own to unify: 1M rows in row groups of 1,000 took 53 s instead of 10 s.
DICTIONARY_MIN_ROWS = _BATCH_ROWS
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
        """Stream the file's valid rows in the warehouse schema (string leaves as dictionaries, `dictionary_leaves`);
        bad rows go to `quarantined`."""
        meta = self.file.metadata
        if meta.num_rows < DICTIONARY_MIN_ROWS * max(1, meta.num_row_groups):
            # Small row groups: a batch of a row group each would be small, each with dictionaries of its own.
            yield from self._valid(_read(self.path, self.file, list(self.columns)), allowed, quarantined)
            return
        leaves = dictionary_leaves(self.file, self.columns)
        # Read by the footer the leaves were numbered from: a file replaced since cannot shift them onto other columns.
        with parquet_file(self.path, read_dictionary=leaves, metadata=meta) as data:
            yield from self._valid(_read(self.path, data, list(self.columns), by_row_group=True), allowed, quarantined)

    def _valid(
        self, stream: Iterator[pa.RecordBatch], allowed: set[tuple[str, dt.date]], quarantined: list[Quarantined]
    ) -> Iterator[pa.RecordBatch]:
        """`stream`'s rows normalized; bad rows go to `quarantined` (with their row index in the file)."""
        offset = 0
        for raw in stream:
            norm = normalize(raw, self.path, self.replace_by)
            if norm.bad:
                quarantined += [Quarantined(TABLE, self.path, offset + i, r, _raw(raw, i)) for i, r in norm.bad]
            if not keys_of(norm.table) <= allowed:
                # The first pass saw other keys: the file changed under us. Failing here aborts the
                # whole write (Delta commits atomically), which beats replacing the wrong partitions.
                raise InputError(f"{self.path}: file changed while it was being ingested; run again")
            yield from norm.table.to_batches()
            offset += raw.num_rows


def _read(
    path: str, pf: pq.ParquetFile, columns: list[str], rows: int = _BATCH_ROWS, *, by_row_group: bool = False
) -> Iterator[pa.RecordBatch]:
    """`pf`'s batches; damaged pages (the footer read fine) are an InputError naming the file, not a traceback.

    `by_row_group`: no batch spans two row groups, which nested dictionary columns need.
    """
    groups: list[list[int] | None] = [[i] for i in range(pf.num_row_groups)] if by_row_group else [None]
    try:
        for group in groups:
            for batch in pf.iter_batches(batch_size=rows, row_groups=group, columns=columns, use_threads=True):
                batch.validate(full=True)  # a damaged page can hold text that is not UTF-8: refused here, not later
                yield batch
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from None


def dictionary_leaves(pf: pq.ParquetFile, columns: dict[str, str]) -> list[int]:
    """The leaf columns of `pf` to read as dictionaries: string leaves of known columns whose canonical type is a
    string at the same place, except TEXT_ONLY's (the account).

    A leaf is matched by the names on its path, so a column of another shape is read as text and cast as before.
    Leaves are numbered depth-first, as Parquet numbers them; if the count comes out different from the file's
    (a shape this walk does not know), nothing is read as a dictionary.
    """
    picked: list[int] = []
    count = 0

    def walk(typ: pa.DataType, want: pa.DataType | None) -> None:
        nonlocal count
        if pa.types.is_struct(typ):
            for child in (typ.field(i) for i in range(typ.num_fields)):
                walk(child.type, _child_type(want, child.name))
        elif pa.types.is_list(typ) or pa.types.is_large_list(typ):
            walk(typ.value_type, want.value_type if want is not None and pa.types.is_list(want) else None)
        elif pa.types.is_map(typ):
            walk(typ.key_type, None)
            walk(typ.item_type, None)
        else:
            if pa.types.is_string(typ) and want is not None and pa.types.is_string(want):
                picked.append(count)
            count += 1

    for f in pf.schema_arrow:
        canon = columns.get(f.name)
        want = EXPORT_FIELDS.get(canon) if canon is not None and canon not in TEXT_ONLY else None
        walk(f.type, want.type if want is not None else None)
    return picked if count == pf.metadata.num_columns else []


def _child_type(struct: pa.DataType | None, name: str) -> pa.DataType | None:
    """The type of `struct`'s child `name`, or None when `struct` is not a struct or has no such child."""
    if struct is None or not pa.types.is_struct(struct) or struct.get_field_index(name) < 0:
        return None
    return struct.field(name).type


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
