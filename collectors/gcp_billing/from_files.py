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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa

from collectors.base import Batch, Item, Quarantined
from collectors.common.files import check_utf8, decode_text, is_empty, text_lines
from collectors.gcp_billing.columns import EXPORT_FIELDS, TABLE, check_required
from collectors.gcp_billing.files import expand, file_format, read_bytes
from collectors.gcp_billing.normalize import REPLACE_BY, Parsed
from collectors.gcp_billing.parse_csv import parse_csv
from collectors.gcp_billing.parse_json import parse_json_array, parse_ndjson
from collectors.gcp_billing.parse_parquet import ParquetSource, open_parquet
from collectors.gcp_billing.summary import Summary, merge, state_rows, summarize
from exporters.warehouse.schema.gcp_billing import GCP_BILLING_EXPORT
from spendscope.errors import InputError


@dataclass
class _File:
    """One prepared file: parsed whole (JSON, CSV) or opened and key-scanned (Parquet)."""

    path: str
    summary: Summary
    parsed: Parsed | None = None
    parquet: ParquetSource | None = None


def parse_text_file(path: str, data: bytes, replace_by: str) -> Parsed:
    """Parse a JSON or CSV export held in memory (the pure part of `_prepare`)."""
    if file_format(path) == "csv":
        return parse_csv(text_lines(decode_text(data, path)), path, replace_by)
    head = data.lstrip()[:1]
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
    parsed = parse_text_file(path, read_bytes(path), replace_by)
    check_required(path, parsed.columns)
    return _File(path, summarize(parsed.table), parsed=parsed)


def _stream(files: list[_File], allowed: set[tuple[str, dt.date]], late: list[Quarantined]) -> Iterator[pa.RecordBatch]:
    for f in files:
        if f.parsed is not None:
            yield from f.parsed.table.to_batches(max_chunksize=64 * 1024)
        elif f.parquet is not None:
            yield from f.parquet.batches(allowed, late)


def collect_files(paths: Sequence[str], replace_by: str = "auto") -> Iterator[Item]:
    """Ingest billing export files: one Batch replacing every (account, day) they hold, then quarantine."""
    if replace_by not in REPLACE_BY:
        raise InputError(f"replace_by must be one of {', '.join(REPLACE_BY)}, not {replace_by!r}")
    # Every file is parsed or key-scanned before the first yield, so a missing column in the last
    # file stops the command before anything is written.
    files = [_prepare(p, replace_by) for p in expand(list(paths))]
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
