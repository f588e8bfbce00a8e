"""FOCUS file I/O: find files, read headers, stream CSV (plain or gzip) and Parquet as Arrow batches.

Parsing stays in `parse.py`; this module only turns bytes into raw text/typed columns, in batches,
so a multi-gigabyte monthly export never sits in memory whole. CSV cells are read as text (no type
inference: a column that looks numeric in one block and not in the next must not fail the file).
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from collectors.focus.parse import map_header
from spendscope.errors import InputError

BATCH_ROWS = 65_536
_CSV_BLOCK_BYTES = 8 << 20
_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq", ".parq", ".gz")


@dataclass
class FocusFile:
    """One input file: its kind, raw header, and where each FOCUS column sits in it."""

    path: str
    kind: str  # "csv" | "parquet" | "empty"
    gzip: bool = False
    names: list[str] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def expand(paths: Sequence[str], strict: bool = True) -> list[str]:
    """Files named by `paths` (files, directories, globs), deduplicated, in a stable order."""
    found: list[str] = []
    for p in paths:
        if any(ch in p for ch in "*?["):
            matches = sorted(glob.glob(p, recursive=True))
            if not matches and strict:
                raise InputError(f"{p}: no file matches")
        elif os.path.isdir(p):
            matches = sorted(
                os.path.join(root, f) for root, _, files in os.walk(p) for f in files if f.endswith(_SUFFIXES)
            )
        elif os.path.exists(p) or not strict:
            matches = [p] if os.path.exists(p) else []
        else:
            raise InputError(f"{p}: no such file")
        found.extend(m for m in matches if os.path.isfile(m))
    seen: set[str] = set()
    unique = []
    for f in found:
        real = os.path.realpath(f)
        if real not in seen:
            seen.add(real)
            unique.append(f)
    return unique


def open_header(path: str) -> FocusFile:
    """Sniff the format (by magic bytes, not the name) and read the header only."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head == b"PAR1":
            names = pq.ParquetFile(path).schema_arrow.names
            return FocusFile(path, "parquet", names=names, columns=map_header(names))
        is_gzip = head[:2] == b"\x1f\x8b"
        with _text(path, is_gzip) as fh:
            first = next(csv.reader(fh), None)
    except (OSError, EOFError, UnicodeDecodeError, pa.ArrowException, csv.Error) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    if not first or not any(cell.strip() for cell in first):
        return FocusFile(path, "empty", gzip=is_gzip)
    return FocusFile(path, "csv", gzip=is_gzip, names=first, columns=map_header(first))


def _text(path: str, is_gzip: bool) -> io.TextIOBase:
    # utf-8-sig: Azure writes a BOM before the header.
    if is_gzip:
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def iter_columns(
    ff: FocusFile, wanted: Sequence[str], skipped: list[str] | None = None
) -> Iterator[dict[str, pa.Array]]:
    """Stream the `wanted` FOCUS columns of `ff` as {column: array} batches.

    CSV rows pyarrow cannot split (wrong field count) are skipped and their text added to `skipped`;
    `locate_csv_rows` finds their lines again.
    """
    cols = [c for c in wanted if c in ff.columns]
    if ff.kind == "empty" or not cols:
        return
    try:
        if ff.kind == "parquet":
            pf = pq.ParquetFile(ff.path)
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=[ff.names[ff.columns[c]] for c in cols]):
                yield {c: batch.column(i) for i, c in enumerate(cols)}
            return
        positional = [f"c{i}" for i in range(len(ff.names))]
        include = [positional[ff.columns[c]] for c in cols]
        reader = pcsv.open_csv(
            pa.input_stream(ff.path, compression="gzip" if ff.gzip else None),
            read_options=pcsv.ReadOptions(column_names=positional, skip_rows=1, block_size=_CSV_BLOCK_BYTES),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=_skipper(skipped)),
            convert_options=pcsv.ConvertOptions(
                include_columns=include,
                column_types=dict.fromkeys(include, pa.string()),
                strings_can_be_null=False,
            ),
        )
        for batch in reader:
            if batch.num_rows:
                yield {c: batch.column(i) for i, c in enumerate(cols)}
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{ff.path}: cannot read: {exc}") from None


def _skipper(skipped: list[str] | None) -> Callable[[pcsv.InvalidRow], str]:
    def handle(row: pcsv.InvalidRow) -> str:
        if skipped is not None:
            skipped.append(row.text)
        return "skip"

    return handle


def locate_csv_rows(ff: FocusFile, rows: set[int]) -> tuple[dict[int, tuple[int, str]], list[tuple[int, int, str]]]:
    """Second look at a CSV with problems: (line, text) of rows by index; (line, width, text) of unsplittable ones.

    Only run when a file had bad rows, so clean files are read once. Indices count the rows pyarrow
    kept, the same way `iter_columns` does (empty lines and wrong-width rows are not counted).
    """
    found: dict[int, tuple[int, str]] = {}
    malformed: list[tuple[int, int, str]] = []
    width = len(ff.names)
    index = 0
    with _text(ff.path, ff.gzip) as fh:
        reader = csv.reader(fh)
        try:
            next(reader, None)
            line = reader.line_num
            for record in reader:
                start, line = line + 1, reader.line_num
                if not record:
                    continue
                if len(record) != width:
                    malformed.append((start, len(record), _csv_text(record)))
                    continue
                if index in rows:
                    found[index] = (start, _csv_text(record))
                index += 1
        except csv.Error:
            pass  # a field beyond the csv module's limits: rows after it are reported without a line
    return found, malformed


def _csv_text(record: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(record)
    return buf.getvalue()
