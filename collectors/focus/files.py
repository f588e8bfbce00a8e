"""FOCUS file I/O: find files, read headers, stream CSV (plain or gzip) and Parquet as Arrow batches.

Parsing stays in `parse.py`; this module only turns bytes into raw text/typed columns, in batches,
so a multi-gigabyte monthly export never sits in memory whole. CSV cells are read as text (no type
inference: a column that looks numeric in one block and not in the next must not fail the file).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from collectors.common import files
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
    """Files named by `paths` (files, directories, globs), once each by real path, in a stable order.

    Inside a directory or glob only FOCUS-looking names (`_SUFFIXES`) are taken; see
    `collectors.common.files.expand` for the rest (hidden files skipped, `strict` errors).
    """
    found = files.expand(paths, accept=lambda f: f.name.lower().endswith(_SUFFIXES), strict=strict)
    return [str(f) for f in found]


def open_header(path: str) -> FocusFile:
    """Sniff the format (Parquet by name or magic bytes, gzip by magic bytes) and read the header only.

    A 0-byte file is empty whatever its name; a non-empty `.parquet` that is not Parquet is an
    InputError ("not a readable Parquet file"), never read as text.
    """
    if files.is_empty(path):
        return FocusFile(path, "empty")
    if files.is_parquet(path):
        names = files.parquet_file(path).schema_arrow.names
        return FocusFile(path, "parquet", names=names, columns=map_header(names))
    is_gzip = files.head(path, 2) == files.GZIP_MAGIC
    with files.open_text(path) as fh:
        records = files.csv_records(fh, path)
        header = next(records, None)
        if header is not None and header.cells is None:
            raise InputError(f"{path}: line {header.line}: cannot read the header: {header.error}")
        first = header.cells if header is not None else None
        if not first or not any(cell.strip() for cell in first):
            # A blank first line with rows after it: read as empty, every row was dropped without a word.
            if header is not None and any(r.cells is None or any(c.strip() for c in r.cells) for r in records):
                raise InputError(f"{path}: line {header.line} is blank; the header must be the first line")
            return FocusFile(path, "empty", gzip=is_gzip)
    return FocusFile(path, "csv", gzip=is_gzip, names=first, columns=map_header(first))


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
                batch.validate(full=True)  # a damaged page can hold text that is not UTF-8: an InputError here
                yield {c: batch.column(i) for i, c in enumerate(cols)}
            return
        positional = [f"c{i}" for i in range(len(ff.names))]
        include = [positional[ff.columns[c]] for c in cols]
        reader = pcsv.open_csv(
            pa.input_stream(ff.path, compression="gzip" if ff.gzip else None),
            read_options=pcsv.ReadOptions(column_names=positional, block_size=_CSV_BLOCK_BYTES),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=_skipper(skipped)),
            convert_options=pcsv.ConvertOptions(
                include_columns=include,
                column_types=dict.fromkeys(include, pa.string()),
                strings_can_be_null=False,
            ),
        )
        header = True
        for batch in reader:
            if header and batch.num_rows:
                batch, header = _without_header(ff, cols, batch), False
            if batch.num_rows:
                yield {c: batch.column(i) for i, c in enumerate(cols)}
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{ff.path}: cannot read: {exc}") from None


def _without_header(ff: FocusFile, cols: list[str], batch: pa.RecordBatch) -> pa.RecordBatch:
    """The first batch less its first row, which must be the header the csv module read.

    The header is read as a row and compared because pyarrow's own skipping disagrees with the csv module:
    skip_rows counts raw lines (a quoted line break in the header left half of it as a data row) and
    skip_rows_after_names skipped a data row too after a NUL in the header.
    """
    got = [str(batch.column(i)[0].as_py()).lstrip("\ufeff") for i in range(len(cols))]
    if got != [ff.names[ff.columns[c]].lstrip("\ufeff") for c in cols]:
        raise InputError(f"{ff.path}: the header cannot be read as the first CSV record")
    return batch.slice(1)


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
    with files.open_text(ff.path) as fh:
        records = files.csv_records(fh, ff.path)
        next(records, None)
        for rec in records:
            if rec.cells is not None and not rec.cells:
                continue
            if rec.cells is not None and len(rec.cells) != width:
                malformed.append((rec.line, len(rec.cells), _csv_text(rec.cells)))
                continue
            # A record only the csv module rejects (pyarrow read it) still counts as a kept row.
            if index in rows:
                found[index] = (rec.line, _csv_text(rec.cells) if rec.cells is not None else rec.raw)
            index += 1
    return found, malformed


def _csv_text(record: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(record)
    return buf.getvalue()
