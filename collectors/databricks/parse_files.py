"""Read Databricks billing exports (CSV, JSON array, NDJSON, Parquet) and tell which table each holds.

`open_export` reads a file's columns and numbered records; `detect` names the table from the columns
(usage: usage_quantity + sku_name; list_prices: price_start_time + pricing; legacy: the account
console's billable-usage download) and checks its required columns, so a missing column is an error
before anything from any file is written.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from spendscope.errors import InputError, MissingColumnsError

Kind = Literal["usage", "list_prices", "legacy"]
# Required columns per kind; `pricing` may also come flattened as pricing.* columns.
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "usage": ("sku_name", "usage_quantity", "usage_start_time", "usage_end_time"),
    "list_prices": ("sku_name", "price_start_time", "pricing"),
    "legacy": ("workspaceId", "timestamp", "sku", "dbus"),
}
_PARQUET = (".parquet", ".pq")
_JSON = (".json", ".ndjson", ".jsonl")


@dataclass
class Export:
    """One file's columns and records; `errors` are (line, reason, raw) of lines that are not records."""

    path: str
    columns: list[str]
    records: list[tuple[int | None, dict[str, Any]]]
    errors: list[tuple[int | None, str, str]] = field(default_factory=list)


def open_export(path: str) -> Export:
    """Read a CSV / JSON / NDJSON / Parquet export whole (billing exports are small per file)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    suffix = p.suffix.lower()
    with p.open("rb") as fh:
        head = fh.read(4)
    if suffix in _PARQUET or head == b"PAR1":
        return _parquet(path)
    if suffix in _JSON:
        return _json(path)
    if suffix != ".csv" and head.lstrip()[:1] in (b"[", b"{"):
        return _json(path)
    return _csv(path)


def _csv(path: str) -> Export:
    # utf-8-sig: the account console and Excel write a BOM before the header.
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return Export(path, [], [])
        columns = [h.strip() for h in header]
        out = Export(path, columns, [])
        start = reader.line_num + 1
        for values in reader:
            line = start
            start = reader.line_num + 1
            if not any(v.strip() for v in values):
                continue  # blank line
            if len(values) != len(columns):
                out.errors.append((line, f"{len(values)} cells for {len(columns)} columns", ",".join(values)))
                continue
            out.records.append((line, dict(zip(columns, values, strict=True))))
    return out


def _json(path: str) -> Export:
    with open(path, encoding="utf-8-sig") as fh:
        body = fh.read()
    stripped = body.lstrip()
    out = Export(path, [], [])
    if not stripped:
        return out
    if stripped.startswith("["):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise InputError(f"{path}: not valid JSON: {exc}") from None
        # A JSON array has no lines worth naming: the record's position (from 1) stands for it.
        for n, item in enumerate(data, start=1):
            _add(out, n, item)
    else:
        for n, raw in enumerate(body.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except ValueError as exc:
                out.errors.append((n, f"not valid JSON: {exc}", raw))
                continue
            _add(out, n, item)
    return out


def _add(out: Export, line: int, item: Any) -> None:
    if not isinstance(item, dict):
        out.errors.append((line, "not a JSON object", json.dumps(item)[:10_000]))
        return
    for k in item:
        if k not in out.columns:
            out.columns.append(k)
    out.records.append((line, item))


def _parquet(path: str) -> Export:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for a damaged file
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
    out = Export(path, list(pf.schema_arrow.names), [])
    n = 0
    for batch in pf.iter_batches(batch_size=50_000):
        for rec in batch.to_pylist():
            n += 1
            out.records.append((n, rec))  # row number from 1 stands for the line
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
