"""Export files on disk: expand paths (directories, globs), detect the format, read (gunzip) the bytes."""

from __future__ import annotations

import glob
import os

from collectors.common import files as common
from spendscope.errors import InputError

# Suffix (after an optional .gz) → format. Parquet is never gzipped whole: it compresses inside.
_FORMATS = {
    ".json": "json",
    ".ndjson": "json",
    ".jsonl": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def file_format(path: str) -> str | None:
    """'json', 'csv' or 'parquet' from the file name (case-insensitive, `.gz` allowed for text), or None."""
    name = path.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    fmt = _FORMATS.get(os.path.splitext(name)[1])
    return None if fmt == "parquet" and gz else fmt


def expand(paths: list[str] | tuple[str, ...]) -> list[str]:
    """Files named by `paths` (see `collectors.common.files.expand`), each once by real path.

    A file named outright must have a known extension; inside a directory or glob other files
    (`_SUCCESS`, manifests) are skipped.
    """
    try:
        found = common.expand(paths, accept=lambda f: file_format(str(f)) is not None)
    except InputError as exc:
        if any(glob.has_magic(p) and str(exc).startswith(f"{p}:") for p in paths):
            raise InputError(f"{exc} (no billing export files match)") from None
        raise
    named = {os.path.realpath(p) for p in paths if not glob.has_magic(p) and not os.path.isdir(p)}
    for f in found:
        if os.path.realpath(f) in named and file_format(str(f)) is None:
            raise InputError(f"{f}: unknown file type; expected .json/.ndjson/.jsonl/.csv (optionally .gz) or .parquet")
    return [str(f) for f in found]


def read_bytes(path: str) -> bytes:
    """The file's bytes, gunzipped when it is gzip (by magic bytes)."""
    return common.read_bytes(path)
