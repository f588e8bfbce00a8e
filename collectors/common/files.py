"""Export files on disk, shared by every file-ingest collector: expand paths, sniff, read, split CSV.

Rules every collector gets from here, whatever the format:
- a PATH is a file, a directory (its files, recursively, sorted, hidden ones skipped) or a glob; the
  same file under two spellings (`x.json`, `./x.json`, `d/../x.json`, a symlink) is taken once, since
  ingesting it twice would double-count it; a PATH that names nothing is an InputError;
- gzip is recognised by its magic bytes (not only a `.gz` name) and unpacked transparently;
- text is UTF-8, a leading BOM dropped; anything else (binary, a broken gzip, an unreadable file or a
  directory) is an InputError naming the file, never a traceback;
- a 0-byte file is an empty file, whatever its name (`.parquet` included): it ingests 0 rows;
- a non-empty Parquet file that pyarrow cannot open is "not a readable Parquet file";
- CSV fields may be up to `CSV_FIELD_LIMIT` characters; a record the csv module still rejects is
  returned as an error (to quarantine) and reading goes on with the next record.
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import io
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pyarrow as pa
import pyarrow.parquet as pq

from spendscope.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
# The csv module's default limit (131072 chars) rejects real exports (a label blob, a long SKU
# description list); 64 MiB is far above any sane cell and still bounds a runaway unquoted field.
CSV_FIELD_LIMIT = 64 << 20
csv.field_size_limit(CSV_FIELD_LIMIT)

_READ_ERRORS = (OSError, EOFError, zlib.error)
_UTF8_CHUNK = 16 << 20


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _dir_files(root: Path) -> list[Path]:
    return sorted(f for f in root.rglob("*") if f.is_file() and not _hidden(f, root))


def expand(
    paths: Sequence[str | os.PathLike[str]],
    *,
    accept: Callable[[Path], bool] | None = None,
    strict: bool = True,
) -> list[Path]:
    """Files named by `paths` (files, directories, globs), once each by real path, in the order given.

    `accept` filters the files found inside a directory or by a glob (a file named outright is always
    kept: the caller decides what to say about it). With `strict` (the CLI), a path that matches
    nothing raises InputError; without it (configured globs polled by a daemon) it adds nothing.
    """
    out: list[Path] = []
    seen: set[str] = set()
    for raw in paths:
        p = str(raw)
        if glob.has_magic(p):
            found = [Path(f) for f in sorted(glob.glob(p, recursive=True)) if os.path.isfile(f)]
            found = [f for f in found if accept is None or accept(f)]
        elif os.path.isdir(p):
            found = [f for f in _dir_files(Path(p)) if accept is None or accept(f)]
        elif os.path.lexists(p):
            found = [Path(p)]
        else:
            found = []
        if not found and strict:
            where = "no export files in this directory" if os.path.isdir(p) else "no such file or directory"
            raise InputError(f"{p}: {where}")
        for f in found:
            real = os.path.realpath(f)
            if real not in seen:
                seen.add(real)
                out.append(f)
    return out


def suffix(path: str | os.PathLike[str]) -> str:
    """The lower-case extension under an optional `.gz`: `usage.CSV.gz` → `.csv`."""
    name = os.path.basename(str(path)).lower().removesuffix(".gz")
    return os.path.splitext(name)[1]


def head(path: str | os.PathLike[str], n: int = 4) -> bytes:
    """The first `n` bytes of the file (InputError if it cannot be opened)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def is_empty(path: str | os.PathLike[str]) -> bool:
    """Whether the file has no bytes at all (an empty file of any format ingests 0 rows)."""
    return head(path, 1) == b""


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """Parquet by name (`.parquet`, `.pq`, `.parq`) or by magic bytes."""
    name = str(path).lower()
    return name.endswith(PARQUET_SUFFIXES) or head(path) == PARQUET_MAGIC


def parquet_file(
    path: str | os.PathLike[str],
    read_dictionary: list[int] | None = None,
    metadata: pq.FileMetaData | None = None,
) -> pq.ParquetFile:
    """Open a Parquet file; a damaged or non-Parquet one is an InputError.

    `read_dictionary`: leaf columns to read as dictionaries. `metadata`: a footer already read (the file is then
    read by it, so leaf numbers taken from it stay right even if the file was replaced since).
    """
    try:
        return pq.ParquetFile(path, read_dictionary=read_dictionary, metadata=metadata)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:  # a damaged footer: names not UTF-8
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from None


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes, gunzipped when they start with the gzip magic."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {_why(exc)}") from None
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except _READ_ERRORS as exc:
        raise InputError(f"{path}: not a valid gzip file: {_why(exc)}") from None


