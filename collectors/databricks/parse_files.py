"""Read Databricks billing exports (CSV, JSON array, NDJSON, Parquet) and tell which table each holds.

`open_export` reads a file's columns and numbered records; `detect` names the table from the columns
(usage: usage_quantity + sku_name; list_prices: price_start_time + pricing; legacy: the account
console's billable-usage download) and checks its required columns, so a missing column is an error
before anything from any file is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

from collectors.common import files
from collectors.common.jsontext import has_lone_surrogate, may_hold_surrogates
from spendscope.errors import InputError, MissingColumnsError

Kind = Literal["usage", "list_prices", "legacy"]
# Required columns per kind; `pricing` may also come flattened as pricing.* columns.
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "usage": ("sku_name", "usage_quantity", "usage_start_time", "usage_end_time"),
    "list_prices": ("sku_name", "price_start_time", "pricing"),
    "legacy": ("workspaceId", "timestamp", "sku", "dbus"),
}
_JSON = (".json", ".ndjson", ".jsonl")
# What a directory or glob contributes (other files there, `_SUCCESS` or a README, are skipped).
_KNOWN = {".csv", *_JSON, *files.PARQUET_SUFFIXES}
_SURROGATE = "text is not valid Unicode (a lone surrogate escape such as \\ud800)"


@dataclass
class Export:
    """One file's columns and records; `errors` are (line, reason, raw) of lines that are not records."""

    path: str
    columns: list[str]
    records: list[tuple[int | None, dict[str, Any]]]
    errors: list[tuple[int | None, str, str]] = field(default_factory=list)


def export_files(paths: Sequence[str]) -> list[str]:
    """The files named by `paths` (files, directories, globs), each once; see `collectors.common.files`."""
    return [str(f) for f in files.expand(paths, accept=lambda f: files.suffix(f) in _KNOWN)]


def open_export(path: str) -> Export:
    """Read a CSV / JSON / NDJSON / Parquet export whole (billing exports are small per file).

    Gzip is unpacked by its magic bytes; a 0-byte file is empty (no columns: it ingests nothing).
    """
    if files.is_empty(path):
        return Export(path, [], [])
    if files.is_parquet(path):
        return _parquet(path)
    text = files.read_text(path)
    suffix = files.suffix(path)
    if suffix in _JSON or (suffix != ".csv" and text.lstrip()[:1] in ("[", "{")):
        return _json(path, text)
    return _csv(path, text)


def _csv(path: str, text: str) -> Export:
    records = files.csv_records(files.text_lines(text), path)
    header = next(records, None)
    if header is None:
        return Export(path, [], [])
    if header.cells is None:
        raise InputError(f"{path}: line {header.line}: cannot read the header: {header.error}")
    columns = [h.strip() for h in header.cells]
    out = Export(path, columns, [])
    for rec in records:
        if rec.cells is None:
            out.errors.append((rec.line, rec.error or "unreadable CSV record", rec.raw))
            continue
        if not any(v.strip() for v in rec.cells):
            continue  # blank line
        if len(rec.cells) != len(columns):
            out.errors.append((rec.line, f"{len(rec.cells)} cells for {len(columns)} columns", rec.raw))
            continue
        out.records.append((rec.line, dict(zip(columns, rec.cells, strict=True))))
    return out


def _json(path: str, body: str) -> Export:
    stripped = body.lstrip()
    out = Export(path, [], [])
    if not stripped:
        return out
    if stripped.startswith("["):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:  # RecursionError: nesting past the interpreter's limit
            raise InputError(f"{path}: not valid JSON: {exc or type(exc).__name__}") from None
        # A JSON array has no lines worth naming: the record's position (from 1) stands for it.
        suspect = may_hold_surrogates(body)
        for n, item in enumerate(data, start=1):
            _add(out, n, item, suspect)
    else:
        # Split on "\n" only: splitlines() also breaks at U+2028, \x1c and the like, which JSON strings may hold.
        for n, raw in enumerate(body.split("\n"), start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                out.errors.append((n, f"not valid JSON: {exc}", raw))
                continue
            _add(out, n, item, may_hold_surrogates(raw))
    return out


def _add(out: Export, line: int, item: Any, suspect: bool = False) -> None:
    if not isinstance(item, dict):
        out.errors.append((line, "not a JSON object", json.dumps(item)[:10_000]))
        return
    if suspect and has_lone_surrogate(item):  # "\ud800" is valid JSON, but no text Arrow can store
        out.errors.append((line, _SURROGATE, json.dumps(item)[:10_000]))
        return
    for k in item:
        if k not in out.columns:
            out.columns.append(k)
    out.records.append((line, item))


def _parquet(path: str) -> Export:
    pf = files.parquet_file(path)
    out = Export(path, list(pf.schema_arrow.names), [])
    n = 0
    try:
        for batch in pf.iter_batches(batch_size=50_000):
            batch.validate(full=True)  # a damaged page can hold text that is not UTF-8: an InputError here
            for rec in _rows(batch):
                n += 1
                if isinstance(rec, str):  # a row Python cannot hold: quarantined with Arrow's text of it
                    out.errors.append((n, "a value out of range (a time past year 9999?)", rec))
                else:
                    out.records.append((n, rec))  # row number from 1 stands for the line
    except (OSError, pa.ArrowException) as exc:  # damaged pages behind a readable footer
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
    return out


def _rows(batch: pa.RecordBatch) -> list[dict[str, Any] | str]:
    """The batch's rows as dicts; one with a value Python cannot hold (year 0 or 10000+) as Arrow's text."""
    try:
        return list(batch.to_pylist())
    except (ValueError, OverflowError):
        pass
    out: list[dict[str, Any] | str] = []
    for i in range(batch.num_rows):
        row = batch.slice(i, 1)
        try:
            out.append(row.to_pylist()[0])
        except (ValueError, OverflowError):
            out.append(row.to_string(show_metadata=False, preview_cols=row.num_columns))
    return out


def detect(export: Export) -> Kind | None:
    """Which table the export holds; MissingColumnsError if it is recognisable but incomplete.

    None for an empty file (no columns at all): it ingests nothing.
    """
    cols = set(export.columns)
    if not cols:
        return None
    kind: Kind
    if {"dbus", "sku"} & cols or {"workspaceId", "clusterId"} & cols:
        kind = "legacy"
    elif "price_start_time" in cols or any(c == "pricing" or c.startswith("pricing") for c in cols):
        kind = "list_prices"
    elif {"usage_quantity", "sku_name", "usage_start_time", "usage_date"} & cols:
        kind = "usage"
    else:
        raise InputError(
            f"{export.path}: not a Databricks usage, list_prices or billable-usage export "
            f"(columns: {', '.join(export.columns[:12])})"
        )
    missing = [c for c in REQUIRED[kind] if c not in cols]
    if kind == "list_prices" and "pricing" in missing and any(c.startswith("pricing") for c in cols):
        missing.remove("pricing")
    if missing:
        raise MissingColumnsError(export.path, missing)
    return kind
