"""CSV billing export files (BigQuery console download, `bq query --format=csv`).

Nested fields come flattened to dotted names (`service.description`, `usage.amount`, `invoice.month`);
repeated fields come as text in one cell (see `labels` for the accepted forms). A column under a
repeated field (`credits.amount`, `credits.type`) is also taken: each cell a JSON list (or one value),
zipped with its sibling columns into the list's elements. Names match case-insensitively; unknown
columns are ignored. Quarantined rows carry the physical line a record starts on (quoted cells may
span lines) and the record's raw text; a record the csv module cannot split is quarantined too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from collectors.base import Quarantined
from collectors.common.files import csv_records
from collectors.gcp_billing.coerce import coerce_record
from collectors.gcp_billing.columns import (
    EXPORT_FIELDS,
    PARSED_SCHEMA,
    TABLE,
    canonical_name,
    struct_child,
)
from collectors.gcp_billing.labels import LabelTextError, parse_flat_values, parse_list_cell, parse_record_cell
from collectors.gcp_billing.normalize import Parsed
from exporters.warehouse.schema.gcp_billing import GCP_BILLING_EXPORT
from exporters.warehouse.schema.types import KV
from spendscope.errors import InputError


@dataclass(frozen=True)
class _Column:
    index: int
    name: str
    path: tuple[str, ...]  # canonical names from the top-level column down
    kind: str  # scalar | list | record | flat (a child column of a repeated field)
    key_value: bool = False
    child: str = ""  # for flat: the element's field


def _column(index: int, name: str) -> _Column | None:
    """Where a header cell goes in the nested row, or None for a column we do not know."""
    whole = canonical_name(name)
    parts = [whole] if whole else name.strip().lstrip("\ufeff").split(".")
    top = canonical_name(parts[0])
    if top is None:
        return None
    typ = PARSED_SCHEMA.field(top).type
    path = [top]
    for i, part in enumerate(parts[1:], start=1):
        if pa.types.is_list(typ) and pa.types.is_struct(typ.value_type):
            child = struct_child(typ.value_type, ".".join(parts[i:]))
            return None if child is None else _Column(index, name, tuple(path), "flat", child=child.name)
        if not pa.types.is_struct(typ) or (field := struct_child(typ, part)) is None:
            return None
        typ = field.type
        path.append(field.name)
    if pa.types.is_list(typ):
        return _Column(index, name, tuple(path), "list", key_value=typ.value_type == KV)
    kind = "record" if pa.types.is_struct(typ) else "scalar"
    return _Column(index, name, tuple(path), kind)


def header_columns(header: list[str]) -> list[_Column]:
    """The known columns of a header row."""
    return [c for i, name in enumerate(header) if (c := _column(i, name)) is not None]


def _put(row: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        nxt = row.get(key)
        if not isinstance(nxt, dict):
            nxt = row[key] = {}
        row = nxt
    row[path[-1]] = value


def _build(cells: list[str], columns: list[_Column]) -> tuple[dict[str, Any], str | None]:
    """One CSV record as a nested row, and the first reason a cell could not be read."""
    row: dict[str, Any] = {}
    flats: dict[tuple[str, ...], dict[str, list[Any]]] = {}
    for col in columns:
        cell = cells[col.index] if col.index < len(cells) else ""
        if cell == "" and col.kind != "flat":
            continue  # BigQuery writes NULL as an empty cell
        try:
            if col.kind == "list":
                _put(row, col.path, parse_list_cell(cell, col.key_value))
            elif col.kind == "record":
                _put(row, col.path, parse_record_cell(cell))
            elif col.kind == "flat":
                flats.setdefault(col.path, {})[col.child] = parse_flat_values(cell)
            else:
                _put(row, col.path, cell)
        except LabelTextError as exc:
            return row, f"{col.name}: {exc}"
    for path, children in flats.items():
        lengths = {len(v) for v in children.values()}
        if len(lengths) > 1:
            names = ", ".join(f"{'.'.join(path)}.{c}" for c in sorted(children))
            return row, f"{names}: lists of different lengths"
        count = lengths.pop() if lengths else 0
        _put(row, path, [{k: v[i] for k, v in children.items()} for i in range(count)])
    return row, None


def parse_csv(lines: Iterable[str], source: str, replace_by: str = "auto") -> Parsed:
    """Parse a CSV export given its text lines (newlines kept, as from a file opened with newline='')."""
    recs = csv_records(lines, source)
    first = next(recs, None)
    if first is None:
        return Parsed(GCP_BILLING_EXPORT.empty_table(), columns=set(EXPORT_FIELDS))  # empty file: no rows
    if first.cells is None:
        raise InputError(f"{source}: line {first.line}: cannot read the header: {first.error}")
    columns = header_columns(first.cells)
    parsed = Parsed(GCP_BILLING_EXPORT.empty_table(), columns={c.path[0] for c in columns})
    records: list[dict[str, Any]] = []
    errors: dict[int, str] = {}
    where: list[tuple[int, str]] = []
    unreadable: list[Quarantined] = []
    for rec in recs:
        if rec.cells is None:
            unreadable.append(Quarantined(TABLE, source, rec.line, rec.error or "unreadable CSV record", rec.raw))
            continue
        if not any(c.strip() for c in rec.cells):
            continue  # blank line
        row, reason = _build(rec.cells, columns)
        record, coerce_reason = coerce_record(row)
        if reason or coerce_reason:
            errors[len(records)] = reason or coerce_reason or ""
        records.append(record)
        where.append((rec.line, rec.raw))
    parsed = parsed.add_records(records, where, errors, replace_by, source)
    parsed.quarantined = sorted(unreadable + parsed.quarantined, key=lambda q: q.line or 0)
    return parsed
