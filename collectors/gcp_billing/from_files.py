"""File ingest of GCP billing exports: parse every file, then yield ONE Batch for the whole command.

Replace semantics. The batch's keys are every (billing_account_id, _day) with a valid row in any of
the files, and the warehouse replaces exactly those partitions, atomically. `_day` is
DATE(_PARTITIONTIME) when a file carries the partition (`replace_by` = "partition", or "auto", the
default, when the column is there; a row whose partition is null falls back to its usage day), else
the UTC date of usage_start_time ("usage-day"). Hence:

- ingesting the same files again gives the same totals (the same partitions are replaced whole);
- a re-exported day with changed rows replaces the old rows of that (account, day);
- the files of one command are ONE snapshot: an (account, day) spread over several files (the shards
  of one `bq extract … /export-*.parquet`) is kept whole, because all files go into one batch. Two
  different exports of the same day must be ingested by separate commands (the later one wins).
  Keep to one `replace_by` mode per lake: partition days and usage days are different keys.

Rows without a billing_account_id (null or '') are quarantined: the account is half the key, and an
empty one would collide with every other account-less file. A file lacking any of cost,
usage_start_time, usage_end_time or billing_account_id raises MissingColumnsError before anything
is yielded, for any file of the command. A 0-byte file (any extension) is empty: 0 rows.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from collectors.base import Batch, Item, Quarantined
from collectors.common.files import check_utf8, decode_text, is_empty, read_blocks, text_lines
from collectors.gcp_billing.columns import EXPORT_FIELDS, TABLE, check_required
from collectors.gcp_billing.files import expand, file_format, read_bytes
from collectors.gcp_billing.normalize import REPLACE_BY, Parsed
from collectors.gcp_billing.parse_csv import parse_csv
from collectors.gcp_billing.parse_json import iter_ndjson, parse_json_array, parse_ndjson
from collectors.gcp_billing.parse_parquet import ParquetSource, open_parquet
from collectors.gcp_billing.summary import Summary, merge, state_rows, summarize
from exporters.warehouse.schema.gcp_billing import GCP_BILLING_EXPORT
from spendscope.errors import InputError


@dataclass
class _File:
    """One prepared file: parsed whole (JSON array, CSV), parsed and spilled (NDJSON), or key-scanned (Parquet)."""

    path: str
    summary: Summary
    parsed: Parsed | None = None
    parquet: ParquetSource | None = None
    spill: str | None = None  # NDJSON rows already normalized, in a temporary Parquet file


# NDJSON exports run to gigabytes: parsed a block at a time and spilled, so memory stays flat.
_NDJSON_BLOCK = 64 << 20


def _is_ndjson(path: str) -> bool:
    if file_format(path) == "csv":
        return False
    for _, block in read_blocks(path, 1 << 16):
        return block.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"["
    return False


def _prepare_ndjson(path: str, replace_by: str) -> _File:
    fd, spill = tempfile.mkstemp(prefix="spendscope-spill-", suffix=".parquet")
    os.close(fd)
    parsed = Parsed(GCP_BILLING_EXPORT.empty_table())
    summary: Summary = {}
    try:
        with pq.ParquetWriter(spill, GCP_BILLING_EXPORT) as writer:
            for part in iter_ndjson(read_blocks(path, _NDJSON_BLOCK), path, replace_by):
                writer.write_table(part.table)
                merge(summary, summarize(part.table))
                parsed.quarantined += part.quarantined
                parsed.columns |= part.columns
                parsed.decoded += part.decoded
        check_required(path, parsed.finish().columns)
    except BaseException:
        os.unlink(spill)
        raise
    return _File(path, summary, parsed=parsed, spill=spill)


def parse_text_file(path: str, data: bytes, replace_by: str) -> Parsed:
    """Parse a JSON or CSV export held in memory (the pure part of `_prepare`)."""
    if file_format(path) == "csv":
        return parse_csv(text_lines(decode_text(data, path)), path, replace_by)
    # The BOM too is skipped, as `_is_ndjson` does: a JSON array saved with one is still an array.
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    if head == b"[":
        return parse_json_array(decode_text(data, path), path, replace_by)
    check_utf8(data, path)
    return parse_ndjson(data.removeprefix(b"\xef\xbb\xbf"), path, replace_by)


def _prepare(path: str, replace_by: str) -> _File:
    if is_empty(path):  # 0 bytes, whatever the format (Parquet too): an empty file, 0 rows
        return _File(path, {}, parsed=Parsed(GCP_BILLING_EXPORT.empty_table(), columns=set(EXPORT_FIELDS)))
    if file_format(path) == "parquet":
        src = open_parquet(path, replace_by)
        return _File(path, src.summary, parquet=src)
    if _is_ndjson(path):
        return _prepare_ndjson(path, replace_by)
    parsed = parse_text_file(path, read_bytes(path), replace_by)
    check_required(path, parsed.columns)
    return _File(path, summarize(parsed.table), parsed=parsed)


def _stream(files: list[_File], allowed: set[tuple[str, dt.date]], late: list[Quarantined]) -> Iterator[pa.RecordBatch]:
    for f in files:
        if f.spill is not None:
            yield from pq.ParquetFile(f.spill).iter_batches(batch_size=64 * 1024)
        elif f.parsed is not None:
            yield from f.parsed.table.to_batches(max_chunksize=64 * 1024)
        elif f.parquet is not None:
            yield from f.parquet.batches(allowed, late)


def collect_files(paths: Sequence[str], replace_by: str = "auto") -> Iterator[Item]:
    """Ingest billing export files: one Batch replacing every (account, day) they hold, then quarantine."""
    if replace_by not in REPLACE_BY:
        raise InputError(f"replace_by must be one of {', '.join(REPLACE_BY)}, not {replace_by!r}")
    # Every file is parsed or key-scanned before the first yield, so a missing column in the last
    # file stops the command before anything is written.
    files: list[_File] = []
    try:
        for p in expand(list(paths)):
            files.append(_prepare(p, replace_by))
        yield from _items(files)
    finally:
        for f in files:
            if f.spill is not None and os.path.exists(f.spill):
                os.unlink(f.spill)


def _items(files: list[_File]) -> Iterator[Item]:
    summary: Summary = {}
    for f in files:
        merge(summary, f.summary)
    late: list[Quarantined] = []
    if summary:
        keys = [{"billing_account_id": acct, "_day": day} for acct, day in sorted(summary)]
        yield Batch(TABLE, _stream(files, set(summary), late), keys, state=state_rows(summary))
    else:
        for _ in _stream(files, set(), late):  # only bad rows: stream them for their quarantine entries
            pass
    for f in files:
        if f.parsed is not None:
            yield from f.parsed.quarantined
    yield from late