def read_blocks(path: str | os.PathLike[str], size: int) -> Iterator[tuple[int, bytes]]:
    """The file (gunzipped when it starts with the gzip magic) in blocks of whole lines, each with its first
    line number, reading at most about `size` bytes at a time: memory stays flat whatever the file size."""
    try:
        raw = gzip.open(path, "rb") if head(path, 2) == GZIP_MAGIC else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {_why(exc)}") from None
    line, rest = 1, b""
    with raw:
        while True:
            try:
                chunk = raw.read(size)
            except _READ_ERRORS as exc:
                raise InputError(f"{path}: not a valid gzip file: {_why(exc)}") from None
            if not chunk:
                break
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            if not cut:  # a single line longer than the block: keep reading until it ends
                rest = data
                continue
            block, rest = data[:cut], data[cut:]
            yield line, block
            line += block.count(b"\n")
    if rest:
        yield line, rest


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _not_text(source: str, data: bytes, offset: int) -> InputError:
    line = data.count(b"\n", 0, offset) + 1
    return InputError(f"{source}: not UTF-8 text (invalid byte at line {line}); is it a binary file?")


def check_utf8(data: bytes, source: str) -> None:
    """InputError naming the file and line unless `data` is valid UTF-8 (checked in chunks: no copy)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for start in range(0, len(data), _UTF8_CHUNK):
        try:
            decoder.decode(view[start : start + _UTF8_CHUNK], final=start + _UTF8_CHUNK >= len(data))
        except UnicodeDecodeError as exc:
            raise _not_text(source, data, start + max(exc.start, 0)) from None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _not_text(source, data, len(data) - 1) from None


def decode_text(data: bytes, source: str) -> str:
    """`data` as UTF-8 text without its BOM; InputError naming the file and line if it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_text(source, data, exc.start) from None


def read_text(path: str | os.PathLike[str]) -> str:
    """The whole file as text: gunzipped if gzip, UTF-8, BOM dropped."""
    return decode_text(read_bytes(path), str(path))


def open_text(path: str | os.PathLike[str]) -> TextIO:
    """A streaming text handle: gzip by magic, UTF-8, BOM dropped, newline='' for csv; bad bytes fail on read."""
    try:
        if head(path, 2) == GZIP_MAGIC:
            return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {_why(exc)}") from None


@dataclass(frozen=True)
class CsvRecord:
    """One CSV record: the line it starts on, its cells (None when unreadable), raw text, and why not."""

    line: int
    cells: list[str] | None
    raw: str
    error: str | None = None


class _Lines:
    """A line iterator that remembers what the csv reader consumed, for line numbers and raw text."""

    def __init__(self, lines: Iterable[str], source: str) -> None:
        self._it = iter(lines)
        self._source = source
        self.count = 0
        self.taken: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._it)
        except UnicodeDecodeError:
            # Text is decoded a block ahead of the lines handed out: the bad byte is here or later.
            where = f"at or after line {self.count + 1}"
            raise InputError(f"{self._source}: not UTF-8 text (invalid byte {where})") from None
        except _READ_ERRORS as exc:
            raise InputError(f"{self._source}: cannot read at line {self.count + 1}: {_why(exc)}") from None
        self.count += 1
        self.taken.append(line)
        return line

    def take(self) -> tuple[int, str]:
        """(first line number, raw text) of what was consumed since the last call."""
        start, raw = self.count - len(self.taken) + 1, "".join(self.taken).rstrip("\r\n")
        self.taken.clear()
        return start, raw


def csv_records(lines: Iterable[str], source: str) -> Iterator[CsvRecord]:
    """Every record of a CSV given its text lines (newlines kept), header included, with its line.

    A record the csv module rejects comes back with `error` set, and reading goes on with the next
    line. When it cannot (the error struck inside an open quoted cell, or the text itself cannot be
    decoded) it is an InputError naming the file and line.
    """
    src = _Lines(lines, source)
    reader = csv.reader(src)
    while True:
        before = src.count
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line, raw = src.take()
            # Nothing consumed, or stopped inside an open quoted cell (odd quote count): where the
            # record ends is unknown, so reading on would misparse everything after it.
            if src.count == before or raw.count('"') % 2:
                raise InputError(f"{source}: line {line}: {exc}; the rest of the file cannot be read") from None
            yield CsvRecord(line, None, raw, f"unreadable CSV record: {exc}")
            continue
        line, raw = src.take()
        yield CsvRecord(line, cells, raw)


def text_lines(text: str) -> io.StringIO:
    """Lines of in-memory text for `csv_records`, newlines inside quoted cells kept."""
    return io.StringIO(text, newline="")
