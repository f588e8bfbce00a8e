"""Export files on disk: expand paths (directories, globs), detect the format, read (gunzip) the bytes."""

from __future__ import annotations

import glob
import gzip
import os
from pathlib import Path

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
    """Files named by `paths`: a directory gives its export files (recursively), a glob its matches.

    A file named outright must have a known extension; inside a directory or glob other files
    (`_SUCCESS`, manifests) are skipped. Each file appears once, in the order given, then by name.
    """
    out: dict[str, None] = {}
    for p in paths:
        if os.path.isdir(p):
            found = sorted(str(f) for f in Path(p).rglob("*") if f.is_file() and file_format(str(f)))
        elif glob.has_magic(p):
            found = sorted(f for f in glob.glob(p, recursive=True) if os.path.isfile(f) and file_format(f))
            if not found:
                raise InputError(f"{p}: no billing export files match")
        elif os.path.isfile(p):
            if file_format(p) is None:
                raise InputError(
                    f"{p}: unknown file type; expected .json/.ndjson/.jsonl/.csv (optionally .gz) or .parquet"
                )
            found = [p]
        else:
            raise InputError(f"{p}: no such file or directory")
        out.update(dict.fromkeys(found))
    return list(out)


def read_bytes(path: str) -> bytes:
    """The file's bytes, gunzipped when it ends in .gz."""
    try:
        if path.lower().endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        return Path(path).read_bytes()
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
